"""The NDS space objects (ResNet, ResNeXt-A): the :class:`~suite.spaces.base.SearchSpace` interface
over :mod:`suite.spaces.nds.arch`. They have no operation slots (their choices are depths and widths)."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

import numpy as np

from suite.spaces.nds.arch import (
    BOTTLENECK_BLOCK,
    N_STAGES,
    RESNET_BLOCK,
    RESNET_DEPTHS,
    RESNET_WIDTHS,
    RESNEXTA_BOT_MULS,
    RESNEXTA_DEPTHS,
    RESNEXTA_GROUPS,
    RESNEXTA_WIDTHS,
    NdsArch,
    NdsResNetArch,
    NdsResNeXtArch,
    OutsideSpaceError,
    format_arch,
    from_nds_net,
    parse_resnet,
    parse_resnexta,
)
from suite.spaces.nds.counts import flop_count, param_count, relu_count


class _NdsSpace(abc.ABC):
    name: str
    arch_type: type
    block_type: str

    @abc.abstractmethod
    def parse(self, text: str):
        """Each space parses its own string (``parse_resnet`` / ``parse_resnexta``)."""

    def format(self, arch: NdsArch) -> str:
        if not isinstance(arch, self.arch_type):
            raise ValueError(f"{self.name}: expected a {self.arch_type.__name__}, got {type(arch).__name__}")
        return format_arch(arch)

    def canonical(self, arch: NdsArch) -> str:
        """The formatted string: every configuration is its own network (no isomorphisms)."""
        return self.format(arch)

    def from_nds_net(self, net: Mapping[str, Any]) -> NdsArch:
        """The architecture of an official ``net`` config; OutsideSpaceError when it belongs to the
        other NDS space or to none (see :func:`from_nds_net`)."""
        arch = from_nds_net(net)
        if not isinstance(arch, self.arch_type):
            raise OutsideSpaceError(f"block type {net.get('block_type')!r} is not {self.name}'s {self.block_type!r}")
        return arch

    def build_network(self, arch: NdsArch, cell_bn_affine: bool = True, **options):
        """The standalone pycls AnyNet of ``arch``. Options: those of
        :class:`~suite.spaces.nds.network.NdsNetwork` (``track_running_stats``, ``num_classes``,
        ``stem_channels``)."""
        from suite.spaces.nds.network import NdsNetwork  # deferred: torch

        if not isinstance(arch, self.arch_type):
            raise ValueError(f"{self.name}: expected a {self.arch_type.__name__}, got {type(arch).__name__}")
        return NdsNetwork(arch, cell_bn_affine=cell_bn_affine, **options)

    def build_supernet(self, cell_bn_affine: bool = False, track_running_stats: bool = True, dropout: float = 0.0,
                       **options):
        """The weight bank of the widest shapes. Options: those of
        :class:`~suite.spaces.nds.supernet.NdsSupernet` (``num_classes``, ``max_depths``, ``max_widths``,
        ``stem_channels``)."""
        from suite.spaces.nds.supernet import NdsSupernet  # deferred: torch

        return NdsSupernet(self, cell_bn_affine=cell_bn_affine, track_running_stats=track_running_stats,
                           dropout=dropout, **options)

    def param_count(self, arch: NdsArch) -> int:
        return param_count(arch)

    def flop_count(self, arch: NdsArch) -> int:
        return flop_count(arch)

    def relu_count(self, arch: NdsArch) -> int:
        return relu_count(arch)

    # The choices, for the supernet and the sampler.
    depth_choices: tuple[int, ...]
    width_choices: tuple[int, ...]
    bot_mul_choices: tuple[float, ...] = (1.0,)
    group_choices: tuple[int, ...] = (1,)

    @property
    def size(self) -> int:
        """Number of architectures in the space."""
        per_stage = (len(self.depth_choices) * len(self.width_choices) * len(self.bot_mul_choices)
                     * len(self.group_choices))
        return per_stage ** N_STAGES


class NdsResNetSpace(_NdsSpace):
    """NDS ResNet (basic blocks) behind the :class:`~suite.spaces.base.SearchSpace` interface."""

    name = "nds-resnet"
    arch_type = NdsResNetArch
    block_type = RESNET_BLOCK
    depth_choices = RESNET_DEPTHS
    width_choices = RESNET_WIDTHS

    def parse(self, text: str) -> NdsResNetArch:
        return parse_resnet(text)

    def sample(self, rng: np.random.Generator, n: int) -> list[NdsResNetArch]:
        """``n`` architectures uniform over the space (with replacement): per stage a depth index,
        then per stage a width index, drawn from ``rng``."""
        d = rng.integers(0, len(RESNET_DEPTHS), size=(n, N_STAGES))
        w = rng.integers(0, len(RESNET_WIDTHS), size=(n, N_STAGES))
        return [NdsResNetArch(tuple(RESNET_DEPTHS[i] for i in dr), tuple(RESNET_WIDTHS[i] for i in wr))
                for dr, wr in zip(d, w)]


class NdsResNeXtASpace(_NdsSpace):
    """NDS ResNeXt-A (bottleneck blocks) behind the :class:`~suite.spaces.base.SearchSpace` interface."""

    name = "nds-resnexta"
    arch_type = NdsResNeXtArch
    block_type = BOTTLENECK_BLOCK
    depth_choices = RESNEXTA_DEPTHS
    width_choices = RESNEXTA_WIDTHS
    bot_mul_choices = RESNEXTA_BOT_MULS
    group_choices = RESNEXTA_GROUPS

    def parse(self, text: str) -> NdsResNeXtArch:
        return parse_resnexta(text)

    def sample(self, rng: np.random.Generator, n: int) -> list[NdsResNeXtArch]:
        """``n`` architectures uniform over the space (with replacement): indices of depths, widths,
        multipliers and groups (each [n, 3]) drawn from ``rng`` in that order. Every combination of
        the ranges is valid, so no rejection is needed (checked by the architecture anyway)."""
        d = rng.integers(0, len(RESNEXTA_DEPTHS), size=(n, N_STAGES))
        w = rng.integers(0, len(RESNEXTA_WIDTHS), size=(n, N_STAGES))
        b = rng.integers(0, len(RESNEXTA_BOT_MULS), size=(n, N_STAGES))
        g = rng.integers(0, len(RESNEXTA_GROUPS), size=(n, N_STAGES))
        return [NdsResNeXtArch(tuple(RESNEXTA_DEPTHS[i] for i in dr), tuple(RESNEXTA_WIDTHS[i] for i in wr),
                               tuple(RESNEXTA_BOT_MULS[i] for i in br), tuple(RESNEXTA_GROUPS[i] for i in gr))
                for dr, wr, br, gr in zip(d, w, b, g)]


NDS_RESNET = NdsResNetSpace()
NDS_RESNEXTA = NdsResNeXtASpace()
