"""The NB301 supernet as a weight bank: every candidate op of every edge of every cell.

Each cell position holds its two preprocessing blocks (their shapes do not depend on the
genotype: the concat is always nodes 2..5) and, for each of the 14 edges ``input j -> node k``
(:data:`~suite.spaces.nb301.arch.EDGES`), one module per operation (7). A genotype picks, per pair
``(op, j)`` feeding node k, the module ``edges[edge_index(j, k)][op]``; the stem and classifier
are shared. :meth:`Nb301Supernet.subnet` returns the standalone
:class:`~suite.spaces.nb301.network.Nb301Network` of a genotype holding copies of these weights,
so it computes exactly what ``forward(x, arch)`` computes.
"""

from __future__ import annotations

import torch
from torch import nn

from suite.spaces.nb301.arch import EDGES, OPS, Nb301Arch, Pair, edge_index
from suite.spaces.nb301.network import (
    Nb301Network,
    build_skeleton,
    cell_forward,
    make_op,
    make_preprocess,
    op_stride,
)
from suite.spaces.weight_bank import WeightBank


class Nb301SuperCell(nn.Module):
    """All candidate ops of one cell position: ``edges[e][op]`` plus ``preprocess0/1``."""

    def __init__(self, c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool, bn_affine: bool,
                 track_running_stats: bool) -> None:
        super().__init__()
        self.reduction = reduction
        self.preprocess0, self.preprocess1 = make_preprocess(c_pp, c_p, c, reduction_prev, bn_affine,
                                                             track_running_stats)
        self.edges = nn.ModuleList(
            nn.ModuleDict({op: make_op(op, c, op_stride(reduction, j), bn_affine, track_running_stats)
                           for op in OPS})
            for j, _ in EDGES
        )

    def chosen_ops(self, pairs: tuple[Pair, ...]) -> list[nn.Module]:
        """The bank module of each pair (pair p feeds node p // 2 + 2)."""
        return [self.edges[edge_index(src, p // 2 + 2)][op] for p, (op, src) in enumerate(pairs)]

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, arch: Nb301Arch) -> torch.Tensor:
        """As ``Nb301Cell.forward`` for this position's cell of ``arch``: -> [N, 4C, H, W]."""
        pairs = arch.cell(self.reduction)
        return cell_forward(s0, s1, self.preprocess0, self.preprocess1, self.chosen_ops(pairs), pairs)


class Nb301Supernet(WeightBank):
    """The weight bank of the NB301 space; same skeleton and key layout as ``Nb301Network``.

    Args:
        init_channels, layers, num_classes, stem_multiplier: as for ``Nb301Network`` (the protocol:
            C = 16, 8 cells, stem x3).
        cell_bn_affine: affine BN in the cells (the study's supernet: False).
        track_running_stats: as for ``Nb301Network``.
        dropout: dropout probability before the classifier in ``forward`` (0 by default).
    """

    network_class = Nb301Network

    def __init__(self, init_channels: int = 16, layers: int = 8, num_classes: int = 10,
                 cell_bn_affine: bool = False, track_running_stats: bool = True, dropout: float = 0.0,
                 stem_multiplier: int = 3) -> None:
        super().__init__()
        self.options = {"init_channels": init_channels, "layers": layers, "num_classes": num_classes,
                        "cell_bn_affine": cell_bn_affine, "track_running_stats": track_running_stats,
                        "stem_multiplier": stem_multiplier}

        def make_cell(_i, c_pp, c_p, c, reduction, reduction_prev):
            return Nb301SuperCell(c_pp, c_p, c, reduction, reduction_prev, cell_bn_affine, track_running_stats)

        build_skeleton(self, make_cell, init_channels, layers, num_classes, stem_multiplier, track_running_stats)
        # Registered after the skeleton so that the initialisation drawn from the seed is the same
        # with and without dropout.
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, arch: Nb301Arch) -> torch.Tensor:
        """x: [N, 3, 32, 32] normalised images -> logits [N, num_classes] of ``arch`` with the shared
        weights; dropout (training mode only) before the classifier."""
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, arch)
        # A mean rather than AdaptiveAvgPool2d, as in Nb301Network: deterministic CUDA backward.
        return self.classifier(self.dropout(s1.mean(dim=(2, 3))))

    def bank_key(self, key: str, arch: Nb301Arch) -> str:
        """``cells.i.ops.p.<rest>`` of the standalone net -> ``cells.i.edges.e.<op>.<rest>``, where pair
        p = (op, j) of cell i's genotype feeds node p // 2 + 2 and e = edge_index(j, that node)."""
        parts = key.split(".")
        if len(parts) > 3 and parts[0] == "cells" and parts[2] == "ops":
            cell: Nb301SuperCell = self.cells[int(parts[1])]
            position = int(parts[3])
            op, src = arch.cell(cell.reduction)[position]
            edge = edge_index(src, position // 2 + 2)
            return ".".join([*parts[:2], "edges", str(edge), op, *parts[4:]])
        return key
