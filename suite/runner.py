"""Running estimators on one benchmark under the protocol, end to end, resumably.

A run plans its architectures (the subset, a seeded sample, or a shard of either), opens its
journal (resuming what an earlier invocation of the same run scored), has an executor score
what is missing (each architecture journaled as soon as it is scored), and, once every planned
architecture has an outcome, builds one result per estimator from the journal. A shard stops
after journaling; ``suite merge`` (:func:`merge`) builds the results from all shards' journals.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

import suite
from suite import protocol, provenance
from suite.benchmarks import BenchmarkSpec, LoadedBenchmark, get_benchmark
from suite.errors import SuiteError, UsageError
from suite.estimator import Estimator, RunContext, reference_gt_column, snapshot_labels
from suite.executors import (
    LocalExecutor,
    RayExecutor,
    Task,
    WorkerSettings,
    worker_meta,
)
from suite.journal import (
    JOURNAL_VERSION,
    ArchRecord,
    Journal,
    JournalError,
    JournalState,
    identity_key,
    plan_hash,
    read_journal,
)
from suite.metrics import compute_criteria
from suite.progress import Progress
from suite.registry import get_estimator_class
from suite.results import (
    BenchmarkInfo,
    CriteriaBlock,
    EstimatorInfo,
    Failure,
    ProtocolInfo,
    ResultFile,
    Snapshot,
    SuiteInfo,
    encode_scores,
)
from suite.scoring import fusion_groups

#: Architectures handed to ``Estimator.score`` at a time, unless the estimator's capabilities set a
#: ``chunk_size`` (slow estimators, so that the journal and the progress bar move often).
CHUNK = 256
#: A run whose first this-many architectures all fail stops: that is a setup problem or a bug,
#: not a property of the architectures.
SYSTEMATIC_FAILURES = 8


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


@dataclass(frozen=True)
class RunOptions:
    """How a run executes; none of these changes a score (threads is recorded and checked).

    Attributes:
        journal_dir: where journals live; None keeps the journal in memory (no resume).
        shard: (index, count): score only run positions ``p`` with ``p % count == index``.
        executor: ``local`` or ``ray``.
        address: Ray address (None: start a local instance).
        workers: Ray actors (default: cluster CPUs / threads, or GPUs).
        ray_cpus: CPUs of a local Ray instance (default: all).
        threads: torch intra-op threads (default: torch's current setting). CPU scores depend on it.
        restart: discard an existing journal of this run instead of resuming it.
        progress: ``auto``, ``bar``, ``log`` or ``none``.
    """

    journal_dir: Path | None = None
    shard: tuple[int, int] | None = None
    executor: str = "local"
    address: str | None = None
    workers: int | None = None
    ray_cpus: int | None = None
    threads: int | None = None
    restart: bool = False
    progress: str = "auto"


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


class Interrupted(SuiteError):
    """Ctrl-C or SIGTERM during a run; the journal keeps everything scored so far."""

    exit_code = 130


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
    base = specs[0]
    for other in specs[1:]:
        if _shared_fields(other) != _shared_fields(base):
            raise UsageError("estimators run together must share benchmark, seed, sample, device and data settings")
    bench_spec = get_benchmark(base.benchmark)
    if base.seed not in protocol.SEEDS:
        raise UsageError(f"seed {base.seed} is not a protocol seed; use one of {', '.join(map(str, protocol.SEEDS))}")
    if options.executor not in ("local", "ray"):
        raise UsageError(f"unknown executor {options.executor!r}; use local or ray")
    estimators = _build_estimators(specs, bench_spec)
    benchmark = loaded if loaded is not None else bench_spec.load(base.data_dir)
    for spec, estimator in zip(specs, estimators):  # a bad --gt fails now, not after hours of scoring
        benchmark.ground_truth(spec.gt_column or reference_gt_column(estimator) or bench_spec.default_gt_column)
    run_ids = _planned_ids(benchmark, base.sample, options.shard)
    archs = [benchmark.archs[p] for p in benchmark.positions(run_ids)]

    device = resolve_device(base.device, local=options.executor == "local")
    threads = options.threads or torch.get_num_threads()
    if threads < 1:
        raise UsageError(f"--threads must be at least 1, got {threads}")
    torch.set_num_threads(threads)
    determinism = provenance.apply_determinism(base.seed)
    header = _journal_header(specs, estimators, benchmark, run_ids, base, device, threads, options.shard)
    journal_path = _journal_path(options.journal_dir, header, base, options.shard)
    if journal_path is not None:
        if not options.restart and not journal_path.exists():
            _refuse_legacy_journal(options.journal_dir, header, benchmark, base, options.shard)
        journal = Journal.open(journal_path, header, restart=options.restart)
        if options.restart:  # under the journal's lock, so never another live process's checkpoints
            shutil.rmtree(work_dir(journal_path), ignore_errors=True)
    else:
        journal = Journal.in_memory(header)

    with journal:
        groups = fusion_groups(estimators)
        tasks, fatal, planned, resumed = _pending_tasks(estimators, groups, run_ids, archs, journal.state)
        journal.append_many(fatal)
        if tasks:
            _score(tasks, estimators, specs, base, device, threads, determinism, options, journal, planned, resumed)
        state = journal.state

    failed = sum(isinstance(v, str) for v in state.outcomes.values())
    if options.shard is not None:
        return RunOutcome(results=None, journal=journal_path, planned=planned, resumed=resumed, failed=failed)
    extra = {
        "determinism": state.meta.get("determinism", determinism),
        "executor": options.executor,
        "sessions": len(state.sessions),
        "started_at": state.sessions[0]["started_at"] if state.sessions else provenance.utc_now(),
        "wall_time_s": round(time.perf_counter() - started, 3),
    }
    results = build_results(specs, estimators, bench_spec, benchmark, run_ids, state, extra)
    return RunOutcome(results=results, journal=journal_path, planned=planned, resumed=resumed, failed=failed)


def _shared_fields(spec: RunSpec) -> tuple:
    return (spec.benchmark, spec.seed, spec.sample, spec.device, spec.data_dir, spec.cache_dir,
            spec.gt_column, spec.nonfinite)


def _build_estimators(specs: Sequence[RunSpec], bench_spec: BenchmarkSpec) -> list[Estimator]:
    estimators = []
    for spec in specs:
        cls = get_estimator_class(spec.estimator)
        estimator = cls(**spec.config)
        if not estimator.supports(bench_spec.space.name):
            raise UsageError(f"estimator {spec.estimator!r} does not support the {bench_spec.space.name} space")
        estimators.append(cls.for_space(bench_spec.space.name, spec.config))
    return estimators


def _planned_ids(benchmark: LoadedBenchmark, sample: int | None, shard: tuple[int, int] | None) -> np.ndarray:
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


#: The identity fields a journal's file name keys on (what the run is).
_RUN_KEY_FIELDS = ("benchmark", "archs_sha256", "seed", "sample", "estimators", "shard")


def _journal_header(specs, estimators, benchmark, run_ids, base, device, threads, shard) -> dict[str, Any]:
    """The journal's first line: identity (what can change a score), plan, and criteria settings."""
    identity = {
        "protocol": protocol.PROTOCOL_VERSION,
        "suite": suite.__version__,
        "torch": torch.__version__,
        "benchmark": base.benchmark,
        "archs_sha256": archs_hash(benchmark),
        "seed": base.seed,
        "sample": base.sample,
        "estimators": [{"name": e.name, "config": e.get_config()} for e in estimators],
        "device": device.type,
        "threads": threads if device.type == "cpu" else None,
        "shard": list(shard) if shard else None,
    }
    # The file name keys on what the run is; versions, device and threads are checked on resume
    # instead, so a run resumed with another torch or thread count is refused, naming the field,
    # rather than silently started afresh in a new file.
    what = {k: identity[k] for k in _RUN_KEY_FIELDS}
    return {
        "suite_journal": JOURNAL_VERSION,
        "identity": identity,
        "identity_sha256": identity_key(identity),
        "run_key": identity_key(what),
        "plan": {"n": len(run_ids), "ids_sha256": plan_hash(run_ids.tolist())},
        "criteria": {"gt_column": base.gt_column, "nonfinite": base.nonfinite},
    }


def archs_hash(benchmark: LoadedBenchmark) -> str:
    """sha256 hex of the subset as ``"<id>:<architecture text>"`` lines in id order.

    Ids alone are always 0..n-1, so only the architectures behind them tell a re-imported table
    that maps an id to another architecture from the one a journal was written on."""
    space = benchmark.spec.space
    return plan_hash(f"{i}:{space.format(a)}" for i, a in zip(benchmark.arch_ids.tolist(), benchmark.archs))


def _journal_path(journal_dir: Path | None, header: dict[str, Any], base: RunSpec, shard) -> Path | None:
    if journal_dir is None:
        return None
    names = [e["name"] for e in header["identity"]["estimators"]]
    what = names[0] if len(names) == 1 else f"{len(names)}-estimators"
    parts = [base.benchmark, what, f"seed{base.seed}"]
    if base.sample is not None:
        parts.append(f"sample{base.sample}")
    if shard is not None:
        parts.append(f"shard{shard[0]}of{shard[1]}")
    parts.append(header["run_key"][:12])
    return Path(journal_dir) / ("_".join(parts) + ".jsonl")


def _refuse_legacy_journal(journal_dir: Path, header: dict[str, Any], benchmark: LoadedBenchmark, base: RunSpec,
                           shard) -> None:
    """Journals written before ``archs_sha256`` keyed their file name on a hash of the ids alone; a
    run that finds one must not silently start afresh beside hours of work it cannot resume."""
    identity = header["identity"]
    what = {k: identity[k] for k in _RUN_KEY_FIELDS if k != "archs_sha256"}
    legacy_key = identity_key({**what, "subset_sha256": plan_hash(benchmark.arch_ids.tolist())})
    legacy = _journal_path(journal_dir, {**header, "run_key": legacy_key}, base, shard)
    if legacy is not None and legacy.exists():
        raise JournalError(f"{legacy} holds this run's work in the journal format before archs_sha256, which this "
                           "suite cannot resume: finish it with the suite commit that wrote it (its session lines "
                           "name it), or delete it to start afresh")


def work_dir(journal_path: Path | None) -> Path | None:
    """The run's directory for resumable state beside its journal (``<journal>.work``)."""
    return None if journal_path is None else journal_path.with_suffix(".work")


def _labels(estimators: Sequence[Estimator], group: list[int]) -> list[str]:
    return snapshot_labels(estimators[group[0]]) if len(group) == 1 else ["final"]


#: An architecture on which the process died this many times (segfault, host OOM kill) is
#: recorded as a failure instead of being tried again.
MAX_DEATHS = 2


def _pending_tasks(estimators, groups, run_ids, archs, state: JournalState
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
            for arch_id, arch in zip(run_ids.tolist(), archs):
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


def _score(tasks, estimators, specs, base, device, threads, determinism, options, journal, planned, resumed) -> None:
    """Score ``tasks`` with the chosen executor, journaling every record as it arrives."""
    settings = WorkerSettings(
        benchmark=base.benchmark, estimators=tuple((e.name, e.get_config()) for e in estimators), seed=base.seed,
        device=str(device), threads=threads, data_dir=base.data_dir, cache_dir=base.cache_dir,
        work_dir=work_dir(journal.path),
    )
    ctx = RunContext(space=get_benchmark(base.benchmark).space, seed=base.seed, device=device,
                     data_dir=base.data_dir, cache_dir=base.cache_dir, work_dir=settings.work_dir,
                     progress=options.progress)
    if options.executor == "ray":
        # Training happens once, here; the workers' prepare() then finds its output in work_dir
        # (on a cluster that needs a file system shared with the driver, or each worker retrains).
        for estimator in estimators:
            if estimator.capabilities.prepares_in_work_dir and settings.work_dir is not None:
                if device.type == "cuda" and not torch.cuda.is_available():
                    raise UsageError(f"{estimator.name} trains in the driver before the Ray workers start, and this "
                                     "driver has no GPU: start it on a GPU node, or train first with the local "
                                     "executor (the same command without --executor ray)")
                estimator.prepare(ctx)
        executor = RayExecutor(settings, options.address, options.workers, options.ray_cpus)
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
        if len(task.items) == 1 and options.executor == "local":
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

    with Progress(planned, resumed, desc=desc, mode=options.progress) as bar:
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


def build_results(specs: Sequence[RunSpec], estimators: Sequence[Estimator], bench_spec: BenchmarkSpec,
                  benchmark: LoadedBenchmark, run_ids: np.ndarray, state: JournalState,
                  extra: dict[str, Any]) -> list[ResultFile]:
    """One result per estimator from the journal's outcomes for ``run_ids`` (all must have one).

    The criteria settings (ground-truth column, non-finite policy) are the specs': a resumed run
    judges by the command that finishes it, not by the journal's first invocation.

    An architecture that failed for an estimator in any snapshot is left out of that estimator's
    result (all snapshots, so they stay aligned) and listed in its ``failures``; the criteria are
    computed on the rest, and say on how many.
    """
    components = state.meta.get("components", {})
    records = state.meta.get("records", {})
    results = []
    for spec, estimator in zip(specs, estimators):
        name = estimator.name
        labels = snapshot_labels(estimator)
        failed: dict[str, list[str]] = {}
        for arch_id in run_ids.tolist():
            for label in labels:
                outcome = state.outcomes.get((str(arch_id), label, name))
                if outcome is None:
                    raise JournalError(f"architecture {arch_id} has no {name} score for snapshot {label!r}; "
                                       "the run is incomplete: re-run it (or run the missing shard) to finish")
                if isinstance(outcome, str):
                    failed.setdefault(str(arch_id), []).append(outcome if len(labels) == 1 else f"{label}: {outcome}")
        ok_ids = [i for i in run_ids.tolist() if str(i) not in failed]
        if len(ok_ids) < 2:
            first = next(iter(failed.values()), ["?"])[0]
            raise SuiteError(f"estimator {name!r} scored {len(ok_ids)} of {len(run_ids)} architectures "
                             f"(first failure: {first}); the journal keeps them, fix the cause and re-run")
        gt_column = spec.gt_column or reference_gt_column(estimator) or bench_spec.default_gt_column
        nonfinite = spec.nonfinite
        full_gt = benchmark.ground_truth(gt_column)
        gt = full_gt[benchmark.positions(np.array(ok_ids))]
        snapshots = []
        for label in labels:
            values = np.stack([state.outcomes[(str(i), label, name)] for i in ok_ids])
            snapshots.append(_snapshot(estimator, tuple(components.get(name, ())), label, values, gt, nonfinite,
                                       n_failed=len(failed)))
        retried = [{"arch_id": key[0], "label": key[1], "how": how}
                   for key, how in sorted(state.retried.items()) if key[2] == name and key[0] not in failed]
        sample = state.header["identity"]["sample"]
        results.append(ResultFile(
            schema_version=1,
            suite=SuiteInfo(version=suite.__version__, git_commit=provenance.git_commit()),
            protocol=ProtocolInfo(
                version=protocol.PROTOCOL_VERSION,
                fingerprint=protocol.fingerprint(bench_spec.name, benchmark.arch_ids.tolist(), gt_column, full_gt.tolist()),
            ),
            benchmark=BenchmarkInfo(
                name=bench_spec.name, ground_truth=gt_column, ground_truth_sha256=benchmark.gt_sha256,
                subset_size=len(benchmark.arch_ids), complete=sample is None,
                sample=None if sample is None else {"n": sample, "seed": protocol.SAMPLE_SEED},
            ),
            estimator=EstimatorInfo(name=name, family=estimator.family, config=estimator.get_config(),
                                    deterministic=estimator.deterministic),
            seed=state.header["identity"]["seed"],
            arch_ids=[_plain_id(i) for i in ok_ids],
            snapshots=snapshots,
            failures=[Failure(arch_id=_plain_id(i), reason="; ".join(r)) for i, r in failed.items()],
            provenance={
                "environment": _environment(state),
                "suite_commits": sorted({str(s.get("suite_commit")) for s in state.sessions}),
                "data": {"ground_truth": benchmark.gt_sha256, **state.meta.get("data", {})},
                "threads": state.header["identity"]["threads"],
                "seeds": {"run": state.header["identity"]["seed"], "sample": protocol.SAMPLE_SEED},
                "swept_with": [e.name for e in estimators],
                **({"partial_benchmark": bench_spec.partial} if bench_spec.partial else {}),
                "journal": {"identity_sha256": state.header["identity_sha256"]},
                **({"retried": retried} if retried else {}),
                **({"estimator_record": records[name]} if records.get(name) else {}),
                **extra,
            },
        ))
    return results


def _environment(state: JournalState) -> dict[str, Any]:
    """The environment the scores were computed in; ``{"sessions": [...]}`` when it changed along the way."""
    if not state.environments:
        return provenance.environment(torch.device("cpu"))
    return state.environments[0] if len(state.environments) == 1 else {"sessions": state.environments}


def _plain_id(arch_id: Any) -> int:
    """Benchmark ids are the integers 0..n-1 (the journal keys them as strings)."""
    return int(arch_id)


def _snapshot(estimator: Estimator, components: tuple[str, ...], label: str, values: np.ndarray, gt: np.ndarray,
              nonfinite: str, n_failed: int = 0) -> Snapshot:
    """Scores (and stored per-batch values or components) of one snapshot, with its criteria.

    Args:
        values: float64 [N] scores, [N, b] per-batch values, or [N, m] components (named by ``components``).
    """
    per_batch = stored_components = None
    if components:
        if values.ndim != 2 or values.shape[1] != len(components):
            raise SuiteError(f"estimator {estimator.name!r} returned {values.shape} values for components {components}")
        scores = np.asarray(estimator.combine(values), dtype=np.float64)
        stored_components = {name: encode_scores(values[:, j]) for j, name in enumerate(components)}
    elif values.ndim == 2:
        scores = values.mean(axis=1)
        per_batch = [encode_scores(values[:, b]) for b in range(values.shape[1])]
    else:
        scores = values
    criteria = compute_criteria(scores, gt, nonfinite=nonfinite)
    return Snapshot(
        label=label, scores=encode_scores(scores), per_batch=per_batch, components=stored_components,
        criteria=CriteriaBlock(n=criteria.n, n_nonfinite=criteria.n_nonfinite, n_failed=n_failed,
                               nonfinite_policy=criteria.nonfinite_policy, values=criteria.values),
    )


def merge(journal_paths: Sequence[Path], data_dir: Path | None = None, gt_column: str | None = None,
          nonfinite: str | None = None, loaded: LoadedBenchmark | None = None) -> list[ResultFile]:
    """Join the journals of shards 0..n-1 of one run into one result per estimator.

    Raises:
        JournalError: a journal is unreadable, from another run, a shard is missing or given
            twice, or a shard is incomplete (each names the file and the fix).
    """
    if not journal_paths:
        raise UsageError("suite merge needs the shards' journal files")
    states = [(Path(p), read_journal(p)) for p in journal_paths]
    first_path, first = states[0]
    base_identity = {k: v for k, v in first.header["identity"].items() if k != "shard"}
    shards: dict[int, Path] = {}
    count = None
    for path, state in states:
        identity = state.header["identity"]
        others = {k: v for k, v in identity.items() if k != "shard"}
        if others != base_identity:
            key = min(k for k in set(others) | set(base_identity) if others.get(k) != base_identity.get(k))
            raise JournalError(f"{path} is from a different run than {first_path} "
                               f"({key}: {others.get(key)!r} vs {base_identity.get(key)!r}); merge shards of one run only")
        if identity["shard"] is None:
            raise JournalError(f"{path} is not a shard journal; a whole run needs no merge (re-run it to build its results)")
        index, n = identity["shard"]
        if count is not None and n != count:
            raise JournalError(f"{path} is shard {index}/{n} but {first_path} is of {count} shards; merge shards of one split")
        count = n
        if index in shards:
            raise JournalError(f"shard {index}/{n} given twice ({shards[index]} and {path}); the shards overlap")
        shards[index] = path
    missing = [i for i in range(count) if i not in shards]
    if missing:
        raise JournalError(f"shard {missing[0]}/{count} is missing ({len(missing)} of {count} missing); "
                           f"run it with --shard {missing[0]}/{count}, then merge all {count}")

    bench_spec = get_benchmark(base_identity["benchmark"])
    benchmark = loaded if loaded is not None else bench_spec.load(data_dir)
    if "archs_sha256" not in base_identity:
        raise JournalError(f"{first_path} was written before journals recorded archs_sha256; merge these shards with "
                           "the suite commit that wrote them, or re-run them")
    if archs_hash(benchmark) != base_identity["archs_sha256"]:
        raise JournalError(f"{first_path} was run on {bench_spec.name} architectures other than those in the data "
                           "directory (an id maps to another architecture); merge with the data the shards ran on")
    full_ids = _planned_ids(benchmark, base_identity["sample"], None)
    merged = JournalState(header={**first.header, "identity": {**first.header["identity"], "shard": None}})
    seen_data: dict[str, str] = {}
    for index in range(count):
        path = shards[index]
        state = dict(states)[path]
        expected = full_ids[index::count]
        if state.header["plan"]["ids_sha256"] != plan_hash(expected.tolist()):
            raise JournalError(f"{path}: its architectures are not shard {index}/{count} of this subset")
        for key, value in state.meta.get("data", {}).items():
            if seen_data.setdefault(key, value) != value:
                raise JournalError(f"{path}: its {key} differs from the other shards' (other data read, or another "
                                   "supernet trained); re-run it with the same data directory and a shared --cache-dir")
        merged.environments.extend(e for e in state.environments if e not in merged.environments)
        for key, value in state.outcomes.items():
            merged.outcomes[key] = value
        merged.retried.update(state.retried)
        merged.meta = {**state.meta, **merged.meta}
        merged.sessions.extend(state.sessions)
    merged.meta["data"] = seen_data

    estimators = [get_estimator_class(e["name"]).for_space(bench_spec.space.name, e["config"])
                  for e in base_identity["estimators"]]
    criteria = first.header.get("criteria", {})
    specs = [RunSpec(benchmark=bench_spec.name, estimator=e.name, seed=base_identity["seed"], config=e.get_config(),
                     sample=base_identity["sample"], gt_column=gt_column or criteria.get("gt_column"),
                     nonfinite=nonfinite or criteria.get("nonfinite", "worst"))
             for e in estimators]
    for path, state in states:
        for arch_id in _planned_ids(benchmark, base_identity["sample"], tuple(state.header["identity"]["shard"])).tolist():
            for e in estimators:
                for label in snapshot_labels(e):
                    if (str(arch_id), label, e.name) not in state.outcomes:
                        raise JournalError(f"{path}: shard {state.header['identity']['shard'][0]}/{count} is incomplete "
                                           f"(architecture {arch_id} has no {e.name} outcome); re-run that shard to finish it")
    extra = {
        "determinism": first.meta.get("determinism", {}),
        "executor": "merge",
        "shards": count,
        "sessions": len(merged.sessions),
        "started_at": min(s["started_at"] for s in merged.sessions) if merged.sessions else provenance.utc_now(),
    }
    return build_results(specs, estimators, bench_spec, benchmark, full_ids, merged, extra)
