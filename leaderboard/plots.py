"""The leaderboard's own plots (quality against cost, score against truth, criteria over snapshots,
ground-truth histogram), made at build time and byte-identical for identical input.

They are written through :mod:`suite.plotting` (matplotlib Agg, fixed SVG hash salt, no dates, text
from result files never parsed as mathtext), the helpers the analyses use too.
"""

from __future__ import annotations

import numpy as np

from suite.plotting import plt, png_bytes, svg_text

FAMILY_COLORS = {"zero-shot": "#1f77b4", "one-shot": "#d62728", "baseline": "#7f7f7f", "reference": "#2ca02c"}


def quality_vs_cost(points: list[dict]) -> str:
    """SVG: KD (y) against device-hours (x, log) per estimator; ``points``: name, family, kd, hours."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for p in points:
        hours = max(p["hours"], 1e-6)
        ax.scatter([hours], [p["kd"]], color=FAMILY_COLORS.get(p["family"], "#000000"), s=28, zorder=3)
        ax.annotate(p["name"], (hours, p["kd"]), textcoords="offset points", xytext=(4, 3), fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("cost: device-hours per run (log)")
    ax.set_ylabel("KD (mean over seeds)")
    ax.grid(alpha=0.3)
    shown = [(family, color) for family, color in FAMILY_COLORS.items() if any(p["family"] == family for p in points)]
    for family, color in shown:
        ax.scatter([], [], color=color, label=family)
    if shown:
        ax.legend(loc="lower right", fontsize=7, frameon=False)
    return svg_text(fig)


def score_vs_truth(scores: np.ndarray, gt: np.ndarray, title: str) -> bytes:
    """PNG: ground truth against the score's rank (15,625 points: a raster, not SVG)."""
    finite = np.isfinite(scores)
    ranks = np.empty(len(scores))
    ranks[np.argsort(np.where(finite, scores, -np.inf), kind="stable")] = np.arange(len(scores))
    fig, ax = plt.subplots(figsize=(4.8, 3.4))
    ax.plot(ranks / max(len(scores) - 1, 1), gt, linestyle="none", marker=".", markersize=1.5, alpha=0.35,
            color="#1f77b4", markeredgewidth=0, rasterized=True)  # markers, not a scatter collection: 10x faster
    ax.set_xlabel("score rank (0 = predicted worst, 1 = best)")
    ax.set_ylabel("ground truth")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    return png_bytes(fig)


def criteria_vs_budget(labels: list[str], values: dict[str, list[float]]) -> str:
    """SVG: criteria (lines) across training snapshots (one-shot estimators)."""
    fig, ax = plt.subplots(figsize=(5.6, 3.2))
    for name, series in values.items():
        ax.plot(range(len(labels)), series, marker="o", label=name)
    ax.set_xticks(range(len(labels)), labels, rotation=30, fontsize=7)
    ax.set_xlabel("training budget (snapshot)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, frameon=False)
    return svg_text(fig)


def distribution(values: np.ndarray, xlabel: str) -> str:
    """SVG: histogram of a benchmark's ground truth."""
    fig, ax = plt.subplots(figsize=(5.6, 3.0))
    ax.hist(values[np.isfinite(values)], bins=80, color="#4c72b0")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("architectures")
    ax.grid(alpha=0.3)
    return svg_text(fig)
