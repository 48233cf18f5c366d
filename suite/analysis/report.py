"""``suite analyze``: run every analysis that applies to each result file, write the files and an index.

Layout under ``out_dir``::

    index.json                                   what ran, its files, headline numbers, what was skipped and why
    <benchmark>/ground_truth/<column>.svg|json|csv   the GT distribution of one column (whole benchmark)
    <benchmark>/ground_truth/datasets.svg|json|csv   NB201: CIFAR-10 / CIFAR-100 / ImageNet16-120 side by side
    <benchmark>/<estimator>/<stem>/                  one directory per result (stem = the file's name
                                                     without .json; "-2", "-3"... when two inputs share it)
        trends.*        criteria per snapshot              (study Fig 5/7)
        stability.*     adjacent-snapshot relative criteria (Fig 14; results with >= 2 snapshots)
        score_vs_gt.*   GT against the score's rank         (Fig 6 right; PNG above 2,000 points)
        cross_dataset.* criteria against every GT column    (Fig 9; benchmarks with >= 2 GT columns)
        size_bias.*     KD and mean rank difference per FLOPs group (Fig 11)
        intra_level.*   intra-level KD of ties of the first scoring batch (Fig 8; >= 2 scoring batches)
        <stem>-op-*     operation-level bias               (Fig 12/20; suite.analysis.op_bias)
        <stem>-forgetting*  multi-model forgetting         (Fig 13; suite.analysis.forgetting, when recorded)

All paths in ``index.json`` are relative to ``out_dir`` with ``/`` separators; the same inputs give
byte-identical files. ``<estimator>`` and ``<stem>`` come from the input, so they are written through
:func:`safe_part` (a plain name as it is, anything else as a sanitised slug plus a hash), and every
result's directory is checked to lie inside ``out_dir`` before anything is written.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from suite.analysis import ground_truth, intra_level, size_bias, trends
from suite.analysis.forgetting import forgetting_analysis
from suite.analysis.op_bias import op_bias_analysis
from suite.analysis.plots import jsonable, write_json
from suite import paths as suite_paths
from suite.benchmarks import LoadedBenchmark, get_benchmark
from suite.errors import SuiteError, UsageError
from suite.progress import Progress
from suite.results import ResultFile, decode_scores, read_result
from suite.spaces import OpSlotSpace

INDEX_VERSION = 1
#: A path component kept as it is: letters, digits, ``_``, ``.``, ``-``; no leading dot; at most 80 characters.
PLAIN_PART = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,79}")
#: Show progress (suite.progress) from this many results on.
PROGRESS_FROM = 10


def find_results(paths: Iterable[str | Path], exclude: str | Path | None = None) -> list[Path]:
    """Result files named by ``paths``: files as given, directories searched recursively for ``*.json``
    (sorted), leaving out what lies under ``exclude`` (the output directory: a previous analysis's
    JSON files are not results). Duplicates are kept once, in first-seen order.

    Raises:
        UsageError: a path does not exist, or a directory holds no ``*.json`` file.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    skip = Path(exclude).resolve() if exclude is not None else None
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*.json") if p.is_file()
                           and (skip is None or not p.resolve().is_relative_to(skip)))
            if not files:
                raise UsageError(f"{path}: no result files (*.json) in this directory")
        elif path.is_file():
            files = [path]
        else:
            raise UsageError(f"{path}: no such file or directory")
        for file in files:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                found.append(file)
    if not found:
        raise UsageError("no result files given")
    return found


def safe_part(name: str) -> str:
    """``name`` as one path component that stays where it is put.

    A plain name (:data:`PLAIN_PART`) is kept; anything else (``..``, ``/``, a leading dot, other
    characters) becomes the site's slug (``leaderboard.rows._slug``): lower case, other characters
    as ``_``, at most 40, outer dots stripped, then ``-`` and 8 hex digits of the name's sha256, so
    two different names do not share a slug.
    """
    if PLAIN_PART.fullmatch(name):
        return name
    slug = re.sub(r"[^a-z0-9_.-]", "_", name.lower())[:40].strip(".") or "x"
    return f"{slug}-{hashlib.sha256(name.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


def result_dirs(items: Sequence[tuple[Path, ResultFile]]) -> list[str]:
    """``<benchmark>/<estimator>/<stem>`` per result (each part through :func:`safe_part`), made unique
    with ``-2``, ``-3``... in input order."""
    used: set[str] = set()
    out = []
    for path, result in items:
        parts = (result.benchmark.name, result.estimator.name, path.stem or f"seed{result.seed}")
        base = "/".join(safe_part(part) for part in parts)
        name, k = base, 1
        while name in used:
            k += 1
            name = f"{base}-{k}"
        used.add(name)
        out.append(name)
    return out


def analyze(paths: Iterable[str | Path], out_dir: str | Path, data_dir: str | Path | None,
            gt_column: str | None = None, *, progress: str = "none",
            benchmarks: Mapping[str, LoadedBenchmark] | None = None,
            results: Mapping[Path, ResultFile] | None = None) -> dict[str, Any]:
    """Run every applicable analysis on each result file; write the files and ``out_dir/index.json``.

    Args:
        paths: result files (signed or bare) or directories of them (recursive ``*.json``).
        out_dir: where everything is written (created; existing files of the same names are replaced).
        data_dir: the data directory the benchmarks' ground truth is read from (None: ``SUITE_DATA_DIR``,
            else the default; see :mod:`suite.paths`).
        gt_column: the GT column to analyse against (default: each result's recorded column).
        progress: a :data:`suite.progress.MODES` mode, used from :data:`PROGRESS_FROM` results on.
        benchmarks: already loaded benchmarks by name (the rest are loaded from ``data_dir``).
        results: results already read, by path (the site passes the verified ones); the rest are read.
    Returns:
        The index (what ``index.json`` holds).
    Raises:
        ResultFileError: a file is not a readable result (one line naming it); nothing is written then.
        UsageError / DataError: an unknown GT column, benchmark or missing data (naming the file).
    """
    out_dir = Path(out_dir).resolve()  # every path written below is absolute; index.json holds them relative
    files = find_results(paths, exclude=out_dir)
    known = {Path(p).resolve(): r for p, r in (results or {}).items()}
    items = [(path, known.get(path.resolve()) or read_result(path)) for path in files]
    loaded: dict[str, LoadedBenchmark] = dict(benchmarks or {})
    columns: list[str] = []
    for path, result in items:  # check everything before writing anything
        try:
            if result.benchmark.name not in loaded:
                loaded[result.benchmark.name] = get_benchmark(result.benchmark.name).load(suite_paths.data_dir(data_dir))
            bench = loaded[result.benchmark.name]
            column = gt_column or result.benchmark.ground_truth
            bench.ground_truth(column)
            bench.positions(np.asarray(result.arch_ids, dtype=np.int64))
        except SuiteError as exc:
            raise type(exc)(f"{path}: {exc}") from None
        columns.append(column)
    dirs = result_dirs(items)
    for (path, _), rel in zip(items, dirs):
        _check_inside(out_dir, rel, path)

    bench_section = _write_benchmarks(items, columns, loaded, out_dir)
    flops_cache: dict[str, np.ndarray] = {}
    entries = []
    meter = None
    if progress != "none" and len(items) >= PROGRESS_FROM:
        meter = Progress(total=len(items), desc="analyze", mode=progress, unit="result")
    try:
        for (path, result), column, rel in zip(items, columns, dirs):
            bench = loaded[result.benchmark.name]
            entries.append(_analyze_one(path, result, bench, column, out_dir, rel, bench_section, flops_cache))
            if meter is not None:
                meter.update(1)
    finally:
        if meter is not None:
            meter.close()
    index = {"version": INDEX_VERSION, "gt_column": gt_column, "benchmarks": bench_section, "results": entries,
             "n_results": len(entries)}
    write_json(out_dir / "index.json", index)
    return jsonable(index)


def _check_inside(out_dir: Path, rel: str, path: Path) -> None:
    """Raise UsageError (one line naming the input) unless ``out_dir / rel`` resolves inside ``out_dir``."""
    if not (out_dir / rel).resolve().is_relative_to(out_dir):
        raise UsageError(f"{path}: its analysis directory {rel!r} would lie outside {out_dir}; nothing was written")


def _rel(out_dir: Path, files: Iterable[str | Path], base: Path | None = None) -> list[str]:
    """File paths relative to ``out_dir`` (posix). Relative names are taken relative to ``base``."""
    root = out_dir.resolve()
    out = []
    for file in files:
        path = Path(file)
        if not path.is_absolute():
            path = (base if base is not None else Path.cwd()) / path
        try:
            out.append(path.resolve().relative_to(root).as_posix())
        except ValueError:
            out.append(path.as_posix())
    return out


def _write_benchmarks(items, columns, loaded, out_dir: Path) -> dict[str, Any]:
    """The GT distributions each benchmark needs: the chosen columns, and NB201's three data sets."""
    section: dict[str, Any] = {}
    for name in sorted({result.benchmark.name for _, result in items}):
        bench = loaded[name]
        wanted = {c for (_, r), c in zip(items, columns) if r.benchmark.name == name}
        wanted |= set(ground_truth.DATASET_COLUMNS.get(name, ()))
        gt_dir = out_dir / name / "ground_truth"
        dists: dict[str, Any] = {}
        for column in [c for c in bench.spec.gt_columns if c in wanted]:
            written = ground_truth.write_distribution({column: bench.ground_truth(column)}, gt_dir, column,
                                                      title=f"{name}: ground truth of all {len(bench.arch_ids)} architectures")
            dists[column] = {"files": _rel(out_dir, written["files"]), "headline": written["headline"][column]}
        entry: dict[str, Any] = {"n_archs": len(bench.arch_ids), "gt_sha256": bench.gt_sha256, "gt_distribution": dists}
        if name in ground_truth.DATASET_COLUMNS:
            cols = ground_truth.DATASET_COLUMNS[name]
            written = ground_truth.write_distribution({c: bench.ground_truth(c) for c in cols}, gt_dir, "datasets",
                                                      title=f"{name}: ground truth per data set")
            entry["datasets"] = {"files": _rel(out_dir, written["files"]), "headline": written["headline"]}
        if bench.spec.partial:
            entry["partial"] = bench.spec.partial
        section[name] = entry
    return section


def _flops(bench: LoadedBenchmark, cache: dict[str, np.ndarray]) -> np.ndarray:
    """float64 [N] FLOPs of every architecture of the benchmark (by position), computed once."""
    if bench.name not in cache:
        space = bench.spec.space
        cache[bench.name] = np.array([space.flop_count(a) for a in bench.archs], dtype=np.float64)
    return cache[bench.name]


def _analyze_one(path: Path, result: ResultFile, bench: LoadedBenchmark, column: str, out_dir: Path, rel: str,
                 bench_section: Mapping[str, Any], flops_cache: dict[str, np.ndarray]) -> dict[str, Any]:
    res_dir = out_dir / rel
    res_dir.mkdir(parents=True, exist_ok=True)
    stem = rel.rsplit("/", 1)[-1]
    ids = np.asarray(result.arch_ids, dtype=np.int64)
    pos = bench.positions(ids)
    gt = bench.ground_truth(column, ids)
    labels = [s.label for s in result.snapshots]
    scores = np.stack([decode_scores(s.scores) for s in result.snapshots]) if len(ids) else np.zeros((len(labels), 0))
    policy = result.snapshots[-1].criteria.nonfinite_policy
    title = f"{bench.name} / {result.estimator.name} / seed {result.seed} ({len(ids)} archs, GT {column})"
    meta = {"result": path.as_posix(), "benchmark": bench.name, "estimator": result.estimator.name,
            "seed": result.seed, "gt_column": column, "nonfinite_policy": policy, "n": len(ids)}
    analyses: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    warnings: list[str] = []
    if result.benchmark.ground_truth_sha256 != bench.gt_sha256:
        warnings.append(f"the result was scored against another ground-truth file (sha256 "
                        f"{result.benchmark.ground_truth_sha256[:12]}..., the data directory holds {bench.gt_sha256[:12]}...)")
    if len(ids) < 2:
        skipped["all"] = f"{len(ids)} scored architecture(s): no criterion is defined"
        return _entry(path, result, rel, column, labels, analyses, skipped, warnings)

    def done(name: str, written: Mapping[str, Any]) -> None:
        analyses[name] = {**written, "files": _rel(out_dir, written["files"], res_dir)}

    # 1. trends and ranking stability
    series = trends.criteria_series(scores, gt, policy)
    trend_meta = dict(meta)
    if column == result.benchmark.ground_truth:
        trend_meta["matches_recorded"] = all(
            _same(series[name][i], snap.criteria.values.get(name))
            for i, snap in enumerate(result.snapshots) for name in series if name in snap.criteria.values)
    written = trends.write_trends(labels, series, res_dir, trend_meta, title)
    if "matches_recorded" in trend_meta:
        written["headline"]["matches_recorded"] = trend_meta["matches_recorded"]
    done("trends", written)
    if len(labels) >= 2:
        done("stability", trends.write_stability(labels, trends.ranking_stability(scores, policy), res_dir, meta, title))
    else:
        skipped["stability"] = "one snapshot: no adjacent pair of snapshots to compare"

    # 2. ground truth: the distribution (written per benchmark), scores vs GT, cross-dataset criteria
    dist = bench_section[bench.name]["gt_distribution"][column]
    analyses["gt_distribution"] = {"files": list(dist["files"]) + list(bench_section[bench.name].get("datasets", {})
                                                                        .get("files", [])),
                                   "headline": dist["headline"]}
    done("score_vs_gt", ground_truth.write_score_vs_gt(ids, scores[-1], gt, res_dir, {**meta, "snapshot": labels[-1]},
                                                       f"{title}, {labels[-1]}", f"{column}"))
    if len(bench.spec.gt_columns) >= 2:
        gts = {c: bench.ground_truth(c, ids) for c in bench.spec.gt_columns}
        table = [ground_truth.cross_dataset(row, gts, policy) for row in scores]
        drawn = {column, *ground_truth.DATASET_COLUMNS.get(bench.name, bench.spec.gt_columns)}
        done("cross_dataset", ground_truth.write_cross_dataset(labels, table, res_dir, meta, title, sorted(drawn)))
    else:
        skipped["cross_dataset"] = f"{bench.name} has one ground-truth column"

    # 3. size bias
    if len(ids) >= size_bias.N_GROUPS:
        flops = _flops(bench, flops_cache)[pos]
        bias = size_bias.size_bias(scores, gt, flops, size_bias.N_GROUPS, policy)
        done("size_bias", size_bias.write_size_bias(labels, bias, res_dir, meta, title))
    else:
        skipped["size_bias"] = f"{len(ids)} architectures: fewer than {size_bias.N_GROUPS} FLOPs groups"

    # 4. intra-level KD
    usable = [(i, s) for i, s in enumerate(result.snapshots) if s.per_batch and len(s.per_batch) >= 2]
    if usable:
        runs = [intra_level.intra_level_kd(decode_scores(s.per_batch[0]), scores[i], gt, nonfinite=policy)
                for i, s in usable]
        done("intra_level", intra_level.write_intra_level([s.label for _, s in usable], runs, res_dir, meta, title))
    elif any(s.per_batch for s in result.snapshots):
        skipped["intra_level"] = ("one scoring batch per snapshot: the coarse score (first batch) and the fine "
                                  "score (all batches) coincide")
    else:
        skipped["intra_level"] = "no per-batch values recorded (per_batch is null)"

    # 5. operation-level bias and multi-model forgetting (suite.analysis.op_bias / .forgetting)
    space = bench.spec.space
    if isinstance(space, OpSlotSpace):
        archs = [bench.archs[p] for p in pos]
        done("op_bias", op_bias_analysis(space, archs, scores[-1], gt, res_dir, stem))
    else:
        skipped["op_bias"] = f"the {space.name} space has no operations to mutate (its choices are depths and widths)"
    forgetting = _forgetting(result, res_dir, stem, skipped)
    if forgetting is not None:
        done("forgetting", forgetting)
    return _entry(path, result, rel, column, labels, analyses, skipped, warnings)


def _forgetting(result: ResultFile, res_dir: Path, stem: str, skipped: dict[str, str]) -> dict[str, Any] | None:
    """The forgetting analysis, or None with the reason in ``skipped``. The record sits in the free-form
    ``provenance``: one that is not in the expected shape is skipped, not a crash of the whole run."""
    try:
        written = forgetting_analysis(result, res_dir, stem)
    except (AttributeError, LookupError, TypeError, ValueError, ArithmeticError) as exc:
        skipped["forgetting"] = f"the forgetting record in provenance is malformed ({type(exc).__name__})"
        return None
    if written is None:
        skipped["forgetting"] = "no forgetting record in the result"
    return written


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b))


def _entry(path: Path, result: ResultFile, rel: str, column: str, labels: list[str], analyses: dict[str, Any],
           skipped: dict[str, str], warnings: list[str]) -> dict[str, Any]:
    return {"path": path.as_posix(), "dir": rel, "benchmark": result.benchmark.name,
            "estimator": result.estimator.name, "family": result.estimator.family, "seed": result.seed,
            "n": len(result.arch_ids), "sample": result.benchmark.sample, "gt_column": column,
            "recorded_gt_column": result.benchmark.ground_truth, "snapshots": labels,
            "ran": sorted(analyses), "analyses": analyses, "skipped": skipped, "warnings": warnings}
