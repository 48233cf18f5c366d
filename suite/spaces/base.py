"""The interfaces a search space offers to benchmarks, estimators and analyses (typed protocols)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:  # annotations only: the interface itself imports no torch
    from torch import nn


@runtime_checkable
class SearchSpace(Protocol):
    """What an estimator may ask of a space. Architectures are immutable and hashable.

    Every space in :data:`suite.spaces.SPACE_OBJECTS` satisfies it (``isinstance`` checks that
    the members exist, not their signatures; the tests check both).
    """

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
        holding copies of the supernet's weights."""

    def param_count(self, arch: Any) -> int:
        """Parameters of the standalone network, as the benchmark counts them."""

    def flop_count(self, arch: Any) -> int:
        """Multiply-accumulates of one input through the standalone network."""


@runtime_checkable
class OpSlotSpace(SearchSpace, Protocol):
    """A space whose architectures are operations in slots (cell edges or vertices): what the
    operation-level analyses (:mod:`suite.analysis.op_bias`) mutate. NDS spaces, whose choices are
    depths and widths, are not one."""

    def op_slots(self, arch: Any) -> tuple[str, ...]:
        """The operation at each mutable position of ``arch``."""

    def slot_names(self, arch: Any) -> tuple[str, ...]:
        """A label for each position of :meth:`op_slots`."""

    def candidate_ops(self) -> tuple[str, ...]:
        """The operations a slot may hold."""

    def with_op(self, arch: Any, slot: int, op: str) -> Any:
        """``arch`` with the operation of ``slot`` replaced by ``op`` (UsageError for a bad slot or op)."""
