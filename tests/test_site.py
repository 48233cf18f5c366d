"""The static site: only verified files, escaped names, byte-identical rebuilds, downloads that match."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from suite.cli import main
from suite.keys import load_private_key
from suite.results import ResultFile, read_result
from suite.signing import sign_result

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def site_input(tmp_path_factory, signed_file, signers_file, signing_key):
    """A submissions tree: a genuine result, the same run renamed to a hostile estimator name, and a tampered file."""
    root = tmp_path_factory.mktemp("site-input") / "submissions"
    (root / "a").mkdir(parents=True)
    shutil.copy(signed_file, root / "a" / "params.json")
    raw = json.loads(signed_file.read_text())["result"]
    raw["estimator"]["name"] = HOSTILE
    hostile = sign_result(ResultFile.model_validate(raw), load_private_key(signing_key))
    (root / "a" / "hostile.json").write_text(json.dumps(hostile))
    tampered = json.loads(signed_file.read_text())
    tampered["result"]["snapshots"][0]["criteria"]["values"]["KD"] = 0.99
    (root / "a" / "tampered.json").write_text(json.dumps(tampered))
    return root, signers_file


def _build(site_input, data_dir, out, capsys):
    root, signers = site_input
    code = main(["leaderboard", "build", str(root), "--out", str(out), "--signers", str(signers),
                 "--data-dir", str(data_dir), "--bootstrap", "20"])
    return code, capsys.readouterr().err


def _tree(path):
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.rglob("*")) if p.is_file()}


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.refs.extend(v for k, v in attrs if k in ("href", "src") and v)


def test_the_site_shows_verified_files_escapes_names_and_rebuilds_identically(site_input, data_dir, tmp_path, capsys):
    code, log = _build(site_input, data_dir, tmp_path / "a", capsys)
    assert code == 0
    assert "rejected" in log and "tampered.json: digest" in log and "1 verified files, 2 rejected" in log
    # an estimator name is plain lowercase ASCII: the hostile one is refused by verification (the site
    # escapes what it shows anyway: test_rows_on_another_ground_truth_column_are_kept_apart_and_never_ranked)
    assert "hostile.json: estimator: estimator name '<img src=x onerror=alert(1)>' must match" in log
    index = (tmp_path / "a" / "index.html").read_text()
    assert HOSTILE not in index and "&lt;img" not in index
    assert "0.99" not in index  # the tampered KD is not shown
    pages = list((tmp_path / "a" / "estimators").glob("*.html"))
    assert len(pages) == 1 and all(HOSTILE not in p.read_text() for p in pages)
    # each estimator page shows the study's analyses of its first seed (suite analyze), with their data
    for page in pages:
        text = page.read_text()
        for heading in ("Criteria over training snapshots", "Criteria against each ground-truth data set",
                        "Size bias: KD and mean rank difference per FLOPs group", "Operation bias"):
            assert heading in text, (page.name, heading)
        assert "Ranking stability between adjacent snapshots (one snapshot" in text  # skipped, with the reason
        index = json.loads((tmp_path / "a" / "analyses" / page.stem / "index.json").read_text())
        assert index["results"][0]["analyses"]["trends"]["headline"]["matches_recorded"] is True
    # every local link resolves; nothing is fetched from elsewhere (no CDN)
    for page in [tmp_path / "a" / "index.html", *pages, *(tmp_path / "a" / "benchmarks").glob("*.html")]:
        parser = _Links()
        parser.feed(page.read_text())
        assert "script" in parser.tags
        for ref in parser.refs:
            assert "://" not in ref and not ref.startswith("//"), ref
            assert (page.parent / ref.split("#")[0]).resolve().is_file(), (page, ref)
    # the same input gives byte-identical output
    assert _build(site_input, data_dir, tmp_path / "b", capsys)[0] == 0
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")


def test_downloads_hold_the_verified_scores(site_input, data_dir, tmp_path, capsys, signed_file):
    assert _build(site_input, data_dir, tmp_path / "s", capsys)[0] == 0
    [csv_path] = [p for p in (tmp_path / "s" / "downloads").glob("*.csv") if "params" in p.name]
    rows = list(csv.reader(csv_path.open()))
    assert rows[0] == ["arch_id", "gt_cifar10_test_200", "score_seed20"]
    result = read_result(signed_file)
    got = {int(r[0]): float(r[2]) for r in rows[1:]}
    assert got == dict(zip(result.arch_ids, result.scores().tolist()))
    payload = json.loads(csv_path.with_suffix(".json").read_text())
    assert payload["estimator"] == "params" and payload["arch_ids"] == result.arch_ids
    assert payload["scores_by_seed"]["20"] == result.scores().tolist()


def test_bootstrap_intervals_and_paired_significance():
    from leaderboard.stats import differs, interval, paired_bootstrap

    rng = np.random.default_rng(0)
    gt = rng.random(400)
    good = [gt + 0.05 * rng.standard_normal(400)]
    bad = [gt + 1.0 * rng.standard_normal(400)]
    samples = paired_bootstrap([good, bad, bad], gt, 200)
    assert interval(samples[0]).low > interval(samples[1]).high  # clearly separated
    assert differs(samples[0], samples[1]) and not differs(samples[1], samples[2])  # identical inputs never differ
    assert np.array_equal(samples, paired_bootstrap([good, bad, bad], gt, 200))  # seeded
    # each row against its own ground truth and non-finite policy: the KD its table cell shows
    other_gt = gt + 2.0 * rng.standard_normal(400)
    own = paired_bootstrap([good, good], [gt, other_gt], 200)
    assert interval(own[0]).low > interval(own[1]).high
    with_nan = [np.where(np.arange(400) < 40, np.nan, good[0])]
    worst, drop = paired_bootstrap([with_nan, with_nan], gt, 200, nonfinite=["worst", "drop"])
    assert np.mean(drop) > np.mean(worst)  # dropped rows do not pull KD down
    with pytest.raises(ValueError, match="one ground truth and one policy per estimator"):
        paired_bootstrap([good, bad], [gt], 10)


def test_estimators_with_training_snapshots_get_a_budget_plot(signed_file, signers_file, signing_key, data_dir, tmp_path,
                                                              capsys):
    raw = json.loads(signed_file.read_text())["result"]
    first = json.loads(json.dumps(raw["snapshots"][0]))
    raw["estimator"].update(name="supernet-like", family="one-shot")
    raw["snapshots"] = [{**first, "label": "epoch-50"}, {**first, "label": "epoch-100"}]
    root = tmp_path / "submissions"
    root.mkdir()
    (root / "s.json").write_text(json.dumps(sign_result(ResultFile.model_validate(raw), load_private_key(signing_key))))
    assert main(["leaderboard", "build", str(root), "--out", str(tmp_path / "site"), "--signers", str(signers_file),
                 "--data-dir", str(data_dir), "--bootstrap", "0"]) == 0
    [page] = (tmp_path / "site" / "estimators").glob("*.html")
    html = page.read_text()
    assert "-budget.svg" in html and "epoch-50" in html and "epoch-100" in html
    [svg] = (tmp_path / "site" / "plots").glob("*-budget.svg")
    assert svg.read_text().lstrip().startswith("<?xml")


def test_parallel_build_equals_serial_build(signed_file, signers_file, signing_key, data_dir, tmp_path, monkeypatch):
    """Verification and estimator pages shared out over worker processes give the same bytes."""
    import leaderboard.collect
    import leaderboard.site
    from leaderboard.site import build

    monkeypatch.setattr(leaderboard.collect, "PARALLEL_FROM", 2)
    monkeypatch.setattr(leaderboard.site, "PARALLEL_PAGES_FROM", 2)
    raw = json.loads(signed_file.read_text())["result"]
    root = tmp_path / "submissions"
    root.mkdir()
    key = load_private_key(signing_key)
    for i in range(4):
        raw["estimator"]["name"] = f"copy-{i}"
        (root / f"{i}.json").write_text(json.dumps(sign_result(ResultFile.model_validate(raw), key)))
    serial = build([root], tmp_path / "serial", signers_file, data_dir, resamples=10, jobs=1)
    parallel = build([root], tmp_path / "parallel", signers_file, data_dir, resamples=10, jobs=2)
    assert serial.accepted == parallel.accepted == 4 and serial.pages == parallel.pages == 6
    assert _tree(tmp_path / "serial") == _tree(tmp_path / "parallel")


def test_a_sample_run_is_its_own_row(signed_file, signers_file, data_dir, tmp_path, capsys):
    root = tmp_path / "submissions"
    root.mkdir()
    shutil.copy(signed_file, root / "full.json")
    assert main(["run", "-e", "params", "-b", "nb201", "--sample", "50", "--data-dir", str(data_dir),
                 "--out", str(root / "sample.json"), "-q"]) == 0
    assert main(["leaderboard", "build", str(root), "--out", str(tmp_path / "site"), "--signers", str(signers_file),
                 "--data-dir", str(data_dir), "--bootstrap", "0"]) == 0
    assert len(list((tmp_path / "site" / "estimators").glob("*.html"))) == 2
    index = (tmp_path / "site" / "index.html").read_text()
    assert "sample of 40 (seed 0)" in index and "sample of 50 (seed 0)" in index  # not two "seeds" of one row


def test_a_partial_set_is_marked_on_every_page(signers_file, data_dir, tmp_path):
    root = tmp_path / "submissions"
    root.mkdir()
    assert main(["run", "-e", "params", "-b", "nb301-partial", "--data-dir", str(data_dir),
                 "--out", str(root / "p.json"), "-q"]) == 0
    assert main(["leaderboard", "build", str(root), "--out", str(tmp_path / "site"), "--signers", str(signers_file),
                 "--data-dir", str(data_dir), "--bootstrap", "0"]) == 0
    site = tmp_path / "site"
    pages = [site / "index.html", site / "benchmarks" / "nb301-partial.html",
             *(site / "estimators").glob("*.html")]
    assert len(pages) == 3
    for page in pages:
        assert '<p class="partial">partial set: 1,218 DARTS genotypes' in page.read_text()


# --- like is ranked with like; one accepted file cannot break the build (review findings 3, 6, 10) ---


def _accepted(nb201, name, ids, scores, *, seed=20, column="cifar10_test_200", sample=None, family="zero-shot",
              provenance=None):
    """A verified-looking result (not signed: the table code takes what collect accepted) on real NB201 GT."""
    from pathlib import Path

    from leaderboard.collect import Accepted
    from suite.metrics import compute_criteria
    from suite.results import encode_scores

    ids = [int(i) for i in ids]
    crit = compute_criteria(np.asarray(scores, dtype=np.float64), nb201.ground_truth(column, np.array(ids)))
    result = ResultFile.model_validate({
        "schema_version": 1, "suite": {"version": "test", "git_commit": None},
        "protocol": {"version": "1", "fingerprint": "a" * 64},
        "benchmark": {"name": "nb201", "ground_truth": column, "ground_truth_sha256": nb201.gt_sha256,
                      "subset_size": len(nb201.arch_ids), "complete": sample is None, "sample": sample},
        "estimator": {"name": name, "family": family, "config": {}, "deterministic": True},
        "seed": seed, "arch_ids": ids,
        "snapshots": [{"label": "final", "scores": encode_scores(np.asarray(scores, dtype=np.float64)),
                       "criteria": {"n": crit.n, "n_nonfinite": crit.n_nonfinite, "nonfinite_policy": "worst",
                                    "values": crit.values}}],
        "provenance": {"wall_time_s": 36.0} if provenance is None else provenance})
    return Accepted(path=Path(f"{name}-{seed}.json"), result=result, signer="tester")


def _table(accepted, nb201, out, resamples=40):
    from leaderboard.benchmark_page import _benchmark_table
    from leaderboard.rows import _group

    groups = _group(accepted)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    return groups, _benchmark_table("nb201", sorted(groups), groups, nb201, resamples, out)


def _render_index(table):
    from leaderboard.render import environment
    from suite.metrics import HEADLINE

    return environment().get_template("index.html.j2").render(
        tables=[table], criteria=HEADLINE, families=[], resamples=40, root="", title="t", benchmarks=["nb201"],
        suite_version="test", protocol_version="1", n_files=3)


def _noisy(gt, scale, seed):
    return gt + scale * np.random.default_rng(seed).standard_normal(len(gt))


def test_rows_on_another_ground_truth_column_are_kept_apart_and_never_ranked(nb201, tmp_path):
    ids = nb201.arch_ids[:300]
    gt = nb201.ground_truth("cifar10_test_200", ids)
    shopped = nb201.ground_truth("cifar10valid_test_200", ids)  # e.g. the abdelfattah2021 preset's column
    accepted = [
        _accepted(nb201, HOSTILE, ids, _noisy(gt, 8.0, 1)),  # seed 20 on the protocol's column
        _accepted(nb201, HOSTILE, ids, shopped, seed=21, column="cifar10valid_test_200"),  # KD 1 on its own column
        _accepted(nb201, "rival", ids, _noisy(gt, 2.0, 2)),
    ]
    groups, table = _table(accepted, nb201, tmp_path)
    # the two seeds were judged on different columns: two rows, never one row of two "seeds"
    assert sorted((k[1], k[4], len(v)) for k, v in groups.items()) == [
        (HOSTILE, "cifar10_test_200", 1), (HOSTILE, "cifar10valid_test_200", 1), ("rival", "cifar10_test_200", 1)]
    assert [(r["estimator"], r["rank"], r["gt_column"]) for r in table["rows"]] == [
        ("rival", 1, "cifar10_test_200"), (HOSTILE, 2, "cifar10_test_200")]
    [apart] = table["apart"]
    [row] = apart["rows"]
    assert apart["id"] == "other-gt" and row["gt_column"] == "cifar10valid_test_200" and row["cells"][0]["text"] == "1.0000"
    assert "rank" not in row and not row["significant"] and row["ci_text"] != "-"  # an interval, no rank, no test
    html = _render_index(table)
    ranked = html.split('id="table-nb201"')[1].split("</table>")[0]
    other = html.split('id="other-gt-nb201"')[1].split("</table>")[0]
    assert ranked.count("<tr class=") == 2 and "cifar10valid_test_200" not in ranked
    assert "<td class=\"name\">cifar10valid_test_200</td>" in other and "&lt;img src=x onerror=alert(1)&gt;" in other
    assert HOSTILE not in html and "judged against the protocol's ground truth <code>cifar10_test_200</code>" in html


def test_sample_rows_rank_only_within_their_sample_and_every_interval_is_on_the_rows_own_architectures(nb201,
                                                                                                    tmp_path):
    ids = nb201.arch_ids[:300]
    gt = nb201.ground_truth("cifar10_test_200", ids)
    good = _accepted(nb201, "good", ids, _noisy(gt, 1.0, 1))
    worse = _accepted(nb201, "worse", ids[10:], _noisy(gt, 6.0, 2)[10:])  # failed on 10 architectures
    tiny = _accepted(nb201, "tiny", ids[:2], gt[:2], sample={"n": 2, "seed": 0})  # KD 1 on two architectures
    small = _accepted(nb201, "small", ids[:50], _noisy(gt[:50], 1.0, 3), sample={"n": 50, "seed": 0})
    rough = _accepted(nb201, "rough", ids[:50], _noisy(gt[:50], 6.0, 4), sample={"n": 50, "seed": 0})
    _, alone = _table([good], nb201, tmp_path / "alone")
    _, table = _table([good, worse, tiny, small, rough], nb201, tmp_path / "all")
    assert [(r["estimator"], r["rank"]) for r in table["rows"]] == [("good", 1), ("worse", 2)]
    # good's interval is on its own 300 architectures: neither the sample's 2 nor worse's 290 shrink it
    assert table["rows"][0]["ci_text"] == alone["rows"][0]["ci_text"] != "-"
    assert table["rows"][1]["ci_text"] != "-"
    assert table["rows"][0]["significant"]  # paired on the 290 architectures both scored
    # each seeded sample is its own table, ranked among the runs on it (the same architectures)
    two, fifty = table["apart"]
    assert [r["estimator"] for r in two["rows"]] == ["tiny"] and two["rows"][0]["ci_text"] == "-"  # 2 archs: none
    assert [(r["estimator"], r["rank"]) for r in fifty["rows"]] == [("small", 1), ("rough", 2)]
    assert fifty["rows"][0]["ci_text"] != "-" and fifty["heading"] == "Runs on a sample of 50 (seed 0)"
    html = _render_index(table)
    assert "sample of 2 (seed 0)" in html.split('id="sample-0-nb201"')[1].split("</table>")[0]
    assert "sample of 2" not in html.split('id="table-nb201"')[1].split("</table>")[0]


@pytest.mark.parametrize("provenance", [
    {"wall_time_s": "1 hour", "environment": {"sessions": {"device": "cuda"}}, "started_at": {"at": 1}},
    {"wall_time_s": 10 ** 400, "environment": {"shards": "cpu"}},
    {"wall_time_s": -5.0, "environment": {"sessions": [7]}},
    {"wall_time_s": True, "environment": [], "estimator_record": "junk"},
    {"environment": {"device": {"x": 1}, "device_name": None}},
])
def test_free_form_provenance_shows_unknown_not_a_crash(provenance, nb201, tmp_path):
    from leaderboard.rows import _cost_hours, _device, _wall_text

    ids = nb201.arch_ids[:40]
    item = _accepted(nb201, "odd", ids, _noisy(nb201.ground_truth("cifar10_test_200", ids), 1.0, 1),
                     provenance=provenance)
    assert _cost_hours([item])[0] is None and _wall_text(provenance.get("wall_time_s")) == "?"
    assert _device(item) in ("?", "? (?)")
    _, table = _table([item], nb201, tmp_path)
    assert table["rows"][0]["hours_text"] == "?" and table["rows"][0]["hours"] == ""
    fine = _accepted(nb201, "fine", ids, np.arange(40.0), provenance={
        "wall_time_s": 7200, "environment": {"sessions": [{"device": "cpu", "device_name": "Xeon"}]}})
    assert _cost_hours([fine])[0] == 2.0 and _device(fine) == "cpu (Xeon)" and _wall_text(7200) == "7200.0"


def test_text_from_result_files_is_never_parsed_as_mathtext():
    from leaderboard import plots

    bad = "$\\foo$"
    assert bad in plots.criteria_vs_budget([bad, "$x_$"], {"KD": [0.1, 0.2]})  # drawn as written
    svg = plots.quality_vs_cost([{"name": bad, "family": "zero-shot", "kd": 0.5, "hours": 0.01},
                                 {"name": "b", "family": "baseline", "kd": 0.3, "hours": 10.0}])
    assert bad in svg and "\\mathdefault" in svg  # the log axis's own tick labels keep mathtext
    assert plots.score_vs_truth(np.arange(5.0), np.arange(5.0), bad).startswith(b"\x89PNG")


def test_one_hostile_accepted_file_cannot_break_the_build(signed_file, signers_file, signing_key, data_dir, tmp_path):
    """Mathtext and a formula in the labels, malformed provenance; a name that climbs out of the site, or
    holds mathtext, is refused by verification (estimator names are plain lowercase ASCII)."""
    from leaderboard.site import build

    raw = json.loads(signed_file.read_text())["result"]
    first = json.loads(json.dumps(raw["snapshots"][0]))
    climbing = {**raw, "estimator": {**raw["estimator"], "name": "../../../../escaped $\\foo$"}}
    (tmp_path / "climbing").mkdir()
    (tmp_path / "climbing" / "c.json").write_text(
        json.dumps(sign_result(ResultFile.model_validate(climbing), load_private_key(signing_key))))
    refused = build([tmp_path / "climbing"], tmp_path / "climbing-site", signers_file, data_dir, resamples=5, jobs=1)
    assert refused.accepted == 0 and "estimator name '../../../../escaped $\\\\foo$' must match" in refused.rejected[0][1]
    shutil.rmtree(tmp_path / "climbing")
    shutil.rmtree(tmp_path / "climbing-site")
    raw["estimator"].update(name="escaped", family="one-shot")
    raw["snapshots"] = [{**first, "label": "$\\bar$"}, {**first, "label": '=HYPERLINK("http://x","y")'}]
    raw["provenance"].update(wall_time_s="soon", environment={"sessions": {"device": "cuda"}}, started_at={"at": 1},
                             estimator_record="junk")
    root = tmp_path / "submissions"
    root.mkdir()
    (root / "h.json").write_text(json.dumps(sign_result(ResultFile.model_validate(raw), load_private_key(signing_key))))
    report = build([root], tmp_path / "site", signers_file, data_dir, resamples=5, jobs=1)
    assert report.accepted == 1 and not report.rejected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site", "submissions"]  # nothing written outside the site
    [page] = (tmp_path / "site" / "estimators").glob("*.html")
    html = page.read_text()
    assert "ground truth: <code>cifar10_test_200</code>; sample of 40 (seed 0) (ranked only among runs on this sample)" in html
    assert "<td class=\"name\">? (?)</td>" not in html and "<td class=\"name\">?</td><td class=\"name\">?</td><td>?</td>" in html
    assert "$\\bar$" in next((tmp_path / "site" / "plots").glob("*-budget.svg")).read_text()
    [analysis] = (tmp_path / "site" / "analyses").iterdir()
    [trends] = analysis.rglob("trends.csv")
    assert trends.resolve().is_relative_to((tmp_path / "site" / "analyses").resolve())
    assert [r[0] for r in csv.reader(trends.open())][1:] == ["$\\bar$", "'=HYPERLINK(\"http://x\",\"y\")"]
    entry = json.loads((analysis / "index.json").read_text())["results"][0]
    assert "malformed" in entry["skipped"]["forgetting"]
    index = (tmp_path / "site" / "index.html").read_text()
    assert "<td>?</td>" in index.split('id="sample-0-nb201"')[1]  # the cost is unknown, not 0 and not a crash


def test_the_leaderboard_and_the_analyses_import_no_torch_and_no_estimator():
    """The leaderboard reads result files: importing it (in a fresh interpreter) loads neither torch nor any
    estimator; the analyses below it import nothing of the leaderboard."""
    code = ("import sys; import suite.analysis.report; below = 'leaderboard' in sys.modules; "
            "import leaderboard.site, leaderboard.collect, leaderboard.tables; "
            "print(below, sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'estimators')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1], capture_output=True,
                         text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False []", out.stdout
