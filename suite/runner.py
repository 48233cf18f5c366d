"""Running one estimator on one benchmark under the protocol, end to end."""

from __future__ import annotations

import time
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
    BenchmarkInfo, CriteriaBlock, EstimatorInfo, ProtocolInfo, ResultFile, Snapshot, SuiteInfo, encode_scores,
)

#: Architectures handed to ``Estimator.score`` at a time (progress granularity).
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
    started = time.perf_counter()
    started_at = provenance.utc_now()
    bench_spec = get_benchmark(spec.benchmark)
    estimator_cls = get_estimator_class(spec.estimator)
    if spec.seed not in protocol.SEEDS:
        raise UsageError(f"seed {spec.seed} is not a protocol seed; use one of {', '.join(map(str, protocol.SEEDS))}")
    estimator: Estimator = estimator_cls(**spec.config)
    if not estimator.supports(bench_spec.space.name):
        raise UsageError(f"estimator {spec.estimator!r} does not support the {bench_spec.space.name} space")
    benchmark = loaded if loaded is not None else bench_spec.load(spec.data_dir)
    gt_column = spec.gt_column or bench_spec.default_gt_column
    full_gt = benchmark.ground_truth(gt_column)
    ids = benchmark.arch_ids if spec.sample is None else benchmark.sample_ids(spec.sample, protocol.SAMPLE_SEED)
    archs = [benchmark.archs[p] for p in benchmark.positions(ids)]
    gt = full_gt[benchmark.positions(ids)]

    device = resolve_device(spec.device)
    determinism = provenance.apply_determinism(spec.seed)
    ctx = RunContext(space=bench_spec.space, seed=spec.seed, device=device, data_dir=spec.data_dir, cache_dir=spec.cache_dir)
    estimator.prepare(ctx)

    snapshots = []
    for label in estimator.snapshots():
        scores = _score_all(estimator, archs, ctx, label, progress)
        criteria = compute_criteria(scores, gt, nonfinite=spec.nonfinite)
        snapshots.append(Snapshot(
            label=label, scores=encode_scores(scores),
            criteria=CriteriaBlock(n=criteria.n, n_nonfinite=criteria.n_nonfinite,
                                   nonfinite_policy=criteria.nonfinite_policy, values=criteria.values),
        ))

    return ResultFile(
        schema_version=1,
        suite=SuiteInfo(version=suite.__version__, git_commit=provenance.git_commit()),
        protocol=ProtocolInfo(
            version=protocol.PROTOCOL_VERSION,
            fingerprint=protocol.fingerprint(bench_spec.name, benchmark.arch_ids.tolist(), gt_column, full_gt.tolist()),
        ),
        benchmark=BenchmarkInfo(
            name=bench_spec.name, ground_truth=gt_column, ground_truth_sha256=benchmark.gt_sha256,
            subset_size=len(benchmark.arch_ids), complete=spec.sample is None,
            sample=None if spec.sample is None else {"n": spec.sample, "seed": protocol.SAMPLE_SEED},
        ),
        estimator=EstimatorInfo(name=estimator.name, family=estimator.family, config=estimator.get_config(),
                                deterministic=estimator.deterministic),
        seed=spec.seed,
        arch_ids=[int(i) for i in ids],
        snapshots=snapshots,
        failures=[],
        provenance={
            "environment": provenance.environment(device),
            "determinism": determinism,
            "data": {"ground_truth": benchmark.gt_sha256, **ctx.data_hashes()},
            "started_at": started_at,
            "wall_time_s": round(time.perf_counter() - started, 3),
        },
    )


def _score_all(estimator: Estimator, archs: list, ctx: RunContext, label: str, progress: bool) -> np.ndarray:
    """Scores of every architecture, in chunks, with a progress bar. float64 [len(archs)]."""
    out = np.empty(len(archs), dtype=np.float64)
    with tqdm(total=len(archs), desc=f"{estimator.name}[{label}]", unit="arch", disable=not progress,
              dynamic_ncols=True, leave=False) as bar:
        for start in range(0, len(archs), CHUNK):
            chunk = archs[start : start + CHUNK]
            scores = np.asarray(estimator.score(chunk, ctx, label), dtype=np.float64)
            if scores.shape != (len(chunk),):
                raise SuiteError(
                    f"estimator {estimator.name!r} returned scores of shape {scores.shape} for {len(chunk)} architectures"
                )
            out[start : start + len(chunk)] = scores
            bar.update(len(chunk))
    return out
