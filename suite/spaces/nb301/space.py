"""The NB301 space object: the :class:`~suite.spaces.base.SearchSpace` and
:class:`~suite.spaces.base.OpSlotSpace` interfaces over :mod:`suite.spaces.nb301.arch`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from suite.errors import UsageError
from suite.spaces.nb301.arch import (
    N_PAIRS,
    OPS,
    Nb301Arch,
    canonical_form,
    flop_count,
    format_arch,
    from_compact,
    param_count,
    parse_arch,
    relu_count,
    sample_archs,
)


class Nb301Space:
    """The NB301 (DARTS) space behind the :class:`~suite.spaces.base.SearchSpace` interface."""

    name = "nb301"

    def parse(self, text: str) -> Nb301Arch:
        return parse_arch(text)

    def format(self, arch: Nb301Arch) -> str:
        return format_arch(arch)

    def canonical(self, arch: Nb301Arch) -> str:
        return canonical_form(arch)

    def from_compact(self, compact: str | Sequence) -> Nb301Arch:
        return from_compact(compact)

    def sample(self, rng: np.random.Generator, n: int) -> list[Nb301Arch]:
        return sample_archs(rng, n)

    def build_network(self, arch: Nb301Arch, cell_bn_affine: bool = True, **options):
        """Options: those of :class:`~suite.spaces.nb301.network.Nb301Network`."""
        from suite.spaces.nb301.network import Nb301Network  # deferred: torch

        return Nb301Network(arch, cell_bn_affine=cell_bn_affine, **options)

    def build_supernet(self, cell_bn_affine: bool = False, track_running_stats: bool = True, dropout: float = 0.0,
                       **options):
        """The weight bank of every candidate op of every edge; ``.subnet(arch)`` gives a standalone
        network holding copies of its weights. Options: those of
        :class:`~suite.spaces.nb301.supernet.Nb301Supernet`."""
        from suite.spaces.nb301.supernet import Nb301Supernet  # deferred: torch

        return Nb301Supernet(cell_bn_affine=cell_bn_affine, track_running_stats=track_running_stats,
                             dropout=dropout, **options)

    def param_count(self, arch: Nb301Arch) -> int:
        return param_count(arch)

    def flop_count(self, arch: Nb301Arch) -> int:
        return flop_count(arch)

    def relu_count(self, arch: Nb301Arch) -> int:
        return relu_count(arch)

    # -- operation slots (op-level analyses: mutate one operation) ------------------------------
    def op_slots(self, arch: Nb301Arch) -> tuple[str, ...]:
        """The operation of each of the 16 ``(op, input)`` pairs: the normal cell's 8, then the
        reduction cell's 8, in the stored order (each node's two pairs sorted by input node).

        Replacing an operation never reorders the pairs (they are sorted by input only, and a
        node's two inputs differ), so slot ``s`` of :meth:`with_op`'s result is the one mutated.
        """
        return tuple(op for op, _ in arch.normal) + tuple(op for op, _ in arch.reduce)

    def slot_names(self, arch: Nb301Arch) -> tuple[str, ...]:
        """Labels of :meth:`op_slots`' positions, e.g. ``normal node 2<-1`` (input nodes depend on
        the genotype, so the labels do too)."""
        return tuple(f"{kind} node {i // 2 + 2}<-{src}"
                     for kind, pairs in (("normal", arch.normal), ("reduce", arch.reduce))
                     for i, (_, src) in enumerate(pairs))

    def candidate_ops(self) -> tuple[str, ...]:
        """The operations a slot may hold."""
        return OPS

    def with_op(self, arch: Nb301Arch, slot: int, op: str) -> Nb301Arch:
        """``arch`` with the operation of pair ``slot`` (0-7 normal, 8-15 reduce) replaced by ``op``;
        the input node stays.

        Raises:
            UsageError: a slot outside 0..15 or an unknown operation (one line).
        """
        if isinstance(slot, bool) or not isinstance(slot, (int, np.integer)) or not 0 <= slot < 2 * N_PAIRS:
            raise UsageError(f"NB301 slot {slot!r} is not a pair position 0..{2 * N_PAIRS - 1} "
                             "(normal cell 0-7, reduction cell 8-15)")
        if op not in OPS:
            raise UsageError(f"unknown NB301 operation {op!r}; expected one of {', '.join(OPS)}")
        cells = [list(arch.normal), list(arch.reduce)]
        cell, position = divmod(int(slot), N_PAIRS)
        cells[cell][position] = (op, cells[cell][position][1])
        return Nb301Arch(tuple(cells[0]), tuple(cells[1]))


NB301 = Nb301Space()
