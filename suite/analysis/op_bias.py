"""Operation-level bias (the study's A2, Fig 12 and Fig 20): does an estimator prefer some operations?

Mutate one operation of a scored architecture into another and compare what the estimator says
with what the ground truth says. For every ordered pair of candidate operations ``(a, b)`` the
*mutation pairs* are the pairs ``(i, j)`` of scored architectures where ``archs[j]`` is
``archs[i]`` with one slot holding ``a`` changed to ``b`` (``space.with_op``). For each pair,
``dscore = scores[j] - scores[i]`` and ``dgt = gt[j] - gt[i]``; per ``(a, b)`` the analysis counts
the joint signs (score up / down / tie x GT up / down / tie), P(score up), P(GT up), and the
fraction of score gains where the GT does not gain (the study's "improper" estimations: a high
value means the estimator over-rates ``b`` against ``a``).

Matching the mutant to a scored architecture: by ``space.format`` (exact: NB201, NB301 and the
pruned NB101 cell have one string per architecture object), and, when the exact string is not
among the scored architectures (``match="format+canonical"``, the default), by ``space.canonical``:
a scored architecture the benchmark regards as the same network (NB101 subsets hold one cell per
isomorphism class, a sampled NB201 subset may hold another member of the mutant's class). When
several scored architectures share that canonical key, the first in ``archs`` order is taken; a
mutant isomorphic to its own origin (an operation on a dead edge) is no pair. ``match="format"``
counts exact mutants only. Every ordered pair ``(i, j)`` appears once as ``a -> b`` and once as
``b -> a``.

Files written (``stem`` prefixes each; plots through :mod:`suite.plotting`, byte-identical for
identical input):

- ``<stem>-op-bias.csv``: one row per ordered op pair (:data:`PAIR_COLUMNS`).
- ``<stem>-op-bias.json``: the same rows, the settings and the headline.
- ``<stem>-op-bias-<a>-to-<b>.svg``: (dGT, dscore) of the pair with the largest fraction of score
  gains where the GT does not gain, among pairs with at least ``min_pairs`` mutation pairs (the
  study's Fig 12), and of every pair named in ``pairs``: a scatter up to ``scatter_limit`` points,
  a 2-D histogram above.
- ``<stem>-op-slots.csv`` and ``<stem>-op-slots.svg`` (``.png`` above ``scatter_limit`` points): score
  (x) against GT (y), one subplot per slot, one colour and marker per operation (the study's Fig 20).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.colors import LogNorm

from suite.analysis.plots import csv_text
from suite.errors import UsageError
from suite.metrics import worst_filled
from suite.plotting import plt, png_bytes, svg_text

SIGNS = ("up", "down", "tie")
#: Columns of ``<stem>-op-bias.csv`` (and keys of the JSON's ``pairs`` rows).
PAIR_COLUMNS: tuple[str, ...] = (
    "op_from", "op_to", "n", "n_nonfinite", "n_canonical",
    *(f"score_{s}_gt_{g}" for s in SIGNS for g in SIGNS),
    "p_score_up", "p_gt_up", "score_gain_gt_not", "frac_score_gain_gt_not", "mean_dscore", "mean_dgt",
)
MATCHES = ("format", "format+canonical")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def mutation_pairs(space: Any, archs: Sequence[Any], match: str = "format+canonical") -> dict[tuple[str, str], dict[str, np.ndarray]]:
    """The mutation pairs of every ordered op pair ``(a, b)`` (``a != b``, in candidate order).

    Returns ``{(a, b): {"i": int64 [m], "j": int64 [m], "slot": int64 [m], "canonical": bool [m]}}``
    (``canonical``: matched through ``space.canonical``), pairs ordered by ``i``, then slot.

    Raises:
        ValueError: ``archs`` holds an architecture twice (equal ``space.format``).
    """
    if match not in MATCHES:
        raise UsageError(f"op bias: match must be one of {', '.join(MATCHES)}; got {match!r}")
    ops = tuple(space.candidate_ops())
    formats = [space.format(arch) for arch in archs]
    by_format: dict[str, int] = {}
    for k, key in enumerate(formats):
        if key in by_format:
            raise ValueError(f"op bias: architecture {key!r} appears twice (positions {by_format[key]} and {k})")
        by_format[key] = k
    slots = [tuple(space.op_slots(arch)) for arch in archs]
    # Exact mutants first. A mutant of (i, slot) has the same ops as archs[i] at every other slot,
    # so only architectures sharing that masked op tuple can be one: group them, and build a mutant
    # only for the ops its group holds at the slot (a sparse subset rarely builds any).
    groups: dict[tuple, dict[str, list[int]]] = {}
    for i, ops_i in enumerate(slots):
        for slot, op in enumerate(ops_i):
            key = (len(ops_i), slot, ops_i[:slot], ops_i[slot + 1:])
            groups.setdefault(key, {}).setdefault(op, []).append(i)
    exact: dict[tuple[int, int, str], int] = {}
    for (_, slot, _, _), members in groups.items():
        if len(members) < 2:
            continue
        for a, origins in members.items():
            for b in members:
                if b == a:
                    continue
                for i in origins:
                    j = by_format.get(space.format(space.with_op(archs[i], slot, b)))
                    if j is not None:
                        exact[(i, slot, b)] = j
    # Then, for the mutants not scored as such, an isomorphic scored architecture. Skipped when the
    # canonical form is the formatted string on every scored architecture (NB301): nothing to gain.
    fallback = match == "format+canonical" and any(space.canonical(arch) != key for arch, key in zip(archs, formats))
    by_canonical: dict[str, int] = {}
    if fallback:
        for k, arch in enumerate(archs):
            by_canonical.setdefault(space.canonical(arch), k)
    found: dict[tuple[str, str], list[tuple[int, int, int, bool]]] = {(a, b): [] for a in ops for b in ops if a != b}
    for i, ops_i in enumerate(slots):
        for slot, a in enumerate(ops_i):
            for b in ops:
                if b == a:
                    continue
                j = exact.get((i, slot, b))
                via_canonical = False
                if j is None and fallback:
                    j = by_canonical.get(space.canonical(space.with_op(archs[i], slot, b)))
                    via_canonical = True
                if j is None or j == i:
                    continue
                found[(a, b)].append((i, j, slot, via_canonical))
    out = {}
    for key, rows in found.items():
        table = np.asarray(rows, dtype=np.int64).reshape(-1, 4)
        out[key] = {"i": table[:, 0], "j": table[:, 1], "slot": table[:, 2], "canonical": table[:, 3].astype(bool)}
    return out


def _signs(delta: np.ndarray, tol: float) -> np.ndarray:
    """0 up, 1 down, 2 tie (|delta| <= tol)."""
    return np.where(delta > tol, 0, np.where(delta < -tol, 1, 2))


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def pair_statistics(a: str, b: str, pairs: dict[str, np.ndarray], scores: np.ndarray, gt: np.ndarray,
                    tie_tol: float = 0.0) -> dict[str, Any]:
    """One row of :data:`PAIR_COLUMNS` for the mutation pairs of ``a -> b`` (pairs with a
    non-finite score or GT on either side are left out and counted in ``n_nonfinite``)."""
    i, j = pairs["i"], pairs["j"]
    dscore, dgt = scores[j] - scores[i], gt[j] - gt[i]
    finite = np.isfinite(dscore) & np.isfinite(dgt)
    dscore, dgt = dscore[finite], dgt[finite]
    n = int(finite.sum())
    table = np.zeros((3, 3), dtype=np.int64)
    np.add.at(table, (_signs(dscore, tie_tol), _signs(dgt, tie_tol)), 1)
    row: dict[str, Any] = {"op_from": a, "op_to": b, "n": n, "n_nonfinite": int((~finite).sum()),
                           "n_canonical": int(pairs["canonical"][finite].sum())}
    for si, s in enumerate(SIGNS):
        for gi, g in enumerate(SIGNS):
            row[f"score_{s}_gt_{g}"] = int(table[si, gi])
    score_up, gt_up = int(table[0].sum()), int(table[:, 0].sum())
    gain_not = int(table[0, 1] + table[0, 2])
    row.update({
        "p_score_up": _ratio(score_up, n), "p_gt_up": _ratio(gt_up, n),
        "score_gain_gt_not": gain_not, "frac_score_gain_gt_not": _ratio(gain_not, score_up),
        "mean_dscore": float(dscore.mean()) if n else None, "mean_dgt": float(dgt.mean()) if n else None,
    })
    return row


def _deltas(pairs: dict[str, np.ndarray], scores: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dscore, dgt = scores[pairs["j"]] - scores[pairs["i"]], gt[pairs["j"]] - gt[pairs["i"]]
    finite = np.isfinite(dscore) & np.isfinite(dgt)
    return dgt[finite], dscore[finite]


def _pair_plot(a: str, b: str, row: dict[str, Any], dgt: np.ndarray, dscore: np.ndarray, scatter_limit: int) -> str:
    """SVG: dscore (y) against dGT (x) of the mutation pairs of ``a -> b``."""
    fig, ax = plt.subplots(figsize=(4.8, 3.8))
    if len(dgt) <= scatter_limit:
        ax.scatter(dgt, dscore, s=6, alpha=0.5, color="#1f77b4", linewidths=0)
    else:
        _, _, _, image = ax.hist2d(dgt, dscore, bins=60, cmin=1, norm=LogNorm(), cmap="viridis")
        image.set_rasterized(True)  # one embedded image instead of 3,600 SVG paths
        fig.colorbar(image, ax=ax, label="mutation pairs")
    ax.axhline(0.0, color="#444444", linewidth=0.6)
    ax.axvline(0.0, color="#444444", linewidth=0.6)
    ax.set_xlabel("Δ ground truth")
    ax.set_ylabel("Δ score")
    frac = row["frac_score_gain_gt_not"]
    p_up = row["p_score_up"]
    ax.set_title(f"{a} → {b}: n = {row['n']}, score up {_pct(p_up)},\nGT not up in {_pct(frac)} of the score gains",
                 fontsize=8)
    ax.grid(alpha=0.3)
    return svg_text(fig)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _slot_plot(space: Any, ops: Sequence[str], titles: list[str], points: list[tuple[int, int, float, float]],
               raster: bool) -> str | bytes:
    """Score (x) against GT (y), one subplot per slot, one colour and marker per op (Fig 20)."""
    n_slots = len(titles)
    cols = max(1, math.ceil(math.sqrt(n_slots)))  # 6 slots: 2 x 3 as in the study; 16: 4 x 4
    rows = max(1, math.ceil(n_slots / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.0 * cols, 2.6 * rows), squeeze=False, sharex=True, sharey=True)
    colors = plt.get_cmap("tab10").colors
    table = np.asarray([(s, o, x, y) for s, o, x, y in points], dtype=np.float64).reshape(-1, 4)
    for slot in range(rows * cols):
        ax = axes[slot // cols][slot % cols]
        if slot >= n_slots:
            ax.set_visible(False)
            continue
        here = table[table[:, 0] == slot]
        for k, op in enumerate(ops):
            mine = here[(here[:, 1] == k) & np.isfinite(here[:, 2]) & np.isfinite(here[:, 3])]
            ax.plot(mine[:, 2], mine[:, 3], linestyle="none", marker=_MARKERS[k % len(_MARKERS)],
                    markersize=1.8 if raster else 3.0, alpha=0.45, color=colors[k % len(colors)],
                    markeredgewidth=0, rasterized=raster, label=op)
        ax.set_title(titles[slot], fontsize=8)
        ax.grid(alpha=0.3)
        if slot % cols == 0:
            ax.set_ylabel("ground truth")
        if slot + cols >= n_slots:  # the lowest subplot of its column
            ax.set_xlabel("score")
            ax.tick_params(labelbottom=True)
    handles = [plt.Line2D([], [], linestyle="none", marker=_MARKERS[k % len(_MARKERS)], color=colors[k % len(colors)],
                          label=op) for k, op in enumerate(ops)]
    fig.legend(handles=handles, loc="upper center", ncol=len(ops), fontsize=7, frameon=False,
               bbox_to_anchor=(0.5, 0.0))
    fig.suptitle(f"{space.name}: score vs ground truth per slot, colour = operation", fontsize=9)
    fig.tight_layout()
    return png_bytes(fig) if raster else svg_text(fig)


def op_bias_analysis(space: Any, archs: Sequence[Any], scores: np.ndarray, gt: np.ndarray, out_dir: Path, stem: str,
                     pairs: Sequence[tuple[str, str]] = (), min_pairs: int = 30, match: str = "format+canonical",
                     tie_tol: float = 0.0, scatter_limit: int = 2000) -> dict[str, Any]:
    """The operation-bias analysis of one estimator's ``scores`` on ``archs`` (see the module docstring).

    Args:
        space: the search space (``op_slots``, ``slot_names``, ``candidate_ops``, ``with_op``,
            ``format``, ``canonical``).
        archs: the scored architectures, aligned with ``scores`` and ``gt``; each once.
        scores, gt: float64 [n] (higher = better); non-finite scores rank worst (tied with each other),
            as the protocol's default policy; pairs with a non-finite GT are left out.
        out_dir, stem: where the files go and their common prefix.
        pairs: ``(a, b)`` op pairs to plot besides the headline pair.
        min_pairs: the headline pair is chosen among pairs with at least this many mutation pairs.
        match: ``format+canonical`` (default) or ``format`` (exact mutants only).
        tie_tol: a difference with ``|d| <= tie_tol`` counts as a tie (default: exact equality).
        scatter_limit: above this many points a plot is a 2-D histogram (pair plots) or a PNG (slot plot).

    Returns:
        JSON-ready summary: ``files`` (names relative to ``out_dir``), ``n_archs``, ``n_pairs``
        (mutation pairs over all op pairs), ``n_canonical``, ``headline`` (the row of the pair with
        the largest ``frac_score_gain_gt_not`` among those with ``n >= min_pairs``, or None) and
        ``plotted`` (the op pairs drawn).
    """
    # The protocol's "worst" policy: a non-finite score ranks below every finite one (so -inf -> finite
    # is a score gain, and two non-finite scores tie) instead of leaving such pairs out.
    scores = worst_filled(np.asarray(scores, dtype=np.float64))
    gt = np.asarray(gt, dtype=np.float64)
    if scores.shape != (len(archs),) or gt.shape != (len(archs),):
        raise ValueError(f"op bias: scores {scores.shape} and gt {gt.shape} must be [n] with n = {len(archs)} architectures")
    ops = tuple(space.candidate_ops())
    for a, b in pairs:
        if a not in ops or b not in ops or a == b:
            raise UsageError(f"op bias: pair {a!r} -> {b!r} is not two different operations of {space.name} "
                             f"({', '.join(ops)})")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    found = mutation_pairs(space, archs, match)
    rows = [pair_statistics(a, b, p, scores, gt, tie_tol) for (a, b), p in found.items()]
    eligible = [r for r in rows if r["n"] >= min_pairs and r["frac_score_gain_gt_not"] is not None]
    order = {key: k for k, key in enumerate(found)}
    headline = max(eligible, key=lambda r: (r["frac_score_gain_gt_not"], r["n"], -order[(r["op_from"], r["op_to"])]),
                   default=None)
    files: list[str] = []

    def write(name: str, content: str | bytes) -> None:
        path = out_dir / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="\n")
        files.append(name)

    write(f"{stem}-op-bias.csv", csv_text(PAIR_COLUMNS, [[r[c] for c in PAIR_COLUMNS] for r in rows]))
    plotted: list[tuple[str, str]] = []
    if headline is not None:
        plotted.append((headline["op_from"], headline["op_to"]))
    plotted += [tuple(p) for p in pairs if tuple(p) not in plotted]
    by_pair = {(r["op_from"], r["op_to"]): r for r in rows}
    plot_files = []
    for a, b in plotted:
        dgt, dscore = _deltas(found[(a, b)], scores, gt)
        name = f"{stem}-op-bias-{a}-to-{b}.svg"
        write(name, _pair_plot(a, b, by_pair[(a, b)], dgt, dscore, scatter_limit))
        plot_files.append(name)

    # Fig 20: every (architecture, slot) as a point of its slot's subplot, coloured by its op
    op_index = {op: k for k, op in enumerate(ops)}
    points: list[tuple[int, int, float, float]] = []
    csv_rows = []
    names: dict[int, set[str]] = {}
    for i, arch in enumerate(archs):
        for slot, (op, label) in enumerate(zip(space.op_slots(arch), space.slot_names(arch))):
            points.append((slot, op_index[op], float(scores[i]), float(gt[i])))
            csv_rows.append([i, slot, op, float(scores[i]), float(gt[i])])
            names.setdefault(slot, set()).add(label)
    n_slots = max(names, default=-1) + 1
    titles = [next(iter(names[s])) if len(names.get(s, ())) == 1 else f"slot {s}" for s in range(n_slots)]
    write(f"{stem}-op-slots.csv", csv_text(("arch_index", "slot", "op", "score", "gt"), csv_rows))
    raster = len(points) > scatter_limit
    slot_plot = f"{stem}-op-slots.{'png' if raster else 'svg'}"
    write(slot_plot, _slot_plot(space, ops, titles, points, raster))

    n_pairs = sum(len(p["i"]) for p in found.values())
    n_canonical = int(sum(p["canonical"].sum() for p in found.values()))
    summary = {
        "files": [], "space": space.name, "n_archs": len(archs), "n_pairs": n_pairs, "n_canonical": n_canonical,
        "match": match, "tie_tol": tie_tol, "min_pairs": min_pairs, "headline": headline,
        "plotted": [list(p) for p in plotted], "pair_plots": plot_files, "slot_plot": slot_plot,
    }
    json_name = f"{stem}-op-bias.json"
    summary["files"] = [*files, json_name]
    write(json_name, json.dumps({**summary, "pairs": rows}, indent=1, sort_keys=True, allow_nan=False) + "\n")
    return summary
