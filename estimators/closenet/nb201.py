"""CLOSENet on NB201: a supernet whose cells share GLOW blocks, routed by a learned gate.

A GLOW block is one complete set of candidate-operation weights (the five NB201 ops of one edge).
Each searchable cell holds up to ``max_blocks`` of them; every edge of a sampled architecture is
routed to one block. Training starts with one unlocked block, so the six edges of a cell share one
set of weights (the largest sharing extent), and :meth:`Nb201CloseSupernet.unlock` adds one block
per curriculum stage. The two reduction blocks, the stem and the head are shared as in the vanilla
supernet.

The gate (:class:`Nb201Gate`, after the study's code, walkerning/aw_nas ``nasbench_201_close``):

- a GATES-style encoder of the cell: node 0 a learned 48-d embedding, nodes 1..3 zeros, a
  48 -> 96 linear map, then 5 message-passing layers of width 128 where node ``j`` receives
  ``sigmoid(Linear(op_embedding(i -> j))) * (H_i W)`` from every earlier node ``i`` whose edge is not
  ``none`` (only node 0 keeps its own term), ReLU between layers;
- an MLP over ``[h(from), h(to)]`` of each edge: 3 x (Linear 200, ReLU, Dropout 0.1), then one logit
  per block, cut to the unlocked ones;
- training: a Gumbel-softmax at temperature 5 with a straight-through hard choice; the edge's output
  is the gate-weighted sum of the unlocked blocks' outputs (forward value: the chosen block's, while
  the gate gets a gradient through every block's output);
- scoring (the module in eval mode): the argmax of the logits, and only that block runs. The study's
  scoring script adds Gumbel noise with a fixed seed; the suite takes the noise-free argmax, so a
  score does not depend on a draw.

The gate trains jointly with the weights, by the same optimizer and loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from estimators.closenet.gates import GatedEdge, add_gate_layers, straight_through_gumbel
from suite.spaces.nb201.arch import EDGES, N_NODES, OPS, Nb201Arch
from suite.spaces.nb201.network import Nb201Network, build_skeleton, cell_forward, make_op


class Nb201Gate(nn.Module):
    """Architecture -> per-edge logits over the blocks: [6, max_blocks].

    Args:
        max_blocks: L, logits per edge.
        op_dim, node_dim, hidden_dim: embedding sizes (the study: 48, 48, 96).
        layer_dims: widths of the message-passing layers (the study: 5 x 128).
        mlp_hidden, mlp_layers, mlp_dropout: the MLP (the study: 200, 3, 0.1).
    """

    def __init__(self, max_blocks: int, op_dim: int = 48, node_dim: int = 48, hidden_dim: int = 96,
                 layer_dims: tuple[int, ...] = (128,) * 5, mlp_hidden: int = 200, mlp_layers: int = 3,
                 mlp_dropout: float = 0.1) -> None:
        super().__init__()
        self.input_node = nn.Parameter(torch.randn(1, node_dim))
        self.register_buffer("other_nodes", torch.zeros(N_NODES - 1, node_dim), persistent=False)
        self.node_in = nn.Linear(node_dim, hidden_dim)
        self.op_embedding = nn.Embedding(len(OPS), op_dim)
        add_gate_layers(self, max_blocks, op_dim, hidden_dim, layer_dims, mlp_hidden, mlp_layers, mlp_dropout)

    def node_embeddings(self, arch: Nb201Arch) -> torch.Tensor:
        """float [4, layer_dims[-1]]: the encoder's embedding of each node of ``arch``'s cell."""
        device = self.logit.weight.device
        ops = torch.zeros(N_NODES, N_NODES, dtype=torch.long, device=device)  # ops[to, from], 0 = none
        for (src, dst), op in zip(EDGES, arch.ops):
            ops[dst, src] = OPS.index(op)
        present = (ops != 0).unsqueeze(-1)
        h = self.node_in(torch.cat([self.input_node, self.other_nodes], dim=0))
        op_emb = self.op_embedding(ops)  # [to, from, op_dim]
        for k, (node_map, op_gate) in enumerate(zip(self.node_maps, self.op_gates)):
            s = node_map(h)  # [nodes, width]
            attention = torch.sigmoid(op_gate(op_emb)) * present  # [to, from, width]
            h_next = (attention * s.unsqueeze(0)).sum(dim=1)
            h_next = torch.cat([h_next[:1] + s[:1], h_next[1:]], dim=0)  # only the input node keeps itself
            h = F.relu(h_next) if k < len(self.node_maps) - 1 else h_next
        return h

    def forward(self, arch: Nb201Arch) -> torch.Tensor:
        """float [6, max_blocks]: logits of each edge (in ``EDGES`` order) over all blocks."""
        h = self.node_embeddings(arch)
        pairs = torch.stack([torch.cat([h[src], h[dst]]) for src, dst in EDGES])
        return self.logit(self.mlp(pairs))


class Nb201CloseCell(nn.Module):
    """``blocks[b][op]``: the candidate ops of GLOW block b (shape-preserving, ``channels`` wide)."""

    def __init__(self, channels: int, max_blocks: int, bn_affine: bool, track_running_stats: bool) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            nn.ModuleDict({op: make_op(op, channels, bn_affine, track_running_stats) for op in OPS})
            for _ in range(max_blocks)
        )

    def forward(self, x: torch.Tensor, ops: tuple[str, ...], routing) -> torch.Tensor:
        """x: [N, C, H, W] -> [N, C, H, W]. ``routing``: per edge, a block index (scoring) or a
        gate vector float [unlocked] (training: the gate-weighted sum of the unlocked blocks)."""
        edge_ops = []
        for edge, op in enumerate(ops):
            route = routing[edge]
            if isinstance(route, int):
                edge_ops.append(self.blocks[route][op])
            else:
                edge_ops.append(GatedEdge([self.blocks[b][op] for b in range(route.numel())], route))
        return cell_forward(x, edge_ops)


class Nb201CloseSupernet(nn.Module):
    """CLOSENet for NB201: the vanilla skeleton with cells of GLOW blocks and a gate.

    Args:
        max_blocks: L, GLOW blocks per cell (the study: 5).
        init_channels, cells_per_stage, num_classes, cell_bn_affine, track_running_stats, dropout:
            as for :class:`~suite.spaces.nb201.supernet.Nb201Supernet`.
        gate_options: keywords of :class:`Nb201Gate` (tests use a small gate).

    ``level`` (a buffer, so snapshots and checkpoints carry it) is the number of unlocked blocks.
    """

    def __init__(self, max_blocks: int = 5, init_channels: int = 16, cells_per_stage: int = 5,
                 num_classes: int = 10, cell_bn_affine: bool = False, track_running_stats: bool = True,
                 dropout: float = 0.0, gate_options: dict | None = None) -> None:
        super().__init__()
        if max_blocks < 1:
            raise ValueError("max_blocks must be at least 1")
        self.max_blocks = max_blocks
        self._cell_bn_affine, self._track_running_stats = cell_bn_affine, track_running_stats
        build_skeleton(self, lambda width: Nb201CloseCell(width, max_blocks, cell_bn_affine, track_running_stats),
                       init_channels, cells_per_stage, num_classes, track_running_stats)
        self.gate = Nb201Gate(max_blocks, **(gate_options or {}))
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("level", torch.tensor(1, dtype=torch.long))

    def cells(self) -> list[Nb201CloseCell]:
        return [m for m in self.layers if isinstance(m, Nb201CloseCell)]

    def locked_parameters(self) -> list[nn.Parameter]:
        """The parameters of the blocks not unlocked yet (no gradient until they are)."""
        return [p for cell in self.cells() for block in cell.blocks[int(self.level):] for p in block.parameters()]

    def routing(self, arch: Nb201Arch) -> list[int]:
        """The block of each edge at scoring: the argmax of the unlocked logits."""
        with torch.no_grad():
            logits = self.gate(arch)[:, : int(self.level)]
        return [int(i) for i in logits.argmax(dim=1).tolist()]

    def forward(self, x: torch.Tensor, arch: Nb201Arch) -> torch.Tensor:
        """x: [N, 3, 32, 32] -> logits [N, num_classes]. In training mode the gate samples each
        edge's block (straight-through Gumbel); in eval mode each edge takes its argmax block."""
        if self.training:
            gates = straight_through_gumbel(self.gate(arch)[:, : int(self.level)])
            routing = [gates[e] for e in range(len(EDGES))]
        else:
            routing = self.routing(arch)
        out = self.stem(x)
        for layer in self.layers:
            out = layer(out, arch.ops, routing) if isinstance(layer, Nb201CloseCell) else layer(out)
        features = self.head_norm(out).mean(dim=(2, 3))
        return self.classifier(self.dropout(features))

    def subnet(self, arch: Nb201Arch) -> Nb201Network:
        """The standalone network of ``arch`` with each edge's op weights copied from its scoring
        block (built on the meta device: no initialisation is drawn)."""
        options = {"init_channels": self.stem[0].out_channels, "cells_per_stage": len(self.cells()) // 3,
                   "num_classes": self.classifier.out_features, "cell_bn_affine": self._cell_bn_affine,
                   "track_running_stats": self._track_running_stats}
        with torch.device("meta"):
            net = Nb201Network(arch, **options)
        routing = self.routing(arch)
        bank = dict(self.named_parameters())
        bank.update(self.named_buffers())
        state = {}
        for key in net.state_dict():
            parts = key.split(".")
            if len(parts) > 3 and parts[0] == "layers" and parts[2] == "edges":
                edge = int(parts[3])
                parts = [*parts[:2], "blocks", str(routing[edge]), arch.ops[edge], *parts[4:]]
            state[key] = bank[".".join(parts)].detach().clone()
        net.load_state_dict(state, assign=True)
        return net

    @torch.no_grad()
    def unlock(self) -> None:
        """Add one block: its weights become its own fresh initialisation plus the previous block's
        (parameters and BN buffers), and its gate logit row its own row plus the previous one.
        In place, so the optimizer keeps training them."""
        new = int(self.level)
        if new >= self.max_blocks:
            raise ValueError(f"all {self.max_blocks} blocks are unlocked already")
        for cell in self.cells():
            child, parent = cell.blocks[new].state_dict(keep_vars=True), cell.blocks[new - 1].state_dict(keep_vars=True)
            for key, tensor in child.items():
                tensor.add_(parent[key])
        self.gate.logit.weight[new].add_(self.gate.logit.weight[new - 1])
        self.gate.logit.bias[new].add_(self.gate.logit.bias[new - 1])
        self.level.add_(1)
