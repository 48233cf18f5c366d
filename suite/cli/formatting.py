"""Text the commands print: criteria tables, numbers and shortened digests."""

from __future__ import annotations

import functools
from pathlib import Path

from tabulate import tabulate

from suite import paths


def criteria_table(result, data_dir: Path | None = None) -> str:
    """The criteria of every snapshot as a text table (rows: criteria; columns: snapshots)."""
    labels = [s.label for s in result.snapshots]
    names = list(result.snapshots[0].criteria.values)
    rows = [[name, *[fmt(s.criteria.values.get(name)) for s in result.snapshots]] for name in names]
    first = result.snapshots[0].criteria
    head = (f"{result.estimator.name} on {result.benchmark.name} (seed {result.seed}, GT {result.benchmark.ground_truth}, "
            f"n = {first.n}, non-finite scores: {first.n_nonfinite}, policy {first.nonfinite_policy})")
    last = result.snapshots[-1]
    if last.per_batch and len(last.per_batch) > 1:  # the mean over the first 1, 3, 5 batches too
        from suite.metrics import compute_criteria  # deferred: scipy, so that `suite --help` stays light

        gt = _result_gt(result, data_dir)
        for k in [k for k in (1, 3, 5) if k < len(last.per_batch)]:
            values = compute_criteria(result.scores(last.label, batches=k), gt, last.criteria.nonfinite_policy).values
            labels.append(f"{last.label} (first {k} batches)")
            for row in rows:
                row.append(fmt(values.get(row[0])))
    partial = result.provenance.get("partial_benchmark")
    if partial:
        head += f"\nnote: {result.benchmark.name} is a {partial}"
    return head + "\n" + tabulate(rows, headers=["criterion", *labels], tablefmt="github")


@functools.lru_cache(maxsize=4)
def _loaded_benchmark(name: str, data_dir: Path):
    from suite.benchmarks import get_benchmark  # deferred: pandas/pyarrow, so that `suite --help` stays light

    return get_benchmark(name).load(data_dir)


def _result_gt(result, data_dir: Path | None):
    """The ground truth aligned with ``result.arch_ids`` (the benchmark is read once per command)."""
    benchmark = _loaded_benchmark(result.benchmark.name, paths.data_dir(data_dir))
    return benchmark.ground_truth(result.benchmark.ground_truth)[benchmark.positions(result.arch_ids)]


def fmt(value) -> str:
    """A criterion value with four decimals; ``-`` when undefined."""
    return "-" if value is None else f"{value:.4f}"


def short(digest: str | None) -> str:
    """A sha256 shortened to its first 12 hex digits; ``-`` when absent."""
    return f"{digest[:12]}..." if digest else "-"
