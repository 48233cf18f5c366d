"""``suite keygen``, ``suite verify`` and ``suite submit``: signing keys, checking signed results, submitting them."""

from __future__ import annotations

import json
from pathlib import Path

import click

from suite import paths
from suite.cli.options import data_options, json_option, key_option, overwrite_option, signers_option
from suite.errors import UsageError, VerificationError
from suite.keys import Signer, default_key_path, generate_key, key_id, load_private_key, public_key_line
from suite.verdict import printable


@click.command("keygen")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Private key path [env SUITE_SIGNING_KEY; default ~/.config/nas-suite/signing_key]; .pub beside it.")
@click.option("--comment", default="nas-suite", show_default=True, help="Comment of the public key line.")
@click.option("--if-missing", is_flag=True, help="Do nothing (exit 0) when the key exists.")
def keygen_cmd(out_path, comment, if_missing) -> None:
    """Make an Ed25519 signing key pair in OpenSSH format (usable as a GitHub SSH signing key).

    The private key is written with mode 0600 and never overwritten; share only the .pub line.
    """
    path = out_path or default_key_path()
    if if_missing and path.exists() and not (path.is_file() and path.stat().st_size == 0):  # empty: a killed keygen
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


@click.command("verify")
@click.argument("targets", metavar="PATH...", nargs=-1, required=True, type=click.Path(path_type=Path))
@signers_option
@click.option("--rerun", type=click.IntRange(min=0), default=0, show_default=True,
              help="Re-score this many random architectures per file and snapshot (deterministic estimators; "
                   "every architecture of an exact one; a trained one from the weights beside the file) and compare.")
@click.option("--require-rerun", is_flag=True,
              help="With --rerun: an estimator not installed here fails instead of being skipped.")
@click.option("--rerun-seed", type=click.IntRange(min=0), default=None,
              help="With --rerun: seed of the draw of the architectures to re-score (default: a fresh random "
                   "one, named in each verdict); pass a reported seed to reproduce a failure.")
@click.option("--layout", is_flag=True,
              help="Each file must sit at its stable path under the (single) directory given (submissions/).")
@data_options
@json_option("the report")
def verify_cmd(targets, signers_path, rerun, require_rerun, rerun_seed, layout, data_dir, cache_dir, as_json) -> None:
    """Check signed result files (or every *.json under directories): envelope, schema, digest,
    signature by a trusted signer, protocol fingerprint, coverage, recomputed criteria [, re-scores].

    Exit status 0 when every file passes, 3 when one fails.
    """
    from suite.verify import Verifier, find_files  # deferred: torch (re-scoring), so that --help stays light

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
            where = printable(report.path)  # a file name may hold escape sequences
            if report.ok:
                note = "" if report.scores == "re-scored" else "; scores self-reported: the suite cannot re-score them"
                click.echo(f"PASS {where} (signed by {report.signer}){note}")
            else:
                failed = next((c for c in report.checks if c.status == "fail"), None)
                click.echo(f"FAIL {where}: {failed.name}: {failed.message}" if failed else f"FAIL {where}")
    bad = sum(not r.ok for r in reports)
    if bad:
        raise VerificationError(f"{bad} of {len(reports)} files failed verification")


@click.command("submit")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--submissions", "root", type=click.Path(file_okay=False, path_type=Path), default=Path("submissions"),
              show_default=True, help="The repository's submissions directory.")
@key_option("Your signing key (its public half may sign the file before you are a trusted signer)")
@click.option("--add-signer", "principal", default=None, metavar="NAME",
              help="Add your public key to allowed_signers under NAME (first submission).")
@overwrite_option("Replace an earlier submission of the same run.")
@click.option("--open-pr", is_flag=True, help="Create a branch, commit, push and open the pull request with gh.")
@data_options
def submit_cmd(path, root, key_path, principal, overwrite, open_pr, data_dir, cache_dir) -> None:
    """Verify a signed result and place it under submissions/<benchmark>/<estimator>/ for a pull request."""
    from suite.submit import open_pull_request, submit  # deferred: torch (via suite.verify)

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
