"""Merging shards: the journals of shards 0..n-1 of one run, checked and joined into its results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from suite import provenance
from suite.benchmarks import LoadedBenchmark, get_benchmark
from suite.errors import UsageError
from suite.estimator import snapshot_labels
from suite.registry import build_estimator
from suite.results import ResultFile
from suite.runner.build import build_results
from suite.runner.identity import archs_hash
from suite.runner.journal import JournalError, JournalState, plan_hash, read_journal
from suite.runner.plan import RunPlan
from suite.runner.resolve import estimator_plan, planned_ids


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
    full_ids = planned_ids(benchmark, base_identity["sample"], None)
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

    estimators = [build_estimator(e["name"], e["config"], bench_spec.space.name) for e in base_identity["estimators"]]
    criteria = first.header.get("criteria", {})
    gt_column = gt_column or criteria.get("gt_column")
    plan = RunPlan(
        benchmark=bench_spec.name, space=bench_spec.space.name, archs_sha256=base_identity["archs_sha256"],
        seed=base_identity["seed"], sample=base_identity["sample"], shard=None, run_ids=tuple(full_ids.tolist()),
        estimators=tuple(estimator_plan(e, gt_column, bench_spec) for e in estimators), gt_column=gt_column,
        nonfinite=nonfinite or criteria.get("nonfinite", "worst"), device=base_identity["device"],
        threads=base_identity["threads"], data_dir=data_dir, executor="merge",
    )
    for path, state in states:
        for arch_id in planned_ids(benchmark, base_identity["sample"], tuple(state.header["identity"]["shard"])).tolist():
            for e in estimators:
                for label in snapshot_labels(e):
                    if (str(arch_id), label, e.name) not in state.outcomes:
                        raise JournalError(f"{path}: shard {state.header['identity']['shard'][0]}/{count} is incomplete "
                                           f"(architecture {arch_id} has no {e.name} outcome); re-run that shard to finish it")
    extra = {
        "determinism": first.meta.get("determinism", {}),
        "executor": plan.executor,
        "shards": count,
        "sessions": len(merged.sessions),
        "started_at": min(s["started_at"] for s in merged.sessions) if merged.sessions else provenance.utc_now(),
    }
    return build_results(plan, estimators, benchmark, merged, extra)
