"""Reference lines: the GT noise ceiling and 12-epoch training on the real NB201 table, their costs,
and their place in the leaderboard (shown, never ranked)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from scipy.stats import kendalltau

from suite.cli import main
from suite.errors import UsageError
from suite.keys import load_private_key
from suite.registry import get_estimator_class
from suite.runner import RunOptions, RunSpec, execute
from suite.signing import write_signed_result


@pytest.fixture(scope="module")
def reference_results(nb201, data_dir):
    """gt_noise_ceiling, train_12_epochs and random on all 15,625 NB201 cells, seed 20."""
    specs = [RunSpec("nb201", name, data_dir=data_dir) for name in ("gt_noise_ceiling", "train_12_epochs", "random")]
    return {r.estimator.name: r for r in execute(specs, RunOptions(progress="none"), loaded=nb201).results}


def test_the_noise_ceiling_and_12_epoch_lines_match_the_tables_own_correlations(reference_results, nb201):
    ceiling, twelve = reference_results["gt_noise_ceiling"], reference_results["train_12_epochs"]
    gt = nb201.ground_truth("cifar10_test_200")
    for result, column, kd, top5 in ((ceiling, "cifar10valid_test_200", 0.8965, 0.7247),
                                     (twelve, "cifar10_test_12", 0.7001, 0.5915)):
        assert result.estimator.family == "reference" and result.benchmark.ground_truth == "cifar10_test_200"
        assert len(result.arch_ids) == 15_625
        np.testing.assert_array_equal(result.scores(), nb201.ground_truth(column, np.array(result.arch_ids)))
        values = result.snapshots[-1].criteria.values
        # the criteria equal an independent computation, and the figures (KD ~0.90 / 0.70, P@top5% ~0.72 / 0.59)
        assert values["KD"] == pytest.approx(kendalltau(nb201.ground_truth(column), gt).statistic, abs=1e-12)
        assert values["KD"] == pytest.approx(kd, abs=5e-5) and values["P@top5%"] == pytest.approx(top5, abs=5e-5)
    assert reference_results["random"].estimator.family == "reference"
    assert abs(reference_results["random"].snapshots[-1].criteria.values["KD"]) < 0.02


def test_reference_costs_say_what_they_stand_for_and_where_the_figure_comes_from(reference_results, tmp_path, data_dir):
    ceiling = reference_results["gt_noise_ceiling"].provenance["estimator_record"]["cost"]
    twelve = reference_results["train_12_epochs"].provenance["estimator_record"]["cost"]
    # without an import record: the documented estimate, 9.14 s per epoch on 25,000 images
    assert ceiling["kind"] == "estimate" and ceiling["seconds_per_arch"] == pytest.approx(200 * 9.14)
    assert twelve["kind"] == "estimate" and twelve["seconds_per_arch"] == pytest.approx(12 * 9.14 * 2)
    assert "Mirofil/SOTL_NAS" in ceiling["source"]
    assert "estimator_record" not in reference_results["random"].provenance  # chance costs its wall time
    # an import of the official release records the summed training times; those win
    (tmp_path / "nb201").mkdir()
    (tmp_path / "nb201" / "nb201_ground_truth.json").write_text(
        json.dumps({"train_time_s": {"cifar10valid_200": 15_625 * 2000.0, "cifar10_12": 15_625 * 300.0}}))
    cost = get_estimator_class("gt_noise_ceiling")().cost(tmp_path)
    assert cost == {"seconds_per_arch": 2000.0, "kind": "recorded", "source": cost["source"]}
    assert get_estimator_class("train_12_epochs")().cost(tmp_path)["seconds_per_arch"] == 300.0


def test_reference_lines_refuse_other_spaces():
    with pytest.raises(UsageError, match="does not support the nb301 space"):
        execute([RunSpec("nb301-partial", "gt_noise_ceiling")], RunOptions(progress="none"))


def test_reference_lines_are_shown_but_never_ranked(reference_results, signed_file, signers_file, signing_key,
                                                    data_dir, tmp_path, capsys):
    root = tmp_path / "submissions"
    (root / "a").mkdir(parents=True)
    (root / "a" / "params.json").write_bytes(signed_file.read_bytes())
    key = load_private_key(signing_key)
    for name, result in reference_results.items():
        write_signed_result(result, root / "a" / f"{name}.json", key)

    assert main(["leaderboard", "table", str(root)]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "| nb201" in line]
    cells = {c[2]: c for c in ([c.strip() for c in line.split("|")[1:5]] for line in lines)}
    assert cells.pop("params") == ["1", "nb201", "params", "sample 40 (seed 0)"]  # the only ranked row
    assert sorted(cells) == ["gt_noise_ceiling", "random", "train_12_epochs"]
    assert [c[0] for c in cells.values()] == ["ref", "ref", "ref"]
    assert "never ranked" in out

    assert main(["leaderboard", "build", str(root), "--out", str(tmp_path / "site"), "--signers", str(signers_file),
                 "--data-dir", str(data_dir), "--bootstrap", "10", "--no-analyses"]) == 0
    index = (tmp_path / "site" / "index.html").read_text()
    ranked = index.split('id="table-nb201"')[1].split("</table>")[0]  # whole-subset estimators: none here
    sample = index.split('id="sample-0-nb201"')[1].split("</table>")[0]  # params ran on a sample of 40
    reference = index.split('id="reference-nb201"')[1].split("</table>")[0]
    assert ">params<" in sample and "<td data-sort=\"1\">1</td>" in sample
    assert "gt_noise_ceiling" not in ranked + sample and ">random<" not in ranked + sample
    for name in ("gt_noise_ceiling", "train_12_epochs", "random"):
        assert f">{name}<" in reference
    # the cost column charges the ceiling its 200-epoch trainings (15,625 x 1,828 s = 7,934 h) and says why
    assert re.search(r"<td>7,934</td>", reference) and "Mirofil/SOTL_NAS" in reference
    assert "wall time of the run" in reference  # random: its own run
    plot = (tmp_path / "site" / "plots" / "nb201-quality-vs-cost.svg").read_text()
    assert "gt_noise_ceiling" in plot and "train_12_epochs" in plot
