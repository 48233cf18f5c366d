"""Resolving a run's specs, options and benchmark into its :class:`RunPlan`, once, with every check."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from suite import protocol
from suite.benchmarks import BenchmarkSpec, LoadedBenchmark, get_benchmark
from suite.errors import UsageError
from suite.estimator import Estimator, reference_gt_column
from suite.registry import build_estimator
from suite.runner.identity import archs_hash
from suite.runner.plan import EstimatorPlan, RunPlan
from suite.runner.spec import RunOptions, RunSpec


def resolve_device(name: str, local: bool = True) -> torch.device:
    """``auto`` -> cuda when available, else cpu; ``cuda`` without a GPU is a UsageError.

    Args:
        local: the device is this machine's; False (Ray workers) accepts ``cuda`` without a local GPU.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and local and not torch.cuda.is_available():
        raise UsageError("--device cuda asked for, but torch sees no CUDA device; use --device cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise UsageError(f"unknown device {name!r}; use auto, cpu or cuda[:i]") from None


def planned_ids(benchmark: LoadedBenchmark, sample: int | None, shard: tuple[int, int] | None) -> np.ndarray:
    """The run's architecture ids in run order: the subset or a seeded sample, then the shard's slice."""
    ids = benchmark.arch_ids if sample is None else benchmark.sample_ids(sample, protocol.SAMPLE_SEED)
    if shard is not None:
        index, count = shard
        if not 0 <= index < count:
            raise UsageError(f"--shard {index}/{count}: the index must be in 0..{count - 1}")
        if count > len(ids):
            raise UsageError(f"--shard {index}/{count}: more shards than the {len(ids)} architectures")
        ids = ids[index::count]
    return np.asarray(ids)


def estimator_plan(estimator: Estimator, gt_column: str | None, bench_spec: BenchmarkSpec) -> EstimatorPlan:
    """A bound estimator's plan: its resolved config and the ground-truth column its criteria use."""
    column = gt_column or reference_gt_column(estimator) or bench_spec.default_gt_column
    return EstimatorPlan(name=estimator.name, config=estimator.get_config(), gt_column=column)


def _shared_fields(spec: RunSpec) -> tuple:
    return (spec.benchmark, spec.seed, spec.sample, spec.device, spec.data_dir, spec.cache_dir,
            spec.gt_column, spec.nonfinite)


def resolve(specs: Sequence[RunSpec], options: RunOptions, loaded: LoadedBenchmark | None = None
            ) -> tuple[RunPlan, list[Estimator], LoadedBenchmark]:
    """Check the specs and options, build the estimators, load the benchmark, plan the architectures.

    Nothing global is set here (threads and determinism are applied by whoever runs the plan).

    Returns:
        (the plan, the estimators built from the specs in order, the loaded benchmark).

    Raises:
        UsageError: specs that disagree on shared settings, an unknown benchmark, estimator, device
            or ground-truth column, a seed outside the protocol, a bad shard or thread count.
    """
    base = specs[0]
    for other in specs[1:]:
        if _shared_fields(other) != _shared_fields(base):
            raise UsageError("estimators run together must share benchmark, seed, sample, device and data settings")
    bench_spec = get_benchmark(base.benchmark)
    if base.seed not in protocol.SEEDS:
        raise UsageError(f"seed {base.seed} is not a protocol seed; use one of {', '.join(map(str, protocol.SEEDS))}")
    if options.executor not in ("local", "ray"):
        raise UsageError(f"unknown executor {options.executor!r}; use local or ray")
    estimators = [build_estimator(spec.estimator, spec.config, bench_spec.space.name) for spec in specs]
    benchmark = loaded if loaded is not None else bench_spec.load(base.data_dir)
    planned = [estimator_plan(e, spec.gt_column, bench_spec) for spec, e in zip(specs, estimators)]
    for estimator in planned:  # a bad --gt fails now, not after hours of scoring
        benchmark.ground_truth(estimator.gt_column)
    run_ids = planned_ids(benchmark, base.sample, options.shard)

    device = resolve_device(base.device, local=options.executor == "local")
    threads = options.threads or torch.get_num_threads()
    if threads < 1:
        raise UsageError(f"--threads must be at least 1, got {threads}")
    plan = RunPlan(
        benchmark=base.benchmark, space=bench_spec.space.name, archs_sha256=archs_hash(benchmark), seed=base.seed,
        sample=base.sample, shard=options.shard, run_ids=tuple(run_ids.tolist()), estimators=tuple(planned),
        gt_column=base.gt_column, nonfinite=base.nonfinite, device=str(device), threads=threads,
        data_dir=base.data_dir, cache_dir=base.cache_dir, journal_dir=options.journal_dir, executor=options.executor,
        address=options.address, workers=options.workers, ray_cpus=options.ray_cpus, progress=options.progress,
        restart=options.restart,
    )
    return plan, estimators, benchmark
