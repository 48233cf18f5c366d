"""Zero-shot estimators on NB201: presets, supernet sharing, fusion, per-batch values, vote, CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from estimators.zero_shot import measures as M
from estimators.zero_shot.engine import PRESETS, ZeroShotEngine
from estimators.zero_shot.vote import copeland_scores
from suite.cli import main
from suite.results import read_result
from suite.spaces.nb201 import NB201, enumerate_archs, param_count, parse_arch
from suite.spaces.nb201.network import count_parameters
from conftest import result_path

ALL = list(M.ALL_MEASURES)
ARCH_A = parse_arch("|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_3x3~1|none~2|")
ARCH_B = parse_arch("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
ALL_NONE = parse_arch("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")


def _engine(cifar, preset="study", batches=1, batch_size=8, seed=20):
    return ZeroShotEngine(PRESETS[preset], batches, batch_size, seed, NB201, lambda: cifar, torch.device("cpu"))


def test_supernet_subnets_share_weights_per_edge_and_op():
    torch.manual_seed(20)
    supernet = NB201.build_supernet()
    a, b = supernet.subnet(ARCH_A), supernet.subnet(ARCH_B)
    # edge 0 is nor_conv_3x3 in both: identical weights; edge 1 differs (1x1 vs 3x3).
    assert torch.equal(a.layers[0].edges[0][1].weight, b.layers[0].edges[0][1].weight)
    assert a.layers[0].edges[1][1].weight.shape != b.layers[0].edges[1][1].weight.shape
    assert torch.equal(a.stem[0].weight, b.stem[0].weight)
    # copies, not views: changing one sub-network leaves the supernet and the other alone
    with torch.no_grad():
        a.stem[0].weight.add_(1.0)
    assert torch.equal(b.stem[0].weight, supernet.stem[0].weight)
    assert count_parameters(a) == param_count(ARCH_A, cell_bn_affine=False)


def test_subnet_does_not_depend_on_build_order():
    torch.manual_seed(20)
    supernet = NB201.build_supernet()
    first = supernet.subnet(ARCH_B).state_dict()
    supernet.subnet(ARCH_A)
    again = supernet.subnet(ARCH_B).state_dict()
    assert all(torch.equal(first[k], again[k]) for k in first)


@pytest.mark.parametrize("arch", [ARCH_A, ALL_NONE, *list(enumerate_archs())[::1777]])
def test_analytic_relu_count_equals_hooked_count(arch):
    with torch.device("meta"):
        net = NB201.build_network(arch, cell_bn_affine=False)
    assert M.relu_count(net) == NB201.relu_count(arch)


def test_fused_and_separate_measures_agree(cifar):
    engine = _engine(cifar, batches=2)
    for arch in (ARCH_A, ARCH_B):
        fused = engine.evaluate(arch, ALL)
        for name in ALL:
            alone = engine.evaluate(arch, [name])[name]
            np.testing.assert_allclose(alone, fused[name], rtol=1e-6, err_msg=name)
        assert fused["snip"].shape == (2,) and fused["synflow"].shape == (1,)


def test_scores_are_bit_identical_across_engines_and_orders(cifar):
    first = [_engine(cifar).evaluate(a, ALL) for a in (ARCH_A, ARCH_B)]
    second = [_engine(cifar).evaluate(a, ALL) for a in (ARCH_B, ARCH_A)][::-1]
    for x, y in zip(first, second):
        for name in ALL:
            assert x[name].tobytes() == y[name].tobytes(), name


def test_seeds_change_the_initialisation(cifar):
    a = _engine(cifar, seed=20).evaluate(ARCH_A, ["synflow", "snip"])
    b = _engine(cifar, seed=2020).evaluate(ARCH_A, ["synflow", "snip"])
    assert a["synflow"][0] != b["synflow"][0] and a["snip"][0] != b["snip"][0]


def test_study_batches_are_the_scoring_split_in_order(cifar):
    from suite.data.cifar10 import normalize

    batches = _engine(cifar, batches=2, batch_size=4).batches()
    images, labels = cifar.split("score")
    assert torch.equal(batches[1][0], normalize(images[4:8], "exact"))
    assert batches[1][1].tolist() == labels[4:8].tolist()


def test_abdelfattah_batch_is_seeded_augmented_and_legacy_normalised(cifar):
    one = _engine(cifar, preset="abdelfattah2021", batch_size=64).batches()
    two = _engine(cifar, preset="abdelfattah2021", batch_size=64, seed=2020).batches()  # preset fixes seed 42
    assert len(one) == 1 and one[0][0].shape == (64, 3, 32, 32)
    assert torch.equal(one[0][0], two[0][0])
    # legacy std is smaller than the exact one, so the normalised spread is wider than "exact"'s
    assert PRESETS["abdelfattah2021"].normalization == "legacy"


def test_an_input_independent_cell_gives_a_nonfinite_jacob_cov(cifar):
    value = _engine(cifar).evaluate(ALL_NONE, ["jacob_cov"])["jacob_cov"][0]
    assert math.isnan(value)


def test_copeland_hand_case():
    # three measures over three archs; majority: a > b (2:1), b > c (2:1), a > c (3:0)
    values = np.array([[3, 1, 2], [2, 2, 1], [1, 3, 0]], dtype=float)
    assert copeland_scores(values).tolist() == [2.0, 0.0, -2.0]


def test_copeland_ranks_nan_last():
    values = np.array([[np.nan, np.nan, np.nan], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    assert copeland_scores(values).tolist() == [-2.0, 0.0, 2.0]


def test_copeland_ranks_an_overflowed_measure_last():
    # an overflowed +inf is no win: row 0 loses measure 0 to both others, as with -inf
    values = np.array([[np.inf, 1, 3], [5, 2, 2], [4, 3, 1]], dtype=float)
    assert copeland_scores(values).tolist() == [-2.0, 2.0, 0.0]
    assert copeland_scores(values).tolist() == copeland_scores(np.where(np.isinf(values), -np.inf, values)).tolist()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40))
def test_copeland_of_one_repeated_measure_keeps_its_order(scores):
    scores = np.asarray(scores)
    copeland = copeland_scores(np.stack([scores] * 3, axis=1))
    expected = np.array([(s > scores).sum() - (s < scores).sum() for s in scores], dtype=float)
    assert copeland.tolist() == expected.tolist()


def _run(args, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_fused_run_writes_per_batch_results(tmp_path, data_dir, cifar, cache_dir, capsys):
    code, out, err = _run(["run", "-e", "snip,synflow,vote,params", "-b", "nb201", "--sample", "5",
                           "--batches", "2", "-c", "batch_size=8", "--out-dir", str(tmp_path), "-q",
                           "--data-dir", str(data_dir), "--cache-dir", str(cache_dir)], capsys)
    assert code == 0, err
    snip = read_result(result_path(tmp_path / "nb201" / "snip"))
    assert snip.estimator.config == {"preset": "study", "batches": 2, "batch_size": 8}
    assert len(snip.snapshots[0].per_batch) == 2
    per_batch = np.array(snip.snapshots[0].per_batch, dtype=float)
    assert snip.scores().tolist() == snip.scores(batches=2).tolist() == per_batch.mean(axis=0).tolist()
    assert snip.scores(batches=1).tolist() == per_batch[0].tolist()
    assert "first 1 batches" in out
    synflow = read_result(result_path(tmp_path / "nb201" / "synflow"))
    assert synflow.estimator.config == {"preset": "study"} and synflow.snapshots[0].per_batch is None
    vote = read_result(result_path(tmp_path / "nb201" / "vote"))
    assert sorted(vote.snapshots[0].components) == ["jacob_cov", "snip", "synflow"]
    assert vote.snapshots[0].components["synflow"] == synflow.snapshots[0].scores
    assert vote.provenance["swept_with"] == ["snip", "synflow", "vote", "params"]
    # the fused sweep gives what a run of the estimator alone gives
    code, _, err = _run(["run", "-e", "snip", "-b", "nb201", "--sample", "5", "-c", "batches=2",
                         "-c", "batch_size=8", "--out", str(tmp_path / "alone.json"), "-q",
                         "--data-dir", str(data_dir), "--cache-dir", str(cache_dir)], capsys)
    assert code == 0, err
    np.testing.assert_allclose(read_result(tmp_path / "alone.json").scores(), snip.scores(), rtol=1e-6)


def test_cli_abdelfattah_preset_defaults_to_its_ground_truth(tmp_path, data_dir, cache_dir, cifar, capsys):
    code, out, err = _run(["run", "-e", "synflow", "-b", "nb201", "--sample", "3", "--preset", "abdelfattah2021",
                           "--out", str(tmp_path / "r.json"), "-q", "--json",
                           "--data-dir", str(data_dir), "--cache-dir", str(cache_dir)], capsys)
    assert code == 0, err
    assert read_result(tmp_path / "r.json").benchmark.ground_truth == "cifar10valid_test_200"
    assert json.loads(out)["final"]["n"] == 3


@pytest.mark.parametrize("args, message", [
    (["-e", "snip", "-c", "preset=abdelfattah2021", "-c", "batches=3"], "uses 1 batch"),
    (["-e", "snip", "-c", "preset=nope"], "unknown zero-shot preset"),
    (["-e", "snip,synflow", "-c", "nonsense=1"], "has option 'nonsense'"),
    (["-e", "snip,synflow", "--out", "x.json"], "use --out-dir"),
    (["-e", "snip,snip"], "named twice"),
    (["-e", "snip", "--batches", "2", "-c", "batches=3"], "both given"),
])
def test_cli_refuses_bad_zero_shot_options(args, message, capsys):
    code, _, err = _run(["run", *args, "-b", "nb201", "--sample", "2"], capsys)
    assert code == 2 and message in err and err.count("\n") == 1


def test_score_fused_splits_by_batch_size_and_matches_each_alone(data_dir, cache_dir, cifar):
    from estimators.zero_shot import GradNorm, Snip, Synflow, ZeroShotEstimator
    from suite.estimator import RunContext

    ctx = RunContext(space=NB201, seed=20, data_dir=data_dir, cache_dir=cache_dir)
    ctx._cifar = cifar

    def fresh():
        estimators = [Snip(batch_size=8, batches=2), GradNorm(batch_size=4), Synflow()]
        for e in estimators:
            e.prepare(ctx)
        return estimators

    archs = [ARCH_A, ARCH_B]
    fused = ZeroShotEstimator.score_fused(fresh(), archs, ctx)
    alone = [e.score(archs, ctx) for e in fresh()]
    assert [f.shape for f in fused] == [(2, 2), (2, 1), (2,)]
    for f, a in zip(fused, alone):
        np.testing.assert_allclose(f, a, rtol=1e-6)
