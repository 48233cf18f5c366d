"""The NB101 space objects: the whole NAS-Bench-101 space and NAS-Bench-1shot1 search space 3
(the :class:`~suite.spaces.base.SearchSpace` and :class:`~suite.spaces.base.OpSlotSpace` interfaces)."""

from __future__ import annotations

from typing import Any

import numpy as np

from suite.errors import UsageError
from suite.spaces.nb101.arch import OPS, Nb101Arch, _LONG, canonical_form, format_arch, parse_arch, sample_archs
from suite.spaces.nb101.counts import flop_count, param_count, relu_count
from suite.spaces.nb101.space3 import in_space3, sample_space3


class Nb101Space:
    """The whole NAS-Bench-101 space behind the :class:`~suite.spaces.base.SearchSpace` interface."""

    name = "nb101"

    def parse(self, text: str) -> Nb101Arch:
        return parse_arch(text)

    def format(self, arch: Nb101Arch) -> str:
        return format_arch(arch)

    def canonical(self, arch: Nb101Arch) -> str:
        return canonical_form(arch)

    def sample(self, rng: np.random.Generator, n: int) -> list[Nb101Arch]:
        return sample_archs(rng, n)

    def build_network(self, arch: Nb101Arch, cell_bn_affine: bool = True, **options: Any):
        """Options: those of :class:`~suite.spaces.nb101.network.Nb101Network` (C=16 by default)."""
        from suite.spaces.nb101.network import Nb101Network  # deferred: torch

        return Nb101Network(arch, cell_bn_affine=cell_bn_affine, **options)

    #: How the supernet maps a pruned cell's vertices to bank slots (see :mod:`suite.spaces.nb101.supernet`).
    share_by = "vertex"

    def build_supernet(self, cell_bn_affine: bool = False, track_running_stats: bool = True,
                       dropout: float = 0.0, **options: Any):
        """The weight bank at the widest vertex widths; options of
        :class:`~suite.spaces.nb101.supernet.Nb101Supernet`."""
        from suite.spaces.nb101.supernet import Nb101Supernet  # deferred: torch

        return Nb101Supernet(cell_bn_affine=cell_bn_affine, track_running_stats=track_running_stats,
                             dropout=dropout, share_by=self.share_by, **options)

    def param_count(self, arch: Nb101Arch) -> int:
        return param_count(arch)

    def flop_count(self, arch: Nb101Arch) -> int:
        return flop_count(arch)

    def relu_count(self, arch: Nb101Arch) -> int:
        return relu_count(arch)

    # -- operation slots (op-level analyses: mutate one operation) ------------------------------
    def op_slots(self, arch: Nb101Arch) -> tuple[str, ...]:
        """The operation (official label) of each interior vertex of the stored, pruned cell, in
        vertex order: ``arch.ops[1:-1]`` (0 to 5 slots, depending on the cell)."""
        return tuple(arch.ops[1:-1])

    def slot_names(self, arch: Nb101Arch) -> tuple[str, ...]:
        """Labels of :meth:`op_slots`' positions: ``vertex <i>`` (1-based vertex of the pruned cell)."""
        return tuple(f"vertex {i}" for i in range(1, arch.num_vertices - 1))

    def candidate_ops(self) -> tuple[str, ...]:
        """The operations a slot may hold (official labels)."""
        return OPS

    def with_op(self, arch: Nb101Arch, slot: int, op: str) -> Nb101Arch:
        """``arch`` with the operation of interior vertex ``slot + 1`` replaced by ``op`` (an official
        label, or its short code such as ``conv1x1``); the wiring stays, so the cell stays pruned
        (and in NAS-Bench-1shot1 space 3 when it was).

        Raises:
            UsageError: a slot outside the cell's interior vertices or an unknown operation (one line).
        """
        interior = arch.num_vertices - 2
        if isinstance(slot, bool) or not isinstance(slot, (int, np.integer)) or not 0 <= slot < interior:
            where = f"0..{interior - 1}" if interior else "it has no interior vertex"
            raise UsageError(f"NB101 slot {slot!r} is not an interior vertex position of this cell ({where})")
        label = _LONG.get(op) if isinstance(op, str) else None
        if label not in OPS:
            raise UsageError(f"unknown NB101 operation {op!r}; expected one of {', '.join(OPS)}")
        ops = list(arch.ops)
        ops[int(slot) + 1] = label
        return Nb101Arch(arch.matrix, tuple(ops))


class Nb101Space3(Nb101Space):
    """NAS-Bench-1shot1 search space 3: NB101 cells reachable from its 5-node wirings.

    ``parse`` rejects cells outside the space (the first call enumerates it, see
    :func:`~suite.spaces.nb101.space3.space3_hashes`); ``sample`` draws as 1shot1 does
    (:func:`~suite.spaces.nb101.space3.sample_space3`).
    """

    name = "nb101-1shot1-3"
    share_by = "space3-node"  # one bank slot per 1shot1 node, as the study's supernet

    def parse(self, text: str) -> Nb101Arch:
        arch = parse_arch(text)
        if not in_space3(arch):
            raise ValueError(f"NB101 cell {text!r} is not in NAS-Bench-1shot1 search space 3 (nodes 1-3 take "
                             "1 input, nodes 4-5 and the output 2, after pruning)")
        return arch

    def sample(self, rng: np.random.Generator, n: int) -> list[Nb101Arch]:
        return sample_space3(rng, n)


NB101 = Nb101Space()
NB101_SPACE3 = Nb101Space3()
