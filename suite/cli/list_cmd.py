"""``suite list``: the registered estimators and benchmarks."""

from __future__ import annotations

import json

import click
from tabulate import tabulate

from suite.cli.options import json_option
from suite.registry import list_estimators


@click.command("list")
@json_option("the listing")
def list_cmd(as_json: bool) -> None:
    """Registered estimators and benchmarks, one line each."""
    from suite.benchmarks import BENCHMARKS  # deferred: pandas/pyarrow, so that `suite --help` stays light

    estimators = [{"name": c.name, "family": c.family, "summary": c.summary} for c in list_estimators()]
    benchmarks = [{"name": b.name, "archs": b.subset_size, "ground_truth": b.default_gt_column, "title": b.title}
                  for b in BENCHMARKS.values()]
    if as_json:
        click.echo(json.dumps({"estimators": estimators, "benchmarks": benchmarks}, indent=1))
        return
    click.echo("Estimators")
    click.echo(tabulate([[e["name"], e["family"], e["summary"]] for e in estimators], tablefmt="plain"))
    click.echo("\nBenchmarks")
    click.echo(tabulate([[b["name"], b["archs"], b["title"]] for b in benchmarks], tablefmt="plain"))

