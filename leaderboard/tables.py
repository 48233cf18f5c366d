"""Comparison tables from result files: one row per (benchmark, estimator, config), mean and std over seeds."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import rfc8785

from suite.metrics import HEADLINE
from suite.results import ResultFile, read_result


def find_result_files(roots: Iterable[str | Path]) -> list[Path]:
    """Every ``*.json`` under the given files or directories, sorted: the same files `suite verify`
    checks (one discovery for both, so no file is shown that verification did not see)."""
    from suite.verify import find_files

    return find_files([Path(r) for r in roots])


def results_frame(results: Iterable[ResultFile], criteria: tuple[str, ...] = HEADLINE) -> pd.DataFrame:
    """One row per result (last snapshot): benchmark, estimator, family, config, seed, n, criteria."""
    rows = []
    for result in results:
        snapshot = result.snapshots[-1]
        rows.append({
            "benchmark": result.benchmark.name,
            "estimator": result.estimator.name,
            "family": result.estimator.family,
            "config": rfc8785.dumps(result.estimator.config).decode(),  # 64 and 64.0: one config
            "seed": result.seed,
            "complete": result.benchmark.complete,
            "partial": bool(result.provenance.get("partial_benchmark")),  # a partial set, not the benchmark
            "sample": result.benchmark.sample.get("n", 0) if result.benchmark.sample else 0,  # 0: the whole subset
            "n": snapshot.criteria.n,
            **{name: snapshot.criteria.values.get(name) for name in criteria},
        })
    return pd.DataFrame(rows)


def comparison_table(frame: pd.DataFrame, criteria: tuple[str, ...] = HEADLINE) -> pd.DataFrame:
    """Mean and std over seeds per (benchmark, estimator, config), sorted by benchmark, then the ranked
    rows by KD (best first), then the reference lines by KD.

    Columns: rank (1.. per benchmark; <NA> for a reference line, which is never ranked), reference,
    benchmark, estimator, family, config, sample (0: the whole subset), seeds, complete, partial
    (a partial real-data set, not the benchmark), n, and ``<criterion>`` /
    ``<criterion> std`` for each criterion (std is NaN with a single seed).
    """
    if frame.empty:
        return frame
    keys = ["benchmark", "estimator", "family", "config", "sample"]  # a sample run is its own row
    grouped = frame.groupby(keys, sort=False)
    table = grouped.agg(seeds=("seed", "count"), complete=("complete", "all"), partial=("partial", "any"),
                        n=("n", "min")).reset_index()
    for name in criteria:
        values = pd.to_numeric(frame[name], errors="coerce")
        table[name] = values.groupby([frame[k] for k in keys], sort=False).mean().to_numpy()
        table[f"{name} std"] = values.groupby([frame[k] for k in keys], sort=False).std(ddof=1).to_numpy()
    table["reference"] = table["family"] == "reference"
    table = table.sort_values(["benchmark", "reference", criteria[0]], ascending=[True, True, False],
                              na_position="last").reset_index(drop=True)
    # Reference lines (family "reference") are listed after the ranked rows and take no rank.
    ranks = table[~table["reference"]].groupby("benchmark", sort=False).cumcount() + 1
    table["rank"] = ranks.reindex(table.index).astype("Int64")
    return table


def load_comparison(roots: Iterable[str | Path]) -> tuple[pd.DataFrame, list[tuple[Path, str]]]:
    """Read every result file under ``roots``; return the comparison table and the rejected files with reasons."""
    from suite.errors import ResultFileError

    results, rejected = [], []
    for path in find_result_files(roots):
        try:
            results.append(read_result(path))
        except ResultFileError as exc:
            rejected.append((path, str(exc)))
    return comparison_table(results_frame(results)), rejected
