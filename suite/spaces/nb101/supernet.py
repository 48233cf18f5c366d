"""The NB101 supernet as a weight bank at the widest vertex widths.

Every cell position holds, for each bank slot t = 1..5, one conv-BN-ReLU per conv op (3x3 and
1x1) at the cell's output width c_out (no vertex is ever wider), and one 1x1 projection of the cell
input per slot t and for the output (``projections["out"]``), also at width c_out.
An architecture whose vertex t is w channels wide uses the FIRST w output (and input) channels of
those weights and BN entries ("channels taken as the first w of the widest"), so
:meth:`Nb101Supernet.subnet` is the standalone :class:`~suite.spaces.nb101.network.Nb101Network`
whose tensors are slices of the bank, and ``forward(x, arch)`` computes exactly what that network
computes.

Which slot a vertex of the pruned cell uses (``share_by``):

- ``"space3-node"`` (NAS-Bench-1shot1 space 3, as the study's supernet): the vertex's 1shot1 node
  (:func:`~suite.spaces.nb101.space3.space3_nodes`: 1-input vertices on nodes 1-3, 2-input ones on nodes
  4-5), so a node keeps its weights whichever other nodes are pruned as loose ends. Sharing by
  pruned index instead would hand node 3's weights to node 1 whenever nodes 1-2 are loose ends.
- ``"vertex"`` (the whole NB101 space, which has no fixed nodes): the pruned vertex index.

Either way two isomorphic cells written with different vertex orders may use different slots; the
suite holds each cell as sampled or as stored in its table, so one architecture string always maps
to the same weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from suite.spaces.nb101.arch import CONV1X1, CONV3X3, MAX_VERTICES, MAXPOOL3X3, Nb101Arch
from suite.spaces.nb101.counts import vertex_channels
from suite.spaces.nb101.network import ConvBnRelu, Nb101Network, build_skeleton, cell_forward
from suite.spaces.nb101.space3 import space3_nodes
from suite.spaces.weight_bank import WeightBank

_INTERIOR = range(1, MAX_VERTICES - 1)
SHARE_BY = ("vertex", "space3-node")


def bank_slots(arch: Nb101Arch, share_by: str) -> tuple[int, ...]:
    """The bank slot (1..5) of each vertex of ``arch`` (input and output map to 0 and 6 / the last
    index; they own no slot). ``share_by``: one of :data:`SHARE_BY` (see the module docstring).

    Raises:
        ValueError: ``share_by="space3-node"`` and ``arch`` is not in NAS-Bench-1shot1 space 3.
    """
    if share_by == "vertex":
        return tuple(range(arch.num_vertices))
    if share_by == "space3-node":
        nodes = space3_nodes(arch)
        if nodes is None:
            raise ValueError("an NB101 cell outside NAS-Bench-1shot1 space 3 has no space-3 nodes to share weights by")
        return nodes
    raise ValueError(f"share_by must be one of {SHARE_BY}, got {share_by!r}")


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
    """The bank of one cell position: ``ops[slot][op]`` and ``projections[slot | "out"]`` at width c_out."""

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

    def forward(self, x: torch.Tensor, arch: Nb101Arch, slots: tuple[int, ...]) -> torch.Tensor:
        """x: [N, c_in, H, W] -> [N, c_out, H, W] through ``arch`` (as ``Nb101Cell``); vertex t uses
        bank slot ``slots[t]`` (:func:`bank_slots`)."""
        channels = vertex_channels(arch.matrix, self.c_in, self.c_out)
        last = arch.num_vertices - 1

        def op(t: int, h: torch.Tensor) -> torch.Tensor:
            if arch.ops[t] == MAXPOOL3X3:
                return self.pool(h)
            return self.ops[str(slots[t])][arch.ops[t]](h, channels[t])

        def project(t: int, h: torch.Tensor) -> torch.Tensor:
            return self.projections["out" if t == last else str(slots[t])](h, channels[t])

        return cell_forward(x, arch, channels, op, project)


class Nb101Supernet(WeightBank):
    """The weight bank of NB101 cells; same skeleton and key layout as ``Nb101Network``.

    Args:
        init_channels, num_stacks, cells_per_stack, num_classes: as for ``Nb101Network``.
        cell_bn_affine: affine BN inside cells (the study's supernet: False).
        track_running_stats: as for ``Nb101Network``.
        dropout: dropout probability before the classifier in ``forward`` (0 by default).
        share_by: which bank slot a vertex uses: ``"vertex"`` (its pruned index) or ``"space3-node"``
            (its NAS-Bench-1shot1 space-3 node); see the module docstring.
    """

    network_class = Nb101Network

    def __init__(self, init_channels: int = 16, num_stacks: int = 3, cells_per_stack: int = 3,
                 num_classes: int = 10, cell_bn_affine: bool = False, track_running_stats: bool = True,
                 dropout: float = 0.0, share_by: str = "vertex") -> None:
        super().__init__()
        if share_by not in SHARE_BY:
            raise ValueError(f"share_by must be one of {SHARE_BY}, got {share_by!r}")
        self.share_by = share_by
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
        slots = bank_slots(arch, self.share_by)
        out = self.stem(x)
        for layer in self.layers:
            out = layer(out, arch, slots) if isinstance(layer, Nb101SuperCell) else layer(out)
        return self.classifier(self.dropout(out.mean(dim=(2, 3))))

    def check_arch(self, arch: Nb101Arch) -> None:
        """Raise ValueError when ``arch`` has no bank slots under ``share_by`` (a cell outside space 3)."""
        bank_slots(arch, self.share_by)

    def bank_key(self, key: str, arch: Nb101Arch) -> str:
        """``layers.i.ops.t.<rest>`` -> ``layers.i.ops.<slot of t>.<op>.<rest>``;
        ``layers.i.projections.t.<rest>`` -> ``...projections.<slot of t>.<rest>``, or
        ``...projections.out.<rest>`` when t is the output vertex; other keys are shared as they are."""
        parts = key.split(".")
        if len(parts) > 4 and parts[0] == "layers" and parts[2] in ("ops", "projections"):
            t = int(parts[3])
            if parts[2] == "ops":
                return ".".join([*parts[:3], str(bank_slots(arch, self.share_by)[t]), arch.ops[t], *parts[4:]])
            slot = "out" if t == arch.num_vertices - 1 else str(bank_slots(arch, self.share_by)[t])
            return ".".join([*parts[:3], slot, *parts[4:]])
        return key
