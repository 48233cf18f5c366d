"""``suite run`` and ``suite merge``: score estimators on a benchmark (resumable, sharded) and write signed results."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import signal
from pathlib import Path

import click

from suite import paths
from suite.cli.formatting import criteria_table
from suite.cli.options import (
    data_options,
    gt_option,
    json_option,
    key_option,
    overwrite_option,
    progress_options,
    results_dir_option,
)
from suite.atomic import TargetExistsError, WriteError, check_writable_dir
from suite.errors import SuiteError, UsageError
from suite.keys import default_key_path, load_private_key
from suite.registry import build_estimator, get_estimator_class, list_estimators
from suite.results import read_result, result_file_name
from suite.signing import write_signed_result
from suite.weights import signed_weights


def _protocol_seeds() -> tuple[str, ...]:
    from suite.protocol import SEEDS  # deferred: torch (via suite.data.cifar10), so that `suite --help` stays light

    return tuple(str(seed) for seed in SEEDS)


class _SeedChoice(click.Choice):
    """``click.Choice`` over the protocol's seeds, read when first needed (help, parsing), not at import."""

    def __init__(self) -> None:
        self.case_sensitive = True

    @property
    def choices(self) -> tuple[str, ...]:
        return _protocol_seeds()


class _FirstSeed:
    """The default seed (the protocol's first): called for the value, printed by ``--help``."""

    def __call__(self) -> str:
        return _protocol_seeds()[0]

    __str__ = __call__


#: ``-e`` shorthands that expand to several estimators, computed in one sweep.
ESTIMATOR_SETS = {"zero-shot-all": "zero-shot"}


@click.command("run")
@click.option("-e", "--estimator", required=True,
              help="Registered estimator name (see `suite list`), a comma-separated list, or zero-shot-all.")
@click.option("-b", "--benchmark", required=True, help="Benchmark name (see `suite list`).")
@click.option("--seed", type=_SeedChoice(), default=_FirstSeed(), show_default=True,
              help="One of the protocol's seeds.")
@click.option("-c", "--config", "config_items", multiple=True, metavar="KEY=VALUE",
              help="Estimator option (repeatable); with several estimators, each takes the options it has.")
@click.option("--batches", type=click.IntRange(min=1), default=None,
              help="Scoring batches (zero-shot); the same as -c batches=N.")
@click.option("--preset", default=None, help="Zero-shot preset (study, abdelfattah2021); the same as -c preset=NAME.")
@click.option("--sample", type=click.IntRange(min=1), default=None,
              help="Score a fixed seeded sample of N architectures instead of the whole subset.")
@gt_option("the protocol's")
@click.option("--nonfinite", type=click.Choice(["worst", "drop"]), default="worst", show_default=True,
              help="How NaN/inf scores enter the criteria: ranked last, or left out.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda[:i].")
@data_options
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Result file of a single estimator [default: <out-dir>/<benchmark>/<estimator>/seed<seed>[-sample<n>]-<config8>.json].")
@results_dir_option
@overwrite_option("Replace existing result files.")
@click.option("--journal-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the run's journal lives [default: .journal beside the results]. Re-running a command resumes it.")
@click.option("--restart", is_flag=True, help="Discard this run's journal and start afresh.")
@click.option("--keep-journal", is_flag=True, help="Keep the journal after the results are written.")
@click.option("--shard", default=None, metavar="I/N",
              help="Score only shard I of N (0-based; a deterministic slice); join the shards with `suite merge`.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Score in this process, or as Ray tasks.")
@click.option("--address", default=None, help="Ray cluster address (default: start a local Ray instance).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Ray actors [default: cluster CPUs / threads, or its GPUs].")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Torch CPU threads (CPU scores depend on it; recorded) [default: torch's].")
@progress_options()
@key_option()
@json_option("the criteria")
def run_cmd(estimator, benchmark, seed, config_items, batches, preset, sample, gt_column, nonfinite, device, data_dir,
            cache_dir, out, out_dir, overwrite, journal_dir, restart, keep_journal, shard, executor, address, workers,
            threads, progress_mode, key_path, as_json, quiet) -> None:
    """Run estimators on one benchmark, print the criteria, write one result file per estimator.

    Every scored architecture is journaled at once; if the run stops (crash, Ctrl-C, a lost
    node), the same command continues where it stopped. Result files are signed (DSSE envelope,
    in-toto Statement) with your key; `suite keygen` makes one.
    """
    from suite.runner import RunOptions, RunSpec, execute, work_dir  # deferred: torch, so that --help stays light

    seed = int(seed)
    names = expand_estimators(estimator)
    for key, value in (("batches", batches), ("preset", preset)):
        if value is not None:
            if any(item.partition("=")[0] == key for item in config_items):
                raise UsageError(f"--{key} and -c {key}=... both given; keep one")
            config_items = (*config_items, f"{key}={value}")
    configs = configs_for(names, config_items)
    if out is not None and len(names) > 1:
        raise UsageError(f"--out names one file but {len(names)} estimators run; use --out-dir")
    shard_pair = parse_shard(shard) if shard else None
    signing_key = None if shard_pair else load_private_key(key_path or default_key_path())  # before any work
    targets = [out or out_dir / benchmark / name / _default_name(name, configs[name], benchmark, seed, sample)
               for name in names]
    default_journals = (out.parent if out is not None else out_dir) / ".journal"
    if shard_pair is None:
        for target in targets:
            check_writable_dir(target.parent)  # a file in the way, no permission: said now, not after the scoring
        if not overwrite:
            _refuse_existing(targets, _journal_identities(journal_dir or default_journals))
    specs = [RunSpec(benchmark=benchmark, estimator=name, seed=seed, config=configs[name], sample=sample,
                     gt_column=gt_column, nonfinite=nonfinite, device=device,
                     data_dir=paths.data_dir(data_dir), cache_dir=paths.cache_dir(cache_dir))
             for name in names]
    options = RunOptions(journal_dir=journal_dir or default_journals, shard=shard_pair, executor=executor,
                         address=address, workers=workers, threads=threads, restart=restart,
                         progress="none" if quiet else progress_mode)
    with _sigterm_as_interrupt():
        outcome = execute(specs, options)
    if outcome.results is None:
        click.echo(f"shard {shard}: {outcome.planned} architecture outcomes in {outcome.journal} "
                   f"({outcome.failed} failed); when every shard is done: suite merge <the {shard_pair[1]} journals>",
                   err=True)
        return
    kept = f"the journal {outcome.journal} keeps the scores" if outcome.journal else "the scores are lost"
    _write_and_report(outcome.results, targets, as_json, data_dir, signing_key, overwrite, kept, outcome=outcome)
    if outcome.journal is not None and outcome.failed and not keep_journal:
        # a run with failures may be worth finishing: keep what it holds so they can be retried
        click.echo(f"kept the journal {outcome.journal}: {outcome.failed} failed outcome(s); re-run the same command "
                   "to retry them (scored architectures are not scored again)", err=True)
    elif outcome.journal is not None and not keep_journal:
        shutil.rmtree(work_dir(outcome.journal), ignore_errors=True)
        outcome.journal.unlink(missing_ok=True)


def _write_and_report(results, targets, as_json: bool, data_dir, signing_key, overwrite: bool, kept: str,
                      outcome=None) -> None:
    """Sign and write each result (and, from a run's ``outcome``, the trained weights beside it), print
    the criteria (table or JSON) and one 'wrote' line per file.

    Without ``overwrite`` a file is never replaced, whoever wrote it since the command started;
    a file that already holds this very result (a run killed right after writing it) counts as written.
    """
    from suite.runner import export_weights  # deferred: torch

    weight_notes = []
    for index, (result, target) in enumerate(zip(results, targets)):
        try:
            write_signed_result(result, target, signing_key, overwrite=overwrite)
        except TargetExistsError:
            if not _holds(target, result):
                raise UsageError(f"{target} exists and holds another result than this run's; {kept}: pass --overwrite "
                                 "to replace it, or --out-dir to write elsewhere, with the same command") from None
        except WriteError as exc:
            raise WriteError(f"{exc}; {kept}: fix that and re-run the same command") from None
        if outcome is None and signed_weights(result.provenance, result.estimator.name):
            weight_notes.append(f"warning: a merge writes no weights beside {target}; its scores are self-reported "
                                "(run the whole run in one place to export them)")
        try:
            written = export_weights(outcome, index, target) if outcome is not None else None
        except SuiteError as exc:  # the result stands; only its re-scoring from weights is lost
            weight_notes.append(f"warning: no weights written beside {target} ({exc}); its scores are self-reported")
        else:
            if written is not None:
                weight_notes.append(f"wrote {written}: the trained weights (submit them with the result)")
    if as_json:
        payload = {r.estimator.name: {s.label: s.criteria.model_dump() for s in r.snapshots} for r in results}
        click.echo(json.dumps(payload if len(results) > 1 else next(iter(payload.values())), indent=1))
    else:
        click.echo("\n\n".join(criteria_table(r, paths.data_dir(data_dir)) for r in results))
    for result, target in zip(results, targets):
        criteria = result.snapshots[-1].criteria
        notes = []
        if criteria.n_nonfinite:
            notes.append(f"{criteria.n_nonfinite} non-finite (ranked {'last' if criteria.nonfinite_policy == 'worst' else 'out'})")
        if result.failures:
            notes.append(f"{len(result.failures)} failed (listed in the file, left out of the criteria)")
        click.echo(f"wrote {target}: {len(result.arch_ids)} architectures{', ' + ', '.join(notes) if notes else ''}",
                   err=True)
    for line in weight_notes:
        click.echo(line, err=True)


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> (I, N) with 0 <= I < N."""
    index, sep, count = text.partition("/")
    if not sep or not index.strip().isdigit() or not count.strip().isdigit() or int(count) < 1:
        raise UsageError(f"--shard expects I/N with 0 <= I < N (e.g. 0/4), got {text!r}")
    index, count = int(index), int(count)
    if index >= count:
        raise UsageError(f"--shard {text}: shards are numbered 0..{count - 1}")
    return index, count


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """Batch schedulers stop jobs with SIGTERM: treat it like Ctrl-C, so the run stops cleanly."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. under some test runners)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.command("merge")
@click.argument("journals", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@gt_option("the one the shards were run with")
@click.option("--nonfinite", type=click.Choice(["worst", "drop"]), default=None,
              help="How NaN/inf scores enter the criteria (default: as the shards were run).")
@data_options
@results_dir_option
@overwrite_option("Replace existing result files.")
@key_option()
@json_option("the criteria")
def merge_cmd(journals, gt_column, nonfinite, data_dir, cache_dir, out_dir, overwrite, key_path, as_json) -> None:
    """Join the journals of shards 0..N-1 of one run (`suite run --shard I/N`) into its result files.

    Refuses shards of different runs, a missing, duplicated or unfinished shard.
    """
    from suite.runner import merge  # deferred: torch

    signing_key = load_private_key(key_path or default_key_path())
    results = merge(journals, paths.data_dir(data_dir), gt_column=gt_column, nonfinite=nonfinite)
    targets = [out_dir / r.benchmark.name / r.estimator.name
               / result_file_name(r.seed, r.benchmark.sample["n"] if r.benchmark.sample else None, r.estimator.config)
               for r in results]
    existing = [str(t) for t, r in zip(targets, results) if (t.exists() or t.is_symlink()) and not _holds(t, r)]
    if existing and not overwrite:
        raise UsageError(f"{existing[0]} exists; pass --overwrite to replace it or --out-dir to write elsewhere")
    _write_and_report(results, targets, as_json, data_dir, signing_key, overwrite, "the shards' journals are kept")


def _refuse_existing(targets: list[Path], finished: set[str]) -> None:
    """Refuse result files that exist, unless one is what this run's own journal (still in ``finished``)
    built: a run killed after writing it and before removing its journal finishes when run again."""
    for target in targets:
        if (target.exists() or target.is_symlink()) and _journal_identity(target) not in finished:
            raise UsageError(f"{target} exists; pass --overwrite to replace it or --out-dir to write elsewhere")


def _journal_identity(path: Path) -> str | None:
    """The identity of the journal a result file was built from (None if it cannot be read)."""
    try:
        journal = read_result(path).provenance.get("journal")
    except SuiteError:
        return None
    return journal.get("identity_sha256") if isinstance(journal, dict) else None


def _journal_identities(directory: Path) -> set[str]:
    """The identities in the headers of the journals in ``directory``."""
    found = set()
    for path in sorted(directory.glob("*.jsonl")) if directory.is_dir() else []:
        try:
            with open(path, "rb") as handle:
                found.add(str(json.loads(handle.readline(1 << 20))["identity_sha256"]))
        except (OSError, ValueError, KeyError, TypeError, IndexError, RecursionError):
            continue
    return found


def _holds(path: Path, result) -> bool:
    """Whether the file at ``path`` holds ``result``: every field but the provenance of the invocation
    (sessions, times), and the same journal."""
    try:
        existing = read_result(path)
    except SuiteError:
        return False
    content = [r.model_dump(mode="json", exclude={"provenance"}) for r in (existing, result)]
    return content[0] == content[1] and existing.provenance.get("journal") == result.provenance.get("journal")


def _default_name(name: str, config: dict, benchmark: str, seed: int, sample: int | None) -> str:
    """The result file's name by the one rule (:func:`suite.results.result_file_name`): seed, sample
    and the digest of the config as the run will record it (resolved against the benchmark's space)."""
    from suite.benchmarks import get_benchmark  # deferred: pandas, so that `suite --help` stays light

    space = get_benchmark(benchmark).space.name
    resolved = build_estimator(name, config, space, require_support=False).get_config()
    return result_file_name(seed, sample, json.loads(json.dumps(resolved)))


def expand_estimators(text: str) -> list[str]:
    """``-e`` value -> estimator names: a name, a comma-separated list, or a set from ESTIMATOR_SETS."""
    names: list[str] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if item in ESTIMATOR_SETS:
            names.extend(c.name for c in list_estimators() if c.family == ESTIMATOR_SETS[item])
        else:
            names.append(get_estimator_class(item).name)
    if not names:
        raise UsageError("-e/--estimator names no estimator")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise UsageError(f"estimator {duplicates[0]!r} is named twice in -e")
    return names


def configs_for(names: list[str], items: tuple[str, ...]) -> dict[str, dict]:
    """Each estimator's options from ``-c key=value`` items. With one estimator every key must be
    one of its options; with several, each takes the keys it has and every key must fit at least one."""
    from suite.estimator import parse_config_items  # deferred: torch

    classes = {name: get_estimator_class(name) for name in names}
    if len(names) == 1:
        return {names[0]: parse_config_items(classes[names[0]], items)}
    configs = {}
    for name, cls in classes.items():
        accepted = {f.name for f in dataclasses.fields(cls.Config)}
        configs[name] = parse_config_items(cls, [i for i in items if i.partition("=")[0] in accepted])
    for item in items:
        key = item.partition("=")[0]
        if not any(key in {f.name for f in dataclasses.fields(c.Config)} for c in classes.values()):
            raise UsageError(f"no estimator in {', '.join(names)} has option {key!r}")
    return configs
