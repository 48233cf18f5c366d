"""The NB101 supernet as a weight bank at the widest vertex widths.

Every cell position holds, for each pruned vertex index t = 1..5, one conv-BN-ReLU per conv op
(3x3 and 1x1) at the cell's output width c_out (no vertex is ever wider), and one 1x1 projection
of the cell input per vertex t and for the output (``projections["out"]``), also at width c_out.
An architecture whose vertex t is w channels wide uses the FIRST w output (and input) channels of
those weights and BN entries ("channels taken as the first w of the widest"), so
:meth:`Nb101Supernet.subnet` is the standalone :class:`~suite.spaces.nb101_network.Nb101Network`
whose tensors are slices of the bank, and ``forward(x, arch)`` computes exactly what that network
computes.

Weights are shared by pruned vertex INDEX: two isomorphic cells written with different vertex
orders (e.g. a 1shot1 sample and the dataset's stored matrix) use different bank entries. The
suite always holds the pruned matrix as sampled or as stored in the table, so one architecture
string always maps to the same weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from suite.spaces.nb101 import CONV1X1, CONV3X3, MAX_VERTICES, MAXPOOL3X3, Nb101Arch, vertex_channels
from suite.spaces.nb101_network import ConvBnRelu, Nb101Network, build_skeleton, cell_forward
from suite.spaces.weight_bank import WeightBank

_INTERIOR = range(1, MAX_VERTICES - 1)


class SlicedConvBnRelu(ConvBnRelu):
    """A ConvBnRelu at the widest shape whose ``forward(x, width)`` uses the first ``width`` output
    channels (and the first ``x.shape[1]`` input channels) of its weights and BN entries."""

    def forward(self, x: torch.Tensor, width: int) -> torch.Tensor:  # type: ignore[override]
        """x: [N, c, H, W] (c <= the bank's input width) -> [N, width, H, W]."""
        conv, bn, relu = self[0], self[1], self[2]
        out = F.conv2d(x, conv.weight[:width, :x.shape[1]], None, conv.stride, conv.padding)
        tracking = bn.track_running_stats and bn.running_mean is not None
        if bn.training and tracking:
            bn.num_batches_tracked.add_(1)
        out = F.batch_norm(
            out,
            bn.running_mean[:width] if tracking else None,
            bn.running_var[:width] if tracking else None,
            bn.weight[:width] if bn.affine else None,
            bn.bias[:width] if bn.affine else None,
            bn.training or not tracking,
            bn.momentum,
            bn.eps,
        )
        return relu(out)


class Nb101SuperCell(nn.Module):
    """The bank of one cell position: ``ops[t][op]`` and ``projections[t | "out"]`` at width c_out."""

    def __init__(self, c_in: int, c_out: int, bn_affine: bool, track_running_stats: bool) -> None:
        super().__init__()
        self.c_in, self.c_out = c_in, c_out
        self.ops = nn.ModuleDict({
            str(t): nn.ModuleDict({
                CONV3X3: SlicedConvBnRelu(c_out, c_out, 3, bn_affine, track_running_stats),
                CONV1X1: SlicedConvBnRelu(c_out, c_out, 1, bn_affine, track_running_stats),
            }) for t in _INTERIOR
        })
        self.projections = nn.ModuleDict({
            key: SlicedConvBnRelu(c_in, c_out, 1, bn_affine, track_running_stats)
            for key in [*map(str, _INTERIOR), "out"]
        })
        self.pool = nn.MaxPool2d(3, stride=1, padding=1)

    def forward(self, x: torch.Tensor, arch: Nb101Arch) -> torch.Tensor:
        """x: [N, c_in, H, W] -> [N, c_out, H, W] through ``arch`` (as ``Nb101Cell``)."""
        channels = vertex_channels(arch.matrix, self.c_in, self.c_out)
        last = arch.num_vertices - 1

        def op(t: int, h: torch.Tensor) -> torch.Tensor:
            if arch.ops[t] == MAXPOOL3X3:
                return self.pool(h)
            return self.ops[str(t)][arch.ops[t]](h, channels[t])

        def project(t: int, h: torch.Tensor) -> torch.Tensor:
            return self.projections["out" if t == last else str(t)](h, channels[t])

        return cell_forward(x, arch, channels, op, project)


class Nb101Supernet(WeightBank):
    """The weight bank of NB101 cells; same skeleton and key layout as ``Nb101Network``.

    Args:
        init_channels, num_stacks, cells_per_stack, num_classes: as for ``Nb101Network``.
        cell_bn_affine: affine BN inside cells (the study's supernet: False).
        track_running_stats: as for ``Nb101Network``.
        dropout: dropout probability before the classifier in ``forward`` (0 by default).
    """

    network_class = Nb101Network

    def __init__(self, init_channels: int = 16, num_stacks: int = 3, cells_per_stack: int = 3,
                 num_classes: int = 10, cell_bn_affine: bool = False, track_running_stats: bool = True,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.options = {"init_channels": init_channels, "num_stacks": num_stacks,
                        "cells_per_stack": cells_per_stack, "num_classes": num_classes,
                        "cell_bn_affine": cell_bn_affine, "track_running_stats": track_running_stats}
        build_skeleton(self, lambda c_in, c_out: Nb101SuperCell(c_in, c_out, cell_bn_affine, track_running_stats),
                       init_channels, num_stacks, cells_per_stack, num_classes, track_running_stats)
        # After the skeleton, so the initialisation drawn from the seed does not depend on dropout.
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, arch: Nb101Arch) -> torch.Tensor:
        """x: [N, 3, 32, 32] normalised images -> logits [N, num_classes] of ``arch`` with the shared
        weights; dropout (training mode only) before the classifier."""
        out = self.stem(x)
        for layer in self.layers:
            out = layer(out, arch) if isinstance(layer, Nb101SuperCell) else layer(out)
        return self.classifier(self.dropout(out.mean(dim=(2, 3))))

    def bank_key(self, key: str, arch: Nb101Arch) -> str:
        """``layers.i.ops.t.<rest>`` -> ``layers.i.ops.t.<op>.<rest>``; ``layers.i.projections.t.<rest>``
        -> ``...projections.out.<rest>`` when t is the output vertex; other keys are shared as they are."""
        parts = key.split(".")
        if len(parts) > 4 and parts[0] == "layers" and parts[2] == "ops":
            return ".".join([*parts[:4], arch.ops[int(parts[3])], *parts[4:]])
        if len(parts) > 4 and parts[0] == "layers" and parts[2] == "projections" \
                and int(parts[3]) == arch.num_vertices - 1:
            return ".".join([*parts[:3], "out", *parts[4:]])
        return key
