"""Intra-level KD (study Fig 8, right): how well a fine score orders architectures that a coarse
score ties.

A **level** is a set of architectures with exactly equal coarse values (``==``; all NaNs form one
level, as do all +inf and all -inf). Within each level of at least ``min_size`` (default 2)
architectures, the KD of the fine score against the GT is computed (None when the fine score or the
GT is constant inside the level). In the study the coarse score is the one-shot accuracy on one
validation batch and the fine score the accuracy on ten; here, by default, the coarse score is the
snapshot's first scoring batch (``per_batch[0]``) and the fine score the snapshot's score (the mean
over all its batches). A snapshot with one batch (or none recorded) cannot be analysed: its coarse
and fine scores are the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from suite.analysis.plots import write_csv, write_figure, write_json
from suite.analysis.ranks import kendall
from suite.plotting import plt

#: Histogram bins of the intra-level KDs: 20 equal bins over [-1, 1] (the last includes 1).
KD_EDGES = np.linspace(-1.0, 1.0, 21)


def tie_levels(coarse: np.ndarray) -> np.ndarray:
    """float64 [n] -> int64 [n]: level index per architecture, levels numbered by ascending coarse value
    (NaN last); equal values (NaN with NaN) share a level."""
    coarse = np.asarray(coarse, dtype=np.float64)
    _, inverse = np.unique(coarse, return_inverse=True, equal_nan=True)
    return inverse.reshape(-1).astype(np.int64)


def intra_level_kd(coarse: np.ndarray, fine: np.ndarray, gt: np.ndarray, min_size: int = 2,
                   nonfinite: str = "worst") -> dict[str, Any]:
    """Intra-level KDs of one snapshot.

    Args:
        coarse: float64 [n], the score that defines the levels.
        fine: float64 [n], the score ranked inside each level (non-finite: the result's policy).
        gt: float64 [n], finite.
        min_size: smallest level analysed.
        nonfinite: ``"worst"`` or ``"drop"``, for the fine score.
    Returns:
        ``levels``: [{value, size, KD}] for every level of >= ``min_size`` architectures, by ascending
        coarse value; ``n``; ``n_levels`` (such levels); ``n_levels_defined`` (those with a KD);
        ``n_tied`` (architectures in them); ``fraction_tied`` (``n_tied / n``); ``kd_mean``,
        ``kd_median``, ``kd_weighted_mean`` (weights = level sizes) over the defined KDs (None when
        none is); ``hist_counts`` int64 [20] over ``hist_edges`` [21] (:data:`KD_EDGES`).
    """
    coarse = np.asarray(coarse, dtype=np.float64)
    fine = np.asarray(fine, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if not coarse.shape == fine.shape == gt.shape or coarse.ndim != 1:
        raise ValueError(f"coarse, fine and gt must be 1-D of equal length, got {coarse.shape}, {fine.shape}, {gt.shape}")
    level = tie_levels(coarse)
    sizes = np.bincount(level) if len(level) else np.zeros(0, dtype=np.int64)
    levels = []
    for index in np.flatnonzero(sizes >= min_size):
        members = level == index
        value = float(coarse[members][0])
        kd = kendall(fine[members], gt[members], nonfinite)
        levels.append({"value": value if np.isfinite(value) else None, "size": int(sizes[index]), "KD": kd})
    kds = np.array([lv["KD"] for lv in levels if lv["KD"] is not None], dtype=np.float64)
    weights = np.array([lv["size"] for lv in levels if lv["KD"] is not None], dtype=np.float64)
    n_tied = int(sum(lv["size"] for lv in levels))
    counts, _ = np.histogram(kds, bins=KD_EDGES)
    return {
        "levels": levels, "n": int(len(coarse)), "n_levels": len(levels), "n_levels_defined": int(len(kds)),
        "n_tied": n_tied, "fraction_tied": n_tied / len(coarse) if len(coarse) else None,
        "kd_mean": float(kds.mean()) if len(kds) else None,
        "kd_median": float(np.median(kds)) if len(kds) else None,
        "kd_weighted_mean": float(np.average(kds, weights=weights)) if len(kds) else None,
        "hist_counts": counts.astype(np.int64), "hist_edges": KD_EDGES.copy(),
    }


def write_intra_level(labels: Sequence[str], analyses: Sequence[Mapping[str, Any]], out_dir: Path,
                      meta: Mapping[str, Any] | None = None, title: str = "") -> dict[str, Any]:
    """intra_level.svg (histogram of intra-level KDs, one outline per snapshot), intra_level.json
    (per snapshot: the summary and the histogram), intra_level.csv (one row per level and snapshot).

    Args:
        labels: the analysed snapshots' labels [s].
        analyses: :func:`intra_level_kd` per snapshot.
    """
    out_dir = Path(out_dir)
    fig, ax = plt.subplots(figsize=(5.2, 3.3), layout="constrained")
    for label, result in zip(labels, analyses):
        summary = f"{label}: {result['n_levels']} levels, {100 * (result['fraction_tied'] or 0):.0f}% tied"
        ax.stairs(result["hist_counts"], result["hist_edges"], label=summary, linewidth=1.2)
    ax.set_xlabel("intra-level KD (fine score vs GT within a level of the coarse score)")
    ax.set_ylabel("levels")
    ax.set_xlim(-1.0, 1.0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, frameon=False)
    if title:
        ax.set_title(title, fontsize=9)
    rows = [{"snapshot": label, "level_value": lv["value"], "size": lv["size"], "KD": lv["KD"]}
            for label, result in zip(labels, analyses) for lv in result["levels"]]
    frame = pd.DataFrame(rows, columns=["snapshot", "level_value", "size", "KD"])
    summaries = {label: {k: v for k, v in result.items() if k != "levels"} for label, result in zip(labels, analyses)}
    data = {"labels": list(labels), "snapshots": summaries, **(meta or {})}
    files = [write_figure(fig, out_dir / "intra_level"), write_json(out_dir / "intra_level.json", data),
             write_csv(out_dir / "intra_level.csv", frame)]
    last = analyses[-1]
    headline = {"snapshot": labels[-1], **{k: last[k] for k in ("n_levels", "n_levels_defined", "fraction_tied",
                                                                  "kd_mean", "kd_weighted_mean")}}
    return {"files": files, "headline": headline}
