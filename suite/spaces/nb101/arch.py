"""NAS-Bench-101 cells: the type, pruning, strings, the official hash and sampling (torch-free).

A NAS-Bench-101 cell ("module") is a DAG of at most 7 vertices given by an upper-triangular 0/1
adjacency matrix and one label per vertex: vertex 0 is ``input``, the last vertex ``output``, and
every interior vertex one of ``conv3x3-bn-relu``, ``conv1x1-bn-relu``, ``maxpool3x3``. At most 9
edges. A cell is stored PRUNED as the official ``ModelSpec`` prunes it: vertices that are not on an
input->output path are deleted (the survivors keep their order). A cell whose input does not reach
its output is invalid.

Architecture string (the suite's own spelling, a CSV cell without commas or quotes)::

    <row 0>/<row 1>/.../<row V-1>:<op 0>/<op 1>/.../<op V-1>

each row a bit string of length V (``1`` in column j = an edge from that vertex to vertex j), each
op a short code: ``in``, ``conv3x3``, ``conv1x1``, ``maxpool``, ``out``. The README's example
(already pruned)::

    0111010/0000001/0000001/0000100/0000001/0000001/0000000:in/conv1x1/conv3x3/conv3x3/conv3x3/maxpool/out

``parse`` also accepts the official op names (``input``, ``conv3x3-bn-relu``, ...), but only the
short codes are the canonical spelling. ``parse`` rejects an unpruned matrix (use
:func:`from_matrix_ops` to prune one).

Canonical form: the official NAS-Bench-101 graph hash (``graph_util.hash_module`` with labels -1 for
input, -2 for output and the index in the official ``available_ops`` order
``[conv3x3-bn-relu, conv1x1-bn-relu, maxpool3x3]`` otherwise), so equal keys = the cells the
benchmark regards as the same network, and the key is the dataset's own module hash.

NAS-Bench-1shot1 search space 3 lives in :mod:`suite.spaces.nb101.space3`, the cost model in
:mod:`suite.spaces.nb101.counts`.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

INPUT = "input"
OUTPUT = "output"
CONV3X3 = "conv3x3-bn-relu"
CONV1X1 = "conv1x1-bn-relu"
MAXPOOL3X3 = "maxpool3x3"
#: The interior ops in the official ``available_ops`` order (their index is the hash label).
OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)
MAX_VERTICES = 7
MAX_EDGES = 9

#: official label -> short code of the architecture string, and back.
SHORT: dict[str, str] = {INPUT: "in", CONV3X3: "conv3x3", CONV1X1: "conv1x1", MAXPOOL3X3: "maxpool",
                         OUTPUT: "out"}
_LONG: dict[str, str] = {**{v: k for k, v in SHORT.items()}, **{k: k for k in SHORT}}
_ROW_RE = re.compile(r"^[01]+$")


@dataclass(frozen=True, order=True)
class Nb101Arch:
    """A pruned NAS-Bench-101 cell: ``matrix[i][j] == 1`` for an edge i -> j; ``ops[i]`` the
    official label of vertex i (``ops[0] == "input"``, ``ops[-1] == "output"``).

    Construction checks that the cell is valid and already pruned (ValueError otherwise)."""

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        problem = _spec_problem(self.matrix, self.ops)
        if problem:
            raise ValueError(problem)
        dead = _extraneous(self.matrix)
        if dead:
            raise ValueError(f"NB101 cell has vertices {sorted(dead)} that are not on an input->output "
                             "path; prune them (from_matrix_ops does)")

    @property
    def num_vertices(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return sum(map(sum, self.matrix))

    def __str__(self) -> str:
        return format_arch(self)


def _spec_problem(matrix: Sequence[Sequence[int]], ops: Sequence[str]) -> str | None:
    """Why ``(matrix, ops)`` is not a NB101 cell before pruning (None when it is one)."""
    n = len(ops)
    if not 2 <= n <= MAX_VERTICES:
        return f"NB101 cell needs 2..{MAX_VERTICES} vertices, got {n} ops"
    if len(matrix) != n or any(len(row) != n for row in matrix):
        return f"NB101 adjacency must be {n}x{n} (one row and column per op)"
    for i, row in enumerate(matrix):
        for j, bit in enumerate(row):
            if bit not in (0, 1):
                return f"NB101 adjacency entry ({i}, {j}) is {bit!r}, expected 0 or 1"
            if bit and j <= i:
                return f"NB101 adjacency must be upper triangular; edge {i}->{j} is not"
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        return f"NB101 cell must start with {INPUT!r} and end with {OUTPUT!r}, got {ops[0]!r} .. {ops[-1]!r}"
    for i, op in enumerate(ops[1:-1], start=1):
        if op not in OPS:
            return f"NB101 vertex {i} has unknown op {op!r}; expected one of {', '.join(OPS)}"
    return None


def _extraneous(matrix: Sequence[Sequence[int]]) -> set[int]:
    """Vertices not on an input->output path (the official ``ModelSpec._prune`` rule)."""
    n = len(matrix)
    from_input, frontier = {0}, [0]
    while frontier:
        top = frontier.pop()
        for v in range(top + 1, n):
            if matrix[top][v] and v not in from_input:
                from_input.add(v)
                frontier.append(v)
    to_output, frontier = {n - 1}, [n - 1]
    while frontier:
        top = frontier.pop()
        for v in range(top):
            if matrix[v][top] and v not in to_output:
                to_output.add(v)
                frontier.append(v)
    return set(range(n)) - (from_input & to_output)


def prune(matrix: Sequence[Sequence[int]], ops: Sequence[str]) -> tuple[tuple[tuple[int, ...], ...], tuple[str, ...]] | None:
    """The official pruning: delete vertices off every input->output path. None when the input does
    not reach the output (an invalid cell)."""
    dead = _extraneous(matrix)
    if len(dead) > len(ops) - 2:
        return None
    keep = [i for i in range(len(ops)) if i not in dead]
    return tuple(tuple(int(matrix[i][j]) for j in keep) for i in keep), tuple(ops[i] for i in keep)


def from_matrix_ops(matrix: Any, ops: Sequence[str]) -> Nb101Arch:
    """The pruned cell of an official (possibly unpruned) ``matrix`` and ``ops`` list.

    Raises:
        ValueError: malformed input, input and output disconnected, or more than 9 edges after pruning.
    """
    rows = np.asarray(matrix).tolist()
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise ValueError("NB101 adjacency must be a square 0/1 matrix")
    ops = [str(op) for op in ops]
    try:
        rows = [[int(b) for b in row] for row in rows]
    except (TypeError, ValueError):
        raise ValueError("NB101 adjacency must hold integers 0/1") from None
    problem = _spec_problem(rows, ops)
    if problem:
        raise ValueError(problem)
    pruned = prune(rows, ops)
    if pruned is None:
        raise ValueError("NB101 cell is invalid: its input does not reach its output")
    matrix_p, ops_p = pruned
    edges = sum(map(sum, matrix_p))
    if edges > MAX_EDGES:
        raise ValueError(f"NB101 cell has {edges} edges after pruning, more than {MAX_EDGES}")
    return Nb101Arch(matrix_p, ops_p)


def parse_arch(text: str) -> Nb101Arch:
    """Parse ``rows:ops`` (see the module docstring). ValueError naming the bad part otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"an NB101 cell string must be a str, got {type(text).__name__}")
    head, sep, tail = text.strip().partition(":")
    if not sep or ":" in tail:
        raise ValueError(f"NB101 cell {text!r}: expected '<rows>:<ops>' with exactly one ':'")
    rows, ops = head.split("/"), tail.split("/")
    for i, row in enumerate(rows):
        if not _ROW_RE.match(row):
            raise ValueError(f"NB101 cell {text!r}: row {i} {row!r} is not a bit string")
    for i, op in enumerate(ops):
        if op not in _LONG:
            raise ValueError(f"NB101 cell {text!r}: op {i} {op!r} is unknown; expected one of "
                             f"{', '.join(SHORT.values())}")
    if len(rows) != len(ops) or any(len(row) != len(ops) for row in rows):
        raise ValueError(f"NB101 cell {text!r}: {len(ops)} ops need {len(ops)} rows of {len(ops)} bits")
    matrix = tuple(tuple(int(b) for b in row) for row in rows)
    try:
        arch = Nb101Arch(matrix, tuple(_LONG[op] for op in ops))
    except ValueError as exc:
        raise ValueError(f"NB101 cell {text!r}: {exc}") from None
    if arch.num_edges > MAX_EDGES:
        raise ValueError(f"NB101 cell {text!r}: {arch.num_edges} edges, more than {MAX_EDGES}")
    return arch


def format_arch(arch: Nb101Arch) -> str:
    """The suite's string of ``arch`` (inverse of :func:`parse_arch`)."""
    rows = "/".join("".join(str(b) for b in row) for row in arch.matrix)
    return rows + ":" + "/".join(SHORT[op] for op in arch.ops)


def graph_hash(matrix: Sequence[Sequence[int]], labels: Sequence[int]) -> str:
    """The official NAS-Bench-101 module hash (``graph_util.hash_module``), in pure Python.

    Every vertex starts from md5 of ``str((out_degree, in_degree, label))``; for V rounds each vertex
    becomes md5 of its sorted in-neighbour hashes, ``|``, sorted out-neighbour hashes, ``|``, its own
    hash; the fingerprint is md5 of ``str(sorted(hashes))``.
    """
    n = len(matrix)
    ins = [[w for w in range(n) if matrix[w][v]] for v in range(n)]
    outs = [[w for w in range(n) if matrix[v][w]] for v in range(n)]
    md5 = hashlib.md5
    hashes = [md5(str((len(outs[v]), len(ins[v]), labels[v])).encode("utf-8")).hexdigest() for v in range(n)]
    for _ in range(n):
        hashes = [md5(("".join(sorted(hashes[w] for w in ins[v])) + "|"
                       + "".join(sorted(hashes[w] for w in outs[v])) + "|" + hashes[v]).encode("utf-8")).hexdigest()
                  for v in range(n)]
    return md5(str(sorted(hashes)).encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=65536)
def canonical_form(arch: Nb101Arch) -> str:
    """The official module hash of ``arch`` (the dataset's key): equal exactly for isomorphic cells."""
    labels = [-1] + [OPS.index(op) for op in arch.ops[1:-1]] + [-2]
    return graph_hash(arch.matrix, labels)


def sample_archs(rng: np.random.Generator, n: int) -> list[Nb101Arch]:
    """``n`` valid cells drawn as NAS-Bench-101's random search draws them (its notebook's
    ``random_spec``): every upper-triangular entry of a 7x7 matrix is 1 with probability 1/2, every
    interior op uniform over the 3 ops, then pruned; drawn again while invalid (disconnected or more
    than 9 edges after pruning)."""
    out: list[Nb101Arch] = []
    while len(out) < n:
        bits = np.triu(rng.integers(0, 2, size=(MAX_VERTICES, MAX_VERTICES)), 1)
        ops = [INPUT, *(OPS[i] for i in rng.integers(0, len(OPS), size=MAX_VERTICES - 2)), OUTPUT]
        pruned = prune(bits.tolist(), ops)
        if pruned is None or sum(map(sum, pruned[0])) > MAX_EDGES:
            continue
        out.append(Nb101Arch(*pruned))
    return out
