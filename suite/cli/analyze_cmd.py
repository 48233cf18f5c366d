"""``suite analyze``: the study's analyses of result files, as plots and their data."""

from __future__ import annotations

import json
from pathlib import Path

import click

from suite import paths
from suite.cli.options import data_options, gt_option, json_option, out_dir_option, progress_options


@click.command("analyze")
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path))
@out_dir_option("Output directory (created; files of the same names are replaced).", required=True)
@gt_option("each result's recorded column")
@data_options(cache_note=" (accepted for symmetry: the analyses decode no data set)")
@progress_options(" (shown from 10 results on)")
@json_option("the index (index.json)")
def analyze_cmd(results, out_dir, gt_column, data_dir, cache_dir, progress_mode, quiet, as_json) -> None:
    """The study's analyses of RESULT files (or directories of them, searched for *.json).

    For each result: the criteria over snapshots and the ranking stability between them, the
    ground-truth distribution, the scores against every GT column, the size bias over five FLOPs
    groups, the intra-level KD of per-batch ties, the operation-level bias and multi-model
    forgetting, where they apply. Writes plots (SVG; PNG for large scatters), their data (JSON,
    CSV) and OUT_DIR/index.json (what ran, headline numbers, what was skipped and why).
    """
    from suite.analysis.report import analyze  # deferred: matplotlib/scipy, so that `suite --help` stays light

    index = analyze(results, out_dir, paths.data_dir(data_dir), gt_column, progress="none" if quiet else progress_mode)
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
