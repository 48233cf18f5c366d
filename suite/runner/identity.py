"""A run's journal identity: the header, the journal's path, and the refusal of pre-``archs_sha256`` journals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

import suite
from suite import protocol
from suite.benchmarks import LoadedBenchmark
from suite.runner.journal import JOURNAL_VERSION, JournalError, identity_key, plan_hash
from suite.runner.plan import RunPlan

#: The identity fields a journal's file name keys on (what the run is).
RUN_KEY_FIELDS = ("benchmark", "archs_sha256", "seed", "sample", "estimators", "shard")


def archs_hash(benchmark: LoadedBenchmark) -> str:
    """sha256 hex of the subset as ``"<id>:<architecture text>"`` lines in id order.

    Ids alone are always 0..n-1, so only the architectures behind them tell a re-imported table
    that maps an id to another architecture from the one a journal was written on."""
    space = benchmark.spec.space
    return plan_hash(f"{i}:{space.format(a)}" for i, a in zip(benchmark.arch_ids.tolist(), benchmark.archs))


def run_identity(plan: RunPlan) -> dict[str, Any]:
    """Everything that can change a score: the journal header's ``identity``."""
    return {
        "protocol": protocol.PROTOCOL_VERSION,
        "suite": suite.__version__,
        "torch": torch.__version__,
        "benchmark": plan.benchmark,
        "archs_sha256": plan.archs_sha256,
        "seed": plan.seed,
        "sample": plan.sample,
        "estimators": [{"name": e.name, "config": e.config} for e in plan.estimators],
        "device": plan.device_type,
        "threads": plan.scoring_threads,
        "shard": list(plan.shard) if plan.shard else None,
    }


def run_key(plan: RunPlan) -> str:
    """The key of the journal's file name: a hash of what the run is (:data:`RUN_KEY_FIELDS`)."""
    identity = run_identity(plan)
    return identity_key({k: identity[k] for k in RUN_KEY_FIELDS})


def journal_header(plan: RunPlan) -> dict[str, Any]:
    """The journal's first line: identity (what can change a score), plan, and criteria settings."""
    identity = run_identity(plan)
    # The file name keys on what the run is; versions, device and threads are checked on resume
    # instead, so a run resumed with another torch or thread count is refused, naming the field,
    # rather than silently started afresh in a new file.
    return {
        "suite_journal": JOURNAL_VERSION,
        "identity": identity,
        "identity_sha256": identity_key(identity),
        "run_key": run_key(plan),
        "plan": {"n": len(plan.run_ids), "ids_sha256": plan_hash(plan.run_ids)},
        "criteria": {"gt_column": plan.gt_column, "nonfinite": plan.nonfinite},
    }


def journal_path(plan: RunPlan, key: str | None = None) -> Path | None:
    """``<journal_dir>/<benchmark>_<estimator(s)>_seed<s>[_sample<n>][_shard<i>of<n>]_<key[:12]>.jsonl``.

    Args:
        key: the run key (default: the plan's, :func:`run_key`).

    Returns:
        None when the plan keeps its journal in memory.
    """
    if plan.journal_dir is None:
        return None
    names = plan.estimator_names
    what = names[0] if len(names) == 1 else f"{len(names)}-estimators"
    parts = [plan.benchmark, what, f"seed{plan.seed}"]
    if plan.sample is not None:
        parts.append(f"sample{plan.sample}")
    if plan.shard is not None:
        parts.append(f"shard{plan.shard[0]}of{plan.shard[1]}")
    parts.append((key or run_key(plan))[:12])
    return Path(plan.journal_dir) / ("_".join(parts) + ".jsonl")


def work_dir(journal_path: Path | None) -> Path | None:
    """The run's directory for resumable state beside its journal (``<journal>.work``)."""
    return None if journal_path is None else journal_path.with_suffix(".work")


def plan_work_dir(plan: RunPlan) -> Path | None:
    """The plan's :func:`work_dir` (None without a journal)."""
    return work_dir(journal_path(plan))


def refuse_legacy_journal(plan: RunPlan, benchmark: LoadedBenchmark) -> None:
    """Journals written before ``archs_sha256`` keyed their file name on a hash of the ids alone; a
    run that finds one must not silently start afresh beside hours of work it cannot resume."""
    identity = run_identity(plan)
    what = {k: identity[k] for k in RUN_KEY_FIELDS if k != "archs_sha256"}
    legacy_key = identity_key({**what, "subset_sha256": plan_hash(benchmark.arch_ids.tolist())})
    legacy = journal_path(plan, legacy_key)
    if legacy is not None and legacy.exists():
        raise JournalError(f"{legacy} holds this run's work in the journal format before archs_sha256, which this "
                           "suite cannot resume: finish it with the suite commit that wrote it (its session lines "
                           "name it), or delete it to start afresh")
