"""suite analyze: each analysis on small generated data with hand-computed expectations, the report
on a generated benchmark (byte-identical twice), and end to end on the real NB201 submissions."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from suite.analysis import kendall, normalised_ranks
from suite.analysis.ground_truth import cross_dataset, gt_histogram, gt_summary
from suite.analysis.intra_level import intra_level_kd, tie_levels
from suite.analysis.size_bias import flops_groups, rank_difference, size_bias
from suite.analysis.trends import criteria_series, pair_labels, ranking_stability
from suite.errors import ResultFileError, UsageError
from suite.metrics import compute_criteria
from suite.results import ResultFile, encode_scores, read_result, write_result

REPO = Path(__file__).resolve().parents[1]
SYNFLOW = REPO / "submissions" / "nb201" / "synflow" / "seed20-fa453e93.json"
ONESHOT = REPO / "results" / "reduced" / "nb201" / "oneshot" / "seed20.json"


# --- the shared rank helpers -------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["worst", "drop"])
def test_kendall_is_the_protocols_kd(policy):
    rng = np.random.default_rng(0)
    gt = rng.normal(size=60)
    scores = gt + rng.normal(size=60)
    scores[[3, 17, 40]] = [np.nan, np.inf, -np.inf]
    assert kendall(scores, gt, policy) == pytest.approx(compute_criteria(scores, gt, policy).values["KD"], abs=1e-15)
    assert kendall(np.ones(5), np.arange(5.0)) is None and kendall(np.zeros(1), np.zeros(1)) is None


def test_normalised_ranks_average_ties_and_put_nonfinite_lowest():
    assert normalised_ranks(np.array([3.0, 1.0, 2.0, 2.0])).tolist() == [1.0, 0.0, 0.5, 0.5]
    assert normalised_ranks(np.array([np.nan, 5.0, -np.inf])).tolist() == [0.25, 1.0, 0.25]
    assert normalised_ranks(np.array([7.0])).tolist() == [0.5]


# --- 1. trends and ranking stability -----------------------------------------------------------


def test_criteria_series_per_snapshot():
    scores = np.array([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]])
    series = criteria_series(scores, np.array([10.0, 20.0, 30.0, 40.0]))
    assert series["KD"] == [1.0, -1.0]
    # k = 2: the first snapshot's top two are the true top two, the second's the true bottom two
    assert series["P@top50%"] == [1.0, 0.0] and series["P@bottom50%"] == [1.0, 0.0]
    assert series["P@top5%"] == [None, None]  # k = floor(4 * 0.05) = 0: undefined
    one = criteria_series(scores[:1], np.array([10.0, 20.0, 30.0, 40.0]))
    assert one["KD"] == [1.0]


def test_ranking_stability_takes_the_later_snapshot_as_ground_truth():
    scores = np.array([[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 4.0, 3.0], [4.0, 3.0, 2.0, 1.0]])
    rel = ranking_stability(scores)
    # pair 0: one discordant pair (2, 3) of six -> (5 - 1) / 6; pair 1: one concordant pair -> (1 - 5) / 6
    assert rel["relKD"] == pytest.approx([2 / 3, -2 / 3])
    # pair 0: the earlier top two {3, 2} are the later top two
    assert rel["relP@top50%"][0] == 1.0 and rel["relP@bottom50%"][0] == 1.0
    assert rel["relP@top50%"][1] == 0.0
    assert pair_labels(["a", "b", "c"]) == ["a->b", "b->c"]
    assert all(v == [] for v in ranking_stability(scores[:1]).values())
    # a non-finite later score ranks worst ("worst") or leaves the pair ("drop")
    later_nan = np.array([[1.0, 2.0, 3.0, 4.0], [np.nan, 2.0, 3.0, 4.0]])
    assert ranking_stability(later_nan)["relKD"] == [1.0]
    assert ranking_stability(later_nan, "drop")["relKD"] == [1.0]


# --- 2. ground truth ---------------------------------------------------------------------------


def test_gt_histogram_and_summary():
    counts, edges = gt_histogram(np.array([0.0, 1.0, 2.0, 3.0, 4.0]), bins=4)
    assert counts.tolist() == [1, 1, 1, 2] and edges.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    summary = gt_summary(np.arange(101.0))
    assert summary["n"] == 101 and summary["median"] == 50.0 and summary["q95"] == 95.0 and summary["max"] == 100.0


def test_cross_dataset_criteria_per_column():
    scores = np.array([1.0, 2.0, 3.0, 4.0])
    table = cross_dataset(scores, {"a": np.array([1.0, 2.0, 3.0, 4.0]), "b": np.array([4.0, 3.0, 2.0, 1.0])})
    assert list(table) == ["a", "b"]
    assert table["a"]["KD"] == 1.0 and table["b"]["KD"] == -1.0 and table["a"]["P@top5%"] is None


# --- 3. size bias ------------------------------------------------------------------------------


def test_flops_groups_keep_ties_together():
    flops = np.array([1, 1, 1, 2, 3, 4, 5, 6, 7, 8])
    # group = floor(5 * strictly_smaller / 10): strictly smaller = 0 0 0 3 4 5 6 7 8 9
    assert flops_groups(flops).tolist() == [0, 0, 0, 1, 2, 2, 3, 3, 4, 4]
    assert flops_groups(np.full(7, 3.0)).tolist() == [0] * 7
    assert flops_groups(np.arange(10)[::-1]).tolist() == [4, 4, 3, 3, 2, 2, 1, 1, 0, 0]


def test_size_bias_kd_and_rank_difference_per_group():
    gt = np.arange(10.0)
    flops = np.arange(10.0)  # groups 0 0 1 1 2 2 3 3 4 4
    # snapshot 0 puts the two smallest networks on top: they are overestimated by 8/9 each, the
    # other eight underestimated by 2/9 each; within every group the order is right (KD 1)
    over = np.array([8.5, 9.5, 0, 1, 2, 3, 4, 5, 6, 7])
    bias = size_bias(np.stack([over, gt]), gt, flops)
    assert bias["size"].tolist() == [2, 2, 2, 2, 2]
    assert bias["flops_min"].tolist() == [0, 2, 4, 6, 8] and bias["flops_max"].tolist() == [1, 3, 5, 7, 9]
    assert bias["mean_rd"][0] == pytest.approx([8 / 9, -2 / 9, -2 / 9, -2 / 9, -2 / 9])
    assert bias["kd"][0].tolist() == [1.0] * 5
    assert bias["mean_rd"][1] == pytest.approx([0.0] * 5) and bias["kd"][1].tolist() == [1.0] * 5
    assert rank_difference(over, gt).sum() == pytest.approx(0.0)
    # "drop": the NaN architecture leaves its snapshot's ranks and its group's KD (one left: undefined)
    dropped = size_bias(np.array([[0, 1, 2, 3, 4, 5, 6, 7, 8, np.nan]]), gt, flops, nonfinite="drop")
    assert dropped["n"][0].tolist() == [2, 2, 2, 2, 1] and math.isnan(dropped["kd"][0, 4])
    assert dropped["mean_rd"][0] == pytest.approx([0.0] * 5)
    # "worst": it ranks lowest (normalised rank 0 instead of 1): the others move up by 1/9
    worst = size_bias(np.array([[0, 1, 2, 3, 4, 5, 6, 7, 8, np.nan]]), gt, flops)
    assert worst["mean_rd"][0] == pytest.approx([1 / 9] * 4 + [(1 / 9 - 1) / 2])
    assert worst["kd"][0, 4] == -1.0
    # the preference for size: snapshot 0 ranks the two smallest on top, snapshot 1 follows FLOPs exactly
    assert bias["kd_flops"][1] == pytest.approx(1.0) and bias["kd_gt_flops"] == pytest.approx(1.0)
    assert bias["top_flops_rank"][1] == pytest.approx([1.0, 8 / 9, 7 / 9])
    assert bias["top_flops_rank"][0] == pytest.approx([1 / 9, 0.0, 1.0])
    # tied top scores: the worse-GT architecture counts first (ties against the estimator, as P@K)
    tied = size_bias(np.array([[9.0, 9.0, 9.0] + [0.0] * 7]), gt[::-1].copy(), flops)  # ids 0-2: GT 9, 8, 7
    assert tied["top_flops_rank"][0] == pytest.approx([2 / 9, 1 / 9, 0.0])


# --- 4. intra-level KD -------------------------------------------------------------------------


def test_intra_level_kd_by_hand():
    coarse = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 2.0])
    fine = np.array([3.0, 2.0, 1.0, 5.0, 4.0, 6.0])
    gt = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert tie_levels(coarse).tolist() == [0, 0, 0, 1, 1, 2]
    out = intra_level_kd(coarse, fine, gt)
    assert [(lv["value"], lv["size"], lv["KD"]) for lv in out["levels"]] == [(0.0, 3, -1.0), (1.0, 2, -1.0)]
    assert out["n_levels"] == 2 and out["n_tied"] == 5 and out["fraction_tied"] == pytest.approx(5 / 6)
    assert out["kd_mean"] == -1.0 and out["kd_weighted_mean"] == -1.0
    assert out["hist_counts"].tolist() == [2] + [0] * 19 and out["hist_edges"][[0, -1]].tolist() == [-1.0, 1.0]
    # a level where the fine score is constant has no KD; NaN coarse values form one level
    coarse2 = np.array([np.nan, np.nan, 1.0, 1.0, 1.0, 5.0])
    fine2 = np.array([1.0, 2.0, 7.0, 7.0, 7.0, 0.0])
    out2 = intra_level_kd(coarse2, fine2, gt)
    assert [(lv["value"], lv["size"], lv["KD"]) for lv in out2["levels"]] == [(1.0, 3, None), (None, 2, 1.0)]
    assert out2["n_levels"] == 2 and out2["n_levels_defined"] == 1 and out2["kd_mean"] == 1.0
    assert out2["hist_counts"][-1] == 1  # KD = 1 falls in the last bin
    none = intra_level_kd(np.arange(4.0), np.arange(4.0), np.arange(4.0))
    assert none["n_levels"] == 0 and none["fraction_tied"] == 0.0 and none["kd_mean"] is None


# --- 5. the report on a generated benchmark ------------------------------------------------------


def _fake_nb201(n: int = 60):
    """An NB201-shaped benchmark of ``n`` cells with seeded GT columns (no data directory needed)."""
    from suite.benchmarks import NB201_BENCHMARK, LoadedBenchmark
    from suite.spaces.nb201 import enumerate_archs, format_arch

    rng = np.random.default_rng(7)
    archs = list(enumerate_archs())[::157][:n]
    spec = dataclasses.replace(NB201_BENCHMARK, subset_size=n)
    base = rng.normal(80, 5, size=n)
    table = pd.DataFrame({"arch": [format_arch(a) for a in archs],
                          **{c: np.round(base + rng.normal(0, 2, size=n), 2) for c in spec.gt_columns}},
                         index=pd.Index(np.arange(n), name="index"))
    return LoadedBenchmark(spec, np.arange(n, dtype=np.int64), archs, table, "0" * 64)


def _fake_result(bench, path: Path, snapshots: int = 2, batches: int = 2, estimator: str = "fake",
                 labels: list[str] | None = None, provenance: dict | None = None) -> Path:
    rng = np.random.default_rng(snapshots * 10 + batches)
    ids = np.arange(len(bench.arch_ids))
    gt = bench.ground_truth("cifar10_test_200", ids)
    snaps = []
    for s in range(snapshots):
        per_batch = [np.round(gt + rng.normal(0, 8 - 2 * s, size=len(ids)), 0) for _ in range(max(batches, 1))]
        scores = np.mean(per_batch, axis=0)
        crit = compute_criteria(scores, gt)
        snaps.append({"label": labels[s] if labels else f"epoch-{s + 1}", "scores": encode_scores(scores),
                      "criteria": {"n": crit.n, "n_nonfinite": crit.n_nonfinite, "nonfinite_policy": "worst",
                                   "values": crit.values},
                      "per_batch": [encode_scores(b) for b in per_batch] if batches else None})
    result = ResultFile.model_validate({
        "schema_version": 1, "suite": {"version": "test", "git_commit": None},
        "protocol": {"version": "1", "fingerprint": "a" * 64},
        "benchmark": {"name": "nb201", "ground_truth": "cifar10_test_200", "ground_truth_sha256": "0" * 64,
                      "subset_size": len(ids), "complete": True, "sample": None},
        "estimator": {"name": estimator, "family": "one-shot", "config": {}, "deterministic": True},
        "seed": 20, "arch_ids": ids.tolist(), "snapshots": snaps, "provenance": provenance or {}})
    return write_result(result, path)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_report_on_generated_data_runs_everything_and_is_byte_identical(tmp_path):
    from suite.analysis.report import analyze

    bench = _fake_nb201()
    multi = _fake_result(bench, tmp_path / "in" / "multi.json")
    single = _fake_result(bench, tmp_path / "in" / "sub" / "single.json", snapshots=1, batches=0, estimator="zs")
    index = analyze([tmp_path / "in"], tmp_path / "a", None, benchmarks={"nb201": bench})
    assert index["n_results"] == 2 and [e["dir"] for e in index["results"]] == ["nb201/fake/multi", "nb201/zs/single"]
    entry, one = index["results"]
    assert {"trends", "stability", "gt_distribution", "score_vs_gt", "cross_dataset", "size_bias", "intra_level",
            "op_bias"} <= set(entry["ran"])
    assert "stability" in one["skipped"] and "per_batch" in one["skipped"]["intra_level"]
    assert "forgetting" in entry["skipped"] or "forgetting" in entry["ran"]
    for e in index["results"]:
        for analysis in e["analyses"].values():
            for file in analysis["files"]:
                assert (tmp_path / "a" / file).is_file(), file
    # numbers: the recomputed criteria are the recorded ones; the intra-level headline is the function's
    result = read_result(multi)
    assert entry["analyses"]["trends"]["headline"]["matches_recorded"] is True
    assert entry["analyses"]["trends"]["headline"]["KD"] == [s.criteria.values["KD"] for s in result.snapshots]
    gt = bench.ground_truth("cifar10_test_200")
    direct = intra_level_kd(result.scores(batches=1), result.scores(), gt)
    assert entry["analyses"]["intra_level"]["headline"]["n_levels"] == direct["n_levels"] > 0
    assert entry["analyses"]["intra_level"]["headline"]["kd_mean"] == pytest.approx(direct["kd_mean"])
    stability = ranking_stability(np.stack([result.scores("epoch-1"), result.scores("epoch-2")]))
    assert entry["analyses"]["stability"]["headline"]["relKD"] == stability["relKD"]
    trends_csv = pd.read_csv(tmp_path / "a" / "nb201/fake/multi/trends.csv")
    assert trends_csv["snapshot"].tolist() == ["epoch-1", "epoch-2"] and trends_csv["KD"].tolist() == pytest.approx(
        entry["analyses"]["trends"]["headline"]["KD"])
    size = json.loads((tmp_path / "a" / "nb201/fake/multi/size_bias.json").read_text())
    assert sum(g["size"] for g in size["groups"]) == 60 and set(size["KD"]) == {"epoch-1", "epoch-2"}
    assert (tmp_path / "a" / "nb201/zs/single/trends.svg").read_text().startswith("<?xml")
    on_disk = json.loads((tmp_path / "a" / "index.json").read_text())
    assert on_disk == index
    # the same inputs again give the same bytes, every file
    analyze([tmp_path / "in"], tmp_path / "b", None, benchmarks={"nb201": bench})
    first, second = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert first.keys() == second.keys() and all(first[k] == second[k] for k in first), \
        [k for k in first if first[k] != second.get(k)]
    # another GT column: analysed against it, the recorded one kept beside it
    other = analyze([single], tmp_path / "c", None, gt_column="cifar100_test_200", benchmarks={"nb201": bench})
    assert other["results"][0]["gt_column"] == "cifar100_test_200" and "matches_recorded" not in \
        other["results"][0]["analyses"]["trends"]["headline"]
    with pytest.raises(UsageError, match="single.json.*unknown ground-truth column 'acc'"):
        analyze([single], tmp_path / "d", None, gt_column="acc", benchmarks={"nb201": bench})


def test_same_stem_twice_gets_distinct_directories(tmp_path, monkeypatch):
    from suite.analysis.report import analyze

    bench = _fake_nb201(30)
    _fake_result(bench, tmp_path / "x" / "seed20.json", snapshots=1, batches=0)
    _fake_result(bench, tmp_path / "y" / "seed20.json", snapshots=1, batches=0)
    monkeypatch.chdir(tmp_path)
    for _ in range(2):  # relative paths; the second time, the output directory's JSON files are not inputs
        index = analyze([Path("x"), Path("y/seed20.json"), Path(".")], Path("out"), None, benchmarks={"nb201": bench})
        assert [e["dir"] for e in index["results"]] == ["nb201/fake/seed20", "nb201/fake/seed20-2"]
        assert [e["path"] for e in index["results"]] == ["x/seed20.json", "y/seed20.json"]
        for e in index["results"]:
            for analysis in e["analyses"].values():
                assert all((tmp_path / "out" / f).is_file() and not f.startswith("/") for f in analysis["files"])


def test_cli_bad_file_is_one_line_naming_it(tmp_path):
    from suite.cli.analyze_cmd import analyze_cmd

    bad = tmp_path / "broken.json"
    bad.write_text("{not json")
    run = CliRunner().invoke(analyze_cmd, [str(bad), "--out", str(tmp_path / "out")])
    assert isinstance(run.exception, ResultFileError)
    assert "broken.json" in str(run.exception) and "\n" not in str(run.exception)
    assert not (tmp_path / "out").exists()  # nothing written before every file has been read
    run = CliRunner().invoke(analyze_cmd, [str(tmp_path / "missing.json"), "--out", str(tmp_path / "out")])
    assert isinstance(run.exception, UsageError) and "missing.json" in str(run.exception)
    run = CliRunner().invoke(analyze_cmd, [str(bad)])
    assert run.exit_code == 2 and "--out" in run.output


# --- hostile inputs (review findings 9 and 10): nothing outside --out, no crash, no formula --------


def test_an_estimator_name_cannot_lead_outside_out(tmp_path):
    from suite.analysis.report import analyze, safe_part

    bench = _fake_nb201(30)
    _fake_result(bench, tmp_path / "in" / "r.json", snapshots=1, batches=0, estimator="../../../escaped")
    _fake_result(bench, tmp_path / "in" / "...json", snapshots=1, batches=0)  # stem ".."
    out = tmp_path / "a" / "out"
    index = analyze([tmp_path / "in"], out, None, benchmarks={"nb201": bench})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "in"] and [p.name for p in (tmp_path / "a").iterdir()] == ["out"]
    dirs = [e["dir"] for e in index["results"]]
    assert dirs == ["nb201/fake/" + safe_part(".."), "nb201/" + safe_part("../../../escaped") + "/r"]
    for e in index["results"]:
        assert ".." not in e["dir"].split("/") and (out / e["dir"]).resolve().is_relative_to(out.resolve())
        assert all((out / f).resolve().is_relative_to(out.resolve()) for a in e["analyses"].values() for f in a["files"])
    assert safe_part("synflow") == "synflow" and safe_part("seed20-sample1000-a718ad48") == "seed20-sample1000-a718ad48"
    for name in ("..", ".", "a/b", "../../x", ".hidden", "", "x" * 81, "é"):
        part = safe_part(name)
        assert "/" not in part and not part.startswith(".") and part not in ("", ".", "..") and part != name
    assert safe_part("a/b") != safe_part("a_b") and safe_part("A B") != safe_part("a b")  # the hash keeps names apart


def test_a_directory_resolving_outside_out_is_refused_before_writing(tmp_path):
    from suite.analysis.report import analyze

    bench = _fake_nb201(30)
    _fake_result(bench, tmp_path / "in" / "r.json", snapshots=1, batches=0)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "nb201").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UsageError, match=r"r\.json: its analysis directory 'nb201/fake/r' would lie outside") as err:
        analyze([tmp_path / "in"], tmp_path / "out", None, benchmarks={"nb201": bench})
    assert "\n" not in str(err.value) and not list((tmp_path / "elsewhere").iterdir())


def test_mathtext_in_names_and_labels_is_drawn_as_text(tmp_path):
    from suite.analysis.report import analyze

    bench = _fake_nb201(30)
    _fake_result(bench, tmp_path / "in" / "r.json", estimator="$\\foo$", labels=["$\\bar$", "$x_$"])
    index = analyze([tmp_path / "in"], tmp_path / "out", None, benchmarks={"nb201": bench})
    [entry] = index["results"]
    assert {"trends", "stability", "score_vs_gt", "cross_dataset", "size_bias", "intra_level"} <= set(entry["ran"])
    trends = (tmp_path / "out" / entry["dir"] / "trends.svg").read_text()
    assert "$\\bar$" in trends and "$\\foo$" in trends


def test_csv_cells_that_start_like_a_formula_are_quoted_numbers_never(tmp_path):
    from suite.analysis.plots import csv_text, write_csv
    from suite.analysis.report import analyze

    assert csv_text(["-h", "k"], [["=1+1", -0.5, -3, None, "@x", "\tx", "a-b"]]) == "'-h,k\n'=1+1,-0.5,-3,,'@x,'\tx,a-b\n"
    frame = pd.DataFrame({"label": ["+cmd", "ok", None], "KD": [-0.25, 0.5, np.nan], "mixed": [-1.0, "-1", None]})
    written = write_csv(tmp_path / "f.csv", frame).read_text()
    assert written == "label,KD,mixed\n'+cmd,-0.25,-1.0\nok,0.5,'-1\n,,\n"
    assert frame["label"].tolist()[0] == "+cmd"  # the caller's frame is left as it was
    bench = _fake_nb201(30)
    labels = ['=HYPERLINK("http://x","y")', "-1"]
    _fake_result(bench, tmp_path / "in" / "r.json", labels=labels)
    index = analyze([tmp_path / "in"], tmp_path / "out", None, benchmarks={"nb201": bench})
    res_dir = tmp_path / "out" / index["results"][0]["dir"]
    trends = pd.read_csv(res_dir / "trends.csv")
    assert trends["snapshot"].tolist() == ["'" + label for label in labels]
    assert trends["KD"].tolist() == pytest.approx(index["results"][0]["analyses"]["trends"]["headline"]["KD"])
    stability = pd.read_csv(res_dir / "stability.csv", dtype=str)
    assert stability["earlier"].tolist() == ["'" + labels[0]] and stability["later"].tolist() == ["'-1"]
    assert json.loads((res_dir / "trends.json").read_text())["labels"] == labels  # JSON keeps the labels as they are


def test_a_malformed_forgetting_record_is_skipped_with_the_reason(tmp_path):
    from suite.analysis.report import analyze

    bench = _fake_nb201(30)
    _fake_result(bench, tmp_path / "in" / "junk.json", snapshots=1, batches=0, provenance={"estimator_record": "junk"})
    _fake_result(bench, tmp_path / "in" / "bad.json", snapshots=1, batches=0,
                 provenance={"estimator_record": {"forgetting": {"epochs": {"1": {"fv": [1.0], "acc_after_step": []}}}}})
    index = analyze([tmp_path / "in"], tmp_path / "out", None, benchmarks={"nb201": bench})
    for entry in index["results"]:
        assert entry["skipped"]["forgetting"].startswith("the forgetting record in provenance is malformed (")
        assert "trends" in entry["ran"]


# --- end to end on the real NB201 submissions ----------------------------------------------------


def test_real_nb201_synflow_and_oneshot(nb201, tmp_path):
    from suite.analysis.report import analyze

    if not SYNFLOW.is_file():
        pytest.skip(f"{SYNFLOW} not in this checkout")
    inputs = [SYNFLOW] + ([ONESHOT] if ONESHOT.is_file() else [])
    index = analyze(inputs, tmp_path / "out", None, benchmarks={"nb201": nb201})
    syn = index["results"][0]
    recorded = read_result(SYNFLOW).snapshots[-1].criteria.values
    cross = syn["analyses"]["cross_dataset"]["headline"]
    assert cross["cifar10_test_200"]["KD"] == pytest.approx(recorded["KD"], abs=1e-12)
    assert cross["cifar10_test_200"]["P@top5%"] == pytest.approx(recorded["P@top5%"], abs=1e-12)
    assert {"cifar100_test_200", "imagenet16_test_200"} <= set(cross)
    assert 0.5 < cross["cifar100_test_200"]["KD"] < 0.65 and 0.5 < cross["imagenet16_test_200"]["KD"] < 0.65
    assert syn["analyses"]["trends"]["headline"]["matches_recorded"] is True
    assert syn["analyses"]["score_vs_gt"]["headline"]["format"] == "png"
    assert (tmp_path / "out" / syn["dir"] / "score_vs_gt.png").read_bytes()[:4] == b"\x89PNG"
    size = json.loads((tmp_path / "out" / syn["dir"] / "size_bias.json").read_text())
    groups = size["groups"]
    assert sum(g["size"] for g in groups) == 15625 and len(groups) == 5
    assert all(a["flops_max"] < b["flops_min"] for a, b in zip(groups, groups[1:]))  # ties never split
    rd = size["mean_RD"]["final"]
    assert all(abs(v) < 0.1 for v in rd)
    # study Fig 19: synflow's three best-scored cells are NB201's three largest by FLOPs rank
    assert min(size["top_flops_rank"]["final"]) > 0.999
    assert size["KD_score_vs_FLOPs"]["final"] > size["KD_gt_vs_FLOPs"] > 0.5
    assert set(syn["skipped"]) >= {"stability", "intra_level"}
    dists = index["benchmarks"]["nb201"]["gt_distribution"]
    assert {"cifar10_test_200", "cifar100_test_200", "imagenet16_test_200"} <= set(dists)
    assert dists["cifar10_test_200"]["headline"]["n"] == 15625
    if ONESHOT.is_file():
        one = index["results"][1]
        result = read_result(ONESHOT)
        kd = one["analyses"]["trends"]["headline"]["KD"]
        assert kd == pytest.approx([s.criteria.values["KD"] for s in result.snapshots], abs=1e-12)
        assert len(one["analyses"]["stability"]["headline"]["relKD"]) == len(result.snapshots) - 1
        stab = ranking_stability(np.stack([result.scores(s.label) for s in result.snapshots]))
        assert one["analyses"]["stability"]["headline"]["relKD"] == pytest.approx(stab["relKD"])
        size = json.loads((tmp_path / "out" / one["dir"] / "size_bias.json").read_text())
        assert list(size["KD"]) == [s.label for s in result.snapshots]
        # byte-identical again (the 1,000-architecture one-shot result: quick)
        analyze([ONESHOT], tmp_path / "again1", None, benchmarks={"nb201": nb201})
        analyze([ONESHOT], tmp_path / "again2", None, benchmarks={"nb201": nb201})
        assert _tree(tmp_path / "again1") == _tree(tmp_path / "again2")


def test_cli_json_on_a_real_sample(data_dir, tmp_path):
    from suite.cli.analyze_cmd import analyze_cmd

    sample = REPO / "submissions" / "nb201" / "relu_logdet" / "seed20-sample1000-a718ad48.json"
    if not sample.is_file():
        pytest.skip(f"{sample} not in this checkout")
    run = CliRunner().invoke(analyze_cmd, [str(sample), "--out", str(tmp_path / "out"), "--data-dir", str(data_dir),
                                           "--json"])
    assert run.exit_code == 0, run.output
    index = json.loads(run.stdout)
    entry = index["results"][0]
    assert entry["dir"] == "nb201/relu_logdet/seed20-sample1000-a718ad48" and entry["n"] == 1000
    assert "one scoring batch" in entry["skipped"]["intra_level"]
    assert entry["analyses"]["score_vs_gt"]["headline"]["format"] == "svg"
    recorded = read_result(sample).snapshots[-1].criteria.values["KD"]
    assert entry["analyses"]["trends"]["headline"]["KD"] == [pytest.approx(recorded, abs=1e-12)]


def test_csv_cells_with_a_bare_cr_or_lf_are_quoted_and_each_line_guarded(tmp_path):
    import csv
    import io

    from suite.analysis.plots import csv_text, write_csv

    cells = ["ok\r=HYPERLINK(\"http://x\")", "ok\n@SUM(A1)", "\r-1", "plain"]
    text = csv_text(["label"], [[c] for c in cells])
    assert [row[0] for row in csv.reader(io.StringIO(text, newline=""))][1:] == [
        "ok\r'=HYPERLINK(\"http://x\")", "ok\n'@SUM(A1)", "'\r'-1", "plain"]
    assert text.split("\n")[1] == '"ok\r\'=HYPERLINK(""http://x"")"'  # quoted: a bare CR never ends the row
    written = write_csv(tmp_path / "f.csv", pd.DataFrame({"label": cells[:1], "KD": [0.5]})).read_bytes().decode()
    assert list(csv.reader(io.StringIO(written, newline=""))) == [["label", "KD"], ["ok\r'=HYPERLINK(\"http://x\")", "0.5"]]
