"""Uncertainty of the leaderboard's numbers: bootstrap over architectures, paired between estimators.

Every estimator of a benchmark is resampled with the same architecture indices (a paired
bootstrap), so the difference between two neighbours in the table is judged on the same
architectures. The statistic is Kendall's tau-b (KD) against the ground truth, averaged over the
estimator's seeds; resamples come from a generator with a fixed seed, so the site is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import kendalltau

BOOTSTRAP_SEED = 0


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def _kd(scores: np.ndarray, gt: np.ndarray) -> float:
    """Kendall tau-b, non-finite scores ranked last and tied (the protocol's ``worst`` policy)."""
    finite = np.isfinite(scores)
    if not finite.any():
        return 0.0
    ranked = np.where(finite, scores, scores[finite].min() - 1.0)
    tau = kendalltau(ranked, gt).statistic
    return float(tau) if np.isfinite(tau) else 0.0


def paired_bootstrap(per_estimator: list[list[np.ndarray]], gt: np.ndarray, resamples: int,
                     seed: int = BOOTSTRAP_SEED) -> np.ndarray:
    """KD (mean over seeds) of every estimator on ``resamples`` shared resamples of the architectures.

    Args:
        per_estimator: for each estimator, its seeds' float64 [n] scores, aligned with ``gt``.
        gt: float64 [n] ground truth.
    Returns:
        float64 [estimators, resamples].
    """
    rng = np.random.default_rng(seed)
    n = len(gt)
    out = np.empty((len(per_estimator), resamples))
    for b in range(resamples):
        idx = rng.integers(0, n, n)
        for e, seeds in enumerate(per_estimator):
            out[e, b] = np.mean([_kd(scores[idx], gt[idx]) for scores in seeds])
    return out


def interval(samples: np.ndarray, level: float = 0.95) -> Interval:
    """The percentile interval of bootstrap samples."""
    low, high = np.quantile(samples, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(low), float(high))


def differs(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> bool:
    """Whether the paired difference's percentile interval excludes zero."""
    diff = interval(a - b, level)
    return diff.low > 0 or diff.high < 0
