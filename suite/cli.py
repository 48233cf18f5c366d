"""The ``suite`` command line.

Data goes to stdout, diagnostics and progress to stderr. Errors print one line ``error: ...``
and exit with a distinct status (1 failure, 2 usage, 3 verification failed, 130 interrupted);
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import contextlib
import functools
import json
import signal
import sys
from pathlib import Path

import click
from tabulate import tabulate

from suite import paths, protocol
from suite.check_estimator_cmd import check_estimator_cmd
from suite.errors import SuiteError, UsageError


def _data_options(func):
    func = click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help=f"Cache for decoded data [env {paths.CACHE_DIR_ENV}; default ~/.cache/nas-suite].")(func)
    func = click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help=f"Data directory [env {paths.DATA_DIR_ENV}; default <cache>/data].")(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="nas-estimator-suite", prog_name="suite")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """The open leaderboard for performance estimators of neural architectures."""
    ctx.ensure_object(dict)["debug"] = debug


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_cmd(as_json: bool) -> None:
    """Registered estimators and benchmarks, one line each."""
    from suite.benchmarks import BENCHMARKS
    from suite.registry import list_estimators

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


#: ``-e`` shorthands that expand to several estimators, computed in one sweep.
ESTIMATOR_SETS = {"zero-shot-all": "zero-shot"}


@cli.command("run")
@click.option("-e", "--estimator", required=True,
              help="Registered estimator name (see `suite list`), a comma-separated list, or zero-shot-all.")
@click.option("-b", "--benchmark", required=True, help="Benchmark name (see `suite list`).")
@click.option("--seed", type=click.Choice([str(s) for s in protocol.SEEDS]), default=str(protocol.SEEDS[0]),
              show_default=True, help="One of the protocol's seeds.")
@click.option("-c", "--config", "config_items", multiple=True, metavar="KEY=VALUE",
              help="Estimator option (repeatable); with several estimators, each takes the options it has.")
@click.option("--batches", type=click.IntRange(min=1), default=None,
              help="Scoring batches (zero-shot); the same as -c batches=N.")
@click.option("--preset", default=None, help="Zero-shot preset (study, abdelfattah2021); the same as -c preset=NAME.")
@click.option("--sample", type=click.IntRange(min=1), default=None,
              help="Score a fixed seeded sample of N architectures instead of the whole subset.")
@click.option("--gt", "gt_column", default=None, help="Ground-truth column (default: the protocol's).")
@click.option("--nonfinite", type=click.Choice(["worst", "drop"]), default="worst", show_default=True,
              help="How NaN/inf scores enter the criteria: ranked last, or left out.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda[:i].")
@_data_options
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Result file of a single estimator [default: <out-dir>/<benchmark>/<estimator>/seed<seed>.json].")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True, help="Root of the default result paths.")
@click.option("--overwrite", is_flag=True, help="Replace existing result files.")
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
@click.option("--progress", "progress_mode", type=click.Choice(["auto", "bar", "log", "none"]), default="auto",
              show_default=True, help="Progress bar (terminal), timestamped lines (logs) or nothing.")
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Ed25519 signing key (OpenSSH) [env SUITE_SIGNING_KEY; default ~/.config/nas-suite/signing_key].")
@click.option("--json", "as_json", is_flag=True, help="Print the criteria as JSON on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output (the same as --progress none).")
def run_cmd(estimator, benchmark, seed, config_items, batches, preset, sample, gt_column, nonfinite, device, data_dir,
            cache_dir, out, out_dir, overwrite, journal_dir, restart, keep_journal, shard, executor, address, workers,
            threads, progress_mode, key_path, as_json, quiet) -> None:
    """Run estimators on one benchmark, print the criteria, write one result file per estimator.

    Every scored architecture is journaled at once; if the run stops (crash, Ctrl-C, a lost
    node), the same command continues where it stopped. Result files are signed (DSSE envelope,
    in-toto Statement) with your key; `suite keygen` makes one.
    """
    from suite.keys import default_key_path, load_private_key
    from suite.runner import RunOptions, RunSpec, execute

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
    targets = [out or out_dir / benchmark / name / f"seed{seed}.json" for name in names]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not overwrite and shard_pair is None:
        raise UsageError(f"{existing[0]} exists; pass --overwrite to replace it or --out-dir to write elsewhere")
    specs = [RunSpec(benchmark=benchmark, estimator=name, seed=seed, config=configs[name], sample=sample,
                     gt_column=gt_column, nonfinite=nonfinite, device=device,
                     data_dir=paths.data_dir(data_dir), cache_dir=paths.cache_dir(cache_dir))
             for name in names]
    default_journals = (out.parent if out is not None else out_dir) / ".journal"
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
    _write_and_report(outcome.results, targets, as_json, data_dir, signing_key)
    if outcome.journal is not None and outcome.failed and not keep_journal:
        # a run with failures may be worth finishing: keep what it holds so they can be retried
        click.echo(f"kept the journal {outcome.journal}: {outcome.failed} failed outcome(s); re-run the same command "
                   "to retry them (scored architectures are not scored again)", err=True)
    elif outcome.journal is not None and not keep_journal:
        import shutil

        from suite.runner import work_dir

        shutil.rmtree(work_dir(outcome.journal), ignore_errors=True)
        outcome.journal.unlink(missing_ok=True)


def _write_and_report(results, targets, as_json: bool, data_dir, signing_key) -> None:
    """Sign and write each result, print the criteria (table or JSON) and one 'wrote' line per file."""
    from suite.results import write_signed_result

    for result, target in zip(results, targets):
        write_signed_result(result, target, signing_key)
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


@cli.command("merge")
@click.argument("journals", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--gt", "gt_column", default=None, help="Ground-truth column (default: the one the shards were run with).")
@click.option("--nonfinite", type=click.Choice(["worst", "drop"]), default=None,
              help="How NaN/inf scores enter the criteria (default: as the shards were run).")
@_data_options
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("results"),
              show_default=True, help="Root of the result paths: <out-dir>/<benchmark>/<estimator>/seed<seed>.json.")
@click.option("--overwrite", is_flag=True, help="Replace existing result files.")
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Ed25519 signing key [env SUITE_SIGNING_KEY; default ~/.config/nas-suite/signing_key].")
@click.option("--json", "as_json", is_flag=True, help="Print the criteria as JSON on stdout.")
def merge_cmd(journals, gt_column, nonfinite, data_dir, cache_dir, out_dir, overwrite, key_path, as_json) -> None:
    """Join the journals of shards 0..N-1 of one run (`suite run --shard I/N`) into its result files.

    Refuses shards of different runs, a missing, duplicated or unfinished shard.
    """
    from suite.keys import default_key_path, load_private_key
    from suite.runner import merge

    signing_key = load_private_key(key_path or default_key_path())
    results = merge(journals, paths.data_dir(data_dir), gt_column=gt_column, nonfinite=nonfinite)
    targets = [out_dir / r.benchmark.name / r.estimator.name / f"seed{r.seed}.json" for r in results]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not overwrite:
        raise UsageError(f"{existing[0]} exists; pass --overwrite to replace it or --out-dir to write elsewhere")
    _write_and_report(results, targets, as_json, data_dir, signing_key)


def expand_estimators(text: str) -> list[str]:
    """``-e`` value -> estimator names: a name, a comma-separated list, or a set from ESTIMATOR_SETS."""
    from suite.registry import get_estimator_class, list_estimators

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
    import dataclasses

    from suite.estimator import parse_config_items
    from suite.registry import get_estimator_class

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


def criteria_table(result, data_dir: Path | None = None) -> str:
    """The criteria of every snapshot as a text table (rows: criteria; columns: snapshots)."""
    labels = [s.label for s in result.snapshots]
    names = list(result.snapshots[0].criteria.values)
    rows = [[name, *[_fmt(s.criteria.values.get(name)) for s in result.snapshots]] for name in names]
    first = result.snapshots[0].criteria
    head = (f"{result.estimator.name} on {result.benchmark.name} (seed {result.seed}, GT {result.benchmark.ground_truth}, "
            f"n = {first.n}, non-finite scores: {first.n_nonfinite}, policy {first.nonfinite_policy})")
    last = result.snapshots[-1]
    if last.per_batch and len(last.per_batch) > 1:  # the mean over the first 1, 3, 5 batches too
        from suite.metrics import compute_criteria

        gt = _result_gt(result, data_dir)
        for k in [k for k in (1, 3, 5) if k < len(last.per_batch)]:
            values = compute_criteria(result.scores(last.label, batches=k), gt, last.criteria.nonfinite_policy).values
            labels.append(f"{last.label} (first {k} batches)")
            for row in rows:
                row.append(_fmt(values.get(row[0])))
    partial = result.provenance.get("partial_benchmark")
    if partial:
        head += f"\nnote: {result.benchmark.name} is a {partial}"
    return head + "\n" + tabulate(rows, headers=["criterion", *labels], tablefmt="github")


@functools.lru_cache(maxsize=4)
def _loaded_benchmark(name: str, data_dir: Path):
    from suite.benchmarks import get_benchmark

    return get_benchmark(name).load(data_dir)


def _result_gt(result, data_dir: Path | None):
    """The ground truth aligned with ``result.arch_ids`` (the benchmark is read once per command)."""
    benchmark = _loaded_benchmark(result.benchmark.name, paths.data_dir(data_dir))
    return benchmark.ground_truth(result.benchmark.ground_truth)[benchmark.positions(result.arch_ids)]


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4f}"


@cli.command("keygen")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Private key path [env SUITE_SIGNING_KEY; default ~/.config/nas-suite/signing_key]; .pub beside it.")
@click.option("--comment", default="nas-suite", show_default=True, help="Comment of the public key line.")
@click.option("--if-missing", is_flag=True, help="Do nothing (exit 0) when the key exists.")
def keygen_cmd(out_path, comment, if_missing) -> None:
    """Make an Ed25519 signing key pair in OpenSSH format (usable as a GitHub SSH signing key).

    The private key is written with mode 0600 and never overwritten; share only the .pub line.
    """
    from suite.keys import (
        default_key_path,
        generate_key,
        key_id,
        load_private_key,
        public_key_line,
    )

    path = out_path or default_key_path()
    if if_missing and path.exists():
        key = load_private_key(path)
        click.echo(f"{path} exists ({key_id(key.public_key())})", err=True)
        return
    private, public = generate_key(path, comment)
    key = load_private_key(private)
    click.echo(public_key_line(key.public_key(), comment))
    click.echo(f"wrote {private} (private, mode 0600) and {public}; key id {key_id(key.public_key())}\n"
               "To become a trusted signer, submit with `suite submit FILE --add-signer <your name>`, which adds\n"
               "this public key to submissions/allowed_signers in a pull request of its own (results follow\n"
               "once it is merged).", err=True)


@cli.command("verify")
@click.argument("targets", metavar="PATH...", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--signers", "signers_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("submissions") / "allowed_signers", show_default=True, help="Trusted signers file.")
@click.option("--rerun", type=click.IntRange(min=0), default=0, show_default=True,
              help="Re-score this many random architectures per file (deterministic estimators) and compare.")
@click.option("--require-rerun", is_flag=True,
              help="With --rerun: an estimator not installed here fails instead of being skipped.")
@click.option("--rerun-seed", type=click.IntRange(min=0), default=None,
              help="With --rerun: seed of the draw of the architectures to re-score (default: a fresh random "
                   "one, named in each verdict); pass a reported seed to reproduce a failure.")
@click.option("--layout", is_flag=True,
              help="Each file must sit at its stable path under the (single) directory given (submissions/).")
@_data_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report on stdout.")
def verify_cmd(targets, signers_path, rerun, require_rerun, rerun_seed, layout, data_dir, cache_dir, as_json) -> None:
    """Check signed result files (or every *.json under directories): envelope, schema, digest,
    signature by a trusted signer, protocol fingerprint, coverage, recomputed criteria [, re-scores].

    Exit status 0 when every file passes, 3 when one fails.
    """
    from suite.errors import VerificationError
    from suite.verify import Verifier, find_files

    missing = [str(p) for p in targets if not p.exists()]
    if missing:
        raise UsageError(f"{missing[0]} does not exist")
    files = find_files(list(targets))
    if not files:
        click.echo(f"nothing to verify: no *.json files under {', '.join(map(str, targets))}", err=True)
        return
    if layout and (len(targets) != 1 or not targets[0].is_dir()):
        raise UsageError("--layout checks placement under one directory: give exactly one (submissions)")
    verifier = Verifier(signers_path, paths.data_dir(data_dir), paths.cache_dir(cache_dir), rerun=rerun,
                        require_rerun=require_rerun, rerun_seed=rerun_seed)
    reports = verifier.verify_many(files, layout_root=targets[0] if layout else None)
    if as_json:
        click.echo(json.dumps({"ok": all(r.ok for r in reports), "files": [r.to_json() for r in reports]}, indent=1))
    else:
        for report in reports:
            if report.ok:
                click.echo(f"PASS {report.path} (signed by {report.signer})")
            else:
                failed = next((c for c in report.checks if c.status == "fail"), None)
                where = report.path.encode("utf-8", "backslashreplace").decode()
                click.echo(f"FAIL {where}: {failed.name}: {failed.message}" if failed else f"FAIL {where}")
    bad = sum(not r.ok for r in reports)
    if bad:
        raise VerificationError(f"{bad} of {len(reports)} files failed verification")


@cli.command("submit")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--submissions", "root", type=click.Path(file_okay=False, path_type=Path), default=Path("submissions"),
              show_default=True, help="The repository's submissions directory.")
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Your signing key (its public half may sign the file before you are a trusted signer).")
@click.option("--add-signer", "principal", default=None, metavar="NAME",
              help="Add your public key to allowed_signers under NAME (first submission).")
@click.option("--overwrite", is_flag=True, help="Replace an earlier submission of the same run.")
@click.option("--open-pr", is_flag=True, help="Create a branch, commit, push and open the pull request with gh.")
@_data_options
def submit_cmd(path, root, key_path, principal, overwrite, open_pr, data_dir, cache_dir) -> None:
    """Verify a signed result and place it under submissions/<benchmark>/<estimator>/ for a pull request."""
    from suite.keys import Signer, default_key_path, key_id, load_private_key
    from suite.submit import open_pull_request, submit

    own = None
    key_file = key_path or default_key_path()
    if key_file.exists():
        public = load_private_key(key_file).public_key()
        own = Signer(principal=principal or "you", public_key=public, key_id=key_id(public))
    done = submit(path, root, paths.data_dir(data_dir), paths.cache_dir(cache_dir), own_signer=own,
                  principal=principal, overwrite=overwrite)
    click.echo(f"verified {path} (signed by {done.report.signer}); "
               f"{'placed at' if done.copied else 'already at'} {done.target}")
    if done.new_signer_line:
        click.echo(f"added your public key to {root / 'allowed_signers'}: {done.new_signer_line}")
    if open_pr:
        click.echo(open_pull_request(done, Path.cwd()))
        return
    click.echo("Next, open the pull request:\n  " + "\n  ".join(done.steps))


@cli.group("data")
def data_group() -> None:
    """Data files the suite knows: list, pull, import, verify, push."""


def _short(digest: str | None) -> str:
    return f"{digest[:12]}..." if digest else "-"


@data_group.command("list")
@_data_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def data_list(data_dir, cache_dir, as_json) -> None:
    """Every dataset and ground-truth table the suite knows: installed or not, version, size (bytes),
    sha256 (pinned, and actual when installed) and where it comes from."""
    from suite.data.inventory import entries

    rows = entries(paths.data_dir(data_dir))
    if as_json:
        click.echo(json.dumps({"data_dir": str(paths.data_dir(data_dir)), "files": [e.to_json() for e in rows]},
                              indent=1))
        return
    table = [[e.name, e.kind, "yes" if e.installed else "no", e.version, "-" if e.size is None else e.size,
              f"content {_short(e.content_sha256_pinned)}" if e.content_sha256_pinned else _short(e.sha256_pinned),
              _short(e.sha256), e.source] for e in rows]
    click.echo(f"data directory: {paths.data_dir(data_dir)}")
    click.echo(tabulate(table, headers=["name", "kind", "installed", "version", "bytes", "pinned sha256",
                                        "actual sha256", "source"], tablefmt="github"))


@data_group.command("verify")
@_data_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report on stdout.")
def data_verify(data_dir, cache_dir, as_json) -> None:
    """Re-hash every installed file (CIFAR-10 by its decoded content, pinned tables by sha256, imported
    tables against their sidecars): ok / mismatch / missing / unpinned. Exit status 3 on a mismatch."""
    from suite.data.inventory import verify
    from suite.errors import VerificationError

    checks = verify(paths.data_dir(data_dir), paths.cache_dir(cache_dir))
    if as_json:
        click.echo(json.dumps({"data_dir": str(paths.data_dir(data_dir)), "ok": not any(c.failed for c in checks),
                               "files": [c.to_json() for c in checks]}, indent=1))
    else:
        click.echo(tabulate([[c.name, c.status, c.detail] for c in checks], headers=["name", "status", "detail"],
                            tablefmt="github"))
    failed = [c.name for c in checks if c.failed]
    if failed:
        raise VerificationError(f"{len(failed)} installed file(s) failed: {', '.join(failed)}; re-pull or re-import "
                                "them (`suite data pull NAME`)")


@data_group.command("pull")
@click.argument("name")
@_data_options
@click.option("--repo", default=None, help="Hub dataset repository [env SUITE_HUB_REPO; default the suite's].")
@click.option("--revision", default=None,
              help="Tag, branch or commit [env SUITE_HUB_REVISION; default the pinned tag].")
@click.option("--offline", is_flag=True, help="Use only the local hub cache [env HF_HUB_OFFLINE=1].")
def data_pull(name, data_dir, cache_dir, repo, revision, offline) -> None:
    """Download NAME (see `suite data list`) from the hub, verify it, install it in the data directory."""
    from suite.data.hub import pull

    target = pull(name, paths.data_dir(data_dir), repo_id=repo, revision=revision, offline=offline,
                  cache_dir=paths.cache_dir(cache_dir))
    click.echo(f"installed {target}")


@data_group.command("import")
@click.argument("name")
@click.option("--from", "sources", multiple=True, required=True, type=click.Path(exists=True, path_type=Path),
              help="An official release file or folder (repeat for several, e.g. the three NDS ResNet seed files).")
@click.option("--surrogate", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="nb301: the NAS-Bench-301 v1.0 ensemble folder (nb_models_1.0/xgb_v1.0).")
@click.option("--trust-pickle", is_flag=True,
              help="nb201: let the official API unpickle the release (pickles can run code; use official files).")
@click.option("--overwrite", is_flag=True, help="Rebuild a table that exists.")
@_data_options
def data_import(name, sources, surrogate, trust_pickle, overwrite, data_dir, cache_dir) -> None:
    """Build NAME's ground-truth table (nb201, nb101, nb301, nds-resnet, nds-resnexta) from the official release."""
    from suite.data.importers.dispatch import run_import

    target = run_import(name, list(sources), paths.data_dir(data_dir), surrogate, overwrite, trust_pickle)
    note = " (matches the protocol's pinned sha256)" if name == "nb201" else ""
    click.echo(f"wrote {target} and its provenance {target.with_suffix('.json').name}{note}")


@data_group.command("push")
@click.argument("source_dir", metavar="DATA_DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--repo", required=True, help="Hub dataset repository to publish to (OWNER/NAME).")
@click.option("--revision", default=None, help="Tag to create [default the suite's pinned tag].")
@click.option("--dry-run", is_flag=True, help="Verify and print what would be uploaded; upload nothing.")
def data_push(source_dir, repo, revision, dry_run) -> None:
    """Maintainers: verify DATA_DIR against the manifest, upload its suite files, tag the revision
    (token: HF_TOKEN, never printed)."""
    from suite.data.hub import push

    plan = push(source_dir, repo, revision, dry_run=dry_run)
    click.echo(tabulate([[f.path_in_repo, f.size, _short(f.sha256)] for f in plan.files],
                        headers=["path in repo", "bytes", "sha256"], tablefmt="github"))
    verb = "would upload" if dry_run else "uploaded"
    click.echo(f"{verb} {len(plan.files)} file(s) to hub dataset {plan.repo} and tag {plan.revision}")


@cli.group("leaderboard")
def leaderboard_group() -> None:
    """Comparison tables from result files."""


@leaderboard_group.command("table")
@click.argument("roots", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def leaderboard_table(roots, as_json) -> None:
    """Headline criteria per benchmark and estimator (mean over seeds) from the result files under ROOTS."""
    import pandas as pd

    from leaderboard.tables import load_comparison
    from suite.metrics import HEADLINE

    table, rejected = load_comparison(roots or [Path("results")])
    for path, reason in rejected:
        click.echo(f"skipped {reason}", err=True)
    if as_json:
        click.echo(table.to_json(orient="records", indent=1))
        return
    if table.empty:
        raise UsageError("no readable result files found; run `suite run` first or name a directory")
    table = table.assign(
        rank=[("ref" if ref else "-") if pd.isna(rank) else int(rank)
              for rank, ref in zip(table["rank"], table["reference"])],
        on=["whole" if n == 0 else f"sample {n} (seed {seed})" for n, seed in zip(table["sample"], table["sample_seed"])])
    columns = ["rank", "benchmark", "estimator", "on", "family", "seeds", "n", *HEADLINE]
    if table["other_gt"].any():
        columns.insert(4, "gt")
    rows = [[_fmt(v) if isinstance(v, float) else v for v in row] for row in table[columns].itertuples(index=False)]
    click.echo(tabulate(rows, headers=columns, tablefmt="github"))
    if table["reference"].any():
        click.echo("note: rows ranked 'ref' are reference lines (GT noise ceiling, brute-force training, chance): "
                   "shown for context, never ranked")
    if table["other_gt"].any():
        click.echo("note: rows ranked '-' are judged against another ground-truth column than the benchmark's "
                   "protocol column: never ranked")
    if (table["sample"] > 0).any():
        click.echo("note: runs on a seeded sample are ranked only among the runs on the same sample")
    from suite.benchmarks import BENCHMARKS

    for name in sorted(set(table["benchmark"])):
        if name in BENCHMARKS and BENCHMARKS[name].partial:
            click.echo(f"note: {name} is a {BENCHMARKS[name].partial}")


@leaderboard_group.command("build")
@click.argument("roots", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("site"),
              show_default=True, help="Output directory (replaced).")
@click.option("--signers", "signers_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("submissions") / "allowed_signers", show_default=True, help="Trusted signers file.")
@click.option("--bootstrap", "resamples", type=click.IntRange(min=0), default=200, show_default=True,
              help="Paired bootstrap resamples over architectures (KD intervals, neighbour significance).")
@click.option("--analyses/--no-analyses", default=True, show_default=True,
              help="Show the study's analyses (suite analyze) of each estimator's first seed on its page.")
@_data_options
def leaderboard_build(roots, out_dir, signers_path, resamples, analyses, data_dir, cache_dir) -> None:
    """Build the static site from the result files under ROOTS (default: submissions) that pass `suite verify`."""
    import time

    from leaderboard.site import build

    started = time.perf_counter()
    report = build(list(roots) or [Path("submissions")], out_dir, signers_path, paths.data_dir(data_dir),
                   paths.cache_dir(cache_dir), resamples=resamples, analyses=analyses)
    for path, reason in report.rejected:
        click.echo(f"rejected {path}: {reason}", err=True)
    click.echo(f"built {report.out}: {report.pages} pages from {report.accepted} verified files, "
               f"{len(report.rejected)} rejected, in {time.perf_counter() - started:.1f} s", err=True)


from suite.analysis.cli import analyze_cmd  # noqa: E402  (the command lives with the analyses it runs)

cli.add_command(analyze_cmd)


cli.add_command(check_estimator_cmd)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turn SuiteErrors into one line and an exit status."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="suite", standalone_mode=False)
    except SuiteError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("error: interrupted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
