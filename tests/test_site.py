"""The static site: only verified files, escaped names, byte-identical rebuilds, downloads that match."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
from html.parser import HTMLParser

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
    assert "rejected" in log and "tampered.json: digest" in log and "2 verified files, 1 rejected" in log
    index = (tmp_path / "a" / "index.html").read_text()
    assert "&lt;img src=x onerror=alert(1)&gt;" in index and HOSTILE not in index
    assert "0.99" not in index  # the tampered KD is not shown
    pages = list((tmp_path / "a" / "estimators").glob("*.html"))
    assert len(pages) == 2 and all(HOSTILE not in p.read_text() for p in pages)
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
