"""Where chunks of architectures get scored: in this process, or as Ray tasks on actors.

Both executors take the same tasks (a fusion group, a snapshot label, a chunk of (arch_id, arch)
pairs) and hand every finished chunk's records back to the caller, which journals them. The
caller is the only writer of the journal, so a Ray run on a cluster without a shared file system
resumes exactly like a local one. Scores do not depend on the executor: each architecture's score
is a pure function of (estimator, config, seed, architecture, thread count), which workers apply.
"""

from __future__ import annotations

import importlib
import os
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from suite import provenance
from suite.errors import SuiteError, UsageError
from suite.estimator import Estimator, RunContext
from suite.journal import ArchRecord
from suite.scoring import score_chunk

OnRecords = Callable[[list[ArchRecord], dict[str, Any]], None]


@dataclass(frozen=True)
class Task:
    """A chunk of work: the estimators ``group`` (indices) score ``items`` for snapshot ``label``."""

    group: tuple[int, ...]
    label: str
    items: tuple[tuple[Any, Any], ...]


@dataclass(frozen=True)
class WorkerSettings:
    """Everything a worker needs to rebuild the run's estimators and context (picklable).

    Attributes:
        space_name: the benchmark's space, for the context.
        benchmark: the benchmark's name (its space is looked up from it).
        estimators: (name, config) pairs, in run order.
        seed: the run's seed.
        device: ``cpu``, ``cuda`` or ``cuda:i``.
        threads: torch intra-op threads; CPU results depend on it, so every worker uses the same.
        data_dir, cache_dir: where data lives on the worker's machine.
        work_dir: the run's directory for resumable state (checkpoints), None without a journal.
    """

    benchmark: str
    estimators: tuple[tuple[str, dict[str, Any]], ...]
    seed: int
    device: str
    threads: int
    data_dir: Path | None
    cache_dir: Path | None
    work_dir: Path | None = None


def prepare_worker(settings: WorkerSettings) -> tuple[list[Estimator], RunContext, dict[str, Any]]:
    """Apply threads and determinism, build and prepare the estimators: (estimators, ctx, determinism record)."""
    from suite.benchmarks import get_benchmark
    from suite.registry import get_estimator_class

    torch.set_num_threads(settings.threads)
    determinism = provenance.apply_determinism(settings.seed)
    space = get_benchmark(settings.benchmark).space
    ctx = RunContext(space=space, seed=settings.seed, device=torch.device(settings.device),
                     data_dir=settings.data_dir, cache_dir=settings.cache_dir, work_dir=settings.work_dir)
    estimators = [get_estimator_class(name)(**config) for name, config in settings.estimators]
    for estimator in estimators:
        estimator.prepare(ctx)
    return estimators, ctx, determinism


def worker_meta(estimators: Sequence[Estimator], ctx: RunContext) -> dict[str, Any]:
    """What the journal records about a prepared worker: component names, data hashes, environment."""
    return {
        "components": {e.name: list(e.components()) for e in estimators if e.components()},
        "data": ctx.data_hashes(),
        "environment": provenance.environment(ctx.device),
    }


class LocalExecutor:
    """Scores tasks one after another in this process (the default; imports nothing extra)."""

    name = "local"

    def __init__(self, estimators: Sequence[Estimator], ctx: RunContext) -> None:
        self.estimators, self.ctx = list(estimators), ctx

    def run(self, tasks: Sequence[Task], on_records: OnRecords) -> None:
        for task in tasks:
            group = [self.estimators[i] for i in task.group]
            records = score_chunk(group, task.label, task.items, self.ctx)
            on_records(records, {"data": self.ctx.data_hashes()})


class RayExecutor:
    """Scores tasks on Ray actors: a local Ray instance by default, an existing cluster with ``address``.

    Each actor prepares the estimators once and then scores chunks; it holds ``threads`` CPUs, or
    one GPU when the run's device is CUDA. Each actor has up to two chunks in flight, so it never
    waits for the driver. A lost actor is restarted and its chunks retried by Ray (up to twice);
    beyond that the run stops, and re-running it resumes from the journal.

    Args:
        settings: how workers rebuild the run.
        address: a Ray address (``auto``, ``ray://host:10001``, ``host:6379``); None starts a local instance.
        workers: number of actors (default: as many as the cluster's CPUs / threads, or its GPUs).
        num_cpus: CPUs of the local instance (default: all); ignored with an address.
    """

    name = "ray"

    def __init__(self, settings: WorkerSettings, address: str | None = None, workers: int | None = None,
                 num_cpus: int | None = None) -> None:
        self.settings, self.address, self.workers, self.num_cpus = settings, address, workers, num_cpus

    def run(self, tasks: Sequence[Task], on_records: OnRecords) -> None:
        ray = _import_ray()
        started_here = not ray.is_initialized()
        if started_here:
            env = {"CUBLAS_WORKSPACE_CONFIG": provenance.CUBLAS_WORKSPACE, "OMP_NUM_THREADS": str(self.settings.threads)}
            ray.init(address=self.address, num_cpus=None if self.address else self.num_cpus,
                     include_dashboard=False, log_to_driver=False, configure_logging=False,
                     runtime_env={"env_vars": env})
        try:
            self._run(ray, tasks, on_records)
        finally:
            if started_here:
                ray.shutdown()

    def _run(self, ray, tasks: Sequence[Task], on_records: OnRecords) -> None:
        resources = ray.cluster_resources()
        gpu = self.settings.device.startswith("cuda")
        if gpu and resources.get("GPU", 0) < 1:
            raise UsageError("--device cuda with --executor ray, but the Ray cluster has no GPU")
        options = {"num_gpus": 1, "num_cpus": 1} if gpu else {"num_cpus": self.settings.threads}
        capacity = int(resources.get("GPU", 0)) if gpu else int(resources.get("CPU", 1) // self.settings.threads)
        count = max(1, min(self.workers or capacity, len(tasks)))
        actor_class = ray.remote(max_restarts=2, max_task_retries=2, **options)(_RayWorker)
        actors = [actor_class.remote(self.settings) for _ in range(count)]
        queue = deque(tasks)
        in_flight: dict[Any, Any] = {}

        def submit(actor) -> None:
            if queue:
                task = queue.popleft()
                in_flight[actor.score.remote(task.group, task.label, task.items)] = actor

        for actor in actors:
            submit(actor)
            submit(actor)
        try:
            while in_flight:
                [ready], _ = ray.wait(list(in_flight), num_returns=1)
                actor = in_flight.pop(ready)
                try:
                    records, meta = ray.get(ready)
                except ray.exceptions.RayTaskError as exc:
                    cause = exc.as_instanceof_cause()
                    if isinstance(cause, SuiteError):
                        raise SuiteError(str(cause).splitlines()[0]) from None
                    raise
                on_records(records, meta)
                submit(actor)
        finally:
            for ref in in_flight:
                ray.cancel(ref, force=True)
            for actor in actors:
                ray.kill(actor)


class _RayWorker:
    """A Ray actor: prepares the estimators once, then scores chunks (see :class:`RayExecutor`)."""

    def __init__(self, settings: WorkerSettings) -> None:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", provenance.CUBLAS_WORKSPACE)
        self.estimators, self.ctx, self.determinism = prepare_worker(settings)

    def score(self, group: tuple[int, ...], label: str, items) -> tuple[list[ArchRecord], dict[str, Any]]:
        records = score_chunk([self.estimators[i] for i in group], label, items, self.ctx)
        meta = worker_meta(self.estimators, self.ctx)
        meta["determinism"] = self.determinism
        return records, meta


def _import_ray():
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise UsageError("--executor ray needs Ray: pip install 'nas-estimator-suite[ray]'") from None
