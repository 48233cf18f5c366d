"""The trivial baselines: model size, compute, and chance."""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

import numpy as np

from suite.estimator import Estimator, RunContext
from suite.registry import register_estimator


@register_estimator
class Params(Estimator):
    """Number of parameters of the standalone network, as the benchmark counts them."""

    name = "params"
    family = "baseline"
    summary = "parameter count of the standalone network (bigger = predicted better)"

    def score(self, archs: Sequence[Any], ctx: RunContext, snapshot: str = "final") -> np.ndarray:
        return np.array([ctx.space.param_count(a) for a in archs], dtype=np.float64)


@register_estimator
class Flops(Estimator):
    """Multiply-accumulates of one input through the standalone network."""

    name = "flops"
    family = "baseline"
    summary = "FLOPs (multiply-accumulates) of the standalone network (more = predicted better)"

    def score(self, archs: Sequence[Any], ctx: RunContext, snapshot: str = "final") -> np.ndarray:
        return np.array([ctx.space.flop_count(a) for a in archs], dtype=np.float64)


@register_estimator
class RandomScore(Estimator):
    """A uniform score in [0, 1) per architecture, a pure function of (seed, space, architecture).

    The same architecture gets the same score in any order, shard or sample, so the baseline is
    reproducible and independent of how a run is split.
    """

    name = "random"
    family = "baseline"
    summary = "seeded uniform random score: the chance level of every criterion"

    def score(self, archs: Sequence[Any], ctx: RunContext, snapshot: str = "final") -> np.ndarray:
        out = np.empty(len(archs), dtype=np.float64)
        for i, arch in enumerate(archs):
            key = f"{ctx.seed}|{ctx.space.name}|{ctx.space.format(arch)}".encode()
            word = int.from_bytes(hashlib.sha256(key).digest()[:8], "little")
            out[i] = (word >> 11) / float(1 << 53)  # 53 random bits -> exactly representable in [0, 1)
        return out
