"""Architecture-level size bias (study Fig 11): the criteria within five FLOPs groups.

* Groups (:func:`flops_groups`): the scored architectures sorted by FLOPs (``space.flop_count``) and
  cut into ``n_groups`` quantile groups. An architecture's group is
  ``floor(n_groups * s / n)``, ``s`` = the number of scored architectures with **strictly fewer**
  FLOPs. Architectures with equal FLOPs have the same ``s``, so ties always stay in one group (the
  group the first of them falls in); groups can therefore be unequal, and one can be empty when a
  tie spans a whole quantile. Group 0 holds the smallest networks.
* Per group and snapshot: KD of the scores against the GT within the group, and the mean rank
  difference RD = predicted rank - true rank, both ranks normalised to [0, 1] over the whole scored
  set (0 = worst, 1 = best, ties at their average rank, non-finite scores lowest). So RD > 0 means
  the estimator **overestimates** the group, RD < 0 underestimates it.
* Non-finite scores follow the result's policy: ``"worst"`` ranks them lowest; ``"drop"`` leaves
  those architectures out of that snapshot's ranks, KDs and RDs (the groups stay as they are).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from suite.analysis.plots import series_figure, write_csv, write_figure, write_json
from suite.analysis.ranks import kendall, normalised_ranks
from suite.metrics import predicted_order, worst_filled

N_GROUPS = 5
#: How many of the best-scored architectures ``top_flops_rank`` follows.
TOP = 3


def flops_groups(flops: np.ndarray, n_groups: int = N_GROUPS) -> np.ndarray:
    """FLOPs [n] -> int64 [n] group in 0..n_groups-1, ``floor(n_groups * strictly_smaller / n)`` (ties together)."""
    flops = np.asarray(flops, dtype=np.float64)
    n = len(flops)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    smaller = np.searchsorted(np.sort(flops), flops, side="left").astype(np.int64)
    return (n_groups * smaller) // n


def rank_difference(scores: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Predicted minus true normalised rank, float64 [n] (positive = overestimated)."""
    return normalised_ranks(scores) - normalised_ranks(gt)


def size_bias(scores: np.ndarray, gt: np.ndarray, flops: np.ndarray, n_groups: int = N_GROUPS,
              nonfinite: str = "worst") -> dict[str, np.ndarray]:
    """KD and mean RD per FLOPs group and snapshot.

    Args:
        scores: float64 [s, n] (one row per snapshot).
        gt: float64 [n]. flops: [n].
        n_groups: number of groups.
        nonfinite: the result's policy.
    Returns:
        ``kd_flops`` float64 [s]: KD of the scores against FLOPs (the estimator's preference for size),
        to be read against ``kd_gt_flops`` (float64 [], KD of the GT against FLOPs: how much size is
        worth); ``top_flops_rank`` float64 [s, TOP]: the normalised FLOPs rank (1 = the largest) of
        the TOP best-scored architectures (study Fig 19: synflow's top 3 are NB201's largest);
        ``group`` int64 [n]; ``size`` int64 [g] (scored architectures per group); ``flops_min`` /
        ``flops_max`` float64 [g] (NaN for an empty group); ``n`` int64 [s, g] (architectures used per
        snapshot); ``kd`` float64 [s, g] and ``mean_rd`` float64 [s, g] (NaN where undefined: fewer
        than two architectures, or constant scores or GT, for KD; an empty group for RD).
    """
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    gt = np.asarray(gt, dtype=np.float64)
    flops = np.asarray(flops, dtype=np.float64)
    group = flops_groups(flops, n_groups)
    size = np.bincount(group, minlength=n_groups).astype(np.int64)
    flops_min = np.array([flops[group == g].min() if size[g] else np.nan for g in range(n_groups)])
    flops_max = np.array([flops[group == g].max() if size[g] else np.nan for g in range(n_groups)])
    n = np.zeros((len(scores), n_groups), dtype=np.int64)
    kd = np.full((len(scores), n_groups), np.nan)
    mean_rd = np.full((len(scores), n_groups), np.nan)
    for i, row in enumerate(scores):
        keep = np.isfinite(row) if nonfinite == "drop" else np.ones(len(row), dtype=bool)
        rd = rank_difference(row[keep], gt[keep])
        kept_group = group[keep]
        for g in range(n_groups):
            members = kept_group == g
            n[i, g] = int(members.sum())
            if n[i, g]:
                mean_rd[i, g] = float(rd[members].mean())
            value = kendall(row[keep][members], gt[keep][members], nonfinite)
            kd[i, g] = np.nan if value is None else value
    flops_rank = normalised_ranks(flops)
    kd_flops = np.full(len(scores), np.nan)
    top = np.full((len(scores), min(TOP, len(gt))), np.nan)
    for i, row in enumerate(scores):
        keep = np.isfinite(row) if nonfinite == "drop" else np.ones(len(row), dtype=bool)
        value = kendall(row[keep], flops[keep], nonfinite)
        kd_flops[i] = np.nan if value is None else value
        order = predicted_order(worst_filled(row), gt)[: top.shape[1]]  # ties against the estimator, as the criteria
        top[i] = flops_rank[order]
    kd_gt_flops = kendall(gt, flops)
    return {"group": group, "size": size, "flops_min": flops_min, "flops_max": flops_max, "n": n, "kd": kd,
            "mean_rd": mean_rd, "kd_flops": kd_flops, "kd_gt_flops": np.float64(np.nan if kd_gt_flops is None else kd_gt_flops),
            "top_flops_rank": top}


def _short(value: float) -> str:
    """7783050 -> '7.8M' (tick labels)."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{unit}"
    return f"{value:.3g}"


def _none(values: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else float(v) for v in values]


def write_size_bias(labels: Sequence[str], bias: Mapping[str, np.ndarray], out_dir: Path,
                    meta: Mapping[str, Any] | None = None, title: str = "") -> dict[str, Any]:
    """size_bias.svg (KD and mean RD per group, one line per snapshot), size_bias.json, size_bias.csv
    (one row per snapshot and group)."""
    out_dir = Path(out_dir)
    n_groups = len(bias["size"])
    groups = [f"G{g + 1}" if not bias["size"][g] else
              f"G{g + 1}\n{_short(bias['flops_min'][g])}-{_short(bias['flops_max'][g])}" for g in range(n_groups)]
    panels = [("KD within the group", {label: _none(bias["kd"][i]) for i, label in enumerate(labels)}),
              ("mean RD (> 0: overestimated)",
               {label: _none(bias["mean_rd"][i]) for i, label in enumerate(labels)})]
    fig = series_figure(groups, panels, "FLOPs group (G1 = smallest), FLOPs range", title)
    for ax in fig.axes[1:2]:
        ax.axhline(0.0, color="#000000", linewidth=0.6)
    rows = [{"snapshot": label, "group": g + 1, "size": int(bias["size"][g]), "n": int(bias["n"][i, g]),
             "flops_min": bias["flops_min"][g], "flops_max": bias["flops_max"][g],
             "KD": bias["kd"][i, g], "mean_RD": bias["mean_rd"][i, g]}
            for i, label in enumerate(labels) for g in range(n_groups)]
    group_info = [{"group": g + 1, "size": int(bias["size"][g]), "flops_min": bias["flops_min"][g],
                   "flops_max": bias["flops_max"][g]} for g in range(n_groups)]
    data = {"labels": list(labels), "groups": group_info,
            "KD": {label: _none(bias["kd"][i]) for i, label in enumerate(labels)},
            "mean_RD": {label: _none(bias["mean_rd"][i]) for i, label in enumerate(labels)},
            "n": {label: bias["n"][i] for i, label in enumerate(labels)},
            "KD_score_vs_FLOPs": {label: _none(bias["kd_flops"][i : i + 1])[0] for i, label in enumerate(labels)},
            "KD_gt_vs_FLOPs": _none(np.atleast_1d(bias["kd_gt_flops"]))[0],
            "top_flops_rank": {label: _none(bias["top_flops_rank"][i]) for i, label in enumerate(labels)},
            "rule": f"group = floor({n_groups} * (#archs with strictly fewer FLOPs) / n); RD = predicted - true "
                    "normalised rank (1 = best), > 0 = overestimated",
            **(meta or {})}
    files = [write_figure(fig, out_dir / "size_bias"), write_json(out_dir / "size_bias.json", data),
             write_csv(out_dir / "size_bias.csv", pd.DataFrame(rows))]
    headline = {"snapshot": labels[-1], "size": bias["size"], "KD": _none(bias["kd"][-1]),
                "mean_RD": _none(bias["mean_rd"][-1]), "KD_score_vs_FLOPs": _none(bias["kd_flops"][-1:])[0],
                "KD_gt_vs_FLOPs": _none(np.atleast_1d(bias["kd_gt_flops"]))[0],
                "top_flops_rank": _none(bias["top_flops_rank"][-1])}
    return {"files": files, "headline": headline}
