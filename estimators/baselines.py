"""The trivial baselines: model size and compute; and chance, a reference line."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from suite.estimator import Capabilities, Estimator, RunContext


class _SpaceCost(Estimator):
    """A cost the search space computes for the standalone network (bigger = predicted better)."""

    family = "baseline"
    space_method: ClassVar[str] = ""
    capabilities = Capabilities(rerun_tolerance=(0.0, 0.0))  # integer counts: equal on every machine

    def score(self, archs: Sequence[Any], ctx: RunContext, snapshot: str = "final") -> np.ndarray:
        cost = getattr(ctx.space, self.space_method)
        return np.array([cost(a) for a in archs], dtype=np.float64)


class Params(_SpaceCost):
    """Number of parameters of the standalone network, as the benchmark counts them."""

    name = "params"
    summary = "parameter count of the standalone network (bigger = predicted better)"
    space_method = "param_count"


class Flops(_SpaceCost):
    """Multiply-accumulates of one input through the standalone network."""

    name = "flops"
    summary = "FLOPs (multiply-accumulates) of the standalone network (more = predicted better)"
    space_method = "flop_count"


class RandomScore(Estimator):
    """A uniform score in [0, 1) per architecture, a pure function of (seed, space, architecture).

    The same architecture gets the same score in any order, shard or sample, so the baseline is
    reproducible and independent of how a run is split.
    """

    name = "random"
    family = "reference"  # the chance level: shown as a reference line, never ranked
    summary = "seeded uniform random score: the chance level of every criterion"

    def score(self, archs: Sequence[Any], ctx: RunContext, snapshot: str = "final") -> np.ndarray:
        out = np.empty(len(archs), dtype=np.float64)
        for i, arch in enumerate(archs):
            key = f"{ctx.seed}|{ctx.space.name}|{ctx.space.format(arch)}".encode()
            word = int.from_bytes(hashlib.sha256(key).digest()[:8], "little")
            out[i] = (word >> 11) / float(1 << 53)  # 53 random bits -> exactly representable in [0, 1)
        return out
