"""Comparison tables from result files: one row per (benchmark, estimator, config), mean and std over seeds."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import rfc8785

from suite.benchmarks import BENCHMARKS
from suite.errors import ResultFileError
from leaderboard.rows import NOISE_CEILING
from suite.metrics import HEADLINE
from suite.results import ResultFile, read_result
from suite.verify import find_files


def find_result_files(roots: Iterable[str | Path]) -> list[Path]:
    """Every ``*.json`` under the given files or directories, sorted: the same files `suite verify`
    checks (one discovery for both, so no file is shown that verification did not see)."""
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
            "sample_seed": result.benchmark.sample.get("seed", -1) if result.benchmark.sample else -1,
            "gt": result.benchmark.ground_truth,
            "n": snapshot.criteria.n,
            **{name: snapshot.criteria.values.get(name) for name in criteria},
        })
    return pd.DataFrame(rows)


def comparison_table(frame: pd.DataFrame, criteria: tuple[str, ...] = HEADLINE) -> pd.DataFrame:
    """Mean and std over seeds per (benchmark, estimator, config, sample, ground-truth column), sorted by
    benchmark and sample, then the ranked rows by KD (best first), then the unranked ones by KD.

    Only like is ranked with like, as on the site: rows are ranked (1.. per benchmark and sample)
    among the runs on the same architectures (the whole subset, or one seeded sample) judged against
    the benchmark's protocol column. A reference line, or a row judged against another column, gets
    rank <NA>.

    A row whose first criterion (KD) is above the ``gt_noise_ceiling`` reference line's on the same
    architectures is flagged (``above_ceiling``) for review and takes no rank either.

    Columns: rank, reference, other_gt (judged against another column than the protocol's), above_ceiling,
    benchmark, estimator, family, config, sample (0: the whole subset), sample_seed (-1: none), gt,
    seeds, complete, partial (a partial real-data set, not the benchmark), n, and ``<criterion>`` /
    ``<criterion> std`` for each criterion (std is NaN with a single seed).
    """
    if frame.empty:
        return frame
    keys = ["benchmark", "estimator", "family", "config", "sample", "sample_seed", "gt"]  # a sample run is its own row
    grouped = frame.groupby(keys, sort=False)
    table = grouped.agg(seeds=("seed", "count"), complete=("complete", "all"), partial=("partial", "any"),
                        n=("n", "min")).reset_index()
    for name in criteria:
        values = pd.to_numeric(frame[name], errors="coerce")
        table[name] = values.groupby([frame[k] for k in keys], sort=False).mean().to_numpy()
        table[f"{name} std"] = values.groupby([frame[k] for k in keys], sort=False).std(ddof=1).to_numpy()
    table["reference"] = table["family"] == "reference"
    protocol_gt = table["benchmark"].map(lambda b: BENCHMARKS[b].default_gt_column if b in BENCHMARKS else None)
    table["other_gt"] = protocol_gt.notna() & (table["gt"] != protocol_gt)
    table["above_ceiling"] = _above_ceiling(table, criteria[0])
    table["unranked"] = table["reference"] | table["other_gt"] | table["above_ceiling"]
    table = table.sort_values(["benchmark", "sample", "sample_seed", "unranked", criteria[0]],
                              ascending=[True, True, True, True, False], na_position="last").reset_index(drop=True)
    # Reference lines and rows on another GT column are listed after the ranked rows and take no rank.
    ranked = table[~table["unranked"]]
    ranks = ranked.groupby(["benchmark", "sample", "sample_seed"], sort=False).cumcount() + 1
    table["rank"] = ranks.reindex(table.index).astype("Int64")
    return table.drop(columns="unranked")


def _above_ceiling(table: pd.DataFrame, criterion: str) -> pd.Series:
    """Rows (not reference lines, on the protocol's column) whose ``criterion`` is above the
    :data:`~leaderboard.rows.NOISE_CEILING` line's on the same architectures (benchmark and sample)."""
    if criterion not in table:
        return pd.Series(False, index=table.index)
    same = ["benchmark", "sample", "sample_seed"]
    line = table[(table["estimator"] == NOISE_CEILING) & table["reference"] & ~table["other_gt"]]
    ceiling = line.groupby(same)[criterion].max().rename("_ceiling")
    joined = table[same].join(ceiling, on=same)["_ceiling"]
    values = pd.to_numeric(table[criterion], errors="coerce")
    return (~table["reference"] & ~table["other_gt"] & joined.notna() & (values > joined)).fillna(False).astype(bool)


def load_comparison(roots: Iterable[str | Path]) -> tuple[pd.DataFrame, list[tuple[Path, str]]]:
    """Read every result file under ``roots``; return the comparison table and the rejected files with reasons."""
    results, rejected = [], []
    for path in find_result_files(roots):
        try:
            results.append(read_result(path))
        except ResultFileError as exc:
            rejected.append((path, str(exc)))
    return comparison_table(results_frame(results)), rejected
