"""``suite leaderboard build``: the static site from the verified result files.

Offline and reproducible: every asset is written next to the pages (no CDN), plots are made at
build time, nothing depends on the clock, iteration orders are sorted, the bootstrap is seeded:
the same input gives byte-identical output. Every string that reaches HTML goes through Jinja2's
autoescaping; plots are referenced as images, so text inside them cannot run either.

Only like is ranked with like: a benchmark's ranked table holds the runs on the whole subset judged
against the protocol's ground-truth column. Runs judged against another column are shown in a
separate table that is never ranked, as the reference lines are. Runs on a seeded sample of the
subset get one table per sample, ranked only among themselves (they scored the same architectures).
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
import re
import shutil
import sys
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rfc8785
from jinja2 import Environment, PackageLoader, select_autoescape

import suite
from leaderboard import plots, stats
from leaderboard.collect import Accepted, collect
from suite import protocol
from suite.metrics import HEADLINE

ASSETS = Path(__file__).parent / "assets"
#: Below this many estimator pages, they are made in this process (forking would cost more).
PARALLEL_PAGES_FROM = 6


@dataclass
class BuildReport:
    """What a build did: pages written, files shown, files rejected with their reasons."""

    out: Path
    pages: int
    accepted: int
    rejected: list[tuple[Path, str]]


def build(roots: list[Path], out: Path, signers: Path, data_dir: Path | None, cache_dir: Path | None = None,
          resamples: int = 200, jobs: int | None = None, analyses: bool = True) -> BuildReport:
    """Verify what is under ``roots`` and write the site to ``out`` (replaced).

    Args:
        jobs: worker processes for verification and estimator pages (default: the CPUs, at most 8).
        analyses: run the study's analyses (``suite analyze``) on each estimator's first seed and show
            them on its page.
    """
    jobs = jobs or min(8, os.cpu_count() or 1)
    accepted, rejected = collect(roots, signers, data_dir, cache_dir, jobs=jobs)
    if out.exists():
        shutil.rmtree(out)
    for sub in ("assets", "plots", "estimators", "benchmarks", "downloads", "analyses"):
        (out / sub).mkdir(parents=True)
    for asset in sorted(ASSETS.iterdir()):
        shutil.copyfile(asset, out / "assets" / asset.name)
    env = environment()
    groups = _group(accepted)
    benchmarks = sorted({key[0] for key in groups})
    common = {"benchmarks": benchmarks, "suite_version": suite.__version__,
              "protocol_version": protocol.PROTOCOL_VERSION, "n_files": len(accepted)}
    loaded = {name: _load_benchmark(name, data_dir) for name in benchmarks}
    keys = sorted(groups)
    contexts = dict(zip(keys, _estimator_pages(keys, groups, loaded, out, jobs, analyses)))
    pages = 0
    tables = []
    for bench in benchmarks:
        bench_keys = [k for k in keys if k[0] == bench]
        tables.append(_benchmark_table(bench, bench_keys, groups, loaded[bench], resamples, out))
        for key in bench_keys:
            _write(out / "estimators" / f"{_slug(key)}.html",
                   env.get_template("estimator.html.j2").render(**common, **contexts[key], root="../", title=key[1]))
            pages += 1
        _write(out / "benchmarks" / f"{bench}.html",
               env.get_template("benchmark.html.j2").render(**common, **_benchmark_page(loaded[bench], out), root="../",
                                                            title=bench))
        pages += 1
    families = sorted({row["family"] for t in tables for section in (t["rows"], *(a["rows"] for a in t["apart"]))
                       for row in section})  # reference lines are not filtered
    _write(out / "index.html", env.get_template("index.html.j2").render(
        **common, tables=tables, criteria=HEADLINE, families=families, resamples=resamples, root="", title="Leaderboard"))
    return BuildReport(out=out, pages=pages + 1, accepted=len(accepted), rejected=rejected)


def environment() -> Environment:
    """The Jinja2 environment of the site's templates, autoescaping every page."""
    return Environment(loader=PackageLoader("leaderboard", "templates"), autoescape=select_autoescape(["j2", "html"]),
                       keep_trailing_newline=True)


#: What forked page workers read: set just before the pool starts, so nothing big is pickled.
_page_inputs: tuple | None = None


def _estimator_pages(keys: list[tuple], groups, loaded: dict, out: Path, jobs: int, analyses: bool) -> list[dict]:
    """Each estimator page's template context, its plots and downloads written under ``out``.

    Pages are independent, so they are made in forked workers when there are enough of them (fork:
    the workers read the verified results and ground truths in place instead of receiving copies).
    The output does not depend on how the pages were shared out.
    """
    global _page_inputs
    if jobs < 2 or len(keys) < PARALLEL_PAGES_FROM or sys.platform != "linux":
        return [_estimator_page(k, groups[k], loaded[k[0]], out, analyses) for k in keys]
    _page_inputs = (groups, loaded, out, analyses)
    try:
        with ProcessPoolExecutor(min(jobs, len(keys)), mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_estimator_page_in_worker, keys))
    finally:
        _page_inputs = None


def _estimator_page_in_worker(key: tuple) -> dict:
    assert _page_inputs is not None
    groups, loaded, out, analyses = _page_inputs
    return _estimator_page(key, groups[key], loaded[key[0]], out, analyses)


def _group(accepted: list[Accepted]) -> dict[tuple, list[Accepted]]:
    """(benchmark, estimator, canonical config, sample, ground-truth column) -> its seeds' results, by seed.

    A run on a sample of the subset is its own row, never a seed of the full run's; so is a run judged
    against another ground-truth column."""
    groups: dict[tuple, list[Accepted]] = defaultdict(list)
    for item in accepted:
        r = item.result
        key = (r.benchmark.name, r.estimator.name, rfc8785.dumps(r.estimator.config).decode(), _sample(r),
               r.benchmark.ground_truth)
        groups[key].append(item)
    return {k: sorted(v, key=lambda a: a.result.seed) for k, v in groups.items()}


def _sample(result) -> str:
    """'' for the whole subset, else 'sample of <n> (seed <s>)'."""
    sample = result.benchmark.sample
    return "" if not sample else f"sample of {sample.get('n')} (seed {sample.get('seed')})"


def _slug(key: tuple) -> str:
    """A file name for a row's key (:func:`_group`): readable, safe whatever the estimator is called."""
    name = re.sub(r"[^a-z0-9_.-]", "_", key[1].lower())[:40].strip(".") or "estimator"
    digest = hashlib.sha256("\x00".join(key).encode()).hexdigest()[:8]
    return f"{key[0]}-{name}-{digest}"


def _load_benchmark(name: str, data_dir: Path | None):
    from suite.benchmarks import get_benchmark

    return get_benchmark(name).load(data_dir)


def _aligned(item: Accepted) -> tuple[np.ndarray, np.ndarray]:
    """(ids int64 [n], scores float64 [n]) of a result's last snapshot."""
    return np.array(item.result.arch_ids, dtype=np.int64), item.result.scores()


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def _seconds(value) -> float | None:
    """A duration from the free-form provenance: a finite number >= 0, else None (unknown)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        seconds = float(value)
    except OverflowError:  # an integer beyond float64
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _benchmark_table(bench: str, keys: list[tuple], groups, benchmark, resamples: int, out: Path) -> dict:
    """One benchmark's tables: the ranked rows, the reference lines, and the rows kept apart (another
    ground-truth column, a sample of the subset), each with KD intervals; the KD-against-cost plot."""
    rows = sorted((_row(key, groups[key]) for key in keys),
                  key=lambda r: (-(float(r["kd"]) if r["kd"] else -9), r["estimator"], r["key"][2], r["key"][3:]))
    column = benchmark.spec.default_gt_column
    ranked, references, other_column, sampled = _partition(rows, column)
    for rank, row in enumerate(ranked, start=1):
        row["rank"] = rank
    _bootstrap(ranked, groups, benchmark, resamples)
    for unranked in (references, other_column):
        _bootstrap(unranked, groups, benchmark, resamples, compare_neighbours=False)
    by_sample: dict[str, list[dict]] = {}
    for row in sampled:  # one seeded sample = the same architectures for every estimator: rank within it
        by_sample.setdefault(row["sample"], []).append(row)
    for sample_rows in by_sample.values():
        sample_ranked = [r for r in sample_rows if r["family"] != "reference"]
        for rank, row in enumerate(sample_ranked, start=1):
            row["rank"] = rank
        _bootstrap(sample_ranked, groups, benchmark, resamples)
        _bootstrap([r for r in sample_rows if r["family"] == "reference"], groups, benchmark, resamples,
                   compare_neighbours=False)
    points = [{"name": r["estimator"], "family": r["family"], "kd": float(r["kd"] or 0), "hours": float(r["hours"])}
              for r in ranked + references if r["hours"]]
    _write(out / "plots" / f"{bench}-quality-vs-cost.svg", plots.quality_vs_cost(points))
    apart = [
        {"id": "other-gt", "rows": other_column, "heading": "Judged against another ground-truth column",
         "note": f"never ranked: the ranking is on {column}, and KD on another column is another number"},
        *({"id": f"sample-{i}", "rows": sample_rows, "heading": f"Runs on a {sample}", "ranked": True,
           "note": "ranked among themselves only: every run of this seeded sample scored the same architectures, "
                   "but a KD on a sample is not comparable with one on the whole subset"}
          for i, (sample, sample_rows) in enumerate(sorted(by_sample.items()))),
    ]
    return {"name": bench, "title": benchmark.spec.title, "partial": benchmark.spec.partial, "gt_column": column,
            "rows": ranked, "references": references, "apart": [a for a in apart if a["rows"]]}


def _row(key: tuple, items: list[Accepted]) -> dict:
    """A table row: mean ± std over the seeds of each headline criterion, cost, device, what it was judged on."""
    last = [i.result.snapshots[-1].criteria for i in items]
    cells = []
    for name in HEADLINE:
        values = np.array([np.nan if c.values.get(name) is None else c.values[name] for c in last])
        mean = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
        std = float(np.nanstd(values, ddof=1)) if np.isfinite(values).sum() > 1 else float("nan")
        text = _fmt(mean) + (f" ± {_fmt(std)}" if np.isfinite(std) else "")
        cells.append({"text": text, "sort": _fmt(mean, 6) if np.isfinite(mean) else ""})
    hours, cost_source = _cost_hours(items)
    config = json.loads(key[2])
    return {
        "key": key, "estimator": key[1], "family": items[0].result.estimator.family, "slug": _slug(key),
        "config_note": ", ".join(f"{k}={v}" for k, v in sorted(config.items())),  # the sample has its own column
        "sample": key[3], "gt_column": key[4],
        "seeds": len(items), "n": min(c.n for c in last), "cells": cells, "kd": cells[0]["sort"],
        "hours": "" if hours is None else f"{hours:.6f}", "hours_text": _hours_text(hours), "cost_source": cost_source,
        "device": _device(items[0]),
    }


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


def _cost_hours(items: list[Accepted]) -> tuple[float | None, str]:
    """Mean device-hours of one run over the seeds (None: unknown), and where the figure comes from.

    A result whose estimator recorded the cost of what it stands for (a reference line's training,
    ``provenance.estimator_record.cost.seconds_per_arch``) is charged that for each architecture it
    scored; any other is charged its run's wall time (``provenance.wall_time_s``). Provenance is free
    form: a seed whose figure is not a finite number >= 0 makes the row's cost unknown.
    """
    hours, sources = [], set()
    for item in items:
        result = item.result
        record = result.provenance.get("estimator_record")
        cost = record.get("cost") if isinstance(record, dict) else None
        per_arch = _seconds(cost.get("seconds_per_arch")) if isinstance(cost, dict) else None
        if result.estimator.family != "reference":  # an estimator's own cost is its run's wall time
            per_arch = None
        if per_arch is not None:
            hours.append(per_arch * len(result.arch_ids) / 3600)
            sources.add(str(cost.get("source", "recorded by the estimator")))
        else:
            wall = _seconds(result.provenance.get("wall_time_s"))
            hours.append(None if wall is None else wall / 3600)
            sources.add("wall time of the run" if wall is not None else "wall time of the run: not recorded (?)")
    mean = None if None in hours else float(np.mean(hours))
    return mean, "; ".join(sorted(sources))


def _hours_text(hours: float | None) -> str:
    if hours is None:
        return "?"
    return f"{hours:,.0f}" if hours >= 100 else f"{hours:.4f}"


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


def _device(item: Accepted) -> str:
    """'<device> (<device name>)' from the provenance (a resumed or fused run: its first session's or
    shard's); '?' for what is not there in the expected shape (free form: a list of dicts of strings)."""
    env = item.result.provenance.get("environment", {})
    if isinstance(env, dict) and ("sessions" in env or "shards" in env):
        runs = env.get("sessions") or env.get("shards") or [{}]
        env = runs[0] if isinstance(runs, list) else None
    if not isinstance(env, dict):
        return "?"
    return f"{_text(env.get('device'))} ({_text(env.get('device_name'))})"


def _text(value) -> str:
    """A provenance string as it is; '?' for anything else (missing, a number, a dict...)."""
    return value if isinstance(value, str) and value else "?"


def _estimator_page(key: tuple, items: list[Accepted], benchmark, out: Path, analyses: bool = True) -> dict:
    slug = _slug(key)
    first = items[0].result
    ids, scores = _aligned(items[0])
    gt = benchmark.ground_truth(first.benchmark.ground_truth, ids)
    (out / "plots" / f"{slug}-scatter.png").write_bytes(
        plots.score_vs_truth(scores, gt, f"{key[1]} (seed {first.seed}) on {key[0]}"))
    labels = [s.label for s in first.snapshots]
    budget_plot = len(labels) > 1
    if budget_plot:
        series = {c: [s.criteria.values.get(c) or np.nan for s in first.snapshots] for c in ("KD", "SpearmanR", "P@top5%")}
        _write(out / "plots" / f"{slug}-budget.svg", plots.criteria_vs_budget(labels, series))
    seed_rows, provenance = [], []
    for item in items:
        r = item.result
        for snap in r.snapshots:
            seed_rows.append({"seed": r.seed, "label": snap.label, "n": snap.criteria.n, "failed": snap.criteria.n_failed,
                              "cells": [_fmt(snap.criteria.values.get(c)) for c in HEADLINE]})
        provenance.append({"seed": r.seed, "signer": item.signer, "fingerprint": r.protocol.fingerprint[:16],
                           "suite": f"{r.suite.version} ({(r.suite.git_commit or '?')[:10]})", "hardware": _device(item),
                           "date": _text(r.provenance.get("started_at")),
                           "wall": _wall_text(r.provenance.get("wall_time_s"))})
    _downloads(slug, items, benchmark, out)
    return {"slug": slug, "estimator": key[1], "benchmark": key[0], "family": first.estimator.family,
            "partial": benchmark.spec.partial, "sample": key[3], "gt_column": key[4],
            "protocol_column": benchmark.spec.default_gt_column,
            "config": key[2], "criteria": HEADLINE, "seed_rows": seed_rows, "provenance": provenance,
            "budget_plot": budget_plot, "analyses": _analyses(slug, items[0], benchmark, out) if analyses else None}


def _wall_text(value) -> str:
    """A run's wall time in seconds for the provenance table; '?' when it is not a finite number >= 0."""
    seconds = _seconds(value)
    return "?" if seconds is None else _fmt(seconds, 1)


#: The analyses an estimator page shows, in this order, with their headings.
ANALYSIS_TITLES = {
    "trends": "Criteria over training snapshots",
    "stability": "Ranking stability between adjacent snapshots",
    "score_vs_gt": "Ground truth against the score",
    "cross_dataset": "Criteria against each ground-truth data set",
    "gt_distribution": "Ground-truth distribution",
    "size_bias": "Size bias: KD and mean rank difference per FLOPs group",
    "intra_level": "Intra-level KD of architectures tied by one scoring batch",
    "op_bias": "Operation bias: score change against ground-truth change when one operation is mutated",
    "forgetting": "Multi-model forgetting during training",
}


def _analyses(slug: str, item: Accepted, benchmark, out: Path) -> dict:
    """Run ``suite analyze`` on the first seed's result into ``analyses/<slug>/``; the page's sections:
    each analysis's figures and data files (paths relative to the estimator page), and what was
    skipped with the reason."""
    from suite.analysis.report import analyze

    root = out / "analyses" / slug
    index = analyze([item.path], root, None, benchmarks={benchmark.name: benchmark}, results={item.path: item.result})
    [entry] = index["results"]
    sections = []
    for name, heading in ANALYSIS_TITLES.items():
        done = entry["analyses"].get(name)
        if done is None:
            continue
        files = sorted(done.get("files", []))
        sections.append({
            "name": name, "heading": heading,
            "figures": [f"../analyses/{slug}/{f}" for f in files if f.endswith((".svg", ".png"))],
            "data": [{"href": f"../analyses/{slug}/{f}", "text": f.rsplit("/", 1)[-1]} for f in files
                     if f.endswith((".csv", ".json"))],
        })
    skipped = [{"heading": ANALYSIS_TITLES.get(name, name), "reason": reason}
               for name, reason in sorted(entry["skipped"].items())]
    return {"seed": item.result.seed, "sections": sections, "skipped": skipped,
            "index": f"../analyses/{slug}/index.json"}


def _downloads(slug: str, items: list[Accepted], benchmark, out: Path) -> None:
    """CSV (arch_id, gt, one column per seed) and JSON of the last snapshot's per-architecture scores.

    Floats are written in shortest round-trip form (``repr``): the downloads give back the exact
    float64 scores of the verified files. Columns are formatted whole (``map``), not cell by cell.
    """
    seeds = sorted(i.result.seed for i in items)
    by_seed = {item.result.seed: _aligned(item) for item in items}
    all_ids = np.unique(np.concatenate([ids for ids, _ in by_seed.values()]))
    gt_column = items[0].result.benchmark.ground_truth
    gt = benchmark.ground_truth(gt_column, all_ids)
    columns = [list(map(str, all_ids.tolist())), list(map(repr, gt.tolist()))]
    json_scores = {}
    for seed in seeds:
        ids, scores = by_seed[seed]
        full = np.full(len(all_ids), np.nan)
        full[np.searchsorted(all_ids, ids)] = scores
        present = np.zeros(len(all_ids), dtype=bool)
        present[np.searchsorted(all_ids, ids)] = True
        columns.append([repr(v) if ok else "" for v, ok in zip(full.tolist(), present.tolist())])
        json_scores[str(seed)] = [v if ok and np.isfinite(v) else (str(v) if ok else None)
                                  for v, ok in zip(full.tolist(), present.tolist())]
    header = ",".join(["arch_id", f"gt_{gt_column}", *[f"score_seed{s}" for s in seeds]])
    _write(out / "downloads" / f"{slug}.csv", header + "\n" + "\n".join(map(",".join, zip(*columns))) + "\n")
    payload = {"benchmark": items[0].result.benchmark.name, "estimator": items[0].result.estimator.name,
               "config": items[0].result.estimator.config, "ground_truth": gt_column,
               "arch_ids": all_ids.tolist(), "scores_by_seed": json_scores}
    _write(out / "downloads" / f"{slug}.json", json.dumps(payload, sort_keys=True, separators=(",", ":")) + "\n")


def _benchmark_page(benchmark, out: Path) -> dict:
    spec = benchmark.spec
    gt = benchmark.ground_truth()
    _write(out / "plots" / f"benchmark-{spec.name}-gt.svg", plots.distribution(gt, spec.default_gt_column))
    fingerprint = protocol.fingerprint(spec.name, benchmark.arch_ids.tolist(), spec.default_gt_column, gt.tolist())
    return {"name": spec.name, "bench_title": spec.title, "partial": spec.partial, "subset_size": len(benchmark.arch_ids),
            "gt_column": spec.default_gt_column, "gt_sha": benchmark.gt_sha256, "fingerprint": fingerprint,
            "rules": json.dumps(protocol.RULES, indent=1, sort_keys=True)}


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
