"""Writers shared by the analyses: deterministic plots (SVG, PNG for large scatters), JSON and CSV.

Plots go through :func:`suite.plotting.svg_text` / :func:`suite.plotting.png_bytes` (matplotlib
Agg, fixed SVG hash salt, no dates, no software tag), so the same input gives the same bytes.
JSON is written with sorted keys and non-finite floats as ``null``; CSV by :func:`csv_text` (``\\n``
line ends, floats in Python's shortest round-trip form, undefined values empty, a field with a comma,
quote, CR or LF quoted). A text cell a spreadsheet would run as a formula (snapshot labels come from
result files) gets a leading ``'`` on each of its lines (:func:`csv_cell`, OWASP's advice on CSV
injection); numbers are never changed.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from suite.plotting import plt, png_bytes, svg_text

#: How a text cell starts when a spreadsheet would read it as a formula (OWASP, "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_LINE_BREAK = re.compile(r"(\r\n|\r|\n)")
#: Scatter plots with more points than this are written as PNG (an SVG of 15,625 markers is ~3 MB).
SCATTER_PNG_ABOVE = 2000


def jsonable(value: Any) -> Any:
    """numpy scalars/arrays, tuples, Paths -> plain JSON values; NaN and +-inf -> None."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return value.as_posix()
    return value


def write_json(path: Path, data: Any) -> Path:
    """``data`` as JSON: sorted keys, 1-space indent, trailing newline, non-finite floats as null."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jsonable(data), sort_keys=True, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    return path


def csv_cell(value: Any) -> Any:
    """A text cell with ``'`` in front of each of its lines that starts like a formula
    (:data:`FORMULA_START`; a spreadsheet may split a cell at a bare CR or LF), and in front of the
    cell if it starts with a line break; any other value (numbers included, negative ones too) as it is."""
    if not isinstance(value, str):
        return value
    parts = _LINE_BREAK.split(value)  # text, break, text, ...
    text = "".join("'" + part if i % 2 == 0 and part.startswith(FORMULA_START) else part
                   for i, part in enumerate(parts))
    text = "'" + text if text.startswith(("\r", "\n")) else text
    return value if text == value else text


def csv_text(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text of ``rows`` under ``header`` (RFC 4180, ``\\n`` line ends): floats in shortest round-trip
    form (``repr``), None empty, text through :func:`csv_cell`; a field holding a comma, a quote,
    a CR or an LF is quoted (Python's csv module leaves a bare CR unquoted when lines end with LF)."""
    lines = [",".join(_csv_field(h) for h in header)]
    lines.extend(",".join(_csv_field(v) for v in row) for row in rows)
    return "\n".join(lines) + "\n"


def _csv_field(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None:
        return ""
    text = repr(value) if isinstance(value, float) else str(csv_cell(value))
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _missing(value: Any) -> bool:
    return value is pd.NA or value is pd.NaT or (isinstance(value, (float, np.floating)) and math.isnan(value))


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    """``frame`` as CSV (:func:`csv_text`) without its index; None/NaN cells are left empty, text goes
    through :func:`csv_cell`; the caller's frame is not changed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = ([None if _missing(v) else v for v in row] for row in frame.itertuples(index=False, name=None))
    path.write_text(csv_text(list(frame.columns), rows), encoding="utf-8")
    return path


def write_figure(fig, stem: Path, raster: bool = False) -> Path:
    """Save and close ``fig`` as ``<stem>.svg`` (or ``<stem>.png`` when ``raster``); returns the path."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    if raster:
        path = stem.with_name(stem.name + ".png")
        path.write_bytes(png_bytes(fig))
    else:
        path = stem.with_name(stem.name + ".svg")
        path.write_text(svg_text(fig), encoding="utf-8")
    return path


def as_float(values: Sequence[float | None]) -> np.ndarray:
    """[v or None, ...] -> float64 array with NaN for None (matplotlib leaves gaps there)."""
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def series_figure(labels: Sequence[str], panels: Sequence[tuple[str, Mapping[str, Sequence[float | None]]]],
                  xlabel: str, title: str = ""):
    """Line plots over ``labels`` (x), one subplot per ``(ylabel, {name: values})`` panel.

    A one-point series shows as a marker; None values leave gaps.
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.3), squeeze=False, layout="constrained")
    x = np.arange(len(labels))
    for ax, (ylabel, series) in zip(axes[0], panels):
        for name, values in series.items():
            ax.plot(x, as_float(values), marker="o", markersize=4, label=name)
        ax.set_xticks(x, list(labels), rotation=30 if len(labels) > 1 else 0, fontsize=7)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if series:
            ax.legend(fontsize=7, frameon=False)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def bars_figure(categories: Sequence[str], panels: Sequence[tuple[str, Sequence[float | None]]], xlabel: str,
                title: str = ""):
    """Bar charts over ``categories``, one subplot per ``(ylabel, values)`` panel; None bars are absent."""
    fig, axes = plt.subplots(1, len(panels), figsize=(max(4.6, 0.45 * len(categories) + 1.6) * len(panels), 3.4),
                             squeeze=False, layout="constrained")
    x = np.arange(len(categories))
    for ax, (ylabel, values) in zip(axes[0], panels):
        heights = as_float(values)
        ax.bar(x, np.nan_to_num(heights, nan=0.0), color=["#4c72b0" if np.isfinite(h) else "#ffffff" for h in heights])
        ax.set_xticks(x, list(categories), rotation=60 if len(categories) > 3 else 0, fontsize=7, ha="right"
                      if len(categories) > 3 else "center")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.axhline(0.0, color="#000000", linewidth=0.6)
        ax.grid(alpha=0.3, axis="y")
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
