"""Deterministic matplotlib (Agg) figures for the analyses and the leaderboard: same input, same bytes.

SVG ids come from a fixed hash salt and no creation date is written; PNGs carry no software tag.
Text from result files (estimator names, snapshot labels) is drawn as written, never parsed as
mathtext (:func:`literal_text`): a label such as ``"$\\foo$"`` would otherwise raise in ``savefig``.
Importing this module selects the Agg backend and sets the common style (``plt.rcParams``).
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axis import Axis
from matplotlib.text import Text
from matplotlib.ticker import LogFormatter, ScalarFormatter

__all__ = ["NUMERIC_FORMATTERS", "literal_text", "plt", "png_bytes", "svg_text"]

plt.rcParams.update({"svg.hashsalt": "nas-estimator-suite", "svg.fonttype": "none", "font.size": 9})

#: Tick formatters whose labels are numbers matplotlib writes itself (possibly as mathtext).
NUMERIC_FORMATTERS = (ScalarFormatter, LogFormatter)


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
    """``fig`` as SVG text (no date, no creator), its texts literal; the figure is closed."""
    literal_text(fig)
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def png_bytes(fig) -> bytes:
    """``fig`` as PNG bytes (110 dpi, no software tag), its texts literal; the figure is closed."""
    literal_text(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None}, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()
