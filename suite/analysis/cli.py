"""The ``suite analyze`` command (registered on the ``suite`` group by :mod:`suite.cli`)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from suite import paths


@click.command("analyze")
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output directory (created; files of the same names are replaced).")
@click.option("--gt-column", default=None,
              help="Ground-truth column to analyse against [default: each result's recorded column].")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=f"Data directory [env {paths.DATA_DIR_ENV}; default <cache>/data].")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=f"Cache for decoded data [env {paths.CACHE_DIR_ENV}; default ~/.cache/nas-suite] "
                   "(accepted for symmetry: the analyses decode no data set).")
@click.option("--progress", "progress_mode", type=click.Choice(["auto", "bar", "log", "none"]), default="auto",
              show_default=True, help="Progress on stderr (shown from 10 results on).")
@click.option("--json", "as_json", is_flag=True, help="Print index.json on stdout.")
def analyze_cmd(results, out_dir, gt_column, data_dir, cache_dir, progress_mode, as_json) -> None:
    """The study's analyses of RESULT files (or directories of them, searched for *.json).

    For each result: the criteria over snapshots and the ranking stability between them, the
    ground-truth distribution, the scores against every GT column, the size bias over five FLOPs
    groups, the intra-level KD of per-batch ties, the operation-level bias and multi-model
    forgetting, where they apply. Writes plots (SVG; PNG for large scatters), their data (JSON,
    CSV) and OUT/index.json (what ran, headline numbers, what was skipped and why).
    """
    from suite.analysis.report import analyze  # deferred: matplotlib, so that the CLI starts without it

    index = analyze(results, out_dir, paths.data_dir(data_dir), gt_column, progress=progress_mode)
    if as_json:
        click.echo(json.dumps(index, sort_keys=True, indent=1))
        return
    n_ran = sum(len(e["analyses"]) for e in index["results"])
    n_skipped = sum(len(e["skipped"]) for e in index["results"])
    for entry in index["results"]:
        kd = entry["analyses"].get("trends", {}).get("headline", {}).get("KD") or [None]
        shown = "n/a" if kd[-1] is None else f"{kd[-1]:.4f}"
        click.echo(f"{entry['dir']}: {len(entry['analyses'])} analyses, KD {shown} ({entry['gt_column']}, "
                   f"{entry['snapshots'][-1]})" + (f"; skipped {', '.join(sorted(entry['skipped']))}"
                                                   if entry["skipped"] else ""))
        for warning in entry["warnings"]:
            click.echo(f"warning: {entry['dir']}: {warning}", err=True)
    click.echo(f"analyzed {len(index['results'])} results into {out_dir}: {n_ran} analyses written, "
               f"{n_skipped} skipped (see {out_dir / 'index.json'})", err=True)
