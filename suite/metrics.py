"""The protocol's criteria, pure numpy/scipy.

Conventions (all documented in the README, "Criteria"):

* Scores: higher = predicted better. Ground truth (GT): higher = better.
* True rank of an architecture (0-based) = number of architectures with a strictly higher GT, so
  GT ties share the better rank. An architecture is in the true top-k when fewer than k
  architectures are strictly better, and in the true bottom-k when fewer than k are strictly worse.
* Predicted top-k: the k highest scores. **Tie rule: ties in the scores are resolved against the
  estimator.** When tied scores straddle the cut, the tied architectures with the worse GT enter
  the predicted top-k (and those with the better GT enter the predicted bottom-k). The result is
  deterministic, independent of architecture ids and order, and a constant score earns nothing.
* k = floor(n * K). A criterion whose k is 0 is undefined and reported as None.
* Non-finite scores (NaN, +-inf, e.g. exploding gradients) follow ``nonfinite``:
  ``"worst"`` (default) ranks them below every finite score, tied with each other; ``"drop"``
  removes those architectures before computing anything. LC (Pearson) needs values, so it is
  always computed over the finite pairs only. The counts are reported with the criteria.
* KD = Kendall tau-b, SpearmanR = Spearman rho (average ranks for ties), LC = Pearson r.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

PRECISION_KS: tuple[float, ...] = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0)
RANKING_KS: tuple[float, ...] = (0.001, 0.005, 0.01, 0.05, 0.1, 0.2)
NonfinitePolicy = Literal["worst", "drop"]
NONFINITE_POLICIES: tuple[str, ...] = ("worst", "drop")


def k_label(fraction: float) -> str:
    """0.05 -> '5%', 0.001 -> '0.1%'."""
    return f"{fraction * 100:g}%"


def true_ranks(gt: np.ndarray) -> np.ndarray:
    """0-based rank per architecture: the number of architectures with strictly higher GT. [n] -> [n] int64."""
    gt = np.asarray(gt, dtype=np.float64)
    return len(gt) - np.searchsorted(np.sort(gt), gt, side="right")


def _strictly_worse_counts(gt: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.sort(gt), gt, side="left")


def _effective_scores(scores: np.ndarray, nonfinite: str) -> tuple[np.ndarray, np.ndarray]:
    """Scores to rank by, and the mask of architectures kept. Non-finite -> -inf under 'worst'."""
    finite = np.isfinite(scores)
    if nonfinite == "drop":
        return scores, finite
    if nonfinite == "worst":
        return np.where(finite, scores, -np.inf), np.ones_like(finite)
    raise ValueError(f"unknown non-finite policy {nonfinite!r}; expected one of {NONFINITE_POLICIES}")


def predicted_order(scores: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Indices from predicted best to predicted worst; tied scores put the worse GT first.

    Used for the predicted top-k. [n], [n] -> [n] int64.
    """
    return np.lexsort((gt, -scores))


def predicted_reverse_order(scores: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Indices from predicted worst to predicted best; tied scores put the better GT first."""
    return np.lexsort((-gt, scores))


def _k(n: int, fraction: float) -> int:
    return int(np.floor(n * fraction + 1e-9))


@dataclass(frozen=True)
class _Ranking:
    """Orders and true ranks of one (scores, gt) pair, computed once and shared by every K."""

    top_order: np.ndarray  # predicted best first, ties: worse GT first
    bottom_order: np.ndarray  # predicted worst first, ties: better GT first
    rank: np.ndarray  # 0-based true rank (strictly better count)
    worse: np.ndarray  # strictly worse count

    @classmethod
    def of(cls, scores: np.ndarray, gt: np.ndarray) -> _Ranking:
        gt = np.asarray(gt, dtype=np.float64)
        return cls(predicted_order(scores, gt), predicted_reverse_order(scores, gt), true_ranks(gt),
                   _strictly_worse_counts(gt))

    def p_top(self, fraction: float) -> float | None:
        k = _k(len(self.rank), fraction)
        return None if k == 0 else float(np.mean(self.rank[self.top_order[:k]] < k))

    def p_bottom(self, fraction: float) -> float | None:
        k = _k(len(self.rank), fraction)
        return None if k == 0 else float(np.mean(self.worse[self.bottom_order[:k]] < k))

    def br_wr(self, fraction: float) -> tuple[float, float] | None:
        n = len(self.rank)
        k = _k(n, fraction)
        if k == 0:
            return None
        ranks = self.rank[self.top_order[:k]] + 1
        return float(ranks.min() / n), float(ranks.max() / n)


def precision_at_top(scores: np.ndarray, gt: np.ndarray, fraction: float) -> float | None:
    """Share of the floor(n*K) predicted best that are in the true top-k (None when k = 0)."""
    return _Ranking.of(scores, gt).p_top(fraction)


def precision_at_bottom(scores: np.ndarray, gt: np.ndarray, fraction: float) -> float | None:
    """Share of the floor(n*K) predicted worst that are in the true bottom-k (None when k = 0)."""
    return _Ranking.of(scores, gt).p_bottom(fraction)


def ranking_at_k(scores: np.ndarray, gt: np.ndarray, fraction: float) -> tuple[float, float] | None:
    """(BR@K, WR@K): best and worst 1-based true rank among the floor(n*K) predicted best, over n."""
    return _Ranking.of(scores, gt).br_wr(fraction)


@dataclass(frozen=True)
class Criteria:
    """The criteria of one score vector against one GT vector.

    Attributes:
        values: criterion name -> value (None where undefined), e.g. ``{"KD": 0.61, "P@top5%": 0.3}``.
        n: architectures the rank criteria were computed on.
        n_nonfinite: architectures whose score was NaN or +-inf.
        nonfinite_policy: how they were treated.
    """

    values: dict[str, float | None]
    n: int
    n_nonfinite: int
    nonfinite_policy: str


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def compute_criteria(scores: np.ndarray, gt: np.ndarray, nonfinite: NonfinitePolicy = "worst") -> Criteria:
    """Every criterion of the protocol.

    Args:
        scores: float [n], higher = predicted better; may hold NaN/inf (see ``nonfinite``).
        gt: float [n], finite, higher = better.
        nonfinite: ``"worst"`` or ``"drop"`` (module docstring).
    Raises:
        ValueError: shapes differ, or GT is not finite.
    """
    scores = np.asarray(scores, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if scores.shape != gt.shape or scores.ndim != 1:
        raise ValueError(f"scores and ground truth must be 1-D of equal length, got {scores.shape} and {gt.shape}")
    if not np.all(np.isfinite(gt)):
        raise ValueError("ground truth must be finite")
    n_nonfinite = int(np.count_nonzero(~np.isfinite(scores)))
    ranked, keep = _effective_scores(scores, nonfinite)
    ranked, ranked_gt = ranked[keep], gt[keep]
    finite = np.isfinite(scores)
    values: dict[str, float | None] = {}
    values["LC"] = _pearson(scores[finite], gt[finite])
    values["KD"] = _rank_corr(stats.kendalltau, ranked, ranked_gt)
    values["SpearmanR"] = _rank_corr(stats.spearmanr, ranked, ranked_gt)
    ranking = _Ranking.of(ranked, ranked_gt)
    for fraction in PRECISION_KS:
        values[f"P@top{k_label(fraction)}"] = ranking.p_top(fraction)
    for fraction in PRECISION_KS:
        values[f"P@bottom{k_label(fraction)}"] = ranking.p_bottom(fraction)
    for fraction in RANKING_KS:
        pair = ranking.br_wr(fraction)
        values[f"BR@{k_label(fraction)}"] = None if pair is None else pair[0]
        values[f"WR@{k_label(fraction)}"] = None if pair is None else pair[1]
    return Criteria(values=values, n=len(ranked), n_nonfinite=n_nonfinite, nonfinite_policy=nonfinite)


def _pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    with warnings.catch_warnings():  # near-constant input: the value is still the defined one
        warnings.simplefilter("ignore", stats.NearConstantInputWarning)
        return _finite_or_none(stats.pearsonr(x, y).statistic)


def worst_filled(scores: np.ndarray) -> np.ndarray:
    """float64 [n] -> [n]: non-finite values replaced by one value below every finite score.

    The stand-in is ``m - max(1, |m|)`` with m the lowest finite score (0 when nothing is finite):
    strictly below m at any magnitude (``m - 1`` is not, once |m| > 2**53), tied with each other,
    last in every ranking, as the ``"worst"`` policy ranks them.
    """
    scores = np.asarray(scores, dtype=np.float64)
    finite = np.isfinite(scores)
    if finite.all():
        return scores
    if not finite.any():
        return np.zeros_like(scores)
    lowest = scores[finite].min()
    with np.errstate(over="ignore"):  # m near -1.8e308: the stand-in is -inf, still below every m
        floor = lowest - max(1.0, abs(lowest))
    return np.where(finite, scores, floor)


def _rank_corr(fn, x: np.ndarray, y: np.ndarray) -> float | None:
    """Kendall/Spearman on ranks; -inf (the 'worst' stand-in) is replaced by a finite value below all."""
    if len(x) < 2:
        return None
    x = worst_filled(x)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    return _finite_or_none(fn(x, y).statistic)


#: The headline criteria, in the order the study reports them.
HEADLINE: tuple[str, ...] = ("KD", "SpearmanR", "LC", "P@top5%", "P@bottom5%", "BR@5%", "WR@5%", "BR@0.5%")
