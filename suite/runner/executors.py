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
import signal
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from suite import provenance
from suite.benchmarks import get_benchmark
from suite.errors import SuiteError, UsageError
from suite.estimator import Estimator, RunContext, component_names
from suite.runner.estimators import build_estimators
from suite.runner.identity import plan_work_dir
from suite.runner.journal import ArchRecord
from suite.runner.plan import RunPlan
from suite.runner.scoring import score_chunk

OnRecords = Callable[[list[ArchRecord], dict[str, Any]], None]
OnStart = Callable[["Task"], None]


@dataclass(frozen=True)
class Task:
    """A chunk of work: the estimators ``group`` (indices) score ``items`` for snapshot ``label``."""

    group: tuple[int, ...]
    label: str
    items: tuple[tuple[Any, Any], ...]


def apply_settings(plan: RunPlan) -> dict[str, Any]:
    """Take on the plan's thread count and determinism in this process (the driver and every Ray
    worker); returns the determinism record."""
    torch.set_num_threads(plan.threads)
    return provenance.apply_determinism(plan.seed)


def run_context(plan: RunPlan, progress: str = "none") -> RunContext:
    """The context the plan's estimators are prepared and scored in (``progress``: the driver's mode)."""
    return RunContext(space=get_benchmark(plan.benchmark).space, seed=plan.seed, device=torch.device(plan.device),
                      data_dir=plan.data_dir, cache_dir=plan.cache_dir, work_dir=plan_work_dir(plan),
                      progress=progress)


def prepare_worker(plan: RunPlan) -> tuple[list[Estimator], RunContext, dict[str, Any]]:
    """Apply threads and determinism, build and prepare the estimators: (estimators, ctx, determinism record)."""
    determinism = apply_settings(plan)
    ctx = run_context(plan)
    estimators = build_estimators(plan)
    for estimator in estimators:
        estimator.prepare(ctx)
    return estimators, ctx, determinism


def worker_meta(estimators: Sequence[Estimator], ctx: RunContext) -> dict[str, Any]:
    """What the journal records about a prepared worker: component names, estimators' run records, hashes
    of the data it read and of the state its estimators built (trained weights), environment."""
    records = {e.name: e.run_record(ctx) for e in estimators if e.capabilities.run_record}
    return {
        "components": {e.name: list(component_names(e, ctx.space.name)) for e in estimators
                       if component_names(e, ctx.space.name)},
        "records": {name: record for name, record in records.items() if record},
        "data": {**ctx.data_hashes(), **{k: v for e in estimators if e.capabilities.state_hashes
                                         for k, v in e.state_hashes().items()}},
        "environment": provenance.environment(ctx.device),
    }


class LocalExecutor:
    """Scores tasks one after another in this process (the default; imports nothing extra)."""

    name = "local"

    def __init__(self, estimators: Sequence[Estimator], ctx: RunContext) -> None:
        self.estimators, self.ctx = list(estimators), ctx

    def run(self, tasks: Sequence[Task], on_records: OnRecords, on_start: OnStart | None = None) -> None:
        for task in tasks:
            if on_start is not None:
                on_start(task)
            group = [self.estimators[i] for i in task.group]
            records = score_chunk(group, task.label, task.items, self.ctx)
            on_records(records, {"data": self.ctx.data_hashes()})


class RayExecutor:
    """Scores tasks on Ray actors: a local Ray instance by default, an existing cluster with ``address``.

    Each actor prepares the estimators once and then scores chunks; it holds ``threads`` CPUs, or
    one GPU when the run's device is CUDA. Each actor has up to two chunks in flight, so it never
    waits for the driver. A lost actor is restarted and its chunks retried by Ray (up to twice);
    beyond that the run stops with one line, and re-running it resumes from the journal.

    Args:
        plan: the run; workers rebuild its estimators and context from it. Its Ray settings: ``address``
            (``auto``, ``ray://host:10001``, ``host:6379``; None starts a local instance), ``workers``
            (number of actors; default: as many as the cluster's nodes hold), ``ray_cpus`` (CPUs of the
            local instance; default: all; ignored with an address).
        start_timeout: seconds to wait for the actors to start before giving up.
    """

    name = "ray"

    def __init__(self, plan: RunPlan, start_timeout: float = 600.0) -> None:
        self.plan, self.address, self.workers, self.num_cpus = plan, plan.address, plan.workers, plan.ray_cpus
        self.start_timeout = start_timeout

    def run(self, tasks: Sequence[Task], on_records: OnRecords, on_start: OnStart | None = None) -> None:
        ray = _import_ray()
        started_here = not ray.is_initialized()
        if started_here:
            env = {"CUBLAS_WORKSPACE_CONFIG": provenance.CUBLAS_WORKSPACE, "OMP_NUM_THREADS": str(self.plan.threads)}
            previous_sigterm = signal.getsignal(signal.SIGTERM)
            try:
                ray.init(address=self.address, num_cpus=None if self.address else self.num_cpus,
                         include_dashboard=False, log_to_driver=False, configure_logging=False,
                         runtime_env={"env_vars": env})
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise UsageError(f"cannot start or reach Ray at {self.address or 'a local instance'}: "
                                 f"{str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}") from None
            if previous_sigterm is not None and threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, previous_sigterm)  # ray.init replaces it; keep the CLI's clean stop
        try:
            self._run(ray, tasks, on_records)
        finally:
            if started_here:
                ray.shutdown()

    def _actor_options(self, ray) -> tuple[dict[str, Any], int]:
        """Resources of one actor and how many actors the cluster's nodes hold."""
        nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
        if self.plan.device.startswith("cuda"):
            per_node = [int(r.get("GPU", 0)) for r in nodes]
            if sum(per_node) < 1:
                raise UsageError("--device cuda with --executor ray, but the Ray cluster has no GPU")
            return {"num_gpus": 1, "num_cpus": 1}, sum(per_node)
        threads = self.plan.threads
        largest = max((int(r.get("CPU", 0)) for r in nodes), default=0)
        if threads > largest:
            raise UsageError(f"--threads {threads}: the largest Ray node has {largest} CPUs, so no actor could start; "
                             f"pass --threads {max(largest, 1)} or less")
        return {"num_cpus": threads}, sum(int(r.get("CPU", 0)) // threads for r in nodes)

    def _run(self, ray, tasks: Sequence[Task], on_records: OnRecords) -> None:
        options, capacity = self._actor_options(ray)
        count = max(1, min(self.workers or capacity, capacity, len(tasks)))
        actor_class = ray.remote(max_restarts=2, max_task_retries=2, **options)(_RayWorker)
        actors = [actor_class.remote(self.plan) for _ in range(count)]
        try:
            self._start(ray, actors)
            self._dispatch(ray, actors, tasks, on_records)
        finally:
            for actor in actors:
                try:
                    ray.kill(actor)
                except Exception:  # noqa: BLE001, S110 - best effort: the actor may be gone already
                    pass

    def _start(self, ray, actors) -> None:
        """Wait until every actor has prepared its estimators (errors there stop the run with one line)."""
        pending = [actor.ready.remote() for actor in actors]
        ready, waiting = ray.wait(pending, num_returns=len(pending), timeout=self.start_timeout)
        if waiting:
            raise SuiteError(f"{len(waiting)} of {len(actors)} Ray actors did not start within {self.start_timeout:.0f} s "
                             f"(each needs {self.plan.threads} CPUs or a GPU); free resources or pass --workers")
        for ref in ready:
            _get(ray, ref)

    def _dispatch(self, ray, actors, tasks: Sequence[Task], on_records: OnRecords) -> None:
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
                records, meta = _get(ray, ready)
                on_records(records, meta)
                submit(actor)
        finally:
            for ref in in_flight:
                try:
                    ray.cancel(ref)
                except Exception:  # noqa: BLE001, S110 - best effort while stopping
                    pass


def _get(ray, ref):
    """``ray.get`` with Ray's errors turned into one-line suite errors."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, SuiteError):
            raise cause from None
        text = str(cause if cause is not None else exc).strip()
        message = text.splitlines()[-1] if text else type(exc).__name__
        raise SuiteError(f"a Ray worker failed: {message[:300]}") from None
    except ray.exceptions.RayActorError as exc:
        lines = [line for line in str(exc).splitlines() if line.strip()]
        detail = next((line.strip() for line in reversed(lines) if "Error" in line), lines[-1] if lines else "")
        raise SuiteError(f"a Ray actor died and could not be restarted ({detail[:200]}); "
                         "re-run the same command to resume from the journal") from None


class _RayWorker:
    """A Ray actor: prepares the estimators once, then scores chunks (see :class:`RayExecutor`)."""

    def __init__(self, plan: RunPlan) -> None:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", provenance.CUBLAS_WORKSPACE)
        self.plan = plan
        self.estimators: list[Estimator] = []

    def ready(self) -> bool:
        """Prepare the estimators (errors here reach the driver as task errors, not actor deaths)."""
        if not self.estimators:
            self.estimators, self.ctx, self.determinism = prepare_worker(self.plan)
        return True

    def score(self, group: tuple[int, ...], label: str, items) -> tuple[list[ArchRecord], dict[str, Any]]:
        self.ready()  # a restarted actor prepares again
        records = score_chunk([self.estimators[i] for i in group], label, items, self.ctx)
        meta = worker_meta(self.estimators, self.ctx)
        meta["determinism"] = self.determinism
        return records, meta


def _import_ray():
    try:
        return importlib.import_module("ray")  # deferred: ray, an optional extra the local executor never needs
    except ImportError:
        raise UsageError("--executor ray needs Ray: pip install 'nas-estimator-suite[ray]'") from None
