"""NAS-Bench-1shot1 search space 3 inside NB101: sampling, enumeration and the membership rule.

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
import itertools
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from suite.spaces.nb101.arch import (
    CONV3X3,
    INPUT,
    MAX_VERTICES,
    OPS,
    OUTPUT,
    Nb101Arch,
    _extraneous,
    canonical_form,
    prune,
)

#: Space 3 of NAS-Bench-1shot1: number of parents of nodes 1..6 (6 = output).
SPACE3_PARENTS: dict[int, int] = {1: 1, 2: 1, 3: 1, 4: 2, 5: 2, 6: 2}
#: The size of space 3 the NAS-Bench-1shot1 paper states (not reproduced here; see the module docstring).
SPACE3_PAPER_SIZE = 363_648


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
