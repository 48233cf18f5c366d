"""The built site in a real headless Chromium (Debian's, driven by Playwright): no console errors,
sorting and filtering work, hostile text in a result (a config value; names must be plain ASCII since
verify refuses others) is shown as text, and a screenshot is taken."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from suite.cli import main
from suite.keys import load_private_key
from suite.results import ResultFile
from suite.signing import sign_result

HOSTILE = "<img src=x onerror=alert(1)>"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def site(tmp_path_factory, signed_file, signers_file, signing_key, data_dir):
    root = tmp_path_factory.mktemp("browser") / "submissions"
    root.mkdir()
    shutil.copy(signed_file, root / "params.json")
    raw = json.loads(signed_file.read_text())["result"]
    raw["estimator"].update(name="hostile", family="zero-shot", config={"note": HOSTILE})  # not installed: config unchecked
    (root / "hostile.json").write_text(json.dumps(sign_result(ResultFile.model_validate(raw), load_private_key(signing_key))))
    raw["estimator"].update(name="flops-like", family="baseline", config={})
    raw["snapshots"][0]["scores"] = raw["snapshots"][0]["scores"][::-1]
    import numpy as np

    from suite.benchmarks import get_benchmark
    from suite.metrics import compute_criteria
    from suite.results import decode_scores

    gt = get_benchmark("nb201").load(data_dir).ground_truth()[np.array(raw["arch_ids"])]
    raw["snapshots"][0]["criteria"]["values"] = compute_criteria(decode_scores(raw["snapshots"][0]["scores"]), gt).values
    (root / "reversed.json").write_text(json.dumps(sign_result(ResultFile.model_validate(raw), load_private_key(signing_key))))
    out = root.parent / "site"
    assert main(["leaderboard", "build", str(root), "--out", str(out), "--signers", str(signers_file),
                 "--data-dir", str(data_dir), "--bootstrap", "20"]) == 0
    return out


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        if os.environ.get("SUITE_REQUIRE_BROWSER"):
            pytest.fail("Chromium is not installed; .ci/run installs Debian's chromium")
        pytest.skip("Chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def _open(browser, url: str):
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.goto(url)
    page.wait_for_load_state("load")
    return page, problems


def test_every_page_loads_without_console_errors(browser, site: Path):
    pages = [site / "index.html", *sorted((site / "estimators").glob("*.html")), *sorted((site / "benchmarks").glob("*.html"))]
    assert len(pages) == 5
    for path in pages:
        page, problems = _open(browser, path.as_uri())
        assert problems == [], (path.name, problems)
        broken = page.evaluate("Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)")
        assert broken == [], (path.name, broken)
        page.close()


def test_sorting_filtering_escaping_and_a_screenshot(browser, site: Path, tmp_path):
    page, problems = _open(browser, (site / "index.html").as_uri())
    table = page.locator("#sample-0-nb201")  # the fixture's runs are on a sample of 40: ranked in their own table
    assert "sortable" in table.get_attribute("class")

    def column(index: int) -> list[str]:
        return table.locator("tbody tr").evaluate_all(
            f"rows => rows.filter(r => !r.hidden).map(r => r.cells[{index}].getAttribute('data-sort') ?? r.cells[{index}].textContent.trim())")

    kd = 7  # rank, estimator, family, ground truth, sample, seeds, n, then KD
    initial = [float(v) for v in column(kd)]
    assert initial == sorted(initial, reverse=True)  # built sorted by KD, best first
    table.locator("thead th").nth(kd).click()
    ascending = [float(v) for v in column(kd)]
    assert ascending == sorted(initial) and table.locator("thead th").nth(kd).get_attribute("aria-sort") == "ascending"
    table.locator("thead th").nth(kd).click()
    assert [float(v) for v in column(kd)] == sorted(initial, reverse=True)

    notes = table.locator("tbody td.name span.ci").all_text_contents()
    assert f"note={HOSTILE}" in notes  # shown as text
    assert page.locator("img[src='x']").count() == 0

    page.select_option("#family-filter", "baseline")
    assert sorted(column(2)) == ["baseline", "baseline"]
    page.select_option("#family-filter", "all")
    assert len(column(2)) == 3

    shot = tmp_path / "index.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    assert problems == []
