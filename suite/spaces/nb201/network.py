"""The standalone NAS-Bench-201 network: stem, 3 stages of N cells, two residual reductions.

Layout for CIFAR (C = 16, N = 5): 3x3 conv stem -> N cells (C) -> residual reduction (2C)
-> N cells (2C) -> residual reduction (4C) -> N cells (4C) -> BN, ReLU -> global average pool
-> linear classifier. 17 layers of cells and reduction blocks in all.
"""

from __future__ import annotations

import torch
from torch import nn

from suite.spaces.nb201.arch import EDGES, N_NODES, Nb201Arch


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv2d (no bias) -> BatchNorm2d; [N, C_in, H, W] -> [N, C_out, H/stride, W/stride]."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, bn_affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, affine=bn_affine, track_running_stats=track_running_stats),
        )


class Zero(nn.Module):
    """The ``none`` operation: [N, C, H, W] -> zeros of the same shape."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def make_op(op: str, channels: int, bn_affine: bool = True, track_running_stats: bool = True) -> nn.Module:
    """One candidate operation at ``channels`` channels, stride 1, shape-preserving."""
    if op == "none":
        return Zero()
    if op == "skip_connect":
        return nn.Identity()
    if op == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, bn_affine, track_running_stats)
    if op == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, bn_affine, track_running_stats)
    if op == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown NB201 operation {op!r}")


class Nb201Cell(nn.Module):
    """A cell: node j = sum over i < j of op_(i->j)(node i); output = node 3. Shape-preserving."""

    def __init__(self, arch: Nb201Arch, channels: int, bn_affine: bool = True,
                 track_running_stats: bool = True) -> None:
        super().__init__()
        self.edges = nn.ModuleList(
            make_op(op, channels, bn_affine, track_running_stats) for op in arch.ops
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N, C, H, W] -> [N, C, H, W]."""
        return cell_forward(x, list(self.edges))


def cell_forward(x: torch.Tensor, edge_ops: list[nn.Module]) -> torch.Tensor:
    """The cell's DAG: node j = sum over i < j of edge_ops[e(i, j)](node i); returns node 3.
    Shared by the standalone cell and the supernet's, so both sum in the same order."""
    nodes = [x]
    for to_node in range(1, N_NODES):
        total = None
        for position, (src, dst) in enumerate(EDGES):
            if dst == to_node:
                out = edge_ops[position](nodes[src])
                total = out if total is None else total + out
        nodes.append(total)
    return nodes[-1]


class ResidualReduction(nn.Module):
    """The reduction block: [N, C_in, H, W] -> [N, C_out, H/2, W/2].

    Main path: ReLUConvBN(3x3, stride 2) -> ReLUConvBN(3x3); shortcut: 2x2 average pool -> 1x1 conv.
    Its BN always keeps affine parameters (it is not part of the searched cell).
    """

    def __init__(self, c_in: int, c_out: int, track_running_stats: bool = True) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, True, track_running_stats)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, True, track_running_stats)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, stride=2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


def build_skeleton(module: nn.Module, make_cell, init_channels: int, cells_per_stage: int, num_classes: int,
                   track_running_stats: bool) -> None:
    """Give ``module`` the NB201 skeleton: ``stem``, ``layers`` (3 stages of ``make_cell(width)``
    with residual reductions between them), ``head_norm`` and ``classifier``. Shared by the
    standalone network and the supernet so their parameter names line up."""
    c = init_channels
    module.stem = nn.Sequential(
        nn.Conv2d(3, c, 3, padding=1, bias=False),
        nn.BatchNorm2d(c, track_running_stats=track_running_stats),
    )
    layers: list[nn.Module] = []
    for stage in range(3):
        width = c * 2**stage
        if stage > 0:
            layers.append(ResidualReduction(width // 2, width, track_running_stats))
        layers.extend(make_cell(width) for _ in range(cells_per_stage))
    module.layers = nn.Sequential(*layers)
    module.head_norm = nn.Sequential(nn.BatchNorm2d(4 * c, track_running_stats=track_running_stats), nn.ReLU())
    module.classifier = nn.Linear(4 * c, num_classes)


class Nb201Network(nn.Module):
    """The standalone network of one NB201 cell.

    Args:
        arch: the cell, repeated in every stage.
        init_channels: C, the width of the first stage (16 in the benchmark).
        cells_per_stage: N (5 in the benchmark).
        num_classes: classifier outputs (10 for CIFAR-10).
        cell_bn_affine: affine BN inside cells (the benchmark: True; the study's ZSE protocol,
            a sub-network of a supernet: False).
        track_running_stats: keep BN running statistics; False makes BN always use batch statistics.
    """

    def __init__(self, arch: Nb201Arch, init_channels: int = 16, cells_per_stage: int = 5,
                 num_classes: int = 10, cell_bn_affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__()
        if init_channels < 1 or cells_per_stage < 1 or num_classes < 1:
            raise ValueError("init_channels, cells_per_stage and num_classes must be positive")
        build_skeleton(self, lambda width: Nb201Cell(arch, width, cell_bn_affine, track_running_stats),
                       init_channels, cells_per_stage, num_classes, track_running_stats)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N, 3, 32, 32] normalised images -> pooled features [N, 4C]."""
        out = self.head_norm(self.layers(self.stem(x)))
        # A mean rather than AdaptiveAvgPool2d: its CUDA backward has no deterministic kernel.
        return out.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N, 3, 32, 32] normalised images -> logits [N, num_classes]."""
        return self.classifier(self.forward_features(x))


def count_parameters(model: nn.Module) -> int:
    """Number of parameter elements in ``model``."""
    return sum(p.numel() for p in model.parameters())


def count_flops(model: nn.Module, input_shape: tuple[int, ...] = (1, 3, 32, 32)) -> int:
    """Multiply-accumulates of Conv2d and Linear layers (+ Linear bias) for one forward pass,
    measured with forward hooks on a zero input of ``input_shape`` (batch size 1 recommended)."""
    total = 0

    def conv_hook(module: nn.Conv2d, _inputs, output: torch.Tensor) -> None:
        nonlocal total
        kernel = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
        total += output.numel() * kernel + (output.numel() if module.bias is not None else 0)

    def linear_hook(module: nn.Linear, _inputs, output: torch.Tensor) -> None:
        nonlocal total
        total += output.numel() * module.in_features + (output.numel() if module.bias is not None else 0)

    handles = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            handles.append(module.register_forward_hook(linear_hook))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(input_shape))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return total
