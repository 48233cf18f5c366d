"""The standalone NB301 network: DARTS' ``NetworkCIFAR`` for one genotype.

Layout (C = 16, 8 cells for the protocol; DARTS' evaluation network is C = 36, 20 cells):
3x3 conv stem to 3C channels + BN -> cells 0..L-1, where cells L//3 and 2L//3 are reduction
cells that double the width and halve the resolution -> global mean pool -> linear classifier.
Each cell preprocesses its two inputs (the outputs of the two previous cells) to C channels:
input 0 by a FactorizedReduce when the previous cell reduced, else by a 1x1 ReLUConvBN; input 1
by a 1x1 ReLUConvBN. In a reduction cell the ops reading inputs 0 and 1 have stride 2.

Differences from DARTS' training network, on purpose: no auxiliary head and no drop path (the
suite scores networks, it does not train them to convergence), a mean instead of
AdaptiveAvgPool2d (deterministic CUDA backward), and the cell BN affine switch.
"""

from __future__ import annotations

import torch
from torch import nn

from suite.spaces.nb301.arch import CONCAT, N_INTERMEDIATE, Nb301Arch, Pair, reduction_layers


def _bn(channels: int, affine: bool, track_running_stats: bool) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, affine=affine, track_running_stats=track_running_stats)


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv2d (no bias) -> BN: [N, C_in, H, W] -> [N, C_out, H/stride, W/stride]."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, bn_affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            _bn(c_out, bn_affine, track_running_stats),
        )


class DilConv(nn.Sequential):
    """ReLU -> depthwise kxk conv (dilation, stride) -> pointwise 1x1 conv -> BN.

    [N, C_in, H, W] -> [N, C_out, H/stride, W/stride]."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int,
                 bn_affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel, stride=stride, padding=padding, dilation=dilation, groups=c_in,
                      bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            _bn(c_out, bn_affine, track_running_stats),
        )


class SepConv(nn.Sequential):
    """Two DilConv-like blocks with dilation 1; the first carries the stride.

    [N, C_in, H, W] -> [N, C_out, H/stride, W/stride]."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, bn_affine: bool = True,
                 track_running_stats: bool = True) -> None:
        padding = kernel // 2
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel, stride=stride, padding=padding, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_in, 1, bias=False),
            _bn(c_in, bn_affine, track_running_stats),
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel, stride=1, padding=padding, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            _bn(c_out, bn_affine, track_running_stats),
        )


class FactorizedReduce(nn.Module):
    """ReLU -> two 1x1 stride-2 convs (the second on the input shifted by one pixel), concatenated -> BN.

    [N, C_in, H, W] (H, W even) -> [N, C_out, H/2, W/2]; C_out must be even."""

    def __init__(self, c_in: int, c_out: int, bn_affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even number of output channels, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = _bn(c_out, bn_affine, track_running_stats)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


def make_op(op: str, channels: int, stride: int, bn_affine: bool = True,
            track_running_stats: bool = True) -> nn.Module:
    """One candidate operation: [N, C, H, W] -> [N, C, H/stride, W/stride]."""
    c, t = channels, track_running_stats
    if op == "max_pool_3x3":
        return nn.MaxPool2d(3, stride=stride, padding=1)
    if op == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
    if op == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c, bn_affine, t)
    if op == "sep_conv_3x3":
        return SepConv(c, c, 3, stride, bn_affine, t)
    if op == "sep_conv_5x5":
        return SepConv(c, c, 5, stride, bn_affine, t)
    if op == "dil_conv_3x3":
        return DilConv(c, c, 3, stride, 2, 2, bn_affine, t)
    if op == "dil_conv_5x5":
        return DilConv(c, c, 5, stride, 4, 2, bn_affine, t)
    raise ValueError(f"unknown NB301 operation {op!r}")


def op_stride(reduction: bool, input_node: int) -> int:
    """2 for the ops of a reduction cell that read the cell inputs (nodes 0, 1), else 1."""
    return 2 if reduction and input_node < 2 else 1


def make_preprocess(c_pp: int, c_p: int, c: int, reduction_prev: bool, bn_affine: bool,
                    track_running_stats: bool) -> tuple[nn.Module, nn.Module]:
    """The two input adapters of a cell: (input 0 -> C channels, input 1 -> C channels)."""
    if reduction_prev:
        pre0: nn.Module = FactorizedReduce(c_pp, c, bn_affine, track_running_stats)
    else:
        pre0 = ReLUConvBN(c_pp, c, 1, 1, bn_affine, track_running_stats)
    return pre0, ReLUConvBN(c_p, c, 1, 1, bn_affine, track_running_stats)


def cell_forward(s0: torch.Tensor, s1: torch.Tensor, pre0: nn.Module, pre1: nn.Module,
                 ops: list[nn.Module], pairs: tuple[Pair, ...]) -> torch.Tensor:
    """A cell's DAG: node k+2 = ops[2k](node input_2k) + ops[2k+1](node input_2k+1); returns
    cat(nodes 2..5) along channels. Shared by the standalone cell and the supernet's cell, so both
    compute in the same order. s0, s1: [N, *, H', W'] -> [N, 4C, H, W]."""
    states = [pre0(s0), pre1(s1)]
    for node in range(N_INTERMEDIATE):
        (_, a), (_, b) = pairs[2 * node], pairs[2 * node + 1]
        states.append(ops[2 * node](states[a]) + ops[2 * node + 1](states[b]))
    return torch.cat([states[i] for i in CONCAT], dim=1)


class Nb301Cell(nn.Module):
    """One cell of a genotype: ``preprocess0``, ``preprocess1`` and ``ops[p]`` for pair p."""

    def __init__(self, pairs: tuple[Pair, ...], c_pp: int, c_p: int, c: int, reduction: bool,
                 reduction_prev: bool, bn_affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__()
        self.pairs = pairs
        self.preprocess0, self.preprocess1 = make_preprocess(c_pp, c_p, c, reduction_prev, bn_affine,
                                                             track_running_stats)
        self.ops = nn.ModuleList(
            make_op(op, c, op_stride(reduction, src), bn_affine, track_running_stats) for op, src in pairs
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        """s0, s1: the two previous cells' outputs -> [N, 4C, H, W] (H, W halved in a reduction cell)."""
        return cell_forward(s0, s1, self.preprocess0, self.preprocess1, list(self.ops), self.pairs)


def build_skeleton(module: nn.Module, make_cell, init_channels: int, layers: int, num_classes: int,
                   stem_multiplier: int, track_running_stats: bool) -> None:
    """Give ``module`` the DARTS skeleton: ``stem``, ``cells`` (``make_cell(i, c_pp, c_p, c, reduction,
    reduction_prev)`` for each position) and ``classifier``. Shared by the standalone network and the
    supernet so their parameter names line up. The stem BN is always affine (not a cell BN)."""
    if init_channels < 2 or init_channels % 2 or layers < 1 or num_classes < 1 or stem_multiplier < 1:
        raise ValueError("init_channels must be even and >= 2; layers, num_classes, stem_multiplier positive")
    stem_c = stem_multiplier * init_channels
    module.stem = nn.Sequential(
        nn.Conv2d(3, stem_c, 3, padding=1, bias=False),
        _bn(stem_c, True, track_running_stats),
    )
    c_pp, c_p, c = stem_c, stem_c, init_channels
    cells: list[nn.Module] = []
    reduction_prev = False
    for i in range(layers):
        reduction = i in reduction_layers(layers)
        if reduction:
            c *= 2
        cells.append(make_cell(i, c_pp, c_p, c, reduction, reduction_prev))
        reduction_prev = reduction
        c_pp, c_p = c_p, len(CONCAT) * c
    module.cells = nn.ModuleList(cells)
    module.classifier = nn.Linear(c_p, num_classes)


class Nb301Network(nn.Module):
    """The standalone network of one NB301 genotype (DARTS' NetworkCIFAR, see the module docstring).

    Args:
        arch: the genotype (normal cell everywhere except the reduction cells).
        init_channels: C, the width of the first cells (16 in the protocol, 36 in DARTS' evaluation,
            32 in NB301's training runs); must be even.
        layers: number of cells (8 in the protocol and in NB301); cells layers//3 and 2*layers//3 reduce.
        num_classes: classifier outputs (10 for CIFAR-10).
        cell_bn_affine: affine BN in the cells' ops and preprocessing (DARTS: True; the study's
            zero-shot protocol, a sub-network of a supernet: False). The stem BN is always affine.
        track_running_stats: keep BN running statistics; False makes BN always use batch statistics.
        stem_multiplier: the stem has stem_multiplier * C channels (3).
    """

    def __init__(self, arch: Nb301Arch, init_channels: int = 16, layers: int = 8, num_classes: int = 10,
                 cell_bn_affine: bool = True, track_running_stats: bool = True, stem_multiplier: int = 3) -> None:
        super().__init__()

        def make_cell(_i, c_pp, c_p, c, reduction, reduction_prev):
            return Nb301Cell(arch.cell(reduction), c_pp, c_p, c, reduction, reduction_prev, cell_bn_affine,
                             track_running_stats)

        build_skeleton(self, make_cell, init_channels, layers, num_classes, stem_multiplier, track_running_stats)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N, 3, 32, 32] normalised images -> pooled features [N, 16C]."""
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        # A mean rather than AdaptiveAvgPool2d: its CUDA backward has no deterministic kernel.
        return s1.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N, 3, 32, 32] normalised images -> logits [N, num_classes]."""
        return self.classifier(self.forward_features(x))
