"""Building result files from a journal's outcomes: scores per snapshot, criteria, failures, provenance."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

import suite
from suite import protocol, provenance
from suite.benchmarks import LoadedBenchmark, get_benchmark
from suite.errors import SuiteError
from suite.estimator import Estimator, snapshot_labels
from suite.metrics import compute_criteria
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
from suite.runner.journal import JournalError, JournalState
from suite.runner.plan import RunPlan


def build_results(plan: RunPlan, estimators: Sequence[Estimator], benchmark: LoadedBenchmark, state: JournalState,
                  extra: dict[str, Any]) -> list[ResultFile]:
    """One result per estimator of the plan from the journal's outcomes for its ``run_ids`` (all must have one).

    The criteria settings (ground-truth column, non-finite policy) are the plan's: a resumed run
    judges by the command that finishes it, not by the journal's first invocation.

    An architecture that failed for an estimator in any snapshot is left out of that estimator's
    result (all snapshots, so they stay aligned) and listed in its ``failures``; the criteria are
    computed on the rest, and say on how many.
    """
    bench_spec = get_benchmark(plan.benchmark)
    run_ids = plan.ids
    components = state.meta.get("components", {})
    records = state.meta.get("records", {})
    results = []
    for planned, estimator in zip(plan.estimators, estimators):
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
        gt_column = planned.gt_column
        nonfinite = plan.nonfinite
        full_gt = benchmark.ground_truth(gt_column)
        gt = full_gt[benchmark.positions(np.array(ok_ids))]
        snapshots = []
        for label in labels:
            values = np.stack([state.outcomes[(str(i), label, name)] for i in ok_ids])
            snapshots.append(_snapshot(estimator, tuple(components.get(name, ())), label, values, gt, nonfinite,
                                       n_failed=len(failed)))
        retried = [{"arch_id": key[0], "label": key[1], "how": how}
                   for key, how in sorted(state.retried.items()) if key[2] == name and key[0] not in failed]
        sample = plan.sample
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
            seed=plan.seed,
            arch_ids=[_plain_id(i) for i in ok_ids],
            snapshots=snapshots,
            failures=[Failure(arch_id=_plain_id(i), reason="; ".join(r)) for i, r in failed.items()],
            provenance={
                "environment": _environment(state),
                "suite_commits": sorted({str(s.get("suite_commit")) for s in state.sessions}),
                "data": {"ground_truth": benchmark.gt_sha256, **state.meta.get("data", {})},
                "threads": plan.scoring_threads,
                "seeds": {"run": plan.seed, "sample": protocol.SAMPLE_SEED},
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


