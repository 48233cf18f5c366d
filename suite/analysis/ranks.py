"""The rank helpers the analyses share: Kendall's tau-b as the protocol's KD, and normalised ranks.

Both follow the protocol's rules (:mod:`suite.metrics`): scores higher = predicted better, GT
higher = better, non-finite scores ranked below every finite one (``"worst"``) or removed (``"drop"``).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from suite.metrics import worst_filled


def kendall(scores: np.ndarray, gt: np.ndarray, nonfinite: str = "worst") -> float | None:
    """Kendall tau-b of ``scores`` [n] against ``gt`` [n] (finite), as the protocol's KD.

    Non-finite scores rank worst (``"worst"``) or are removed (``"drop"``). None when fewer than
    two architectures remain or either side is constant (the criterion is undefined then).
    """
    scores = np.asarray(scores, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if nonfinite == "drop":
        keep = np.isfinite(scores)
        scores, gt = scores[keep], gt[keep]
    elif nonfinite != "worst":
        raise ValueError(f"unknown non-finite policy {nonfinite!r}; expected 'worst' or 'drop'")
    if len(scores) < 2:
        return None
    scores = worst_filled(scores)
    if np.ptp(scores) == 0 or np.ptp(gt) == 0:
        return None
    value = stats.kendalltau(scores, gt).statistic
    return float(value) if np.isfinite(value) else None


def normalised_ranks(values: np.ndarray) -> np.ndarray:
    """float64 [n] -> [n] in [0, 1]: 0 = the lowest value, 1 = the highest; ties get their average rank.

    Non-finite values rank lowest, tied with each other (the ``"worst"`` rule). One value -> 0.5.
    """
    values = worst_filled(np.asarray(values, dtype=np.float64))
    n = len(values)
    if n == 0:
        return np.zeros(0)
    if n == 1:
        return np.full(1, 0.5)
    return (stats.rankdata(values, method="average") - 1.0) / (n - 1)
