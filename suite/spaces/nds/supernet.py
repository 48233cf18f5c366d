"""The NDS supernet: one weight bank of the widest shapes; an architecture takes the first blocks of
each stage and the first channels of every layer ("channels taken as the first w of the widest").

The bank has, per stage, ``max_depth`` blocks whose layers have the largest widths (bottleneck
layers the largest inner width, ``round(max_width * max_bot_mul)``). An architecture with depths
``d`` and widths ``w`` runs the first ``d_i`` blocks of stage ``i``; every convolution uses the
leading ``[c_out, c_in]`` corner of its bank weight, every BN the leading channels of its
statistics (and affine parameters), the classifier the leading input columns. A projection
shortcut is used exactly where the standalone network has one (``w_in != w_out`` or stride 2);
the bank holds one wherever some architecture needs it. (The study's supernet,
aw_nas ``GermResBasicBlock``, always runs the first block's projection, even for a stage-1 width of
16; the suite keeps the standalone network's rule so that a sub-network is the benchmark's network.)

Grouped 3x3 convolutions (ResNeXt-A) follow the study's code (aw_nas ``germ/utils.py``:
``GroupMaskHandler`` then the ordinal channel handlers): the bank weight is dense,
``[wb_max, wb_max, 3, 3]``; for ``g`` groups, output channel ``o`` of the sub-network (``o < wb``)
takes bank row ``o`` and, as its ``wb / g`` input columns, the first ``wb / g`` columns of the
widest network's group holding row ``o``, i.e. bank columns ``k * (wb_max / g) + i`` with
``k = o // (wb_max / g)``. (So while ``wb <= wb_max / g`` it is the plain leading corner.)

:meth:`NdsSupernet.forward` computes with views of the bank, so gradients reach it;
:meth:`NdsSupernet.subnet` returns the standalone :class:`~suite.spaces.nds.network.NdsNetwork`
holding copies of exactly the tensors the forward uses, and both compute the same numbers.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from suite.spaces.nds.arch import (
    N_STAGES,
    STEM_WIDTH,
    STRIDES,
    NdsArch,
    NdsResNeXtArch,
    bottleneck_width,
)
from suite.spaces.nds.network import (
    BASIC_BRANCH,
    BOTTLENECK_BRANCH,
    NdsNetwork,
    Stem,
    init_weights,
    residual_forward,
)
from suite.spaces.weight_bank import WeightBank

_CONVS = ("proj", "a", "b", "c")
_BNS = ("proj_bn", "a_bn", "b_bn", "c_bn")


def grouped_slice(weight: torch.Tensor, inner: int, groups: int) -> torch.Tensor:
    """The ``[inner, inner / groups, k, k]`` weight of a ``groups``-group convolution of width
    ``inner`` taken from a dense bank weight ``[C, C, k, k]`` (the study's rule, see the module doc)."""
    c_max = weight.shape[0]
    if groups == 1:
        return weight[:inner, :inner]
    if c_max % groups or inner % groups:
        raise ValueError(f"{groups} groups must divide the bank width {c_max} and the width {inner}")
    per_max, per = c_max // groups, inner // groups
    rows = weight[:inner].reshape(inner, groups, per_max, *weight.shape[2:])
    block = torch.arange(inner, device=weight.device) // per_max
    return rows[torch.arange(inner, device=weight.device), block, :per]


class _BankBlock(nn.Module):
    """The layers of one block at their largest shapes (same names as the standalone block)."""

    def __init__(self, w_in: int, w_out: int, stride: int, with_proj: bool, inner: int | None,
                 bn_affine: bool, track_running_stats: bool) -> None:
        super().__init__()
        self.stride = stride

        def bn(c: int) -> nn.BatchNorm2d:
            return nn.BatchNorm2d(c, affine=bn_affine, track_running_stats=track_running_stats)

        if with_proj:
            self.proj = nn.Conv2d(w_in, w_out, 1, stride=stride, bias=False)
            self.proj_bn = bn(w_out)
        if inner is None:
            self.a = nn.Conv2d(w_in, w_out, 3, stride=stride, padding=1, bias=False)
            self.a_bn = bn(w_out)
            self.a_relu = nn.ReLU()
            self.b = nn.Conv2d(w_out, w_out, 3, stride=1, padding=1, bias=False)
            self.b_bn = bn(w_out)
        else:
            self.a = nn.Conv2d(w_in, inner, 1, bias=False)
            self.a_bn = bn(inner)
            self.a_relu = nn.ReLU()
            # Dense: every grouping's weights are slices of it.
            self.b = nn.Conv2d(inner, inner, 3, stride=stride, padding=1, bias=False)
            self.b_bn = bn(inner)
            self.b_relu = nn.ReLU()
            self.c = nn.Conv2d(inner, w_out, 1, bias=False)
            self.c_bn = bn(w_out)
        self.relu = nn.ReLU()


class NdsSupernet(WeightBank):
    """The weight bank of an NDS space.

    Args:
        space: ``NDS_RESNET`` or ``NDS_RESNEXTA`` (:mod:`suite.spaces.nds.space`).
        cell_bn_affine: affine BN in the blocks (the study's supernet: False).
        track_running_stats: keep BN running statistics (False: batch statistics always).
        dropout: dropout probability before the classifier in ``forward`` (training mode only).
        num_classes: classifier outputs.
        max_depths, max_widths: the bank's depth and width per stage (default: the space's largest
            choices, 24/256 for ResNet, 16/256 for ResNeXt-A); smaller banks (tests, "layer/channel
            proxies") accept only architectures that fit in them.
        stem_channels: the stem's width (16 in NDS; the one-shot recipes' channel proxy).
    """

    network_class = NdsNetwork

    def __init__(self, space: Any, cell_bn_affine: bool = False, track_running_stats: bool = True,
                 dropout: float = 0.0, num_classes: int = 10, max_depths: tuple[int, ...] | None = None,
                 max_widths: tuple[int, ...] | None = None, stem_channels: int = STEM_WIDTH) -> None:
        super().__init__()
        self.space = space
        self.bottleneck = space.arch_type is NdsResNeXtArch
        self.max_depths = tuple(max_depths or (max(space.depth_choices),) * N_STAGES)
        self.max_widths = tuple(max_widths or (max(space.width_choices),) * N_STAGES)
        if len(self.max_depths) != N_STAGES or len(self.max_widths) != N_STAGES:
            raise ValueError(f"max_depths and max_widths need {N_STAGES} values each")
        if min(self.max_depths) < 1 or min(self.max_widths) < 1:
            raise ValueError("max_depths and max_widths must be positive")
        self.max_inner = tuple(bottleneck_width(w, max(space.bot_mul_choices)) for w in self.max_widths)
        if stem_channels < 1:
            raise ValueError("stem_channels must be positive")
        self.options = {"cell_bn_affine": cell_bn_affine, "track_running_stats": track_running_stats,
                        "num_classes": num_classes, "stem_channels": stem_channels}
        self.stem = Stem(stem_channels, track_running_stats)
        stages = []
        w_in = stem_channels
        for stage in range(N_STAGES):
            w_max = self.max_widths[stage]
            blocks = []
            for i in range(self.max_depths[stage]):
                stride = STRIDES[stage] if i == 0 else 1
                # A shortcut projection where some architecture's first block changes the shape.
                with_proj = i == 0 and (stride != 1 or any(w != w_in for w in space.width_choices if w <= w_max))
                blocks.append(_BankBlock(w_in if i == 0 else w_max, w_max, stride, with_proj,
                                         self.max_inner[stage] if self.bottleneck else None,
                                         cell_bn_affine, track_running_stats))
            stages.append(nn.ModuleList(blocks))
            w_in = w_max
        self.stages = nn.ModuleList(stages)
        self.classifier = nn.Linear(self.max_widths[-1], num_classes)
        self.apply(init_weights)
        # Registered after the bank so that the initialisation drawn from the seed does not depend on it.
        self.dropout = nn.Dropout(dropout)

    # --- checks ---------------------------------------------------------------------------------

    def check_arch(self, arch: NdsArch) -> None:
        """ValueError unless ``arch`` belongs to this supernet's space and fits in its bank."""
        if not isinstance(arch, self.space.arch_type):
            raise ValueError(f"{self.space.name} supernet: expected a {self.space.arch_type.__name__}, "
                             f"got {type(arch).__name__}")
        for stage in range(N_STAGES):
            if arch.depths[stage] > self.max_depths[stage] or arch.widths[stage] > self.max_widths[stage]:
                raise ValueError(f"{self.space.name} supernet: stage {stage + 1} of {arch} exceeds the bank "
                                 f"(depth <= {self.max_depths[stage]}, width <= {self.max_widths[stage]})")
            if self.bottleneck and self.max_inner[stage] % arch.groups[stage]:
                raise ValueError(f"{self.space.name} supernet: {arch.groups[stage]} groups do not divide the "
                                 f"bank's bottleneck width {self.max_inner[stage]}")

    # --- forward ----------------------------------------------------------------------------------

    def _conv_weight(self, block: _BankBlock, name: str, arch: NdsArch, stage: int, c_in: int) -> torch.Tensor:
        """The arch's weight of conv ``name`` of ``block`` (a view of the bank); ``c_in``: input width."""
        weight = getattr(block, name).weight
        width = arch.widths[stage]
        if not self.bottleneck or name == "proj":
            return weight[:width, :c_in]
        inner = arch.bottleneck_widths[stage]
        if name == "a":
            return weight[:inner, :c_in]
        if name == "b":
            return grouped_slice(weight, inner, arch.groups[stage])
        return weight[:width, :inner]

    @staticmethod
    def _batch_norm(bn: nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
        """``bn`` on the leading ``x.shape[1]`` channels, as ``nn.BatchNorm2d.forward`` computes it."""
        c = x.shape[1]
        if bn.training and bn.track_running_stats:
            bn.num_batches_tracked.add_(1)
        use_batch_stats = bn.training or bn.running_mean is None
        tracked = (not bn.training or bn.track_running_stats) and bn.running_mean is not None
        return F.batch_norm(
            x,
            bn.running_mean[:c] if tracked else None,
            bn.running_var[:c] if tracked else None,
            bn.weight[:c] if bn.affine else None,
            bn.bias[:c] if bn.affine else None,
            use_batch_stats, bn.momentum, bn.eps,
        )

    def _block_forward(self, block: _BankBlock, x: torch.Tensor, arch: NdsArch, stage: int,
                       first: bool) -> torch.Tensor:
        stride = block.stride
        has_proj = first and (x.shape[1] != arch.widths[stage] or stride != 1)
        groups = arch.groups[stage] if self.bottleneck else 1

        def layer(name: str, t: torch.Tensor) -> torch.Tensor:
            if name in _CONVS:
                conv = getattr(block, name)
                weight = self._conv_weight(block, name, arch, stage, t.shape[1])
                return F.conv2d(t, weight, None, conv.stride, conv.padding, conv.dilation,
                                groups if (self.bottleneck and name == "b") else 1)
            if name in _BNS:
                return self._batch_norm(getattr(block, name), t)
            return getattr(block, name)(t)

        branch = BOTTLENECK_BRANCH if self.bottleneck else BASIC_BRANCH
        return residual_forward(x, layer, branch, has_proj)

    def forward(self, x: torch.Tensor, arch: NdsArch) -> torch.Tensor:
        """x: [N, 3, 32, 32] normalised images -> logits [N, num_classes] of ``arch`` with the shared
        weights; dropout (training mode only) before the classifier."""
        self.check_arch(arch)
        out = self.stem(x)
        for stage, blocks in enumerate(self.stages):
            for i in range(arch.depths[stage]):
                out = self._block_forward(blocks[i], out, arch, stage, first=i == 0)
        features = out.mean(dim=(2, 3))
        width = arch.widths[-1]
        return F.linear(self.dropout(features), self.classifier.weight[:, :width], self.classifier.bias)

    # --- sub-networks -----------------------------------------------------------------------------

    def bank_slice(self, key: str, tensor: torch.Tensor, shape: tuple[int, ...], arch: NdsArch) -> torch.Tensor:
        """Leading slices, except a bottleneck's grouped 3x3 conv (see :func:`grouped_slice`)."""
        parts = key.split(".")
        if self.bottleneck and parts[0] == "stages" and parts[3:] == ["b", "weight"]:
            stage = int(parts[1])
            return grouped_slice(tensor, arch.bottleneck_widths[stage], arch.groups[stage])
        return tensor[tuple(slice(0, n) for n in shape)]
