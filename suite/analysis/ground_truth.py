"""Ground-truth analyses: the GT distributions (study Fig 6), a result's scores against every GT
column (Fig 9: on NB201 the CIFAR-10 / CIFAR-100 / ImageNet16-120 accuracies) and the score-vs-GT
scatter.

* :func:`gt_histogram` / :func:`gt_summary`: one column of the benchmark's table (all its
  architectures, not only the scored ones). Bins: ``bins`` equal-width bins from the column's
  minimum to its maximum (numpy's rule: the last bin includes its right edge).
* :func:`cross_dataset`: the criteria of one score vector against each GT column.
* :func:`write_score_vs_gt`: GT (y) against the score's normalised rank (x, 1 = predicted best);
  a PNG above :data:`~suite.analysis.plots.SCATTER_PNG_ABOVE` points, an SVG otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from suite.analysis.plots import (SCATTER_PNG_ABOVE, bars_figure, series_figure, write_csv, write_figure,
                                  write_json)
from suite.analysis.ranks import normalised_ranks
from suite.metrics import compute_criteria
from suite.plotting import plt

#: Per benchmark, the columns that hold the same architectures' accuracy on different data sets.
DATASET_COLUMNS: dict[str, tuple[str, ...]] = {
    "nb201": ("cifar10_test_200", "cifar100_test_200", "imagenet16_test_200"),
}
#: Readable names of those columns.
DATASET_NAMES: dict[str, str] = {
    "cifar10_test_200": "CIFAR-10", "cifar100_test_200": "CIFAR-100", "imagenet16_test_200": "ImageNet16-120",
}
#: The criteria of the cross-dataset table (the study's Fig 9 shows KD and P@top5%).
CROSS_CRITERIA: tuple[str, ...] = ("KD", "SpearmanR", "P@top5%", "P@bottom5%")
HIST_BINS = 60


def gt_histogram(values: np.ndarray, bins: int = HIST_BINS) -> tuple[np.ndarray, np.ndarray]:
    """values float64 [n] (finite) -> (counts int64 [bins], edges float64 [bins + 1]), min..max equal width."""
    values = np.asarray(values, dtype=np.float64)
    counts, edges = np.histogram(values, bins=bins)
    return counts.astype(np.int64), edges


def gt_summary(values: np.ndarray) -> dict[str, float]:
    """n, min, max, mean, std (population), median and the 90/95/99 % quantiles of float64 [n]."""
    values = np.asarray(values, dtype=np.float64)
    q90, q95, q99 = np.quantile(values, [0.9, 0.95, 0.99])
    return {"n": int(len(values)), "min": float(values.min()), "max": float(values.max()),
            "mean": float(values.mean()), "std": float(values.std()), "median": float(np.median(values)),
            "q90": float(q90), "q95": float(q95), "q99": float(q99)}


def cross_dataset(scores: np.ndarray, gts: Mapping[str, np.ndarray], nonfinite: str = "worst",
                  criteria: Sequence[str] = CROSS_CRITERIA) -> dict[str, dict[str, float | None]]:
    """The criteria of ``scores`` [n] against each GT column.

    Args:
        scores: float64 [n].
        gts: column -> float64 [n] (aligned with ``scores``, finite).
        nonfinite: the result's policy.
        criteria: names of :func:`suite.metrics.compute_criteria` to keep.
    Returns:
        column -> {criterion: value or None}, columns in ``gts``' order.
    """
    out = {}
    for column, gt in gts.items():
        values = compute_criteria(scores, gt, nonfinite).values
        out[column] = {name: values[name] for name in criteria}
    return out


def write_distribution(columns: Mapping[str, np.ndarray], out_dir: Path, stem: str, title: str = "") -> dict[str, Any]:
    """``<stem>.svg`` (one histogram per column), ``<stem>.json`` (summary + bins), ``<stem>.csv`` (bins, long form).

    Args:
        columns: column name -> float64 [n] values (the benchmark's whole table).
    """
    out_dir = Path(out_dir)
    fig, axes = plt.subplots(1, len(columns), figsize=(4.2 * len(columns), 3.0), squeeze=False, layout="constrained")
    rows, data = [], {}
    for ax, (column, values) in zip(axes[0], columns.items()):
        counts, edges = gt_histogram(values)
        summary = gt_summary(values)
        data[column] = {"summary": summary, "counts": counts, "edges": edges}
        ax.stairs(counts, edges, fill=True, color="#4c72b0")
        ax.axvline(summary["q95"], color="#d62728", linewidth=0.8, linestyle="--", label="top 5% threshold")
        ax.set_xlabel(f"{DATASET_NAMES.get(column, column)} ({column})")
        ax.set_ylabel("architectures")
        ax.legend(fontsize=7, frameon=False, loc="upper left")
        ax.grid(alpha=0.3)
        rows.extend({"column": column, "bin_left": float(lo), "bin_right": float(hi), "count": int(c)}
                    for lo, hi, c in zip(edges[:-1], edges[1:], counts))
    if title:
        fig.suptitle(title, fontsize=9)
    files = [write_figure(fig, out_dir / stem), write_json(out_dir / f"{stem}.json", {"columns": data}),
             write_csv(out_dir / f"{stem}.csv", pd.DataFrame(rows, columns=["column", "bin_left", "bin_right", "count"]))]
    headline = {column: {k: data[column]["summary"][k] for k in ("n", "mean", "median", "q95", "max")}
                for column in columns}
    return {"files": files, "headline": headline}


def write_cross_dataset(labels: Sequence[str], table: Sequence[Mapping[str, Mapping[str, float | None]]], out_dir: Path,
                        meta: Mapping[str, Any] | None = None, title: str = "",
                        plotted: Sequence[str] | None = None) -> dict[str, Any]:
    """cross_dataset.svg / .json / .csv.

    Args:
        labels: snapshot labels [s].
        table: per snapshot, :func:`cross_dataset`'s output (the same columns in each).
        plotted: the columns drawn as lines when there are several snapshots (default: all); the data
            files always hold every column.
    The plot: KD and P@top5% per GT column, bars for the one snapshot, or one line per column across
    snapshots when there are several.
    """
    out_dir = Path(out_dir)
    columns = list(table[-1])
    last = table[-1]
    if len(labels) == 1:
        fig = bars_figure(columns, [(name, [last[c][name] for c in columns]) for name in ("KD", "P@top5%")],
                          "ground-truth column", title)
    else:
        drawn = [c for c in columns if plotted is None or c in plotted]
        panels = [(name, {c: [row[c][name] for row in table] for c in drawn}) for name in ("KD", "P@top5%")]
        fig = series_figure(labels, panels, "snapshot", title)
    rows = [{"snapshot": label, "column": c, **row[c]} for label, row in zip(labels, table) for c in columns]
    data = {"labels": list(labels), "columns": columns, "values": {label: row for label, row in zip(labels, table)},
            **(meta or {})}
    files = [write_figure(fig, out_dir / "cross_dataset"), write_json(out_dir / "cross_dataset.json", data),
             write_csv(out_dir / "cross_dataset.csv", pd.DataFrame(rows))]
    headline = {c: {name: last[c][name] for name in ("KD", "P@top5%")} for c in columns}
    return {"files": files, "headline": headline}


def write_score_vs_gt(arch_ids: np.ndarray, scores: np.ndarray, gt: np.ndarray, out_dir: Path,
                      meta: Mapping[str, Any] | None = None, title: str = "", gt_label: str = "ground truth"
                      ) -> dict[str, Any]:
    """score_vs_gt.png|svg (GT against the score's normalised rank), score_vs_gt.csv (one row per
    architecture: arch_id, score, score_rank, gt), score_vs_gt.json (counts and the plot's meaning).

    Args:
        arch_ids: int64 [n]; scores: float64 [n] (non-finite rank lowest); gt: float64 [n].
    """
    out_dir = Path(out_dir)
    scores = np.asarray(scores, dtype=np.float64)
    ranks = normalised_ranks(scores)
    raster = len(scores) > SCATTER_PNG_ABOVE
    fig, ax = plt.subplots(figsize=(4.8, 3.4), layout="constrained")
    ax.plot(ranks, gt, linestyle="none", marker=".", markersize=1.5 if raster else 2.5, alpha=0.4,
            markeredgewidth=0, color="#1f77b4", rasterized=raster)
    ax.set_xlabel("score rank (0 = predicted worst, 1 = best)")
    ax.set_ylabel(gt_label)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=9)
    frame = pd.DataFrame({"arch_id": np.asarray(arch_ids, dtype=np.int64), "score": scores, "score_rank": ranks,
                          "gt": np.asarray(gt, dtype=np.float64)})
    n_nonfinite = int(np.count_nonzero(~np.isfinite(scores)))
    data = {"n": len(scores), "n_nonfinite": n_nonfinite, "format": "png" if raster else "svg",
            "x": "normalised score rank, average over ties, non-finite lowest", **(meta or {})}
    files = [write_figure(fig, out_dir / "score_vs_gt", raster=raster), write_json(out_dir / "score_vs_gt.json", data),
             write_csv(out_dir / "score_vs_gt.csv", frame)]
    return {"files": files, "headline": {"n": len(scores), "n_nonfinite": n_nonfinite, "format": data["format"]}}
