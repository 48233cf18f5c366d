"""Uncertainty of the leaderboard's numbers: bootstrap over architectures, paired between estimators.

Every estimator of a benchmark is resampled with the same architecture indices (a paired
bootstrap), so the difference between two neighbours in the table is judged on the same
architectures. The statistic is Kendall's tau-b (KD) against the ground truth, averaged over the
estimator's seeds; resamples come from a generator with a fixed seed, so the site is reproducible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from suite.analysis.ranks import kendall

BOOTSTRAP_SEED = 0


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def _kd(scores: np.ndarray, gt: np.ndarray, nonfinite: str) -> float:
    """Kendall tau-b under the result's non-finite policy (``worst``: ranked last and tied;
    ``drop``: left out); 0 where it is undefined (constant scores, fewer than 2 left)."""
    tau = kendall(scores, gt, nonfinite)
    return 0.0 if tau is None else tau


def paired_bootstrap(per_estimator: list[list[np.ndarray]], gt: np.ndarray | Sequence[np.ndarray], resamples: int,
                     seed: int = BOOTSTRAP_SEED, nonfinite: Sequence[str] | None = None) -> np.ndarray:
    """KD (mean over seeds) of every estimator on ``resamples`` shared resamples of the architectures.

    Args:
        per_estimator: for each estimator, its seeds' float64 [n] scores, all aligned on the same
            n architectures.
        gt: float64 [n] ground truth shared by every estimator, or one [n] per estimator (each
            result's own ground-truth column, so the interval is about the KD the table shows).
        nonfinite: each estimator's non-finite policy (``worst`` / ``drop``); default all ``worst``.
    Returns:
        float64 [estimators, resamples].
    """
    gts = [np.asarray(gt, dtype=np.float64)] * len(per_estimator) if np.ndim(gt) == 1 else [np.asarray(g) for g in gt]
    policies = list(nonfinite) if nonfinite is not None else ["worst"] * len(per_estimator)
    if len(gts) != len(per_estimator) or len(policies) != len(per_estimator):
        raise ValueError("paired_bootstrap: one ground truth and one policy per estimator")
    rng = np.random.default_rng(seed)
    n = len(gts[0]) if gts else 0
    out = np.empty((len(per_estimator), resamples))
    for b in range(resamples):
        idx = rng.integers(0, n, n)
        for e, seeds in enumerate(per_estimator):
            out[e, b] = np.mean([_kd(scores[idx], gts[e][idx], policies[e]) for scores in seeds])
    return out


def interval(samples: np.ndarray, level: float = 0.95) -> Interval:
    """The percentile interval of bootstrap samples."""
    low, high = np.quantile(samples, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(low), float(high))


def differs(a: np.ndarray, b: np.ndarray, level: float = 0.95) -> bool:
    """Whether the paired difference's percentile interval excludes zero."""
    diff = interval(a - b, level)
    return diff.low > 0 or diff.high < 0
