"""Plots made at build time with matplotlib (Agg), byte-identical for identical input.

SVG ids come from a fixed hash salt and no creation date is written; PNGs carry no software tag.
Text from result files (estimator names, snapshot labels) is drawn as written, never parsed as
mathtext (:func:`literal_text`): a label such as ``"$\\foo$"`` would otherwise raise in ``savefig``.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axis import Axis
from matplotlib.text import Text
from matplotlib.ticker import LogFormatter, ScalarFormatter

plt.rcParams.update({"svg.hashsalt": "nas-estimator-suite", "svg.fonttype": "none", "font.size": 9})

#: Tick formatters whose labels are numbers matplotlib writes itself (possibly as mathtext).
NUMERIC_FORMATTERS = (ScalarFormatter, LogFormatter)
FAMILY_COLORS = {"zero-shot": "#1f77b4", "one-shot": "#d62728", "baseline": "#7f7f7f", "reference": "#2ca02c"}


def literal_text(fig) -> None:
    """Draw every text of ``fig`` that a caller wrote (titles, axis labels, legends, annotations, tick
    labels given as strings) as it is: no mathtext, so ``$...$`` from a result file cannot raise.

    Only what matplotlib's numeric tick formatters write keeps mathtext (a log axis writes
    ``$\\mathdefault{10^{0}}$``): their tick labels and the axes' offset texts.
    """
    numeric: set[int] = set()
    for axis in fig.findobj(Axis):
        numeric.add(id(axis.offsetText))
        for ticks, formatter in ((axis.get_major_ticks(), axis.get_major_formatter()),
                                 (axis.get_minor_ticks(), axis.get_minor_formatter())):
            if isinstance(formatter, NUMERIC_FORMATTERS):
                numeric.update(id(label) for tick in ticks for label in (tick.label1, tick.label2))
    for text in fig.findobj(Text):
        if id(text) not in numeric:
            text.set_parse_math(False)


def svg_text(fig) -> str:
    literal_text(fig)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def png_bytes(fig) -> bytes:
    literal_text(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


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
