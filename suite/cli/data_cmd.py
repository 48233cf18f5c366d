"""``suite data list|pull|import|verify|push``: the data files the suite knows."""

from __future__ import annotations

import json
from pathlib import Path

import click
from tabulate import tabulate

from suite import paths
from suite.cli.formatting import short
from suite.cli.options import data_options, json_option, overwrite_option
from suite.data_tools.hub import pull, push
from suite.data_tools.importers.dispatch import run_import
from suite.data_tools.inventory import entries, verify
from suite.errors import VerificationError


@click.group("data")
def data_group() -> None:
    """Data files the suite knows: list, pull, import, verify, push."""


@data_group.command("list")
@data_options
@json_option("the inventory")
def data_list(data_dir, cache_dir, as_json) -> None:
    """Every dataset and ground-truth table the suite knows: installed or not, version, size (bytes),
    sha256 (pinned, and actual when installed) and where it comes from."""
    rows = entries(paths.data_dir(data_dir))
    if as_json:
        click.echo(json.dumps({"data_dir": str(paths.data_dir(data_dir)), "files": [e.to_json() for e in rows]},
                              indent=1))
        return
    table = [[e.name, e.kind, "yes" if e.installed else "no", e.version, "-" if e.size is None else e.size,
              f"content {short(e.content_sha256_pinned)}" if e.content_sha256_pinned else short(e.sha256_pinned),
              short(e.sha256), e.source] for e in rows]
    click.echo(f"data directory: {paths.data_dir(data_dir)}")
    click.echo(tabulate(table, headers=["name", "kind", "installed", "version", "bytes", "pinned sha256",
                                        "actual sha256", "source"], tablefmt="github"))


@data_group.command("verify")
@data_options
@json_option("the report")
def data_verify(data_dir, cache_dir, as_json) -> None:
    """Re-hash every installed file (CIFAR-10 by its decoded content, pinned tables by sha256, imported
    tables against their sidecars): ok / mismatch / missing / unpinned. Exit status 3 on a mismatch."""
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
@data_options
@click.option("--repo", default=None, help="Hub dataset repository [env SUITE_HUB_REPO; default the suite's].")
@click.option("--revision", default=None,
              help="Tag, branch or commit [env SUITE_HUB_REVISION; default the pinned tag].")
@click.option("--offline", is_flag=True, help="Use only the local hub cache [env HF_HUB_OFFLINE=1].")
def data_pull(name, data_dir, cache_dir, repo, revision, offline) -> None:
    """Download NAME (see `suite data list`) from the hub, verify it, install it in the data directory."""
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
@overwrite_option("Rebuild a table that exists.")
@data_options
def data_import(name, sources, surrogate, trust_pickle, overwrite, data_dir, cache_dir) -> None:
    """Build NAME's ground-truth table (nb201, nb101, nb301, nds-resnet, nds-resnexta) from the official release."""
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
    plan = push(source_dir, repo, revision, dry_run=dry_run)
    click.echo(tabulate([[f.path_in_repo, f.size, short(f.sha256)] for f in plan.files],
                        headers=["path in repo", "bytes", "sha256"], tablefmt="github"))
    verb = "would upload" if dry_run else "uploaded"
    click.echo(f"{verb} {len(plan.files)} file(s) to hub dataset {plan.repo} and tag {plan.revision}")
