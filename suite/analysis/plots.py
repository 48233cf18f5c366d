"""Writers shared by the analyses: deterministic plots (SVG, PNG for large scatters), JSON and CSV.

Plots go through :func:`suite.plotting.svg_text` / :func:`suite.plotting.png_bytes` (matplotlib
Agg, fixed SVG hash salt, no dates, no software tag), so the same input gives the same bytes.
JSON is written with sorted keys and non-finite floats as ``null``; CSV through pandas (``\\n`` line
ends, floats in Python's shortest round-trip form, undefined values empty). A text cell a spreadsheet
would run as a formula (snapshot labels come from result files) is written with a leading ``'``
(:func:`csv_cell`, OWASP's advice on CSV injection); numbers are never changed.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from suite.plotting import plt, png_bytes, svg_text

#: How a text cell starts when a spreadsheet would read it as a formula (OWASP, "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
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
    """A text cell that starts like a formula (:data:`FORMULA_START`) with ``'`` in front; any other
    value (numbers included, negative ones too) as it is."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text of ``rows`` under ``header``: floats in shortest round-trip form (``repr``), None empty,
    text through :func:`csv_cell`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        writer.writerow(["" if v is None else repr(v) if isinstance(v, float) else csv_cell(v) for v in row])
    return buffer.getvalue()


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    """``frame`` as CSV without its index; None/NaN cells are left empty, text goes through :func:`csv_cell`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_formula_safe(frame).to_csv(index=False, lineterminator="\n"), encoding="utf-8")
    return path


def _formula_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with :func:`csv_cell` applied to its column names and to the text cells of its
    text columns; numeric columns, and non-text cells of mixed columns, are left untouched."""
    out = frame.rename(columns=csv_cell)
    for i in range(out.shape[1]):
        column = out.iloc[:, i]
        if not (pd.api.types.is_object_dtype(column.dtype) or pd.api.types.is_string_dtype(column.dtype)):
            continue
        values = column.tolist()
        if any(csv_cell(v) is not v for v in values):
            out.isetitem(i, pd.Series([csv_cell(v) for v in values], index=out.index, dtype=object))
    return out


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
