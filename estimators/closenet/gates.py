"""The gate pieces CLOSENet's supernets share: the straight-through Gumbel choice, the gate's
message-passing layers and head, and the training-time gated edge."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

GUMBEL_TEMPERATURE = 5.0


def straight_through_gumbel(logits: torch.Tensor, temperature: float = GUMBEL_TEMPERATURE) -> torch.Tensor:
    """Hard one-hot choices with the Gumbel-softmax's gradient.

    Args:
        logits: float [E, L] unnormalised log-probabilities (E edges, L unlocked blocks).
        temperature: the softmax temperature (shapes the gradient only: the hard choice is
            argmax(logits + Gumbel noise), a draw from softmax(logits)).
    Returns:
        float [E, L]: forward value one-hot, gradient that of softmax((logits + g) / temperature).
    Noise is drawn from the global generator (the trainer forks and checkpoints it).
    """
    uniform = torch.rand_like(logits)
    gumbel = -torch.log(-torch.log(uniform + 1e-20) + 1e-20)
    soft = F.softmax((logits + gumbel) / temperature, dim=-1)
    hard = F.one_hot(soft.argmax(dim=-1), logits.shape[-1]).to(soft.dtype)
    return hard - soft.detach() + soft


def add_gate_layers(gate: nn.Module, max_blocks: int, op_dim: int, hidden_dim: int, layer_dims: tuple[int, ...],
                    mlp_hidden: int, mlp_layers: int, mlp_dropout: float) -> None:
    """Give a gate its message-passing maps (``node_maps``: node state -> width, no bias;
    ``op_gates``: op embedding -> per-channel gate) and its head (``mlp`` over [h(from), h(to)],
    then ``logit``: one logit per block). Shared by the NB201 and NB301 gates."""
    dims = (hidden_dim, *layer_dims)
    gate.node_maps = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in zip(dims[:-1], dims[1:]))
    gate.op_gates = nn.ModuleList(nn.Linear(op_dim, b) for b in dims[1:])
    layers: list[nn.Module] = []
    width = 2 * dims[-1]
    for _ in range(mlp_layers):
        layers += [nn.Linear(width, mlp_hidden), nn.ReLU(), nn.Dropout(mlp_dropout)]
        width = mlp_hidden
    gate.mlp = nn.Sequential(*layers)
    gate.logit = nn.Linear(width, max_blocks)


class GatedEdge:
    """sum over b of gate[b] * ops[b](x): the training-time edge."""

    def __init__(self, ops: list[nn.Module], gate: torch.Tensor) -> None:
        self.ops, self.gate = ops, gate

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        total = None
        for b, op in enumerate(self.ops):
            out = self.gate[b] * op(x)
            total = out if total is None else total + out
        return total
