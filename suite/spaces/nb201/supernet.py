"""The NB201 supernet as a weight bank: every candidate operation of every edge of every cell.

The study scores zero-shot estimators on "a sub-network of a randomly initialised supernet".
:class:`Nb201Supernet` holds one module per (cell, edge, operation) plus the shared stem,
reduction blocks and head; :meth:`Nb201Supernet.subnet` returns the standalone
:class:`~suite.spaces.nb201.network.Nb201Network` of an architecture whose weights are copies of
the supernet's. Two architectures that share an operation on an edge therefore start from the
same weights, and a sub-network does not depend on which architectures were built before it.
"""

from __future__ import annotations

import torch
from torch import nn

from suite.spaces.nb201.arch import OPS, Nb201Arch
from suite.spaces.nb201.network import Nb201Network, build_skeleton, cell_forward, make_op
from suite.spaces.weight_bank import WeightBank


class Nb201SuperCell(nn.Module):
    """All candidate operations of one cell: ``edges[e][op]`` (parameter-free ops included)."""

    def __init__(self, channels: int, bn_affine: bool, track_running_stats: bool) -> None:
        super().__init__()
        self.edges = nn.ModuleList(
            nn.ModuleDict({op: make_op(op, channels, bn_affine, track_running_stats) for op in OPS})
            for _ in range(6)
        )

    def forward(self, x: torch.Tensor, ops: tuple[str, ...]) -> torch.Tensor:
        """x: [N, C, H, W] -> [N, C, H, W] through the chosen op of each edge (as ``Nb201Cell``)."""
        return cell_forward(x, [edge[op] for edge, op in zip(self.edges, ops)])


class Nb201Supernet(WeightBank):
    """The weight bank of the NB201 space; same skeleton and key layout as ``Nb201Network``.

    Args:
        init_channels, cells_per_stage, num_classes: as for ``Nb201Network``.
        cell_bn_affine: affine BN inside cells (the study's supernet: False).
        track_running_stats: as for ``Nb201Network``.
        dropout: dropout probability before the classifier in ``forward`` (the study's supernet: 0.1).
    """

    network_class = Nb201Network

    def __init__(self, init_channels: int = 16, cells_per_stage: int = 5, num_classes: int = 10,
                 cell_bn_affine: bool = False, track_running_stats: bool = True, dropout: float = 0.0) -> None:
        super().__init__()
        self.options = {"init_channels": init_channels, "cells_per_stage": cells_per_stage,
                        "num_classes": num_classes, "cell_bn_affine": cell_bn_affine,
                        "track_running_stats": track_running_stats}
        build_skeleton(self, lambda width: Nb201SuperCell(width, cell_bn_affine, track_running_stats),
                       init_channels, cells_per_stage, num_classes, track_running_stats)
        # Registered after the skeleton so that parameter creation (and so the initialisation drawn
        # from the seed) is the same with and without dropout.
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, arch: Nb201Arch) -> torch.Tensor:
        """x: [N, 3, 32, 32] normalised images -> logits [N, num_classes] of ``arch`` with the shared
        weights; dropout (training mode only) before the classifier."""
        out = self.stem(x)
        for layer in self.layers:
            out = layer(out, arch.ops) if isinstance(layer, Nb201SuperCell) else layer(out)
        # A mean rather than AdaptiveAvgPool2d, as in Nb201Network: deterministic CUDA backward.
        features = self.head_norm(out).mean(dim=(2, 3))
        return self.classifier(self.dropout(features))

    def bank_key(self, key: str, arch: Nb201Arch) -> str:
        """``layers.i.edges.e.<rest>`` of a cell in the standalone net -> ``layers.i.edges.e.<op>.<rest>``."""
        parts = key.split(".")
        if len(parts) > 3 and parts[0] == "layers" and parts[2] == "edges":
            edge = int(parts[3])
            return ".".join([*parts[:4], arch.ops[edge], *parts[4:]])
        return key
