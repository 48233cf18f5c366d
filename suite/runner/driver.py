"""Running estimators on one benchmark under the protocol, end to end, resumably.

A run resolves its plan (the architectures: the subset, a seeded sample, or a shard of either),
opens its journal (resuming what an earlier invocation of the same run scored), has an executor
score what is missing (each architecture journaled as soon as it is scored), and, once every
planned architecture has an outcome, builds one result per estimator from the journal. A shard
stops after journaling; ``suite merge`` (:func:`suite.runner.shards.merge`) builds the results from
all shards' journals.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from suite import provenance
from suite.benchmarks import LoadedBenchmark
from suite.errors import SuiteError, UsageError
from suite.estimator import Estimator, snapshot_labels
from suite.progress import Progress
from suite.results import ResultFile
from suite.runner.build import build_results
from suite.runner.executors import LocalExecutor, RayExecutor, Task, apply_settings, run_context, worker_meta
from suite.runner.identity import journal_header, journal_path, refuse_legacy_journal, work_dir
from suite.runner.journal import ArchRecord, Journal, JournalState
from suite.runner.plan import RunPlan
from suite.runner.resolve import resolve
from suite.runner.scoring import fusion_groups
from suite.runner.spec import RunOptions, RunSpec

#: Architectures handed to ``Estimator.score`` at a time, unless the estimator's capabilities set a smaller
#: ``chunk_size`` (slow estimators, so that the journal and the progress bar move often).
CHUNK = 256
#: A run whose first this-many architectures all fail stops: that is a setup problem or a bug,
#: not a property of the architectures.
SYSTEMATIC_FAILURES = 8


@dataclass
class RunOutcome:
    """What :func:`execute` did.

    Attributes:
        results: one result per spec, or None for a shard (merge the shards' journals).
        journal: the journal's path (None when kept in memory).
        planned: architecture x label x estimator-group units in this run (or shard).
        resumed: units the journal already held when the run started.
        failed: (arch_id, label, estimator) units whose outcome is a failure.
    """

    results: list[ResultFile] | None
    journal: Path | None
    planned: int
    resumed: int
    failed: int
    #: The run's plan and estimators (one per result), for :func:`~suite.runner.export.export_weights`;
    #: ``prepared``: whether this invocation prepared them (it scored something).
    plan: RunPlan | None = field(default=None, repr=False)
    estimators: list[Estimator] = field(default_factory=list, repr=False)
    prepared: bool = False


class Interrupted(SuiteError):
    """Ctrl-C or SIGTERM during a run; the journal keeps everything scored so far."""

    exit_code = 130


def run(spec: RunSpec, progress: bool = True, loaded: LoadedBenchmark | None = None,
        options: RunOptions | None = None) -> ResultFile:
    """Score the benchmark's subset (or a seeded sample) with one estimator; compute the criteria."""
    return run_many([spec], progress=progress, loaded=loaded, options=options)[0]


def run_many(specs: Sequence[RunSpec], progress: bool = True, loaded: LoadedBenchmark | None = None,
             options: RunOptions | None = None) -> list[ResultFile]:
    """Several estimators on the same benchmark, seed, sample and device, in one sweep.

    Estimators that declare the same fusion group are scored together (each architecture's
    network built once, shared passes run once); every estimator still gets its own result,
    identical in form to a run of that estimator alone.

    Returns:
        one result per spec, in order.
    """
    options = options or RunOptions(progress="auto" if progress else "none")
    if options.shard is not None:
        raise UsageError("a shard yields a journal, not results: use execute(), then merge()")
    outcome = execute(specs, options, loaded)
    assert outcome.results is not None
    return outcome.results


def execute(specs: Sequence[RunSpec], options: RunOptions = RunOptions(),
            loaded: LoadedBenchmark | None = None) -> RunOutcome:
    """Plan, resume, score what is missing, and (unless sharded) build the results."""
    started = time.perf_counter()
    plan, estimators, benchmark = resolve(specs, options, loaded)
    archs = [benchmark.archs[p] for p in benchmark.positions(plan.ids)]
    determinism = apply_settings(plan)
    header = journal_header(plan)
    path = journal_path(plan, header["run_key"])
    if path is not None:
        if not plan.restart and not path.exists():
            refuse_legacy_journal(plan, benchmark)
        journal = Journal.open(path, header, restart=plan.restart)
        if plan.restart:  # under the journal's lock, so never another live process's checkpoints
            shutil.rmtree(work_dir(path), ignore_errors=True)
    else:
        journal = Journal.in_memory(header)

    with journal:
        groups = fusion_groups(estimators)
        tasks, fatal, planned, resumed = _pending_tasks(estimators, groups, plan.run_ids, archs, journal.state)
        journal.append_many(fatal)
        if tasks:
            _score(tasks, plan, estimators, determinism, journal, planned, resumed)
        state = journal.state

    failed = sum(isinstance(v, str) for v in state.outcomes.values())
    if plan.shard is not None:
        return RunOutcome(results=None, journal=path, planned=planned, resumed=resumed, failed=failed)
    extra = {
        "determinism": state.meta.get("determinism", determinism),
        "executor": plan.executor,
        "sessions": len(state.sessions),
        "started_at": state.sessions[0]["started_at"] if state.sessions else provenance.utc_now(),
        "wall_time_s": round(time.perf_counter() - started, 3),
    }
    results = build_results(plan, estimators, benchmark, state, extra)
    return RunOutcome(results=results, journal=path, planned=planned, resumed=resumed, failed=failed, plan=plan,
                      estimators=list(estimators), prepared=bool(tasks))


def _labels(estimators: Sequence[Estimator], group: list[int]) -> list[str]:
    return snapshot_labels(estimators[group[0]]) if len(group) == 1 else ["final"]


#: An architecture on which the process died this many times (segfault, host OOM kill) is
#: recorded as a failure instead of being tried again.
MAX_DEATHS = 2


def _pending_tasks(estimators, groups, run_ids: Sequence[int], archs, state: JournalState
                   ) -> tuple[list[Task], list[ArchRecord], int, int]:
    """Chunks still to score (failures are retried), failure records for architectures that killed
    the process MAX_DEATHS times, the planned unit count, and the units already done."""
    tasks: list[Task] = []
    fatal: list[ArchRecord] = []
    planned = resumed = 0
    for group in groups:
        names = [estimators[i].name for i in group]
        step = min(estimators[i].capabilities.chunk_size or CHUNK for i in group)
        for label in _labels(estimators, group):
            pending = []
            for arch_id, arch in zip(run_ids, archs):
                planned += 1
                if all(state.scored(arch_id, label, name) for name in names):
                    resumed += 1
                elif state.died_on(arch_id, label) >= MAX_DEATHS:
                    reason = (f"the process died {state.died_on(arch_id, label)} times while scoring it "
                              "(segfault, out of host memory, or killed)")
                    unscored = [name for name in names if not state.scored(arch_id, label, name)]
                    fatal.append(ArchRecord(arch_id=arch_id, label=label, failed=dict.fromkeys(unscored, reason)))
                else:
                    pending.append((arch_id, arch))
            tasks.extend(Task(tuple(group), label, tuple(pending[s : s + step])) for s in range(0, len(pending), step))
    return tasks, fatal, planned, resumed


def _score(tasks: list[Task], plan: RunPlan, estimators: Sequence[Estimator], determinism: dict[str, Any],
           journal: Journal, planned: int, resumed: int) -> None:
    """Score ``tasks`` with the plan's executor, journaling every record as it arrives."""
    ctx = run_context(plan, progress=plan.progress)
    if plan.executor == "ray":
        # Training happens once, here; the workers' prepare() then finds its output in work_dir
        # (on a cluster that needs a file system shared with the driver, or each worker retrains).
        for estimator in estimators:
            if estimator.capabilities.prepares_in_work_dir and ctx.work_dir is not None:
                if plan.device_type == "cuda" and not torch.cuda.is_available():
                    raise UsageError(f"{estimator.name} trains in the driver before the Ray workers start, and this "
                                     "driver has no GPU: start it on a GPU node, or train first with the local "
                                     "executor (the same command without --executor ray)")
                estimator.prepare(ctx)
        executor = RayExecutor(plan)
    else:
        for estimator in estimators:
            estimator.prepare(ctx)
        journal.append_meta({**worker_meta(estimators, ctx), "determinism": determinism})
        executor = LocalExecutor(estimators, ctx)

    desc = estimators[0].name if len(estimators) == 1 else f"{len(estimators)} estimators"
    # The systematic-failure stop applies to a fresh run only: a resumed run may retry nothing but
    # failures, which are expected to fail again.
    fresh = not journal.state.outcomes
    seen = {"records": 0, "failed": 0, "reason": ""}
    current: list[tuple[Any, str]] = []

    def on_start(task: Task) -> None:
        if len(task.items) == 1 and plan.executor == "local":
            current[:] = [(task.items[0][0], task.label)]
            journal.append_attempt(*current[0])

    def on_records(records: list[ArchRecord], meta: dict[str, Any]) -> None:
        new_meta = {k: v for k, v in meta.items() if journal.state.meta.get(k) != v}
        if "data" in new_meta and new_meta["data"].items() <= journal.state.meta.get("data", {}).items():
            del new_meta["data"]
        if new_meta:
            journal.append_meta(new_meta)
        journal.append_many(records)
        current.clear()
        for record in records:
            seen["records"] += 1
            if record.failed and not record.scores:
                seen["failed"] += 1
                seen["reason"] = seen["reason"] or next(iter(record.failed.values()))
        bar.update(len(records))
        if fresh and seen["failed"] >= SYSTEMATIC_FAILURES and seen["failed"] == seen["records"]:
            raise SuiteError(
                f"the first {seen['failed']} architectures all failed ({seen['reason']}); that is a setup problem "
                "or a bug, not the architectures: fix it and re-run (failed architectures are retried)"
            )

    with Progress(planned, resumed, desc=desc, mode=plan.progress) as bar:
        try:
            executor.run(tasks, on_records, on_start)
        except KeyboardInterrupt:
            if current:  # stopped on purpose: not a death of the process on this architecture
                journal.cancel_attempt(*current[0])
            where = f"the journal {journal.path}" if journal.path else "memory (no --journal-dir: lost)"
            raise Interrupted(
                f"interrupted; scores of {journal.state.n_archs_scored()} architectures are in {where}; "
                "re-run the same command to continue"
            ) from None
        except BaseException:
            # The process is alive and raising (a setup error, the systematic-failure stop): not a
            # death on this architecture, which MAX_DEATHS would otherwise count against it.
            if current:
                journal.cancel_attempt(*current[0])
            raise


