"""The NB201 space object: the :class:`~suite.spaces.base.SearchSpace` and
:class:`~suite.spaces.base.OpSlotSpace` interfaces over :mod:`suite.spaces.nb201.arch`."""

from __future__ import annotations

import numpy as np

from suite.errors import UsageError
from suite.spaces.nb201.arch import (
    EDGES,
    OPS,
    Nb201Arch,
    canonical_form,
    flop_count,
    format_arch,
    param_count,
    parse_arch,
    relu_count,
    sample_archs,
)


class Nb201Space:
    """The NB201 space behind the :class:`~suite.spaces.base.SearchSpace` interface."""

    name = "nb201"

    def parse(self, text: str) -> Nb201Arch:
        return parse_arch(text)

    def format(self, arch: Nb201Arch) -> str:
        return format_arch(arch)

    def canonical(self, arch: Nb201Arch) -> str:
        return canonical_form(arch)

    def sample(self, rng: np.random.Generator, n: int) -> list[Nb201Arch]:
        return sample_archs(rng, n)

    def build_network(self, arch: Nb201Arch, **options):
        """Options: those of :class:`~suite.spaces.nb201.network.Nb201Network`."""
        from suite.spaces.nb201.network import Nb201Network  # deferred: torch

        return Nb201Network(arch, **options)

    def build_supernet(self, **options):
        """The weight bank of every candidate op; ``.subnet(arch)`` gives a network sharing its weights.

        Options: those of :class:`~suite.spaces.nb201.supernet.Nb201Supernet`.
        """
        from suite.spaces.nb201.supernet import Nb201Supernet  # deferred: torch

        return Nb201Supernet(**options)

    def param_count(self, arch: Nb201Arch) -> int:
        return param_count(arch)

    def flop_count(self, arch: Nb201Arch) -> int:
        return flop_count(arch)

    def relu_count(self, arch: Nb201Arch) -> int:
        return relu_count(arch)

    # -- operation slots (op-level analyses: mutate one operation) ------------------------------
    def op_slots(self, arch: Nb201Arch) -> tuple[str, ...]:
        """The operation at each mutable position: the 6 edges, in :data:`EDGES` order."""
        return tuple(arch.ops)

    def slot_names(self, arch: Nb201Arch) -> tuple[str, ...]:
        """Labels of :meth:`op_slots`' positions, ``edge <to><-<from>`` (the same for every cell)."""
        return tuple(f"edge {to}<-{src}" for src, to in EDGES)

    def candidate_ops(self) -> tuple[str, ...]:
        """The operations a slot may hold."""
        return OPS

    def with_op(self, arch: Nb201Arch, slot: int, op: str) -> Nb201Arch:
        """``arch`` with the operation of slot ``slot`` (an edge) replaced by ``op``.

        Raises:
            UsageError: a slot outside 0..5 or an unknown operation (one line).
        """
        if isinstance(slot, bool) or not isinstance(slot, (int, np.integer)) or not 0 <= slot < len(EDGES):
            raise UsageError(f"NB201 slot {slot!r} is not an edge position 0..{len(EDGES) - 1}")
        if op not in OPS:
            raise UsageError(f"unknown NB201 operation {op!r}; expected one of {', '.join(OPS)}")
        ops = list(arch.ops)
        ops[int(slot)] = op
        return Nb201Arch(tuple(ops))


NB201 = Nb201Space()
