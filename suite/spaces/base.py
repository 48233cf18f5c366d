"""The interface every search space offers to benchmarks and estimators."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Protocol

import numpy as np
from torch import nn


class SearchSpace(Protocol):
    """What an estimator may ask of a space. Architectures are immutable and hashable."""

    name: str

    def parse(self, text: str) -> Hashable:
        """Architecture from its benchmark string; ValueError naming the bad part otherwise."""

    def format(self, arch: Any) -> str:
        """The benchmark string of ``arch`` (inverse of ``parse``)."""

    def canonical(self, arch: Any) -> str:
        """A string equal for exactly the architectures the benchmark regards as isomorphic."""

    def sample(self, rng: np.random.Generator, n: int) -> Sequence[Any]:
        """``n`` architectures drawn from ``rng``."""

    def build_network(self, arch: Any, **options: Any) -> nn.Module:
        """The standalone network of ``arch`` (a fresh, randomly initialised module)."""

    def build_supernet(self, **options: Any) -> nn.Module:
        """A randomly initialised supernet whose ``subnet(arch)`` is a standalone network of ``arch``
        holding copies of the supernet's weights (optional: spaces without one omit it)."""

    def param_count(self, arch: Any) -> int:
        """Parameters of the standalone network, as the benchmark counts them."""

    def flop_count(self, arch: Any) -> int:
        """Multiply-accumulates of one input through the standalone network."""
