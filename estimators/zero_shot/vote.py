"""Majority vote of several measures, turned into one score per architecture.

Abdelfattah et al. compare two architectures by the majority of three measures. A majority over
pairs is not always transitive, so the per-architecture score here is the Copeland score:
for architecture i, the number of architectures j it beats by majority minus the number it loses
to, where a measure votes for i over j when its value for i is strictly larger. Sorting by the
Copeland score reproduces the pairwise majority wherever that majority is a total order.
The score is relative to the scored population (all of a benchmark's subset, or the sample).
"""

from __future__ import annotations

import numpy as np

#: The best three zero-shot measures per space (FACTS.md), whose majority the vote takes.
VOTE_COMPONENTS: dict[str, tuple[str, ...]] = {
    "nb201": ("jacob_cov", "snip", "synflow"),
    "nb301": ("plain", "grasp", "synflow"),
}

_BLOCK = 512


def copeland_scores(values: np.ndarray) -> np.ndarray:
    """Copeland scores of a pairwise majority vote.

    Args:
        values: float [n, m], column k = measure k's score (higher = better). A non-finite value
            (NaN, +inf or -inf: an overflowed or undefined measure) counts as worse than every
            finite one for its measure, as the protocol's ``worst`` policy ranks it; two tie.
    Returns:
        float64 [n]: wins minus losses of each row against all n rows.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError(f"values must be [n, m], got shape {values.shape}")
    clean = np.where(np.isfinite(values), values, -np.inf)
    n = clean.shape[0]
    out = np.empty(n, dtype=np.float64)
    for start in range(0, n, _BLOCK):
        block = clean[start : start + _BLOCK]  # [b, m]
        margin = np.zeros((len(block), n), dtype=np.int16)
        for k in range(clean.shape[1]):
            mine, theirs = block[:, k, None], clean[None, :, k]
            margin += (mine > theirs).astype(np.int16) - (mine < theirs).astype(np.int16)
        out[start : start + len(block)] = np.sign(margin).sum(axis=1)
    return out
