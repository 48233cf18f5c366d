"""``suite check-estimator``: the contract's conformance check of one estimator class, rule by rule."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import click

from suite import paths, protocol
from suite.errors import SuiteError, UsageError


@click.command("check-estimator")
@click.argument("target", metavar="MODULE:CLASS")
@click.option("-b", "--benchmark", default="nb201", show_default=True,
              help="Benchmark whose space and architectures the check uses (see `suite list`).")
@click.option("-n", "--n", "n", type=click.IntRange(min=3), default=4, show_default=True,
              help="Architectures scored: a seeded sample of the benchmark.")
@click.option("-c", "--config", "config_items", multiple=True, metavar="KEY=VALUE",
              help="Estimator option (repeatable), as for `suite run`.")
@click.option("--seed", type=click.Choice([str(s) for s in protocol.SEEDS]), default=str(protocol.SEEDS[0]),
              show_default=True, help="Run seed.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=f"Data directory [env {paths.DATA_DIR_ENV}; default <cache>/data].")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=f"Cache for decoded data [env {paths.CACHE_DIR_ENV}; default ~/.cache/nas-suite].")
def check_estimator_cmd(target, benchmark, n, config_items, seed, data_dir, cache_dir) -> None:
    """Check that the estimator class MODULE:CLASS (or a registered name) follows the contract.

    Prints one line per rule passed; the first broken rule is an error (exit status 1). The rules:
    metadata, a typed Config, capabilities that match the methods overridden, an __init__ that
    only stores the config, a pure resolve_config, float64 scores of the right shape, and
    order-independent scores for a deterministic estimator. See docs/estimators.md.
    """
    # deferred: torch and pandas (benchmarks, estimators), so that `suite --help` stays light
    from suite.benchmarks import get_benchmark
    from suite.conformance import iter_checks
    from suite.estimator import parse_config_items

    cls = load_class(target)
    bench_spec = get_benchmark(benchmark)
    loaded = bench_spec.load(paths.data_dir(data_dir))
    archs = [loaded.archs[p] for p in loaded.positions(loaded.sample_ids(n, protocol.SAMPLE_SEED))]
    config = parse_config_items(cls, config_items) if config_items else None
    checks = iter_checks(cls, bench_spec.space, archs, int(seed), config,
                         data_dir=paths.data_dir(data_dir), cache_dir=paths.cache_dir(cache_dir))
    try:
        for line in checks:
            click.echo(f"ok  {line}")
    except AssertionError as exc:
        raise SuiteError(f"check-estimator: {exc}") from None
    click.echo(f"{target}: follows the estimator contract on {benchmark} ({n} architectures)")


def load_class(target: str) -> type:
    """``module:Class`` (importable, or a module in the current directory) or a registered name -> the class."""
    if ":" not in target:
        from suite.registry import get_estimator_class  # deferred: torch, as above

        return get_estimator_class(target)
    module_name, _, attr = target.partition(":")
    sys.path.insert(0, os.getcwd())  # as `python -m` does: a module beside you, not yet installed, is found
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"cannot import {module_name!r}: {exc}") from None
    finally:
        sys.path.remove(os.getcwd())
    try:
        return getattr(module, attr)
    except AttributeError:
        raise UsageError(f"module {module_name!r} has no {attr!r}") from None
