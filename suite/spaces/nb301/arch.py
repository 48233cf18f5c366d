"""NB301 genotypes: the type, strings (DARTS and compact), sampling and costs (torch-free).

The NAS-Bench-301 space: DARTS genotypes (a normal and a reduction cell) over 7 operations.

A cell has two inputs (nodes 0 and 1: the outputs of the two previous cells) and four
intermediate nodes 2..5; node ``k`` sums two operations applied to two DIFFERENT earlier nodes
(NB301 forbids both inputs being the same node) and the cell outputs the concatenation of nodes
2, 3, 4, 5. A genotype lists, per cell, 8 ``(op, input)`` pairs: pairs ``2k, 2k+1`` feed node
``k + 2``. There are ``(1 * 3 * 6 * 10) * 7**8`` cells of each kind, about 1.9e18 genotypes.

Strings (:func:`parse_arch` / :func:`format_arch`) are the DARTS ``Genotype(...)`` spelling::

    Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...8 pairs], normal_concat=[2, 3, 4, 5],
             reduce=[...8 pairs], reduce_concat=[2, 3, 4, 5])

(on one line; ``range(2, 6)`` is accepted for the concat lists). The compact form of NB301 /
NASLib, ``[[(input, op_index) x8], [(input, op_index) x8]]`` with ``op_index`` into :data:`OPS`,
is read by :func:`from_compact` and written by :func:`to_compact`.

Architectures are normalised on construction: the two pairs of each node are sorted by input
node, because a node's sum commutes (the surrogate of NB301 also keys its edges by input node, so
it cannot tell the orders apart). So ``Nb301Arch`` equality, :func:`format_arch` and
:func:`canonical_form` all identify exactly the genotypes that differ only in the order of a
node's two pairs; no other isomorphism (e.g. relabelling intermediate nodes, which permutes the
concatenated channels) is identified, as NB301 identifies none.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

#: The operations, in the index order of NB301's compact form (and of its ``representations.OPS``).
OPS: tuple[str, ...] = (
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
N_INTERMEDIATE = 4
N_PAIRS = 2 * N_INTERMEDIATE
CONCAT: tuple[int, ...] = (2, 3, 4, 5)
#: (input node, to node) of each edge a cell's weight bank holds: node k has inputs 0..k-1.
EDGES: tuple[tuple[int, int], ...] = tuple((j, k) for k in range(2, 2 + N_INTERMEDIATE) for j in range(k))
#: Genotypes per cell kind: node k chooses 2 distinct inputs of k, and an op for each.
N_CELLS = int(np.prod([k * (k - 1) // 2 for k in range(2, 2 + N_INTERMEDIATE)])) * len(OPS) ** N_PAIRS

_MAX_TEXT = 10_000
_CONCAT = r"(\[[^\[\]]*\]|range\s*\([^()]*\))"
_GENOTYPE_RE = re.compile(
    r"^\s*Genotype\s*\(\s*normal\s*=\s*(\[.*?\])\s*,\s*normal_concat\s*=\s*" + _CONCAT
    + r"\s*,\s*reduce\s*=\s*(\[.*?\])\s*,\s*reduce_concat\s*=\s*" + _CONCAT + r"\s*\)\s*$",
    re.DOTALL,
)
_RANGE_RE = re.compile(r"^range\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$")

Pair = tuple[str, int]


class OutsideSpaceError(ValueError):
    """A well-formed DARTS genotype that is not in the NB301 space (another op, a node reading the
    same input twice, another number of nodes, another concat). The importer drops these."""


def edge_index(input_node: int, to_node: int) -> int:
    """Position of the edge ``input_node -> to_node`` in :data:`EDGES`."""
    return (to_node - 2) * (to_node + 1) // 2 + input_node


def _check_cell(kind: str, pairs: Any) -> tuple[Pair, ...]:
    """Validate one cell's pairs and return them with each node's two pairs sorted by input.

    Raises ValueError for a malformed cell (not (str, int) pairs, an input that is not an earlier
    node), OutsideSpaceError for a DARTS cell outside NB301.
    """
    if not isinstance(pairs, (list, tuple)):
        raise ValueError(f"NB301 {kind} cell must be a list of (op, input) pairs, got {type(pairs).__name__}")
    for i, pair in enumerate(pairs):
        if (not isinstance(pair, (list, tuple)) or len(pair) != 2 or not isinstance(pair[0], str)
                or not isinstance(pair[1], int) or isinstance(pair[1], bool)):
            raise ValueError(f"NB301 {kind} pair {i} {pair!r} is not an (op name, input node) pair")
    if len(pairs) % 2:
        raise ValueError(f"NB301 {kind} cell has an odd number of pairs ({len(pairs)}); nodes take two each")
    for i, (_, src) in enumerate(pairs):
        if not 0 <= src < i // 2 + 2:
            raise ValueError(f"NB301 {kind} pair {i} reads node {src}, but node {i // 2 + 2} may read "
                             f"only nodes 0..{i // 2 + 1}")
    if len(pairs) != N_PAIRS:
        raise OutsideSpaceError(f"NB301 {kind} cell needs {N_PAIRS} (op, input) pairs (4 nodes), got {len(pairs)}")
    for i, (op, _) in enumerate(pairs):
        if op not in OPS:
            raise OutsideSpaceError(f"NB301 {kind} pair {i}: unknown operation {op!r}; expected one of "
                                    f"{', '.join(OPS)}")
    out: list[Pair] = []
    for node in range(N_INTERMEDIATE):
        a, b = (tuple(p) for p in pairs[2 * node: 2 * node + 2])
        if a[1] == b[1]:
            raise OutsideSpaceError(f"NB301 {kind} node {node + 2} reads node {a[1]} twice; NB301 needs two "
                                    "different input nodes")
        out.extend(sorted((a, b), key=lambda p: p[1]))
    return tuple(out)


@dataclass(frozen=True, order=True)
class Nb301Arch:
    """A DARTS genotype of NB301: ``normal`` and ``reduce`` are 8 ``(op, input)`` pairs each.

    The pairs of each node are sorted by input on construction (see the module docstring), so
    equal networks are equal objects. Invalid genotypes raise ValueError (OutsideSpaceError for
    well-formed DARTS cells outside NB301).
    """

    normal: tuple[Pair, ...]
    reduce: tuple[Pair, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "normal", _check_cell("normal", self.normal))
        object.__setattr__(self, "reduce", _check_cell("reduce", self.reduce))

    def cell(self, reduction: bool) -> tuple[Pair, ...]:
        """The pairs of the reduction cell when ``reduction``, else of the normal cell."""
        return self.reduce if reduction else self.normal

    def __str__(self) -> str:
        return format_arch(self)


def _literal(kind: str, text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ValueError(f"NB301 genotype: {kind} {text[:80]!r} is not a list literal") from None


def _concat(kind: str, text: str) -> tuple[int, ...]:
    match = _RANGE_RE.match(text.strip())
    if match:
        value: Any = list(range(int(match.group(1)), int(match.group(2))))
    elif text.strip().startswith("range"):
        raise ValueError(f"NB301 genotype: {kind} {text!r} is not range(start, stop)")
    else:
        value = _literal(kind, text)
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) for v in value):
        raise ValueError(f"NB301 genotype: {kind} {text!r} is not a list of node indices")
    return tuple(value)


def parse_arch(text: str) -> Nb301Arch:
    """Parse a DARTS ``Genotype(normal=[...], normal_concat=[...], reduce=[...], reduce_concat=[...])``.

    Only the list literals are read (``ast.literal_eval``); nothing is evaluated.

    Raises:
        ValueError: naming the bad part (OutsideSpaceError when the genotype is a well-formed
            DARTS genotype outside the NB301 space).
    """
    if not isinstance(text, str):
        raise ValueError(f"an NB301 genotype must be a str, got {type(text).__name__}")
    if len(text) > _MAX_TEXT:
        raise ValueError(f"NB301 genotype string is {len(text)} characters long; a genotype is far shorter")
    match = _GENOTYPE_RE.match(text)
    if not match:
        raise ValueError(f"NB301 genotype {text[:80]!r} is not of the form Genotype(normal=[...], "
                         "normal_concat=[...], reduce=[...], reduce_concat=[...])")
    normal = _literal("normal", match.group(1))
    normal_concat = _concat("normal_concat", match.group(2))
    reduce = _literal("reduce", match.group(3))
    reduce_concat = _concat("reduce_concat", match.group(4))
    arch = Nb301Arch(normal, reduce)
    for kind, concat in (("normal_concat", normal_concat), ("reduce_concat", reduce_concat)):
        if concat != CONCAT:
            raise OutsideSpaceError(f"NB301 genotype: {kind} is {list(concat)}; NB301 concatenates [2, 3, 4, 5]")
    return arch


def format_arch(arch: Nb301Arch) -> str:
    """The canonical DARTS Genotype string of ``arch`` (inverse of :func:`parse_arch`)."""
    concat = "[" + ", ".join(str(c) for c in CONCAT) + "]"

    def cell(pairs: tuple[Pair, ...]) -> str:
        return "[" + ", ".join(f"({op!r}, {src})" for op, src in pairs) + "]"

    return (f"Genotype(normal={cell(arch.normal)}, normal_concat={concat}, "
            f"reduce={cell(arch.reduce)}, reduce_concat={concat})")


def canonical_form(arch: Nb301Arch) -> str:
    """The canonical form: the formatted string (node pairs sorted by input, see the module docstring)."""
    return format_arch(arch)


def from_compact(compact: str | Sequence) -> Nb301Arch:
    """The architecture of NB301's compact form ``[[(input, op_index) x8], [(input, op_index) x8]]``
    (normal cell first), given as its text or as nested lists/tuples.

    Raises:
        ValueError: naming the bad part.
    """
    if isinstance(compact, str):
        if len(compact) > _MAX_TEXT:
            raise ValueError("NB301 compact form is too long")
        compact = _literal("compact form", compact)
    if not isinstance(compact, (list, tuple)) or len(compact) != 2:
        raise ValueError("NB301 compact form must be [normal pairs, reduce pairs]")
    cells = []
    for kind, pairs in zip(("normal", "reduce"), compact):
        if not isinstance(pairs, (list, tuple)):
            raise ValueError(f"NB301 compact {kind} cell is not a list of (input, op_index) pairs")
        converted = []
        for i, pair in enumerate(pairs):
            if (not isinstance(pair, (list, tuple)) or len(pair) != 2
                    or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair)):
                raise ValueError(f"NB301 compact {kind} pair {i} {pair!r} is not an (input, op_index) pair")
            src, op = int(pair[0]), int(pair[1])
            if not 0 <= op < len(OPS):
                raise ValueError(f"NB301 compact {kind} pair {i}: op_index {op} is not in 0..{len(OPS) - 1}")
            converted.append((OPS[op], src))
        cells.append(converted)
    return Nb301Arch(*cells)


def to_compact(arch: Nb301Arch) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """NB301's compact form of ``arch`` (pairs in the canonical order)."""
    return tuple(tuple((src, OPS.index(op)) for op, src in cell) for cell in (arch.normal, arch.reduce))


def sample_archs(rng: np.random.Generator, n: int) -> list[Nb301Arch]:
    """``n`` genotypes drawn uniformly (with replacement) from ``rng``, as NB301's configuration
    space and DARTS random search sample: per cell and node k, an unordered pair of distinct
    inputs uniform among the k*(k-1)/2 pairs of nodes 0..k-1, and an operation uniform over the
    7 for each of the two edges."""
    if n < 0:
        raise ValueError(f"cannot sample {n} architectures")
    ops = rng.integers(0, len(OPS), size=(n, 2, N_PAIRS))
    archs = []
    for i in range(n):
        cells = []
        for c in range(2):
            pairs = []
            for node in range(N_INTERMEDIATE):
                inputs = rng.choice(node + 2, size=2, replace=False)
                pairs.extend((OPS[ops[i, c, 2 * node + t]], int(inputs[t])) for t in range(2))
            cells.append(pairs)
        archs.append(Nb301Arch(*cells))
    return archs


# --- analytic cost model of the standalone network (Nb301Network) -----------------------------
# Parameters: every parameter of the network (cell BN affine as asked; the stem BN is always
# affine). FLOPs: multiply-accumulates of Conv2d and Linear layers (+ the classifier bias), as
# suite.spaces.nb201.network.count_flops measures them. Checked against the torch module in tests.

def _op_cost(op: str, c: int, stride: int, out_spatial: int, bn_affine: bool) -> tuple[int, int]:
    """(params, MACs) of one candidate op at ``c`` channels producing ``out_spatial``^2 maps."""
    area = out_spatial * out_spatial
    bn = 2 * c if bn_affine else 0
    if op == "skip_connect":
        if stride == 1:
            return 0, 0
        return c * c + bn, area * c * c  # FactorizedReduce: two 1x1 convs to c/2 each
    if op.startswith("sep_conv"):
        k2 = int(op[-1]) ** 2
        return 2 * (c * k2 + c * c) + 2 * bn, 2 * area * (c * k2 + c * c)
    if op.startswith("dil_conv"):
        k2 = int(op[-1]) ** 2
        return c * k2 + c * c + bn, area * (c * k2 + c * c)
    return 0, 0  # pooling


@lru_cache(maxsize=None)
def _skeleton(init_channels: int, layers: int, num_classes: int, bn_affine: bool, stem_multiplier: int,
              resolution: int) -> tuple[tuple[int, int], tuple[tuple[bool, int, int], ...]]:
    """(params, MACs) of the stem, preprocessing and classifier, and per cell (reduction, C, input spatial)."""
    stem_c = stem_multiplier * init_channels
    params = 3 * stem_c * 9 + 2 * stem_c
    macs = resolution * resolution * stem_c * 3 * 9
    c_pp, c_p, c = stem_c, stem_c, init_channels
    spatial = resolution
    cells = []
    for i in range(layers):
        reduction = i in reduction_layers(layers)
        if reduction:
            c *= 2
        bn = 2 * c if bn_affine else 0
        # preprocess0 (FactorizedReduce from twice the spatial size after a reduction, else a 1x1
        # ReLUConvBN: the same counts either way) and preprocess1 (1x1 ReLUConvBN)
        params += c_pp * c + bn + c_p * c + bn
        macs += spatial * spatial * (c_pp * c + c_p * c)
        cells.append((reduction, c, spatial))
        if reduction:
            spatial //= 2
        c_pp, c_p = c_p, len(CONCAT) * c
    params += c_p * num_classes + num_classes
    macs += c_p * num_classes + num_classes
    return (params, macs), tuple(cells)


def reduction_layers(layers: int) -> tuple[int, int]:
    """The cells that reduce: ``layers // 3`` and ``2 * layers // 3`` (DARTS' NetworkCIFAR)."""
    return layers // 3, 2 * layers // 3


def _costs(arch: Nb301Arch, init_channels: int, layers: int, num_classes: int, cell_bn_affine: bool,
           stem_multiplier: int = 3, resolution: int = 32) -> tuple[int, int]:
    (params, macs), cells = _skeleton(init_channels, layers, num_classes, cell_bn_affine, stem_multiplier,
                                      resolution)
    for reduction, c, spatial in cells:
        out_spatial = spatial // 2 if reduction else spatial
        for op, src in arch.cell(reduction):
            stride = 2 if reduction and src < 2 else 1
            p, m = _op_cost(op, c, stride, out_spatial, cell_bn_affine)
            params += p
            macs += m
    return params, macs


def param_count(arch: Nb301Arch, init_channels: int = 16, layers: int = 8, num_classes: int = 10,
                cell_bn_affine: bool = True) -> int:
    """Number of parameters of the standalone network of ``arch`` (defaults: the protocol's network,
    C = 16, 8 cells, BN affine everywhere as in DARTS' NetworkCIFAR; no auxiliary head)."""
    return _costs(arch, init_channels, layers, num_classes, cell_bn_affine)[0]


def flop_count(arch: Nb301Arch, init_channels: int = 16, layers: int = 8, num_classes: int = 10) -> int:
    """Multiply-accumulates of one 32x32 image through the standalone network of ``arch``."""
    return _costs(arch, init_channels, layers, num_classes, True)[1]


def relu_count(arch: Nb301Arch, layers: int = 8) -> int:
    """ReLU applications in one forward pass of the standalone network: one per preprocessing
    block (2 per cell), two per separable conv, one per dilated conv and per strided skip_connect
    (FactorizedReduce). The network has no ReLU before its classifier."""
    total = 2 * layers
    for i in range(layers):
        reduction = i in reduction_layers(layers)
        for op, src in arch.cell(reduction):
            if op.startswith("sep_conv"):
                total += 2
            elif op.startswith("dil_conv") or (op == "skip_connect" and reduction and src < 2):
                total += 1
    return total
