"""Operation slots of the spaces (op_slots / slot_names / candidate_ops / with_op) and the
operation-bias analysis (study A2, Fig 12 and Fig 20): hand-counted example, real NB201."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suite.analysis.op_bias import PAIR_COLUMNS, mutation_pairs, op_bias_analysis
from suite.errors import UsageError
from suite.spaces.nb101 import NB101, NB101_SPACE3, in_space3
from suite.spaces.nb201 import NB201, Nb201Arch
from suite.spaces.nb301 import NB301

SPACES = {"nb201": NB201, "nb301": NB301, "nb101": NB101, "nb101-1shot1-3": NB101_SPACE3}


@pytest.mark.parametrize("name", list(SPACES))
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), slot_pick=st.integers(0, 10**6), op_pick=st.integers(0, 10**6))
def test_with_op_replaces_exactly_one_slot(name, seed, slot_pick, op_pick):
    space = SPACES[name]
    arch = space.sample(np.random.default_rng(seed), 1)[0]
    slots = space.op_slots(arch)
    assert len(space.slot_names(arch)) == len(slots) and set(slots) <= set(space.candidate_ops())
    assert space.parse(space.format(arch)) == arch
    if not slots:  # an NB101 cell without interior vertex
        return
    slot = slot_pick % len(slots)
    assert space.with_op(arch, slot, slots[slot]) == arch  # the same op: the same architecture
    op = space.candidate_ops()[op_pick % len(space.candidate_ops())]
    mutant = space.with_op(arch, slot, op)
    after = space.op_slots(mutant)
    assert after[slot] == op and len(after) == len(slots)
    assert [k for k in range(len(slots)) if after[k] != slots[k]] == ([slot] if op != slots[slot] else [])
    assert space.parse(space.format(mutant)) == mutant
    if name == "nb301":  # the input nodes stay where they were (the node pairs stay sorted)
        assert space.slot_names(mutant) == space.slot_names(arch)
    if name == "nb101-1shot1-3":
        assert in_space3(mutant)


@pytest.mark.parametrize("name", list(SPACES))
def test_bad_slots_and_ops_are_one_line_usage_errors(name):
    space = SPACES[name]
    arch = next(a for a in space.sample(np.random.default_rng(0), 20) if space.op_slots(a))
    n = len(space.op_slots(arch))
    for slot in (-1, n, True, 1.0, "0"):
        with pytest.raises(UsageError, match="slot") as err:
            space.with_op(arch, slot, space.candidate_ops()[0])
        assert "\n" not in str(err.value)
    with pytest.raises(UsageError, match="unknown .*operation") as err:
        space.with_op(arch, 0, "conv7x7")
    assert "\n" not in str(err.value)


def test_slot_labels():
    arch = NB201.parse("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|")
    assert NB201.slot_names(arch) == ("edge 1<-0", "edge 2<-0", "edge 2<-1", "edge 3<-0", "edge 3<-1", "edge 3<-2")
    assert NB201.op_slots(arch) == ("nor_conv_3x3", "skip_connect", "none", "avg_pool_3x3", "nor_conv_1x1", "none")
    genotype = NB301.sample(np.random.default_rng(1), 1)[0]
    names = NB301.slot_names(genotype)
    assert len(names) == 16 and names[0].startswith("normal node 2<-") and names[15].startswith("reduce node 5<-")
    cell = NB101.parse("0111010/0000001/0000001/0000100/0000001/0000001/0000000:in/conv1x1/conv3x3/conv3x3/conv3x3/maxpool/out")
    assert NB101.op_slots(cell) == ("conv1x1-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "maxpool3x3")
    assert NB101.slot_names(cell)[0] == "vertex 1"
    assert NB101.with_op(cell, 4, "conv1x1") == NB101.with_op(cell, 4, "conv1x1-bn-relu")  # short codes too


# --- the analysis on a hand-counted example -----------------------------------------------------

S, C1, C3 = "skip_connect", "nor_conv_1x1", "nor_conv_3x3"


def _example():
    """x0 all skip; x1 / x2: conv3x3 on edge 0 / 1; x3: on both; x4: conv1x1 on edge 0."""
    x0 = Nb201Arch((S,) * 6)
    x1 = NB201.with_op(x0, 0, C3)
    x2 = NB201.with_op(x0, 1, C3)
    x3 = NB201.with_op(x1, 1, C3)
    x4 = NB201.with_op(x0, 0, C1)
    scores = np.array([1.0, 2.0, 2.0, 3.0, 5.0])
    gt = np.array([10.0, 9.0, 11.0, 11.0, 10.0])
    return [x0, x1, x2, x3, x4], scores, gt


def _rows(out_dir, stem):
    return {(r["op_from"], r["op_to"]): r for r in json.loads((out_dir / f"{stem}-op-bias.json").read_text())["pairs"]}


def test_hand_counted_example(tmp_path):
    archs, scores, gt = _example()
    found = mutation_pairs(NB201, archs, "format")
    assert {k: len(v["i"]) for k, v in found.items() if len(v["i"])} == {
        (S, C3): 4, (C3, S): 4, (S, C1): 1, (C1, S): 1, (C1, C3): 1, (C3, C1): 1}
    assert sorted(zip(found[(S, C3)]["i"].tolist(), found[(S, C3)]["j"].tolist(), found[(S, C3)]["slot"].tolist())) == [
        (0, 1, 0), (0, 2, 1), (1, 3, 1), (2, 3, 0)]

    summary = op_bias_analysis(NB201, archs, scores, gt, tmp_path, "ex", min_pairs=2, match="format")
    rows = _rows(tmp_path, "ex")
    assert len(rows) == 5 * 4  # every ordered pair of different ops, found or not
    up = rows[(S, C3)]  # dscore +1 each; dGT -1, +1, +2, 0
    assert (up["n"], up["score_up_gt_up"], up["score_up_gt_down"], up["score_up_gt_tie"]) == (4, 2, 1, 1)
    assert (up["p_score_up"], up["p_gt_up"], up["score_gain_gt_not"], up["frac_score_gain_gt_not"]) == (1.0, 0.5, 2, 0.5)
    assert (up["mean_dscore"], up["mean_dgt"]) == (1.0, 0.5)
    down = rows[(C3, S)]
    assert (down["score_down_gt_up"], down["score_down_gt_down"], down["score_down_gt_tie"]) == (1, 2, 1)
    assert (down["p_score_up"], down["p_gt_up"], down["frac_score_gain_gt_not"]) == (0.0, 0.25, None)
    assert (rows[(S, C1)]["score_up_gt_tie"], rows[(S, C1)]["frac_score_gain_gt_not"]) == (1, 1.0)
    assert rows[(C1, C3)]["score_down_gt_down"] == 1 and rows[(C3, C1)]["score_up_gt_up"] == 1
    assert rows[(C3, C1)]["frac_score_gain_gt_not"] == 0.0
    assert rows[("none", S)]["n"] == 0 and rows[("none", S)]["p_score_up"] is None
    # the headline: the largest share of score gains without a GT gain among pairs with >= 2 pairs
    assert summary["headline"]["op_from"] == S and summary["headline"]["op_to"] == C3
    assert summary["n_pairs"] == 12 and summary["n_canonical"] == 0
    assert summary["files"] == ["ex-op-bias.csv", f"ex-op-bias-{S}-to-{C3}.svg", "ex-op-slots.csv", "ex-op-slots.svg",
                                "ex-op-bias.json"]
    table = pd.read_csv(tmp_path / "ex-op-bias.csv")
    assert tuple(table.columns) == PAIR_COLUMNS and len(table) == 20
    assert table.set_index(["op_from", "op_to"]).loc[(S, C3), "score_up_gt_down"] == 1
    slots = pd.read_csv(tmp_path / "ex-op-slots.csv")
    assert list(slots.columns) == ["arch_index", "slot", "op", "score", "gt"] and len(slots) == 5 * 6
    assert slots[(slots.arch_index == 4) & (slots.slot == 0)][["op", "score", "gt"]].values.tolist() == [[C1, 5.0, 10.0]]
    assert (tmp_path / f"ex-op-bias-{S}-to-{C3}.svg").read_text().startswith("<?xml")

    # byte-identical for identical input; a raster slot plot above the point limit; named pairs plotted
    op_bias_analysis(NB201, archs, scores, gt, tmp_path / "again", "ex", min_pairs=2, match="format")
    for name in summary["files"]:
        assert (tmp_path / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name
    none = op_bias_analysis(NB201, archs, scores, gt, tmp_path / "none", "ex", pairs=[(C1, C3)], match="format",
                            scatter_limit=10)
    assert none["headline"] is None and none["plotted"] == [[C1, C3]]  # no pair has 30 mutation pairs
    assert none["slot_plot"] == "ex-op-slots.png" and (tmp_path / "none" / "ex-op-slots.png").read_bytes()[:4] == b"\x89PNG"


def test_nonfinite_scores_rank_worst_as_the_protocol_ranks_them(tmp_path):
    archs, scores, gt = _example()
    scores[3] = np.nan  # x3 ranks below everything: x1 -> x3 and x2 -> x3 lose score
    op_bias_analysis(NB201, archs, scores, gt, tmp_path, "nan", match="format")
    up = _rows(tmp_path, "nan")[(S, C3)]
    assert (up["n"], up["n_nonfinite"], up["score_up_gt_up"], up["score_up_gt_down"]) == (4, 0, 1, 1)
    assert (up["score_down_gt_up"], up["score_down_gt_tie"]) == (1, 1)
    gt[3] = np.nan  # a non-finite GT leaves its pairs out
    op_bias_analysis(NB201, archs, scores, gt, tmp_path, "nangt", match="format")
    up = _rows(tmp_path, "nangt")[(S, C3)]
    assert (up["n"], up["n_nonfinite"]) == (2, 2)


def test_isomorphic_mutants_are_found_through_the_canonical_form(tmp_path):
    # node 1 feeds nothing (edges 2<-1 and 3<-1 are none): the op on edge 1<-0 does not matter
    y0 = Nb201Arch((C3, C3, "none", C3, "none", C3))
    z = NB201.with_op(NB201.with_op(y0, 3, "avg_pool_3x3"), 0, C1)  # y0's edge-3<-0 mutant, up to isomorphism
    assert NB201.canonical(z) == NB201.canonical(NB201.with_op(y0, 3, "avg_pool_3x3")) and z != NB201.with_op(y0, 3, "avg_pool_3x3")
    exact = mutation_pairs(NB201, [y0, z], "format")
    assert sum(len(v["i"]) for v in exact.values()) == 0  # they differ on two edges
    found = mutation_pairs(NB201, [y0, z])
    got = {k: (v["i"].tolist(), v["j"].tolist(), v["canonical"].tolist()) for k, v in found.items() if len(v["i"])}
    # the dead-edge mutants are isomorphic to their own origin: no pair
    assert got == {(C3, "avg_pool_3x3"): ([0], [1], [True]), ("avg_pool_3x3", C3): ([1], [0], [True])}
    summary = op_bias_analysis(NB201, [y0, z], np.array([1.0, 2.0]), np.array([1.0, 1.0]), tmp_path, "iso", min_pairs=1)
    assert summary["n_canonical"] == 2 and summary["headline"]["op_to"] == "avg_pool_3x3"


def test_input_errors(tmp_path):
    archs, scores, gt = _example()
    with pytest.raises(ValueError, match="appears twice"):
        mutation_pairs(NB201, archs + archs[:1])
    with pytest.raises(ValueError, match="must be"):
        op_bias_analysis(NB201, archs, scores[:3], gt, tmp_path, "bad")
    with pytest.raises(UsageError, match="not two different operations"):
        op_bias_analysis(NB201, archs, scores, gt, tmp_path, "bad", pairs=[(S, "conv7x7")])
    with pytest.raises(UsageError, match="match must be"):
        mutation_pairs(NB201, archs, "isomorphism")


def test_small_nb301_and_nb101_sets(tmp_path):
    rng = np.random.default_rng(5)
    genotypes = NB301.sample(rng, 40)
    archs = list(dict.fromkeys(genotypes + [NB301.with_op(g, 9, "dil_conv_3x3") for g in genotypes]))
    scores = np.array([NB301.param_count(a) for a in archs], dtype=float)
    summary = op_bias_analysis(NB301, archs, scores, rng.random(len(archs)), tmp_path, "n3", min_pairs=1)
    assert summary["n_pairs"] == 2 * (len(archs) - 40) and summary["n_canonical"] == 0
    cells = list(dict.fromkeys(NB101_SPACE3.sample(rng, 60)))
    summary = op_bias_analysis(NB101_SPACE3, cells, rng.random(len(cells)), rng.random(len(cells)), tmp_path, "n1")
    assert pd.read_csv(tmp_path / "n1-op-slots.csv").shape[0] == sum(len(NB101.op_slots(c)) for c in cells)


# --- real NB201 ground truth ------------------------------------------------------------------------

def test_real_nb201_param_count_always_prefers_conv3x3_over_conv1x1(nb201, tmp_path):
    """Score = the parameter count: nor_conv_1x1 -> nor_conv_3x3 always raises it, so P(score up) = 1
    and the GT side of the pairs equals a direct pandas join of the table on the five other edges."""
    archs = nb201.archs
    scores = np.array([NB201.param_count(a) for a in archs], dtype=np.float64)
    gt = nb201.ground_truth()
    summary = op_bias_analysis(NB201, archs, scores, gt, tmp_path, "params", pairs=[(C1, C3)])
    rows = _rows(tmp_path, "params")
    row = rows[(C1, C3)]
    assert row["n"] == 6 * 5**5 and row["p_score_up"] == 1.0 and row["n_canonical"] == 0
    assert row["score_down_gt_up"] + row["score_tie_gt_up"] + row["score_tie_gt_tie"] == 0

    table = pd.DataFrame([re.findall(r"([a-z0-9_]+)~\d", text) for text in nb201.table["arch"]],
                         columns=[f"e{k}" for k in range(6)])
    table["gt"] = nb201.table["cifar10_test_200"].to_numpy()
    deltas = []
    for edge in range(6):
        others = [f"e{k}" for k in range(6) if k != edge]
        left = table[table[f"e{edge}"] == C1]
        right = table[table[f"e{edge}"] == C3]
        joined = left.merge(right, on=others, suffixes=("_from", "_to"))
        deltas.append(joined["gt_to"] - joined["gt_from"])
    dgt = pd.concat(deltas).to_numpy()
    assert len(dgt) == row["n"]
    assert (row["score_up_gt_up"], row["score_up_gt_down"], row["score_up_gt_tie"]) == (
        int((dgt > 0).sum()), int((dgt < 0).sum()), int((dgt == 0).sum()))
    assert row["p_gt_up"] == pytest.approx((dgt > 0).mean(), abs=0) and row["mean_dgt"] == pytest.approx(dgt.mean())
    assert summary["n_pairs"] == 15_625 * 6 * 4 and summary["slot_plot"] == "params-op-slots.png"
    assert f"params-op-bias-{C1}-to-{C3}.svg" in summary["files"]
    print("\nreal NB201, score = params, GT cifar10_test_200:", json.dumps(
        {"1x1->3x3": {k: row[k] for k in ("n", "p_score_up", "p_gt_up", "frac_score_gain_gt_not", "mean_dgt")},
         "headline": {k: summary["headline"][k] for k in ("op_from", "op_to", "n", "p_score_up", "p_gt_up",
                                                          "frac_score_gain_gt_not")}}))
