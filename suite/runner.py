"""Running one estimator on one benchmark under the protocol, end to end."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

import suite
from suite import protocol, provenance
from suite.benchmarks import LoadedBenchmark, get_benchmark
from suite.errors import SuiteError, UsageError
from suite.estimator import Estimator, RunContext
from suite.metrics import compute_criteria
from suite.registry import get_estimator_class
from suite.results import (
    BenchmarkInfo,
    CriteriaBlock,
    EstimatorInfo,
    ProtocolInfo,
    ResultFile,
    Snapshot,
    SuiteInfo,
    encode_scores,
)

#: Architectures handed to ``Estimator.score`` at a time (progress granularity), unless the
#: estimator sets a smaller ``chunk_size`` (slow estimators, so the bar moves).
CHUNK = 256


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines a run (the CLI's options, validated)."""

    benchmark: str
    estimator: str
    seed: int = protocol.SEEDS[0]
    config: dict[str, Any] = field(default_factory=dict)
    sample: int | None = None
    gt_column: str | None = None
    nonfinite: str = "worst"
    device: str = "auto"
    data_dir: Path | None = None
    cache_dir: Path | None = None


def resolve_device(name: str) -> torch.device:
    """``auto`` -> cuda when available, else cpu; ``cuda`` without a GPU is a UsageError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("--device cuda asked for, but torch sees no CUDA device; use --device cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise UsageError(f"unknown device {name!r}; use auto, cpu or cuda[:i]") from None


def run(spec: RunSpec, progress: bool = True, loaded: LoadedBenchmark | None = None) -> ResultFile:
    """Score the benchmark's subset (or a seeded sample) with one estimator; compute the criteria.

    Args:
        spec: the run.
        progress: show a progress bar on stderr.
        loaded: an already loaded benchmark (saves re-reading the ground truth in tests/benches).
    """
    return run_many([spec], progress=progress, loaded=loaded)[0]


def run_many(specs: Sequence[RunSpec], progress: bool = True, loaded: LoadedBenchmark | None = None) -> list[ResultFile]:
    """Several estimators on the same benchmark, seed, sample and device, in one sweep.

    Estimators that declare the same fusion group are scored together (each architecture's
    network built once, shared passes run once); every estimator still gets its own result,
    identical in form to a run of that estimator alone.

    Returns:
        one result per spec, in order.
    """
    started = time.perf_counter()
    started_at = provenance.utc_now()
    base = specs[0]
    for other in specs[1:]:
        if _shared_fields(other) != _shared_fields(base):
            raise UsageError("estimators run together must share benchmark, seed, sample, device and data settings")
    bench_spec = get_benchmark(base.benchmark)
    if base.seed not in protocol.SEEDS:
        raise UsageError(f"seed {base.seed} is not a protocol seed; use one of {', '.join(map(str, protocol.SEEDS))}")
    estimators: list[Estimator] = []
    for spec in specs:
        estimator = get_estimator_class(spec.estimator)(**spec.config)
        if not estimator.supports(bench_spec.space.name):
            raise UsageError(f"estimator {spec.estimator!r} does not support the {bench_spec.space.name} space")
        estimators.append(estimator)
    benchmark = loaded if loaded is not None else bench_spec.load(base.data_dir)
    ids = benchmark.arch_ids if base.sample is None else benchmark.sample_ids(base.sample, protocol.SAMPLE_SEED)
    positions = benchmark.positions(ids)
    archs = [benchmark.archs[p] for p in positions]

    device = resolve_device(base.device)
    determinism = provenance.apply_determinism(base.seed)
    ctx = RunContext(space=bench_spec.space, seed=base.seed, device=device, data_dir=base.data_dir,
                     cache_dir=base.cache_dir)
    for estimator in estimators:
        estimator.prepare(ctx)
    raw = _score_sweep(estimators, archs, ctx, progress)
    wall_time = round(time.perf_counter() - started, 3)

    results = []
    for spec, estimator, raw_by_label in zip(specs, estimators, raw):
        gt_column = spec.gt_column or estimator.reference_gt_column() or bench_spec.default_gt_column
        full_gt = benchmark.ground_truth(gt_column)
        gt = full_gt[positions]
        snapshots = [_snapshot(estimator, label, values, gt, spec.nonfinite) for label, values in raw_by_label.items()]
        results.append(ResultFile(
            schema_version=1,
            suite=SuiteInfo(version=suite.__version__, git_commit=provenance.git_commit()),
            protocol=ProtocolInfo(
                version=protocol.PROTOCOL_VERSION,
                fingerprint=protocol.fingerprint(bench_spec.name, benchmark.arch_ids.tolist(), gt_column, full_gt.tolist()),
            ),
            benchmark=BenchmarkInfo(
                name=bench_spec.name, ground_truth=gt_column, ground_truth_sha256=benchmark.gt_sha256,
                subset_size=len(benchmark.arch_ids), complete=base.sample is None,
                sample=None if base.sample is None else {"n": base.sample, "seed": protocol.SAMPLE_SEED},
            ),
            estimator=EstimatorInfo(name=estimator.name, family=estimator.family, config=estimator.get_config(),
                                    deterministic=estimator.deterministic),
            seed=base.seed,
            arch_ids=[int(i) for i in ids],
            snapshots=snapshots,
            failures=[],
            provenance={
                "environment": provenance.environment(device),
                "determinism": determinism,
                "data": {"ground_truth": benchmark.gt_sha256, **ctx.data_hashes()},
                "swept_with": [e.name for e in estimators],
                "started_at": started_at,
                "wall_time_s": wall_time,
            },
        ))
    return results


def _shared_fields(spec: RunSpec) -> tuple:
    return (spec.benchmark, spec.seed, spec.sample, spec.device, spec.data_dir, spec.cache_dir)


def _snapshot(estimator: Estimator, label: str, values: np.ndarray, gt: np.ndarray, nonfinite: str) -> Snapshot:
    """Scores (and stored per-batch values or components) of one snapshot, with its criteria."""
    per_batch = components = None
    if estimator.components():
        names = estimator.components()
        if values.ndim != 2 or values.shape[1] != len(names):
            raise SuiteError(f"estimator {estimator.name!r} returned {values.shape} values for components {names}")
        scores = np.asarray(estimator.combine(values), dtype=np.float64)
        components = {name: encode_scores(values[:, j]) for j, name in enumerate(names)}
    elif values.ndim == 2:
        scores = values.mean(axis=1)
        per_batch = [encode_scores(values[:, b]) for b in range(values.shape[1])]
    else:
        scores = values
    criteria = compute_criteria(scores, gt, nonfinite=nonfinite)
    return Snapshot(
        label=label, scores=encode_scores(scores), per_batch=per_batch, components=components,
        criteria=CriteriaBlock(n=criteria.n, n_nonfinite=criteria.n_nonfinite,
                               nonfinite_policy=criteria.nonfinite_policy, values=criteria.values),
    )


def _score_sweep(estimators: list[Estimator], archs: list, ctx: RunContext, progress: bool) -> list[dict[str, np.ndarray]]:
    """Raw score arrays of every estimator and snapshot: one dict label -> float64 [N] or [N, k] each.

    Single-snapshot estimators of one class and fusion group go through ``score_fused`` together;
    the rest are scored one by one.
    """
    out: list[dict[str, np.ndarray]] = [{} for _ in estimators]
    groups: dict[Any, list[int]] = {}
    for i, estimator in enumerate(estimators):
        key = estimator.fusion_group()
        if key is None or estimator.snapshots() != ["final"]:
            key = ("alone", i)
        groups.setdefault((type(estimator).score_fused.__func__, key), []).append(i)
    for members in groups.values():
        group = [estimators[i] for i in members]
        labels = group[0].snapshots() if len(group) == 1 else ["final"]
        for label in labels:
            desc = group[0].name if len(group) == 1 else f"{len(group)} estimators"
            arrays = _score_chunks(group, archs, ctx, label, f"{desc}[{label}]", progress)
            for i, values in zip(members, arrays):
                out[i][label] = values
    return out


def _score_chunks(group: list[Estimator], archs: list, ctx: RunContext, label: str, desc: str,
                  progress: bool) -> list[np.ndarray]:
    """Scores of ``archs`` by every estimator in ``group``, in chunks, with a progress bar."""
    parts: list[list[np.ndarray]] = [[] for _ in group]
    with tqdm(total=len(archs), desc=desc, unit="arch", disable=not progress, dynamic_ncols=True,
              leave=False) as bar:
        step = min(getattr(e, "chunk_size", CHUNK) for e in group)
        for start in range(0, len(archs), step):
            chunk = archs[start : start + step]
            if len(group) == 1:
                arrays = [group[0].score(chunk, ctx, label)]
            else:
                arrays = type(group[0]).score_fused(group, chunk, ctx)
            for estimator, values, store in zip(group, arrays, parts):
                values = np.asarray(values, dtype=np.float64)
                if values.ndim not in (1, 2) or values.shape[0] != len(chunk):
                    raise SuiteError(
                        f"estimator {estimator.name!r} returned scores of shape {values.shape} for {len(chunk)} architectures"
                    )
                store.append(values)
            bar.update(len(chunk))
    return [np.concatenate(p) if p else np.empty(0) for p in parts]
