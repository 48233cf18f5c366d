"""NAS-Bench-101 cells, and the NAS-Bench-1shot1 search space 3 inside them.

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

NAS-Bench-1shot1 search space 3 (automl/nasbench-1shot1, ``search_space_3.py``): 5 intermediate
nodes; node 1 reads the input; nodes 2 and 3 choose 1 parent among the earlier nodes, nodes 4 and 5
choose 2, and the output chooses 2 among nodes 0..5; each of the 5 nodes picks one of the 3 ops.
That is 2*3*6*10*15 = 5,400 wirings x 3**5 op choices ("with loose ends"). Nodes that do not reach
the output are "loose ends": the NB101 ``ModelSpec`` prunes them, which is how a 1shot1 sample maps
to a NB101 cell (their ``objective_function`` queries the unpruned matrix through ``ModelSpec``).
Enumeration (:func:`space3_statistics`): 5,400 wirings, 876 of them without loose ends; 135,900
(wiring without loose ends, ops of the nodes in use) pairs; 118,524 distinct pruned cells; 55,854
distinct official hashes (isomorphism classes). None of these is the paper's 363,648, which we
could not reproduce from the released code; the membership rule itself is checked against the
hash enumeration (tests).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
import time
from collections.abc import Iterator, Sequence
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

#: Space 3 of NAS-Bench-1shot1: number of parents of nodes 1..6 (6 = output).
SPACE3_PARENTS: dict[int, int] = {1: 1, 2: 1, 3: 1, 4: 2, 5: 2, 6: 2}
#: The size of space 3 the NAS-Bench-1shot1 paper states (not reproduced here; see the module docstring).
SPACE3_PAPER_SIZE = 363_648


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


# --- NAS-Bench-1shot1 search space 3 ------------------------------------------------------------


def _space3_parent_choices() -> list[list[tuple[int, ...]]]:
    """For nodes 1..6: the parent sets 1shot1 lets the node choose (``itertools.combinations``)."""
    return [list(itertools.combinations(range(node), k)) for node, k in SPACE3_PARENTS.items()]


def space3_matrix(parents: Sequence[Sequence[int]]) -> list[list[int]]:
    """The 7x7 matrix "with loose ends" of the parents of nodes 1..6 (1shot1's
    ``create_nasbench_adjacency_matrix_with_loose_ends``)."""
    matrix = [[0] * MAX_VERTICES for _ in range(MAX_VERTICES)]
    for node, node_parents in enumerate(parents, start=1):
        for parent in node_parents:
            matrix[parent][node] = 1
    return matrix


def sample_space3(rng: np.random.Generator, n: int) -> list[Nb101Arch]:
    """``n`` cells drawn as NAS-Bench-1shot1 samples space 3 (``sample(with_loose_ends=True)``): each
    node's parent set uniform among its choices, each of the 5 ops uniform, then pruned as NB101's
    ``ModelSpec`` does. Every draw is valid, so there is no rejection. Not uniform over the
    distinct cells: a cell reachable by more wirings is drawn more often, as in 1shot1."""
    choices = _space3_parent_choices()
    out = []
    for _ in range(n):
        parents = [c[int(rng.integers(0, len(c)))] for c in choices]
        ops = [INPUT, *(OPS[i] for i in rng.integers(0, len(OPS), size=5)), OUTPUT]
        out.append(Nb101Arch(*prune(space3_matrix(parents), ops)))
    return out


@functools.lru_cache(maxsize=1)
def _space3_structures() -> tuple[dict, int]:
    """Distinct (kept nodes, pruned matrix) over the 5,400 wirings, and the paper-style count."""
    structures: dict[tuple, tuple] = {}
    for parents in itertools.product(*_space3_parent_choices()):
        matrix = space3_matrix(parents)
        dead = _extraneous(matrix)
        keep = tuple(i for i in range(MAX_VERTICES) if i not in dead)
        pruned = tuple(tuple(matrix[i][j] for j in keep) for i in keep)
        structures[(keep, pruned)] = pruned
    # The paper's count: wirings without loose ends (in the 7-vertex numbering) x 3**(nodes in use).
    paper = sum(3 ** (len(keep) - 2) for keep, _ in structures)
    return structures, paper


@functools.lru_cache(maxsize=1)
def space3_cells() -> frozenset[Nb101Arch]:
    """Every distinct pruned cell (matrix and ops, in the pruned 1shot1 numbering) of space 3."""
    structures, _ = _space3_structures()
    cells = set()
    for pruned in set(structures.values()):
        interior = len(pruned) - 2
        for ops in itertools.product(OPS, repeat=interior):
            cells.add(Nb101Arch(pruned, (INPUT, *ops, OUTPUT)))
    return frozenset(cells)


@functools.lru_cache(maxsize=1)
def space3_hashes() -> frozenset[str]:
    """The official hashes of every cell of space 3, enumerated once per process (lazy cache).

    Slow: about 13 s on one CPU core (5,400 wirings -> 118,524 distinct pruned cells, each hashed
    in pure Python). :func:`in_space3` does not need it (it decides membership by the exact
    structural rule); it is here to verify that rule and for :func:`space3_statistics`.
    """
    return frozenset(canonical_form.__wrapped__(cell) for cell in space3_cells())


def space3_nodes(arch: Nb101Arch) -> tuple[int, ...] | None:
    """The NAS-Bench-1shot1 space-3 node (0 = input, 1..5, 6 = output) of each vertex of the pruned
    cell ``arch``, or None when ``arch`` is not in space 3.

    1-input vertices take nodes 1, 2, 3 and 2-input vertices nodes 4, 5, each in vertex order (the
    rule is exact: see :func:`space3_wiring`). Nodes left over are the configuration's loose ends.
    """
    n = arch.num_vertices
    indeg = [sum(arch.matrix[u][v] for u in range(n)) for v in range(n)]
    interior = range(1, n - 1)
    ones = [v for v in interior if indeg[v] == 1]
    twos = [v for v in interior if indeg[v] == 2]
    if indeg[n - 1] != 2 or len(ones) + len(twos) != n - 2 or len(ones) > 3 or len(twos) > 2:
        return None
    # descends_from_two[v]: some ancestor of v (or v itself) has 2 inputs
    tainted = [False] * n
    for v in interior:  # vertex order is topological
        tainted[v] = indeg[v] == 2 or any(tainted[u] for u in range(1, v) if arch.matrix[u][v])
    if any(tainted[v] for v in ones):
        return None
    position = {0: 0, n - 1: 6}
    position.update({v: i for i, v in enumerate(ones, start=1)})
    position.update({v: i for i, v in enumerate(twos, start=4)})
    return tuple(position[v] for v in range(n))


def space3_wiring(arch: Nb101Arch) -> tuple[tuple[tuple[int, ...], ...], tuple[str, ...]] | None:
    """A NAS-Bench-1shot1 space-3 configuration that prunes to a cell isomorphic to ``arch``, or
    None when there is none.

    Returns ``(parents of nodes 1..6, the 7 ops)``. The rule is exact: every kept node keeps all
    its parents (each 1shot1 node has one, so each reaches the input), so ``arch`` is in space 3 iff
    the output has 2 inputs, every interior vertex 1 or 2, at most 3 vertices have 1 and at most
    2 have 2, and no 1-input vertex descends from a 2-input vertex (then a topological order puts
    the 1-input vertices on nodes 1.., the 2-input ones on nodes 4.., and the unused nodes become
    loose ends, which NB101 prunes).
    """
    position = space3_nodes(arch)
    if position is None:
        return None
    n = arch.num_vertices
    parents: list[tuple[int, ...]] = [(0,), (0,), (0,), (0, 1), (0, 1), ()]  # loose-end fillers
    ops = [INPUT, CONV3X3, CONV3X3, CONV3X3, CONV3X3, CONV3X3, OUTPUT]
    for v in range(1, n):
        parents[position[v] - 1] = tuple(sorted(position[u] for u in range(v) if arch.matrix[u][v]))
        ops[position[v]] = arch.ops[v]
    return tuple(parents), tuple(ops)


def in_space3(arch: Nb101Arch) -> bool:
    """True when ``arch`` is isomorphic to a cell of NAS-Bench-1shot1 space 3 (microseconds: the
    structural rule of :func:`space3_wiring`, checked against the full enumeration in the tests)."""
    return space3_wiring(arch) is not None


def space3_statistics() -> dict[str, Any]:
    """Counts of the enumeration, for documentation and tests.

    ``wirings``: 5,400 parent choices; ``paper_count``: wirings without loose ends x op choices of the
    nodes in use, as 1shot1's ``generate_search_space_without_loose_ends`` means to count (135,900;
    the paper states 363,648); ``pruned_cells``: distinct pruned (matrix, ops); ``hashes``: distinct isomorphism classes.
    """
    start = time.perf_counter()
    structures, paper = _space3_structures()
    cells, hashes = space3_cells(), space3_hashes()
    return {"wirings": int(np.prod([len(c) for c in _space3_parent_choices()])),
            "wirings_without_loose_ends": len(structures), "paper_count": paper,
            "pruned_cells": len(cells), "hashes": len(hashes),
            "seconds": round(time.perf_counter() - start, 2)}


def iter_space3_wirings() -> Iterator[tuple[tuple[int, ...], ...]]:
    """Every parent choice of nodes 1..6 (5,400 of them)."""
    yield from itertools.product(*_space3_parent_choices())


# --- cost model (analytic, checked against the torch module in the tests) ------------------------


def vertex_channels(matrix: Sequence[Sequence[int]], c_in: int, c_out: int) -> list[int]:
    """Channels of every vertex of a pruned cell (the official ``compute_vertex_channels``).

    The output's channels are split evenly among the interior vertices feeding it (the first ones in
    vertex order take the remainder, one each); every other interior vertex takes the largest width
    among the interior vertices it feeds. ``[c_in, ..., c_out]``.
    """
    n = len(matrix)
    channels = [0] * n
    channels[0], channels[-1] = c_in, c_out
    if n == 2:
        return channels
    fan_in = sum(matrix[v][n - 1] for v in range(1, n - 1))
    base, extra = divmod(c_out, fan_in)
    for v in range(1, n - 1):
        if matrix[v][n - 1]:
            channels[v] = base + (1 if extra > 0 else 0)
            extra -= 1 if extra > 0 else 0
    for v in range(n - 3, 0, -1):
        if not matrix[v][n - 1]:
            for dst in range(v + 1, n - 1):
                if matrix[v][dst]:
                    channels[v] = max(channels[v], channels[dst])
    return channels


def stack_widths(init_channels: int, num_stacks: int = 3, cells_per_stack: int = 3) -> list[tuple[int, int, int]]:
    """(c_in, c_out, spatial size) of every cell, in order, for 32x32 inputs."""
    out = []
    c, size = init_channels, 32
    for stack in range(num_stacks):
        c_in = c
        if stack > 0:
            c, size = 2 * c, size // 2
        for _ in range(cells_per_stack):
            out.append((c_in, c, size))
            c_in = c
    return out


def _cell_costs(arch: Nb101Arch, c_in: int, c_out: int, size: int, bn_affine: bool) -> tuple[int, int, int]:
    """(parameters, multiply-accumulates, ReLU modules) of one cell."""
    n = arch.num_vertices
    ch = vertex_channels(arch.matrix, c_in, c_out)
    bn = 2 if bn_affine else 0
    params = flops = relus = 0
    area = size * size
    for t in range(1, n):
        if arch.matrix[0][t]:  # a 1x1 projection of the cell input (ch[n-1] = c_out for the output)
            params += c_in * ch[t] + bn * ch[t]
            flops += area * c_in * ch[t]
            relus += 1
    for t in range(1, n - 1):
        kernel = {CONV3X3: 9, CONV1X1: 1}.get(arch.ops[t], 0)
        if kernel:
            params += ch[t] * ch[t] * kernel + bn * ch[t]
            flops += area * ch[t] * ch[t] * kernel
            relus += 1
    return params, flops, relus


@functools.lru_cache(maxsize=65536)
def costs(arch: Nb101Arch, init_channels: int = 16, num_stacks: int = 3, cells_per_stack: int = 3,
          num_classes: int = 10, cell_bn_affine: bool = True) -> tuple[int, int, int]:
    """(parameters, multiply-accumulates for one 32x32 image, ReLU applications) of the standalone
    network. Parameters count BN's scale and shift, as TF's ``batch_normalization`` (center and
    scale on) counted NAS-Bench-101's ``trainable_parameters``."""
    c = init_channels
    params = 3 * c * 9 + 2 * c
    flops = 32 * 32 * 3 * c * 9
    relus = 1
    for c_in, c_out, size in stack_widths(c, num_stacks, cells_per_stack):
        p, f, r = _cell_costs(arch, c_in, c_out, size, cell_bn_affine)
        params, flops, relus = params + p, flops + f, relus + r
    last = c * 2 ** (num_stacks - 1)
    params += last * num_classes + num_classes
    flops += last * num_classes + num_classes
    return params, flops, relus


def param_count(arch: Nb101Arch, init_channels: int = 16, **options: Any) -> int:
    """Parameters of the standalone network (``init_channels=128``: the official figure)."""
    return costs(arch, init_channels, **options)[0]


def flop_count(arch: Nb101Arch, init_channels: int = 16, **options: Any) -> int:
    """Multiply-accumulates of Conv2d and Linear (+ bias) for one 32x32 image."""
    return costs(arch, init_channels, **options)[1]


def relu_count(arch: Nb101Arch, init_channels: int = 16, **options: Any) -> int:
    """ReLU applications for one image: the stem, every conv vertex and every input projection."""
    return costs(arch, init_channels, **options)[2]


# --- the space objects ----------------------------------------------------------------------------


class Nb101Space:
    """The whole NAS-Bench-101 space behind the :class:`~suite.spaces.base.SearchSpace` interface."""

    name = "nb101"

    def parse(self, text: str) -> Nb101Arch:
        return parse_arch(text)

    def format(self, arch: Nb101Arch) -> str:
        return format_arch(arch)

    def canonical(self, arch: Nb101Arch) -> str:
        return canonical_form(arch)

    def sample(self, rng: np.random.Generator, n: int) -> list[Nb101Arch]:
        return sample_archs(rng, n)

    def build_network(self, arch: Nb101Arch, cell_bn_affine: bool = True, **options: Any):
        """Options: those of :class:`~suite.spaces.nb101_network.Nb101Network` (C=16 by default)."""
        from suite.spaces.nb101_network import Nb101Network

        return Nb101Network(arch, cell_bn_affine=cell_bn_affine, **options)

    #: How the supernet maps a pruned cell's vertices to bank slots (see ``nb101_supernet``).
    share_by = "vertex"

    def build_supernet(self, cell_bn_affine: bool = False, track_running_stats: bool = True,
                       dropout: float = 0.0, **options: Any):
        """The weight bank at the widest vertex widths; options of
        :class:`~suite.spaces.nb101_supernet.Nb101Supernet`."""
        from suite.spaces.nb101_supernet import Nb101Supernet

        return Nb101Supernet(cell_bn_affine=cell_bn_affine, track_running_stats=track_running_stats,
                             dropout=dropout, share_by=self.share_by, **options)

    def param_count(self, arch: Nb101Arch) -> int:
        return param_count(arch)

    def flop_count(self, arch: Nb101Arch) -> int:
        return flop_count(arch)

    def relu_count(self, arch: Nb101Arch) -> int:
        return relu_count(arch)

    # -- operation slots (op-level analyses: mutate one operation) ------------------------------
    def op_slots(self, arch: Nb101Arch) -> tuple[str, ...]:
        """The operation (official label) of each interior vertex of the stored, pruned cell, in
        vertex order: ``arch.ops[1:-1]`` (0 to 5 slots, depending on the cell)."""
        return tuple(arch.ops[1:-1])

    def slot_names(self, arch: Nb101Arch) -> tuple[str, ...]:
        """Labels of :meth:`op_slots`' positions: ``vertex <i>`` (1-based vertex of the pruned cell)."""
        return tuple(f"vertex {i}" for i in range(1, arch.num_vertices - 1))

    def candidate_ops(self) -> tuple[str, ...]:
        """The operations a slot may hold (official labels)."""
        return OPS

    def with_op(self, arch: Nb101Arch, slot: int, op: str) -> Nb101Arch:
        """``arch`` with the operation of interior vertex ``slot + 1`` replaced by ``op`` (an official
        label, or its short code such as ``conv1x1``); the wiring stays, so the cell stays pruned
        (and in NAS-Bench-1shot1 space 3 when it was).

        Raises:
            UsageError: a slot outside the cell's interior vertices or an unknown operation (one line).
        """
        from suite.errors import UsageError

        interior = arch.num_vertices - 2
        if isinstance(slot, bool) or not isinstance(slot, (int, np.integer)) or not 0 <= slot < interior:
            where = f"0..{interior - 1}" if interior else "it has no interior vertex"
            raise UsageError(f"NB101 slot {slot!r} is not an interior vertex position of this cell ({where})")
        label = _LONG.get(op) if isinstance(op, str) else None
        if label not in OPS:
            raise UsageError(f"unknown NB101 operation {op!r}; expected one of {', '.join(OPS)}")
        ops = list(arch.ops)
        ops[int(slot) + 1] = label
        return Nb101Arch(arch.matrix, tuple(ops))


class Nb101Space3(Nb101Space):
    """NAS-Bench-1shot1 search space 3: NB101 cells reachable from its 5-node wirings.

    ``parse`` rejects cells outside the space (the first call enumerates it, see
    :func:`space3_hashes`); ``sample`` draws as 1shot1 does (:func:`sample_space3`).
    """

    name = "nb101-1shot1-3"
    share_by = "space3-node"  # one bank slot per 1shot1 node, as the study's supernet

    def parse(self, text: str) -> Nb101Arch:
        arch = parse_arch(text)
        if not in_space3(arch):
            raise ValueError(f"NB101 cell {text!r} is not in NAS-Bench-1shot1 search space 3 (nodes 1-3 take "
                             "1 input, nodes 4-5 and the output 2, after pruning)")
        return arch

    def sample(self, rng: np.random.Generator, n: int) -> list[Nb101Arch]:
        return sample_space3(rng, n)


NB101 = Nb101Space()
NB101_SPACE3 = Nb101Space3()
