"""The criteria over training snapshots (study Fig 5/7) and the ranking stability between them (Fig 14).

* :func:`criteria_series`: every criterion of :func:`suite.metrics.compute_criteria` per snapshot,
  against one GT column. A one-snapshot result (a zero-shot estimator) gives one-point series.
* :func:`ranking_stability`: for each pair of adjacent snapshots (i, i+1), the criteria of snapshot
  i's scores taking snapshot i+1's scores as the ground truth ("relative KD", "relative P@topK",
  "relative P@bottomK"). Non-finite later scores: under the ``"worst"`` policy they become one value
  below every finite score (tied, last); under ``"drop"`` those architectures are left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from suite.analysis.plots import series_figure, write_csv, write_figure, write_json
from suite.metrics import compute_criteria, worst_filled

#: What the trend plot shows: (panel label, criteria). The data files hold every criterion.
TREND_PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("higher is better", ("KD", "SpearmanR", "LC", "P@top5%", "P@bottom5%")),
    ("lower is better (rank / n)", ("BR@5%", "WR@5%", "BR@0.5%")),
)
#: What the stability plot shows.
STABILITY_PANELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("relative rank correlation", ("relKD", "relSpearmanR")),
    ("relative precision", ("relP@top0.5%", "relP@top5%", "relP@bottom0.5%", "relP@bottom5%")),
)
#: The relative criteria reported (the study's Fig 14: KD and P@top/bottomK; SpearmanR beside KD).
_STABILITY_PREFIXES = ("KD", "SpearmanR", "P@top", "P@bottom")


def criteria_series(scores: np.ndarray, gt: np.ndarray, nonfinite: str = "worst") -> dict[str, list[float | None]]:
    """Criteria per snapshot.

    Args:
        scores: float64 [s, n], one row per snapshot (may hold NaN/inf).
        gt: float64 [n], finite.
        nonfinite: the result's policy (``"worst"`` or ``"drop"``).
    Returns:
        criterion name -> [s] values (None where undefined), names in compute_criteria's order.
    """
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    rows = [compute_criteria(row, gt, nonfinite).values for row in scores]
    return {name: [row[name] for row in rows] for name in rows[0]} if rows else {}


def ranking_stability(scores: np.ndarray, nonfinite: str = "worst") -> dict[str, list[float | None]]:
    """Relative criteria of adjacent snapshots, the later one's scores taken as the ground truth.

    Args:
        scores: float64 [s, n], one row per snapshot in training order.
        nonfinite: the result's policy.
    Returns:
        ``"rel<criterion>"`` -> [s - 1] values (pair i = snapshot i against snapshot i + 1) for KD,
        SpearmanR, P@topK and P@bottomK; empty lists when s < 2.
    """
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    names = stability_criteria()
    out: dict[str, list[float | None]] = {f"rel{n}": [] for n in names}
    for earlier, later in zip(scores[:-1], scores[1:]):
        if nonfinite == "drop":
            keep = np.isfinite(later)
            earlier, later = earlier[keep], later[keep]
        else:
            later = worst_filled(later)
        values = compute_criteria(earlier, later, nonfinite).values if len(later) else {}
        for name in names:
            out[f"rel{name}"].append(values.get(name))
    return out


def stability_criteria() -> list[str]:
    """The criteria :func:`ranking_stability` reports (without the ``rel`` prefix), in the protocol's order."""
    return [n for n in compute_criteria(np.arange(2.0), np.arange(2.0)).values if n.startswith(_STABILITY_PREFIXES)]


def pair_labels(labels: Sequence[str]) -> list[str]:
    """Snapshot labels [s] -> adjacent pair labels [s - 1], ``"a->b"``."""
    return [f"{a}->{b}" for a, b in zip(labels[:-1], labels[1:])]


def write_trends(labels: Sequence[str], series: Mapping[str, Sequence[float | None]], out_dir: Path,
                 meta: Mapping[str, Any] | None = None, title: str = "") -> dict[str, Any]:
    """trends.svg (headline criteria per snapshot), trends.json, trends.csv (one row per snapshot).

    Returns: ``{"files": [...], "headline": {...}}``; the headline holds the plotted criteria's series.
    """
    out_dir = Path(out_dir)
    panels = [(label, {n: series[n] for n in names if n in series}) for label, names in TREND_PANELS]
    figure = write_figure(series_figure(labels, panels, "snapshot", title), out_dir / "trends")
    frame = pd.DataFrame({"snapshot": list(labels), **{name: list(values) for name, values in series.items()}})
    data = {"labels": list(labels), "criteria": dict(series), **(meta or {})}
    files = [figure, write_json(out_dir / "trends.json", data), write_csv(out_dir / "trends.csv", frame)]
    headline = {"labels": list(labels), **{n: list(series[n]) for _, names in TREND_PANELS for n in names if n in series}}
    return {"files": files, "headline": headline}


def write_stability(labels: Sequence[str], stability: Mapping[str, Sequence[float | None]], out_dir: Path,
                    meta: Mapping[str, Any] | None = None, title: str = "") -> dict[str, Any]:
    """stability.svg, stability.json, stability.csv (one row per adjacent pair of snapshots)."""
    out_dir = Path(out_dir)
    pairs = pair_labels(labels)
    panels = [(label, {n: stability[n] for n in names if n in stability}) for label, names in STABILITY_PANELS]
    figure = write_figure(series_figure(pairs, panels, "adjacent snapshots (later = ground truth)", title),
                          out_dir / "stability")
    frame = pd.DataFrame({"pair": pairs, "earlier": list(labels[:-1]), "later": list(labels[1:]),
                          **{name: list(values) for name, values in stability.items()}})
    data = {"pairs": pairs, "criteria": dict(stability), **(meta or {})}
    files = [figure, write_json(out_dir / "stability.json", data), write_csv(out_dir / "stability.csv", frame)]
    headline = {"pairs": pairs, **{n: list(stability[n]) for _, names in STABILITY_PANELS for n in names
                                   if n in stability}}
    return {"files": files, "headline": headline}
