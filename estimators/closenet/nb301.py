"""CLOSENet on NB301 (DARTS cells): GLOW blocks per cell, routed by a learned gate.

As on NB201 (:mod:`estimators.closenet.nb201`): each cell holds up to ``max_blocks`` GLOW blocks,
one complete set of the 7 DARTS ops each; the 8 edges of a cell (the genotype's pairs) are routed to
blocks by a gate, with the gate-weighted sum of the unlocked blocks' outputs in training and the
argmax block at scoring. A reduction cell holds a second set of blocks with stride 2, used by the
edges that read the cell inputs; the preprocessing layers are single copies. Normal cells follow the
normal cell's gate, reduction cells the reduction cell's.

The gate (after the study's ``GCNFlowArchEmbedder``): per cell kind, 6 nodes (2 inputs, 4 steps);
the inputs start from learned embeddings (N(0, 1)), the steps from one learned embedding initialised
at zero; a 32 -> 32 linear map; 4 message-passing layers of width 64 in which node k averages over
its two input slots ``sigmoid(Linear(op_embedding)) * (H_j W)`` (only the input nodes keep their own
term), ReLU between layers. The layers are shared by the two cell kinds, the embeddings are not.
Then the MLP over ``[h(from), h(to)]`` of each pair (3 x Linear 200, ReLU, Dropout 0.1), one logit
per block.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from estimators.closenet.gates import GatedEdge, add_gate_layers, straight_through_gumbel
from suite.spaces.nb301.arch import N_INTERMEDIATE, OPS, Nb301Arch
from suite.spaces.nb301.network import Nb301Network, build_skeleton, cell_forward, make_op, make_preprocess

N_CELL_NODES = 2 + N_INTERMEDIATE


class Nb301Gate(nn.Module):
    """Genotype -> logits over the blocks of each pair: [2 (normal, reduce), 8, max_blocks]."""

    def __init__(self, max_blocks: int, op_dim: int = 32, node_dim: int = 32, hidden_dim: int = 32,
                 layer_dims: tuple[int, ...] = (64,) * 4, mlp_hidden: int = 200, mlp_layers: int = 3,
                 mlp_dropout: float = 0.1) -> None:
        super().__init__()
        self.input_nodes = nn.Parameter(torch.randn(2, 2, node_dim))  # [cell kind, input, dim]
        self.step_node = nn.Parameter(torch.zeros(2, 1, node_dim))
        self.node_in = nn.Linear(node_dim, hidden_dim)
        self.op_embedding = nn.Parameter(torch.randn(len(OPS), op_dim))  # index 0 of the lookup: none (zeros)
        add_gate_layers(self, max_blocks, op_dim, hidden_dim, layer_dims, mlp_hidden, mlp_layers, mlp_dropout)

    def node_embeddings(self, arch: Nb301Arch) -> torch.Tensor:
        """float [2, 6, layer_dims[-1]]: node embeddings of the normal and the reduction cell."""
        device = self.logit.weight.device
        # slots[kind, slot, to, from] = op index + 1 (0: no edge), slot = which of node's two inputs
        slots = torch.zeros(2, 2, N_CELL_NODES, N_CELL_NODES, dtype=torch.long, device=device)
        for kind, pairs in enumerate((arch.normal, arch.reduce)):
            for p, (op, src) in enumerate(pairs):
                slots[kind, p % 2, p // 2 + 2, src] = OPS.index(op) + 1
        op_table = torch.cat([torch.zeros(1, self.op_embedding.shape[1], device=device), self.op_embedding])
        op_emb = op_table[slots]  # [kind, slot, to, from, op_dim]
        present = (slots != 0).unsqueeze(-1)
        steps = self.step_node.expand(2, N_INTERMEDIATE, -1)
        h = self.node_in(torch.cat([self.input_nodes, steps], dim=1))  # [kind, nodes, hidden]
        for k, (node_map, op_gate) in enumerate(zip(self.node_maps, self.op_gates)):
            s = node_map(h)  # [kind, nodes, width]
            attention = torch.sigmoid(op_gate(op_emb)) * present  # [kind, slot, to, from, width]
            messages = (attention * s[:, None, None, :, :]).sum(dim=3).mean(dim=1)  # [kind, to, width]
            messages = torch.cat([messages[:, :2] + s[:, :2], messages[:, 2:]], dim=1)
            h = F.relu(messages) if k < len(self.node_maps) - 1 else messages
        return h

    def forward(self, arch: Nb301Arch) -> torch.Tensor:
        """float [2, 8, max_blocks]: logits of each pair of the normal (0) and reduction (1) cell."""
        h = self.node_embeddings(arch)
        rows = []
        for kind, pairs in enumerate((arch.normal, arch.reduce)):
            rows.append(torch.stack([torch.cat([h[kind, src], h[kind, p // 2 + 2]]) for p, (_, src) in enumerate(pairs)]))
        return self.logit(self.mlp(torch.stack(rows)))


class Nb301CloseCell(nn.Module):
    """One cell position: preprocessing, ``normal_blocks[b][op]`` (stride 1) and, in a reduction
    cell, ``reduce_blocks[b][op]`` (stride 2, for the pairs reading the cell inputs)."""

    def __init__(self, c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool, max_blocks: int,
                 bn_affine: bool, track_running_stats: bool) -> None:
        super().__init__()
        self.reduction = reduction
        self.preprocess0, self.preprocess1 = make_preprocess(c_pp, c_p, c, reduction_prev, bn_affine,
                                                             track_running_stats)

        def blocks(stride: int) -> nn.ModuleList:
            return nn.ModuleList(nn.ModuleDict({op: make_op(op, c, stride, bn_affine, track_running_stats)
                                                for op in OPS}) for _ in range(max_blocks))

        self.normal_blocks = blocks(1)
        self.reduce_blocks = blocks(2) if reduction else None

    def block_sets(self) -> list[nn.ModuleList]:
        return [self.normal_blocks] + ([self.reduce_blocks] if self.reduce_blocks is not None else [])

    def op(self, block: int, op: str, src: int) -> nn.Module:
        bank = self.reduce_blocks if self.reduction and src < 2 else self.normal_blocks
        return bank[block][op]

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, arch: Nb301Arch, routing) -> torch.Tensor:
        """-> [N, 4C, H, W]. ``routing``: per pair, a block index (scoring) or a gate vector (training)."""
        pairs = arch.cell(self.reduction)
        ops = []
        for p, (op, src) in enumerate(pairs):
            route = routing[p]
            if isinstance(route, int):
                ops.append(self.op(route, op, src))
            else:
                ops.append(GatedEdge([self.op(b, op, src) for b in range(route.numel())], route))
        return cell_forward(s0, s1, self.preprocess0, self.preprocess1, ops, pairs)


class Nb301CloseSupernet(nn.Module):
    """CLOSENet for NB301: the DARTS skeleton with cells of GLOW blocks and a gate.

    Args:
        max_blocks: L (the study: 5).
        init_channels, layers, num_classes, cell_bn_affine, track_running_stats, dropout, stem_multiplier:
            as for :class:`~suite.spaces.nb301.supernet.Nb301Supernet`.
        gate_options: keywords of :class:`Nb301Gate`.
    """

    def __init__(self, max_blocks: int = 5, init_channels: int = 16, layers: int = 8, num_classes: int = 10,
                 cell_bn_affine: bool = False, track_running_stats: bool = True, dropout: float = 0.0,
                 stem_multiplier: int = 3, gate_options: dict | None = None) -> None:
        super().__init__()
        if max_blocks < 1:
            raise ValueError("max_blocks must be at least 1")
        self.max_blocks = max_blocks
        self.options = {"init_channels": init_channels, "layers": layers, "num_classes": num_classes,
                        "cell_bn_affine": cell_bn_affine, "track_running_stats": track_running_stats,
                        "stem_multiplier": stem_multiplier}

        def make_cell(_i, c_pp, c_p, c, reduction, reduction_prev):
            return Nb301CloseCell(c_pp, c_p, c, reduction, reduction_prev, max_blocks, cell_bn_affine,
                                  track_running_stats)

        build_skeleton(self, make_cell, init_channels, layers, num_classes, stem_multiplier, track_running_stats)
        self.gate = Nb301Gate(max_blocks, **(gate_options or {}))
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("level", torch.tensor(1, dtype=torch.long))

    def locked_parameters(self) -> list[nn.Parameter]:
        """The parameters of the blocks not unlocked yet (no gradient until they are)."""
        return [p for cell in self.cells for blocks in cell.block_sets() for block in blocks[int(self.level):]
                for p in block.parameters()]

    def routing(self, arch: Nb301Arch) -> list[list[int]]:
        """Per cell kind (normal, reduce), the block of each pair at scoring (argmax of the unlocked logits)."""
        with torch.no_grad():
            logits = self.gate(arch)[..., : int(self.level)]
        return [[int(i) for i in row] for row in logits.argmax(dim=-1).tolist()]

    def forward(self, x: torch.Tensor, arch: Nb301Arch) -> torch.Tensor:
        """x: [N, 3, 32, 32] -> logits; the gate samples in training mode, takes its argmax in eval mode."""
        if self.training:
            gates = straight_through_gumbel(self.gate(arch)[..., : int(self.level)])
            routing = [[gates[kind, p] for p in range(gates.shape[1])] for kind in range(2)]
        else:
            routing = self.routing(arch)
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, arch, routing[int(cell.reduction)])
        return self.classifier(self.dropout(s1.mean(dim=(2, 3))))

    def subnet(self, arch: Nb301Arch) -> Nb301Network:
        """The standalone network of ``arch`` with each pair's op copied from its scoring block."""
        with torch.device("meta"):
            net = Nb301Network(arch, **self.options)
        routing = self.routing(arch)
        bank = dict(self.named_parameters())
        bank.update(self.named_buffers())
        state = {}
        for key in net.state_dict():
            parts = key.split(".")
            if len(parts) > 3 and parts[0] == "cells" and parts[2] == "ops":
                cell = self.cells[int(parts[1])]
                p = int(parts[3])
                op, src = arch.cell(cell.reduction)[p]
                which = "reduce_blocks" if cell.reduction and src < 2 else "normal_blocks"
                parts = [*parts[:2], which, str(routing[int(cell.reduction)][p]), op, *parts[4:]]
            state[key] = bank[".".join(parts)].detach().clone()
        net.load_state_dict(state, assign=True)
        return net

    @torch.no_grad()
    def unlock(self) -> None:
        """Add one block (its fresh weights plus the previous block's, in every block set) and its
        gate row (its own row plus the previous one), in place."""
        new = int(self.level)
        if new >= self.max_blocks:
            raise ValueError(f"all {self.max_blocks} blocks are unlocked already")
        for cell in self.cells:
            for blocks in cell.block_sets():
                parent = blocks[new - 1].state_dict(keep_vars=True)
                for key, tensor in blocks[new].state_dict(keep_vars=True).items():
                    tensor.add_(parent[key])
        self.gate.logit.weight[new].add_(self.gate.logit.weight[new - 1])
        self.gate.logit.bias[new].add_(self.gate.logit.bias[new - 1])
        self.level.add_(1)
