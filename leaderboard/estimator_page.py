"""An estimator page's context: seeds, provenance, plots, downloads and the analyses of its first seed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from leaderboard import plots
from leaderboard.collect import Accepted
from leaderboard.render import _write
from leaderboard.rows import _aligned, _device, _fmt, _slug, _text, _wall_text
from suite.analysis.report import analyze
from suite.metrics import HEADLINE


def _estimator_page(key: tuple, items: list[Accepted], benchmark, out: Path, analyses: bool = True) -> dict:
    slug = _slug(key)
    first = items[0].result
    ids, scores = _aligned(items[0])
    gt = benchmark.ground_truth(first.benchmark.ground_truth, ids)
    (out / "plots" / f"{slug}-scatter.png").write_bytes(
        plots.score_vs_truth(scores, gt, f"{key[1]} (seed {first.seed}) on {key[0]}"))
    labels = [s.label for s in first.snapshots]
    budget_plot = len(labels) > 1
    if budget_plot:
        series = {c: [s.criteria.values.get(c) or np.nan for s in first.snapshots] for c in ("KD", "SpearmanR", "P@top5%")}
        _write(out / "plots" / f"{slug}-budget.svg", plots.criteria_vs_budget(labels, series))
    seed_rows, provenance = [], []
    for item in items:
        r = item.result
        for snap in r.snapshots:
            seed_rows.append({"seed": r.seed, "label": snap.label, "n": snap.criteria.n, "failed": snap.criteria.n_failed,
                              "cells": [_fmt(snap.criteria.values.get(c)) for c in HEADLINE]})
        provenance.append({"seed": r.seed, "signer": item.signer, "scores": item.scores,
                           "fingerprint": r.protocol.fingerprint[:16],
                           "suite": f"{r.suite.version} ({(r.suite.git_commit or '?')[:10]})", "hardware": _device(item),
                           "date": _text(r.provenance.get("started_at")),
                           "wall": _wall_text(r.provenance.get("wall_time_s"))})
    _downloads(slug, items, benchmark, out)
    return {"slug": slug, "estimator": key[1], "benchmark": key[0], "family": first.estimator.family,
            "partial": benchmark.spec.partial, "sample": key[3], "gt_column": key[4],
            "protocol_column": benchmark.spec.default_gt_column,
            "config": key[2], "criteria": HEADLINE, "seed_rows": seed_rows, "provenance": provenance,
            "budget_plot": budget_plot, "self_reported": any(i.scores != "re-scored" for i in items),
            "analyses": _analyses(slug, items[0], benchmark, out) if analyses else None}


#: The analyses an estimator page shows, in this order, with their headings.
ANALYSIS_TITLES = {
    "trends": "Criteria over training snapshots",
    "stability": "Ranking stability between adjacent snapshots",
    "score_vs_gt": "Ground truth against the score",
    "cross_dataset": "Criteria against each ground-truth data set",
    "gt_distribution": "Ground-truth distribution",
    "size_bias": "Size bias: KD and mean rank difference per FLOPs group",
    "intra_level": "Intra-level KD of architectures tied by one scoring batch",
    "op_bias": "Operation bias: score change against ground-truth change when one operation is mutated",
    "forgetting": "Multi-model forgetting during training",
}


def _analyses(slug: str, item: Accepted, benchmark, out: Path) -> dict:
    """Run ``suite analyze`` on the first seed's result into ``analyses/<slug>/``; the page's sections:
    each analysis's figures and data files (paths relative to the estimator page), and what was
    skipped with the reason."""
    root = out / "analyses" / slug
    index = analyze([item.path], root, None, benchmarks={benchmark.name: benchmark}, results={item.path: item.result})
    [entry] = index["results"]
    sections = []
    for name, heading in ANALYSIS_TITLES.items():
        done = entry["analyses"].get(name)
        if done is None:
            continue
        files = sorted(done.get("files", []))
        sections.append({
            "name": name, "heading": heading,
            "figures": [f"../analyses/{slug}/{f}" for f in files if f.endswith((".svg", ".png"))],
            "data": [{"href": f"../analyses/{slug}/{f}", "text": f.rsplit("/", 1)[-1]} for f in files
                     if f.endswith((".csv", ".json"))],
        })
    skipped = [{"heading": ANALYSIS_TITLES.get(name, name), "reason": reason}
               for name, reason in sorted(entry["skipped"].items())]
    return {"seed": item.result.seed, "sections": sections, "skipped": skipped,
            "index": f"../analyses/{slug}/index.json"}


def _downloads(slug: str, items: list[Accepted], benchmark, out: Path) -> None:
    """CSV (arch_id, gt, one column per seed) and JSON of the last snapshot's per-architecture scores.

    Floats are written in shortest round-trip form (``repr``): the downloads give back the exact
    float64 scores of the verified files. Columns are formatted whole (``map``), not cell by cell.
    """
    seeds = sorted(i.result.seed for i in items)
    by_seed = {item.result.seed: _aligned(item) for item in items}
    all_ids = np.unique(np.concatenate([ids for ids, _ in by_seed.values()]))
    gt_column = items[0].result.benchmark.ground_truth
    gt = benchmark.ground_truth(gt_column, all_ids)
    columns = [list(map(str, all_ids.tolist())), list(map(repr, gt.tolist()))]
    json_scores = {}
    for seed in seeds:
        ids, scores = by_seed[seed]
        full = np.full(len(all_ids), np.nan)
        full[np.searchsorted(all_ids, ids)] = scores
        present = np.zeros(len(all_ids), dtype=bool)
        present[np.searchsorted(all_ids, ids)] = True
        columns.append([repr(v) if ok else "" for v, ok in zip(full.tolist(), present.tolist())])
        json_scores[str(seed)] = [v if ok and np.isfinite(v) else (str(v) if ok else None)
                                  for v, ok in zip(full.tolist(), present.tolist())]
    header = ",".join(["arch_id", f"gt_{gt_column}", *[f"score_seed{s}" for s in seeds]])
    _write(out / "downloads" / f"{slug}.csv", header + "\n" + "\n".join(map(",".join, zip(*columns))) + "\n")
    payload = {"benchmark": items[0].result.benchmark.name, "estimator": items[0].result.estimator.name,
               "config": items[0].result.estimator.config, "ground_truth": gt_column,
               "arch_ids": all_ids.tolist(), "scores_by_seed": json_scores}
    _write(out / "downloads" / f"{slug}.json", json.dumps(payload, sort_keys=True, separators=(",", ":")) + "\n")
