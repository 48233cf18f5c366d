"""``suite leaderboard table|build``: comparison tables and the static site from result files."""

from __future__ import annotations

import time
from pathlib import Path

import click
from tabulate import tabulate

from suite import paths
from suite.cli.formatting import fmt
from suite.cli.options import data_options, json_option, out_dir_option, signers_option
from suite.errors import UsageError
from suite.verdict import printable


@click.group("leaderboard")
def leaderboard_group() -> None:
    """Comparison tables from result files."""


@leaderboard_group.command("table")
@click.argument("roots", nargs=-1, type=click.Path(exists=True, path_type=Path))
@json_option("the table")
def leaderboard_table(roots, as_json) -> None:
    """Headline criteria per benchmark and estimator (mean over seeds) from the result files under ROOTS."""
    import pandas as pd  # deferred: pandas, so that `suite --help` stays light

    from leaderboard.tables import load_comparison  # deferred: pandas/scipy (the leaderboard)
    from suite.benchmarks import BENCHMARKS  # deferred: pandas/pyarrow
    from suite.metrics import HEADLINE  # deferred: scipy

    table, rejected = load_comparison(roots or [Path("results")])
    for path, reason in rejected:
        click.echo(f"skipped {printable(reason)}", err=True)
    if as_json:
        click.echo(table.to_json(orient="records", indent=1))
        return
    if table.empty:
        raise UsageError("no readable result files found; run `suite run` first or name a directory")
    table = table.assign(
        rank=[("ref" if ref else "flagged" if above else "-") if pd.isna(rank) else int(rank)
              for rank, ref, above in zip(table["rank"], table["reference"], table["above_ceiling"])],
        on=["whole" if n == 0 else f"sample {n} (seed {seed})" for n, seed in zip(table["sample"], table["sample_seed"])])
    columns = ["rank", "benchmark", "estimator", "on", "family", "seeds", "n", *HEADLINE]
    if table["other_gt"].any():
        columns.insert(4, "gt")
    rows = [[fmt(v) if isinstance(v, float) else printable(v) if isinstance(v, str) else v for v in row]
            for row in table[columns].itertuples(index=False)]  # names come from result files: no escape sequences
    click.echo(tabulate(rows, headers=columns, tablefmt="github"))
    if table["reference"].any():
        click.echo("note: rows ranked 'ref' are reference lines (GT noise ceiling, brute-force training, chance): "
                   "shown for context, never ranked")
    if table["other_gt"].any():
        click.echo("note: rows ranked '-' are judged against another ground-truth column than the benchmark's "
                   "protocol column: never ranked")
    if table["above_ceiling"].any():
        click.echo("note: rows ranked 'flagged' have a KD above the gt_noise_ceiling reference line's: flagged for "
                   "review, not ranked")
    if (table["sample"] > 0).any():
        click.echo("note: runs on a seeded sample are ranked only among the runs on the same sample")
    for name in sorted(set(table["benchmark"])):
        if name in BENCHMARKS and BENCHMARKS[name].partial:
            click.echo(f"note: {name} is a {BENCHMARKS[name].partial}")


@leaderboard_group.command("build")
@click.argument("roots", nargs=-1, type=click.Path(exists=True, path_type=Path))
@out_dir_option("Output directory: new, empty, or an earlier build's (replaced whole once the new site is complete).",
                default=Path("site"), show_default=True)
@signers_option
@click.option("--bootstrap", "resamples", type=click.IntRange(min=0), default=200, show_default=True,
              help="Paired bootstrap resamples over architectures (KD intervals, neighbour significance).")
@click.option("--analyses/--no-analyses", default=True, show_default=True,
              help="Show the study's analyses (suite analyze) of each estimator's first seed on its page.")
@data_options
def leaderboard_build(roots, out_dir, signers_path, resamples, analyses, data_dir, cache_dir) -> None:
    """Build the static site from the result files under ROOTS (default: submissions) that pass `suite verify`."""
    from leaderboard.site import build  # deferred: torch/matplotlib (the leaderboard's site and analyses)

    started = time.perf_counter()
    report = build(list(roots) or [Path("submissions")], out_dir, signers_path, paths.data_dir(data_dir),
                   paths.cache_dir(cache_dir), resamples=resamples, analyses=analyses)
    for path, reason in report.rejected:
        click.echo(f"rejected {printable(str(path))}: {printable(reason)}", err=True)
    click.echo(f"built {report.out}: {report.pages} pages from {report.accepted} verified files, "
               f"{len(report.rejected)} rejected, in {time.perf_counter() - started:.1f} s", err=True)
