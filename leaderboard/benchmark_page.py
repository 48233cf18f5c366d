"""A benchmark's tables with their bootstrap KD intervals and cost plot, and the benchmark page's context."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from leaderboard import plots, stats
from leaderboard.collect import Accepted
from leaderboard.render import _write
from leaderboard.rows import NOISE_CEILING, _aligned, _row
from suite import protocol


def _benchmark_table(bench: str, keys: list[tuple], groups, benchmark, resamples: int, out: Path) -> dict:
    """One benchmark's tables: the ranked rows, the reference lines, and the rows kept apart (another
    ground-truth column, a sample of the subset), each with KD intervals; the KD-against-cost plot."""
    rows = sorted((_row(key, groups[key]) for key in keys),
                  key=lambda r: (-(float(r["kd"]) if r["kd"] else -9), r["estimator"], r["key"][2], r["key"][3:]))
    column = benchmark.spec.default_gt_column
    ranked, references, other_column, sampled = _partition(rows, column)
    ranked, flagged = _above_ceiling(ranked, references)
    for rank, row in enumerate(ranked, start=1):
        row["rank"] = rank
    _bootstrap(ranked, groups, benchmark, resamples)
    for unranked in (references, other_column, flagged):
        _bootstrap(unranked, groups, benchmark, resamples, compare_neighbours=False)
    by_sample: dict[str, list[dict]] = {}
    for row in sampled:  # one seeded sample = the same architectures for every estimator: rank within it
        by_sample.setdefault(row["sample"], []).append(row)
    for sample_rows in by_sample.values():  # a row above the sample's noise ceiling stays in place, unranked
        sample_refs = [r for r in sample_rows if r["family"] == "reference"]
        sample_ranked, sample_flagged = _above_ceiling([r for r in sample_rows if r["family"] != "reference"],
                                                       sample_refs)
        for rank, row in enumerate(sample_ranked, start=1):
            row["rank"] = rank
        _bootstrap(sample_ranked, groups, benchmark, resamples)
        _bootstrap(sample_refs + sample_flagged, groups, benchmark, resamples, compare_neighbours=False)
    points = [{"name": r["estimator"], "family": r["family"], "kd": float(r["kd"] or 0), "hours": float(r["hours"])}
              for r in ranked + references if r["hours"]]
    _write(out / "plots" / f"{bench}-quality-vs-cost.svg", plots.quality_vs_cost(points))
    apart = [
        {"id": "above-ceiling", "rows": flagged, "heading": "Above the noise ceiling: flagged for review",
         "note": f"never ranked: a KD above the {NOISE_CEILING} reference line's is beyond what the ground truth's own "
                 "training noise allows; a maintainer reviews how it was obtained"},
        {"id": "other-gt", "rows": other_column, "heading": "Judged against another ground-truth column",
         "note": f"never ranked: the ranking is on {column}, and KD on another column is another number"},
        *({"id": f"sample-{i}", "rows": sample_rows, "heading": f"Runs on a {sample}", "ranked": True,
           "note": "ranked among themselves only: every run of this seeded sample scored the same architectures, "
                   "but a KD on a sample is not comparable with one on the whole subset"}
          for i, (sample, sample_rows) in enumerate(sorted(by_sample.items()))),
    ]
    return {"name": bench, "title": benchmark.spec.title, "partial": benchmark.spec.partial, "gt_column": column,
            "rows": ranked, "references": references, "apart": [a for a in apart if a["rows"]]}


def _above_ceiling(rows: list[dict], references: list[dict]) -> tuple[list[dict], list[dict]]:
    """(rows at or below the noise ceiling, rows above it, each flagged): the ceiling is the KD of the
    :data:`NOISE_CEILING` reference line among ``references`` (the same architectures); with no
    such line, every row is kept."""
    ceiling = next((float(r["kd"]) for r in references if r["estimator"] == NOISE_CEILING and r["kd"]), None)
    if ceiling is None:
        return rows, []
    above = [r for r in rows if r["kd"] and float(r["kd"]) > ceiling]
    for row in above:
        row["flag"] = (f"KD {float(row['kd']):.4f} is above the noise ceiling ({NOISE_CEILING}: {ceiling:.4f}): "
                       "flagged for review, not ranked")
    return [r for r in rows if r not in above], above


def _partition(rows: list[dict], column: str) -> tuple[list[dict], list[dict], list[dict], list[dict]]:
    """(ranked, reference lines, on another GT column, on a sample), each in the given order.

    Only rows on the whole subset judged against ``column`` (the protocol's) are ranked. Reference
    lines (family "reference") put the ranking in context but never take part in it. A row on another
    column goes with those whatever its sample; a row on a sample of the subset with the samples.
    """
    other = [r for r in rows if r["gt_column"] != column]
    sampled = [r for r in rows if r["gt_column"] == column and r["sample"]]
    whole = [r for r in rows if r["gt_column"] == column and not r["sample"]]
    return ([r for r in whole if r["family"] != "reference"], [r for r in whole if r["family"] == "reference"],
            other, sampled)


def _bootstrap(rows: list[dict], groups, benchmark, resamples: int, compare_neighbours: bool = True) -> None:
    """Each row's KD interval, on the architectures that row scored (every seed of it), against its own
    ground-truth column and non-finite policy: ``ci_text``, ``ci_low``. With ``compare_neighbours``,
    ``significant``: the row's KD is above the next row's on the architectures both scored (paired).

    Rows that scored the same architectures share one paired bootstrap (the usual case: every run on
    the whole subset), so their intervals and neighbour tests come from the same resamples.
    """
    maps = [_seed_maps(groups[row["key"]]) for row in rows]
    own = [frozenset.intersection(*(frozenset(m) for m in seeds)) for seeds in maps]
    samples: dict[int, np.ndarray] = {}
    for ids in dict.fromkeys(own):  # each distinct set of architectures once, in row order
        members = [r for r in range(len(rows)) if own[r] == ids]
        drawn = _kd_samples([rows[r] for r in members], [maps[r] for r in members], ids, groups, benchmark, resamples)
        samples.update({} if drawn is None else dict(zip(members, drawn)))
    for r, row in enumerate(rows):
        ci = stats.interval(samples[r]) if r in samples else None
        row.update(ci_text="-" if ci is None else f"{ci.low:.3f}, {ci.high:.3f}",
                   ci_low="" if ci is None else f"{ci.low:.6f}", significant=False)
    if not compare_neighbours:
        return
    for r in range(len(rows) - 1):
        if own[r] == own[r + 1]:
            pair = [samples[r], samples[r + 1]] if r in samples else None
        else:
            pair = _kd_samples(rows[r:r + 2], maps[r:r + 2], own[r] & own[r + 1], groups, benchmark, resamples)
        rows[r]["significant"] = pair is not None and stats.differs(pair[0], pair[1])


def _seed_maps(items: list[Accepted]) -> list[dict[int, float]]:
    """Each seed's {arch id: score} of its last snapshot."""
    return [dict(zip(ids.tolist(), scores.tolist())) for ids, scores in map(_aligned, items)]


def _kd_samples(rows: list[dict], maps: list[list[dict]], ids: frozenset, groups, benchmark,
                resamples: int) -> np.ndarray | None:
    """Bootstrap KD samples [rows, resamples] of ``rows`` (their seeds' maps ``maps``) on the architectures
    ``ids``, paired (the same resamples for every row); None below 3 architectures or without resamples."""
    if len(ids) < 3 or resamples < 1:
        return None
    order = sorted(ids)
    firsts = [groups[row["key"]][0].result for row in rows]
    gts = [benchmark.ground_truth(r.benchmark.ground_truth, np.array(order, dtype=np.int64)) for r in firsts]
    policies = [r.snapshots[-1].criteria.nonfinite_policy for r in firsts]
    matrices = [[np.array([m[i] for i in order]) for m in seeds] for seeds in maps]
    return stats.paired_bootstrap(matrices, gts, resamples, nonfinite=policies)


def _benchmark_page(benchmark, out: Path) -> dict:
    spec = benchmark.spec
    gt = benchmark.ground_truth()
    _write(out / "plots" / f"benchmark-{spec.name}-gt.svg", plots.distribution(gt, spec.default_gt_column))
    fingerprint = protocol.fingerprint(spec.name, benchmark.arch_ids.tolist(), spec.default_gt_column, gt.tolist())
    return {"name": spec.name, "bench_title": spec.title, "partial": spec.partial, "subset_size": len(benchmark.arch_ids),
            "gt_column": spec.default_gt_column, "gt_sha": benchmark.gt_sha256, "fingerprint": fingerprint,
            "rules": json.dumps(protocol.RULES, indent=1, sort_keys=True)}
