"""NB201 cells: the type, strings, enumeration, canonical form and costs (torch-free).

The NAS-Bench-201 cell space: 4 nodes, 6 edges, 5 operations, 5**6 = 15,625 cells.

An architecture is the tuple of the operations on the edges, in the order of the benchmark's
cell string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``: edges (0->1), (0->2), (1->2), (0->3),
(1->3), (2->3). Node 0 is the cell input, node 3 its output.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: (from_node, to_node) of each position in the architecture tuple.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
N_NODES = 4
N_ARCHS = len(OPS) ** len(EDGES)

_NODE_RE = re.compile(r"^\|(?:[a-z0-9_]+~\d\|)+$")


@dataclass(frozen=True, order=True)
class Nb201Arch:
    """One cell: ``ops[i]`` is the operation on ``EDGES[i]``."""

    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.ops) != len(EDGES):
            raise ValueError(f"an NB201 cell has {len(EDGES)} edges, got {len(self.ops)} operations")
        for op in self.ops:
            if op not in OPS:
                raise ValueError(f"unknown NB201 operation {op!r}; expected one of {', '.join(OPS)}")

    def __str__(self) -> str:
        return format_arch(self)


def parse_arch(text: str) -> Nb201Arch:
    """Parse the benchmark's cell string, e.g. ``|nor_conv_3x3~0|+|skip_connect~0|none~1|+|...|``.

    Raises:
        ValueError: with the offending part, when the string is not a valid NB201 cell.
    """
    if not isinstance(text, str):
        raise ValueError(f"an NB201 cell string must be a str, got {type(text).__name__}")
    nodes = text.strip().split("+")
    if len(nodes) != N_NODES - 1:
        raise ValueError(f"NB201 cell {text!r}: expected 3 '+'-separated nodes, got {len(nodes)}")
    ops: list[str] = []
    for to_node, node in enumerate(nodes, start=1):
        if not _NODE_RE.match(node):
            raise ValueError(f"NB201 cell {text!r}: node {to_node} {node!r} is not of the form |op~i|...|")
        inputs = node.strip("|").split("|")
        if len(inputs) != to_node:
            raise ValueError(f"NB201 cell {text!r}: node {to_node} needs {to_node} inputs, got {len(inputs)}")
        for expected_from, item in enumerate(inputs):
            op, _, src = item.partition("~")
            if int(src) != expected_from:
                raise ValueError(
                    f"NB201 cell {text!r}: node {to_node} input {expected_from} reads from node {src}, "
                    f"expected {expected_from}"
                )
            ops.append(op)
    return Nb201Arch(tuple(ops))


def format_arch(arch: Nb201Arch) -> str:
    """The benchmark's cell string of ``arch`` (inverse of :func:`parse_arch`)."""
    parts = []
    position = 0
    for to_node in range(1, N_NODES):
        items = []
        for from_node in range(to_node):
            items.append(f"{arch.ops[position]}~{from_node}")
            position += 1
        parts.append("|" + "|".join(items) + "|")
    return "+".join(parts)


def enumerate_archs() -> Iterator[Nb201Arch]:
    """All 15,625 cells in lexicographic order of op indices (not the benchmark's index order)."""
    for ops in itertools.product(OPS, repeat=len(EDGES)):
        yield Nb201Arch(ops)


def sample_archs(rng: np.random.Generator, n: int) -> list[Nb201Arch]:
    """``n`` cells drawn uniformly with replacement from ``rng``."""
    choices = rng.integers(0, len(OPS), size=(n, len(EDGES)))
    return [Nb201Arch(tuple(OPS[i] for i in row)) for row in choices]


def canonical_form(arch: Nb201Arch) -> str:
    """A string shared by exactly the cells NATS-Bench regards as isomorphic (its 6,466 classes).

    Each node is written as the sorted '+'-sum of its incoming terms. A term is ``#`` (zero) when
    the edge is ``none`` or its source node is exactly ``#``; the source's string when the edge is
    ``skip_connect``; ``(source)@op`` otherwise. The cell's form is the output node's string. So
    parameter-free rewirings (skip merges, dead branches, summation order) collapse to one class,
    while the number of zero terms in a sum is kept, as NATS-Bench keeps it.
    """
    nodes = ["0"]
    position = 0
    for to_node in range(1, N_NODES):
        terms = []
        for from_node in range(to_node):
            op, source = arch.ops[position], nodes[from_node]
            position += 1
            if op == "none" or source == "#":
                terms.append("#")
            elif op == "skip_connect":
                terms.append(source)
            else:
                terms.append(f"({source})@{op}")
        nodes.append("+".join(sorted(terms)))
    return nodes[-1]


def has_conv_on_path(arch: Nb201Arch) -> bool:
    """True when some input->output path carries a convolution (the de-isomorphic sampler's filter).

    A path is a chain of non-``none`` edges from node 0 to node 3.
    """
    # reachable[node] = (reaches from input, carries a conv on some such path)
    reach = {0: (True, False)}
    for to_node in range(1, N_NODES):
        reached, conv = False, False
        for from_node in range(to_node):
            op = arch.ops[EDGES.index((from_node, to_node))]
            src_reached, src_conv = reach[from_node]
            if op != "none" and src_reached:
                reached = True
                conv = conv or src_conv or op.startswith("nor_conv")
        reach[to_node] = (reached, conv)
    return reach[N_NODES - 1][1]


# --- analytic cost model of the standalone network (C=16, N=5, CIFAR-10) -----------------------
# Counted as NAS-Bench-201 counts them: every parameter of the network (BN affine included), and
# FLOPs as multiply-accumulates of Conv2d and Linear layers (plus the classifier bias). Pooling,
# BN, ReLU and additions are not counted. Checked against the torch module in the tests and
# against the benchmark's extremes (0.073306 / 1.531546 M params, 7.78305 / 220.11969 M FLOPs).


def _op_params(op: str, channels: int, bn_affine: bool) -> int:
    bn = 2 * channels if bn_affine else 0
    if op == "nor_conv_3x3":
        return channels * channels * 9 + bn
    if op == "nor_conv_1x1":
        return channels * channels + bn
    return 0


def _op_flops(op: str, channels: int, spatial: int) -> int:
    kernel = {"nor_conv_3x3": 9, "nor_conv_1x1": 1}.get(op, 0)
    return spatial * spatial * channels * channels * kernel


def _skeleton_params(init_channels: int, num_classes: int) -> int:
    c = init_channels
    stem = 3 * c * 9 + 2 * c
    total = stem
    for cin, cout in ((c, 2 * c), (2 * c, 4 * c)):
        total += cin * cout * 9 + 2 * cout + cout * cout * 9 + 2 * cout + cin * cout
    last = 4 * c
    return total + 2 * last + last * num_classes + num_classes


def _skeleton_flops(init_channels: int, num_classes: int, resolution: int = 32) -> int:
    c, s = init_channels, resolution
    total = s * s * c * 3 * 9  # stem
    for cin, cout, out_s in ((c, 2 * c, s // 2), (2 * c, 4 * c, s // 4)):
        area = out_s * out_s
        total += area * cout * cin * 9 + area * cout * cout * 9 + area * cout * cin
    return total + 4 * c * num_classes + num_classes


def param_count(arch: Nb201Arch, init_channels: int = 16, cells_per_stage: int = 5, num_classes: int = 10,
                cell_bn_affine: bool = True) -> int:
    """Number of parameters of the standalone network of ``arch``."""
    per_stage = [sum(_op_params(op, init_channels * 2**stage, cell_bn_affine) for op in arch.ops)
                 for stage in range(3)]
    return _skeleton_params(init_channels, num_classes) + cells_per_stage * sum(per_stage)


def flop_count(arch: Nb201Arch, init_channels: int = 16, cells_per_stage: int = 5, num_classes: int = 10) -> int:
    """Multiply-accumulates of one 32x32 image through the standalone network of ``arch``."""
    per_stage = [sum(_op_flops(op, init_channels * 2**stage, 32 // 2**stage) for op in arch.ops)
                 for stage in range(3)]
    return _skeleton_flops(init_channels, num_classes) + cells_per_stage * sum(per_stage)


def relu_count(arch: Nb201Arch, cells_per_stage: int = 5) -> int:
    """ReLU applications in one forward pass of the standalone network: one per convolution in the
    cells, two per reduction block, one before the classifier."""
    convs = sum(op in ("nor_conv_1x1", "nor_conv_3x3") for op in arch.ops)
    return 3 * cells_per_stage * convs + 2 * 2 + 1
