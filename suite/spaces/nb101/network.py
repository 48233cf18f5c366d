"""The standalone NAS-Bench-101 network (google-research/nasbench ``model_builder.py``, in PyTorch).

Layout: 3x3 conv-BN-ReLU stem (C channels) -> 3 stacks of 3 cells; before stacks 2 and 3 a 2x2
max-pool (stride 2) and the channels double -> global mean pool -> linear classifier. Official
size C = 128 (``stem_filter_size``); the suite's protocol C = 16.

Inside a cell (``build_module``): vertex widths by :func:`~suite.spaces.nb101.counts.vertex_channels`;
vertex t sums the outputs of its interior parents (first ``width`` channels: "truncation") and,
when the input feeds it, a 1x1 conv-BN-ReLU projection of the cell input; then applies its op
(conv-BN-ReLU keeps the width, max-pool 3x3 stride 1 too). The cell output concatenates the
vertices feeding the output, in vertex order, plus a projection of the input when the input feeds
the output (only that projection when there is no interior vertex).

Differences from the TF original, none of which changes shapes or parameter counts: PyTorch's
default initialisation instead of TF's variance scaling, and PyTorch's BatchNorm momentum (0.1)
instead of TF's 0.997 decay (eps 1e-5 as there).
"""

from __future__ import annotations

import torch
from torch import nn

from suite.spaces.nb101.arch import CONV1X1, CONV3X3, MAXPOOL3X3, Nb101Arch
from suite.spaces.nb101.counts import stack_widths, vertex_channels


class ConvBnRelu(nn.Sequential):
    """Conv2d (no bias, 'same' padding, stride 1) -> BatchNorm2d -> ReLU; [N, c_in, H, W] -> [N, c_out, H, W]."""

    def __init__(self, c_in: int, c_out: int, kernel: int, bn_affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, affine=bn_affine, track_running_stats=track_running_stats),
            nn.ReLU(inplace=False),
        )


def make_op(op: str, channels: int, bn_affine: bool = True, track_running_stats: bool = True) -> nn.Module:
    """The op of an interior vertex at ``channels`` channels (shape-preserving)."""
    if op == CONV3X3:
        return ConvBnRelu(channels, channels, 3, bn_affine, track_running_stats)
    if op == CONV1X1:
        return ConvBnRelu(channels, channels, 1, bn_affine, track_running_stats)
    if op == MAXPOOL3X3:
        return nn.MaxPool2d(3, stride=1, padding=1)
    raise ValueError(f"unknown NB101 operation {op!r}")


def cell_forward(x: torch.Tensor, arch: Nb101Arch, channels: list[int], op, project) -> torch.Tensor:
    """The cell's DAG, shared by the standalone cell and the supernet's so both add in the same order.

    Args:
        x: [N, c_in, H, W] the cell input.
        arch: the pruned cell; ``channels``: its vertex widths.
        op: ``op(t, tensor)`` applies vertex t's op; ``project(t, x)``: the 1x1 projection of x to
            ``channels[t]`` (t = V-1: to the cell's output width).
    Returns:
        [N, c_out, H, W].
    """
    m, n = arch.matrix, arch.num_vertices
    tensors: list[torch.Tensor] = [x]
    concat = []
    for t in range(1, n - 1):
        inputs = [tensors[src][:, :channels[t]] for src in range(1, t) if m[src][t]]
        if m[0][t]:
            inputs.append(project(t, x))
        total = inputs[0]
        for extra in inputs[1:]:
            total = total + extra
        tensors.append(op(t, total))
        if m[t][n - 1]:
            concat.append(tensors[t])
    if not concat:
        return project(n - 1, x)
    out = concat[0] if len(concat) == 1 else torch.cat(concat, dim=1)
    if m[0][n - 1]:
        out = out + project(n - 1, x)
    return out


class Nb101Cell(nn.Module):
    """One cell: ``ops[str(t)]`` the op of interior vertex t, ``projections[str(t)]`` the 1x1
    projection of the input to vertex t (t = V-1 for the output). [N, c_in, H, W] -> [N, c_out, H, W]."""

    def __init__(self, arch: Nb101Arch, c_in: int, c_out: int, bn_affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        self.arch = arch
        self.channels = vertex_channels(arch.matrix, c_in, c_out)
        n = arch.num_vertices
        self.ops = nn.ModuleDict({str(t): make_op(arch.ops[t], self.channels[t], bn_affine, track_running_stats)
                                  for t in range(1, n - 1)})
        self.projections = nn.ModuleDict({str(t): ConvBnRelu(c_in, self.channels[t], 1, bn_affine, track_running_stats)
                                          for t in range(1, n) if arch.matrix[0][t]})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N, c_in, H, W] -> [N, c_out, H, W]."""
        return cell_forward(x, self.arch, self.channels, lambda t, h: self.ops[str(t)](h),
                            lambda t, h: self.projections[str(t)](h))


def build_skeleton(module: nn.Module, make_cell, init_channels: int, num_stacks: int, cells_per_stack: int,
                   num_classes: int, track_running_stats: bool) -> None:
    """Give ``module`` ``stem``, ``layers`` (cells ``make_cell(c_in, c_out)`` with a 2x2 max-pool
    before every stack but the first) and ``classifier``. Shared by network and supernet so that
    their parameter names line up."""
    module.stem = ConvBnRelu(3, init_channels, 3, True, track_running_stats)
    layers: list[nn.Module] = []
    for i, (c_in, c_out, _) in enumerate(stack_widths(init_channels, num_stacks, cells_per_stack)):
        if i and i % cells_per_stack == 0:
            layers.append(nn.MaxPool2d(2, stride=2))
        layers.append(make_cell(c_in, c_out))
    module.layers = nn.Sequential(*layers)
    module.classifier = nn.Linear(init_channels * 2 ** (num_stacks - 1), num_classes)


class Nb101Network(nn.Module):
    """The standalone network of one NB101 cell.

    Args:
        arch: the cell, repeated in every stack.
        init_channels: stem channels C (official 128; the protocol 16).
        num_stacks, cells_per_stack: 3 and 3 in the benchmark.
        num_classes: classifier outputs (10 for CIFAR-10).
        cell_bn_affine: affine BN inside cells (vertex ops and projections); the stem's BN keeps it.
        track_running_stats: keep BN running statistics; False makes BN always use batch statistics.
    """

    def __init__(self, arch: Nb101Arch, init_channels: int = 16, num_stacks: int = 3, cells_per_stack: int = 3,
                 num_classes: int = 10, cell_bn_affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__()
        if min(init_channels, num_stacks, cells_per_stack, num_classes) < 1:
            raise ValueError("init_channels, num_stacks, cells_per_stack and num_classes must be positive")
        build_skeleton(self, lambda c_in, c_out: Nb101Cell(arch, c_in, c_out, cell_bn_affine, track_running_stats),
                       init_channels, num_stacks, cells_per_stack, num_classes, track_running_stats)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N, 3, 32, 32] normalised images -> pooled features [N, C * 2**(num_stacks-1)]."""
        return self.layers(self.stem(x)).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N, 3, 32, 32] normalised images -> logits [N, num_classes]."""
        return self.classifier(self.forward_features(x))
