"""Criteria: hand-computed cases, properties, agreement with scipy, the tie rule, non-finite policy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from suite.metrics import (
    PRECISION_KS,
    RANKING_KS,
    compute_criteria,
    k_label,
    precision_at_bottom,
    precision_at_top,
    ranking_at_k,
    true_ranks,
    worst_filled,
)

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


def distinct_vectors(min_size=2, max_size=60):
    return st.lists(finite, min_size=min_size, max_size=max_size, unique=True).map(np.array)


def test_k_labels():
    assert [k_label(k) for k in PRECISION_KS] == ["0.1%", "0.5%", "1%", "5%", "10%", "50%", "100%"]
    assert [k_label(k) for k in RANKING_KS] == ["0.1%", "0.5%", "1%", "5%", "10%", "20%"]


def test_true_ranks_share_the_better_rank_on_ties():
    assert true_ranks(np.array([5.0, 9.0, 5.0, 1.0])).tolist() == [1, 0, 1, 3]


def test_hand_computed_case():
    # 10 archs, GT = 0..9 (9 best). Scores swap the best two and put the worst arch third.
    gt = np.arange(10, dtype=float)
    scores = np.array([7, 1, 2, 3, 4, 5, 6, 0, 9, 8], dtype=float)  # arch 8 predicted best, then 9, then 0
    # k = floor(10 * 0.2) = 2: predicted top-2 = {8, 9} = true top-2 -> 1.0
    assert precision_at_top(scores, gt, 0.2) == 1.0
    # k = 3: predicted top-3 = {8, 9, 0}; true top-3 = {9, 8, 7} -> 2/3
    assert precision_at_top(scores, gt, 0.3) == pytest.approx(2 / 3)
    # predicted bottom-2 = {7, 1}; true bottom-2 = {0, 1} -> 1/2
    assert precision_at_bottom(scores, gt, 0.2) == 0.5
    # top-1 = arch 8 with true rank 2 (1-based) -> BR = WR = 0.2
    assert ranking_at_k(scores, gt, 0.1) == (0.2, 0.2)
    # top-3 = {8, 9, 0}: true 1-based ranks {2, 1, 10} -> BR 0.1, WR 1.0
    assert ranking_at_k(scores, gt, 0.3) == (0.1, 1.0)
    crit = compute_criteria(scores, gt).values
    assert crit["KD"] == pytest.approx(stats.kendalltau(scores, gt).statistic)


def test_ties_go_against_the_estimator():
    gt = np.array([1.0, 2.0, 3.0, 4.0])
    scores = np.array([0.0, 5.0, 5.0, 5.0])  # three-way tie at the top
    # top-1 out of the tie takes the worst GT in it (arch 1, true rank 2) -> P@top = 0
    assert precision_at_top(scores, gt, 0.25) == 0.0
    assert ranking_at_k(scores, gt, 0.25) == (0.75, 0.75)
    # a constant score earns nothing, whatever the order of the architectures
    const = np.zeros(4)
    assert precision_at_top(const, gt, 0.5) == 0.0 and precision_at_bottom(const, gt, 0.5) == 0.0
    assert precision_at_top(const[::-1], gt[::-1], 0.5) == 0.0


def test_k_zero_is_undefined():
    crit = compute_criteria(np.arange(50.0), np.arange(50.0)).values
    assert crit["P@top1%"] is None and crit["BR@0.1%"] is None and crit["P@top5%"] == 1.0


@given(distinct_vectors(min_size=10))
def test_perfect_order(gt):
    crit = compute_criteria(gt.copy(), gt).values
    n = len(gt)
    assert crit["KD"] == pytest.approx(1.0) and crit["SpearmanR"] == pytest.approx(1.0)
    for k in PRECISION_KS:
        if np.floor(n * k) >= 1:
            assert crit[f"P@top{k_label(k)}"] == 1.0 and crit[f"P@bottom{k_label(k)}"] == 1.0
    for k in RANKING_KS:
        if np.floor(n * k) >= 1:
            assert crit[f"BR@{k_label(k)}"] == pytest.approx(1 / n)
            assert crit[f"WR@{k_label(k)}"] == pytest.approx(np.floor(n * k + 1e-9) / n)


@given(distinct_vectors(min_size=10))
def test_reversed_order(gt):
    crit = compute_criteria(-gt, gt).values
    assert crit["KD"] == pytest.approx(-1.0) and crit["SpearmanR"] == pytest.approx(-1.0)
    n = len(gt)
    if n >= 20:
        k = int(np.floor(n * 0.05))
        assert crit["P@top5%"] == 0.0 and crit["WR@5%"] == 1.0
        assert crit["BR@5%"] == pytest.approx((n - k + 1) / n)


@settings(max_examples=60)
@given(st.lists(st.tuples(finite, st.integers(0, 5)), min_size=3, max_size=60), st.randoms())
def test_invariant_to_monotone_transforms_and_order(pairs, rnd):
    scores = np.array([p[0] for p in pairs])
    gt = np.array([float(p[1]) for p in pairs])  # GT with ties
    base = compute_criteria(scores, gt).values
    mapped = np.arctan(scores / 1e5) * 3 + 7  # strictly increasing (up to float resolution)
    transformed = compute_criteria(mapped, gt).values
    perm = np.array(rnd.sample(range(len(pairs)), len(pairs)))
    permuted = compute_criteria(scores[perm], gt[perm]).values
    for name, value in base.items():
        if name == "LC":
            continue  # Pearson is not rank-based
        # the map can merge scores closer than float resolution: compare only when it did not
        if len(np.unique(mapped)) == len(np.unique(scores)):
            assert transformed[name] == pytest.approx(value, nan_ok=True) or value is None
        assert permuted[name] == pytest.approx(value) or value is None


@given(distinct_vectors(min_size=3), distinct_vectors(min_size=3))
def test_agrees_with_scipy(a, b):
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    crit = compute_criteria(a, b).values
    assert crit["KD"] == pytest.approx(stats.kendalltau(a, b).statistic)
    assert crit["SpearmanR"] == pytest.approx(stats.spearmanr(a, b).statistic)
    assert crit["LC"] == pytest.approx(stats.pearsonr(a, b).statistic, abs=1e-9)


def test_nonfinite_worst_ranks_last_and_is_counted():
    gt = np.arange(10, dtype=float)
    scores = gt.copy()
    scores[9] = np.nan  # the true best gets NaN
    scores[0] = np.inf  # the true worst claims +inf
    crit = compute_criteria(scores, gt, nonfinite="worst")
    assert crit.n == 10 and crit.n_nonfinite == 2 and crit.nonfinite_policy == "worst"
    assert crit.values["P@top10%"] == 0.0  # arch 8 is predicted best; the true best is ranked last
    assert crit.values["LC"] == pytest.approx(stats.pearsonr(gt[1:9], gt[1:9]).statistic)
    dropped = compute_criteria(scores, gt, nonfinite="drop")
    assert dropped.n == 8 and dropped.values["KD"] == pytest.approx(1.0)


@pytest.mark.parametrize("lowest", [-1.0, -1e20, -1e300])
def test_nonfinite_worst_stays_below_a_huge_negative_score(lowest):
    # min - 1 == min beyond 2**53: the stand-in must still rank strictly below the lowest score
    gt = np.arange(6, dtype=float)
    scores = np.array([np.nan, lowest, 2.0, 3.0, 4.0, 5.0])
    assert compute_criteria(scores, gt).values["KD"] == pytest.approx(1.0)
    assert compute_criteria(scores, gt).values["SpearmanR"] == pytest.approx(1.0)
    filled = worst_filled(np.array([np.inf, -np.inf, lowest, 0.0]))
    assert filled[0] == filled[1] < lowest and np.isfinite(filled).all()


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="equal length"):
        compute_criteria(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="ground truth must be finite"):
        compute_criteria(np.zeros(3), np.array([1.0, np.nan, 2.0]))
    with pytest.raises(ValueError, match="non-finite policy"):
        compute_criteria(np.zeros(3), np.arange(3.0), nonfinite="zero")


def test_params_on_nb201_reproduces_the_study(nb201):
    """The study: params alone reach KD about 0.6 on NB201 (GT cifar10_test_200)."""
    from suite.spaces.nb201 import param_count

    scores = np.array([param_count(a) for a in nb201.archs], dtype=float)
    crit = compute_criteria(scores, nb201.ground_truth("cifar10_test_200")).values
    assert 0.55 < crit["KD"] < 0.65
