"""NB101 and NAS-Bench-1shot1 space 3: strings, pruning, the official hash, space-3 membership,
cost model, the standalone network and the supernet (== subnet)."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from suite import paths
from suite.spaces import nb101 as m
from suite.spaces.nb101 import NB101, NB101_SPACE3, OPS, Nb101Arch, from_matrix_ops
from suite.spaces.nb101 import space3 as space3_module
from suite.spaces.nb101.network import Nb101Cell, Nb101Network
from suite.spaces.nb101.supernet import Nb101Supernet
from suite.spaces.nb201.network import count_flops, count_parameters

# The README / notebook cell of google-research/nasbench, and the representative the dataset stores
# for it (NASBench.ipynb output: module_adjacency, module_operations, trainable_parameters 2694282).
README_MATRIX = [[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
                 [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]]
README_OPS = ["input", "conv1x1-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "maxpool3x3",
              "output"]
STORED_MATRIX = [[0, 1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1],
                 [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]]
STORED_OPS = ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3", "conv3x3-bn-relu", "conv3x3-bn-relu",
              "output"]
SETTINGS = settings(max_examples=100, deadline=None)


@st.composite
def nb101_archs(draw):
    bits = draw(st.lists(st.integers(0, 1), min_size=21, max_size=21))
    ops = ["input", *draw(st.lists(st.sampled_from(OPS), min_size=5, max_size=5)), "output"]
    matrix = np.zeros((7, 7), dtype=int)
    matrix[np.triu_indices(7, 1)] = bits
    try:
        return from_matrix_ops(matrix, ops)
    except ValueError:
        assume(False)


space3_archs = st.integers(0, 2**32 - 1).map(lambda seed: m.sample_space3(np.random.default_rng(seed), 1)[0])


@SETTINGS
@given(nb101_archs())
def test_format_parse_round_trip_and_canonical_spelling(arch):
    text = NB101.format(arch)
    assert NB101.parse(text) == arch and NB101.format(NB101.parse(text)) == text
    assert "," not in text and '"' not in text


@SETTINGS
@given(nb101_archs(), st.randoms(use_true_random=False))
def test_hash_is_invariant_under_vertex_renumbering(arch, random):
    n = arch.num_vertices
    order = list(range(1, n - 1))
    random.shuffle(order)
    perm = [0, *order, n - 1]  # new vertex i = old vertex perm[i]
    matrix = [[arch.matrix[perm[i]][perm[j]] for j in range(n)] for i in range(n)]
    assume(all(matrix[i][j] == 0 for i in range(n) for j in range(i + 1)))  # still topologically ordered
    other = Nb101Arch(tuple(map(tuple, matrix)), tuple(arch.ops[p] for p in perm))
    assert NB101.canonical(other) == NB101.canonical(arch)


def test_readme_cell_hash_equals_the_stored_representative_and_differs_from_a_changed_op():
    query, stored = from_matrix_ops(README_MATRIX, README_OPS), from_matrix_ops(STORED_MATRIX, STORED_OPS)
    assert query != stored and NB101.canonical(query) == NB101.canonical(stored)
    assert NB101.format(query) == ("0111010/0000001/0000001/0000100/0000001/0000001/0000000:"
                                   "in/conv1x1/conv3x3/conv3x3/conv3x3/maxpool/out")
    changed = from_matrix_ops(README_MATRIX, [*README_OPS[:5], "conv1x1-bn-relu", "output"])
    assert NB101.canonical(changed) != NB101.canonical(query)


def test_pruning_removes_dead_vertices():
    matrix = [[0, 1, 1, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0],
              [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0]]
    arch = from_matrix_ops(matrix, ["input", "conv3x3-bn-relu", *["maxpool3x3"] * 4, "output"])
    assert NB101.format(arch) == "010/001/000:in/conv3x3/out"


@pytest.mark.parametrize("matrix, ops, fragment", [
    ([[0, 1, 0], [0, 0, 0], [0, 0, 0]], ["input", "maxpool3x3", "output"], "does not reach its output"),
    ([[0, 1], [0, 0]], ["input", "conv"], "must start with 'input' and end with 'output'"),
    ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", "conv5x5", "output"], "unknown op 'conv5x5'"),
    ([[0, 1, 1], [1, 0, 1], [0, 0, 0]], ["input", "maxpool3x3", "output"], "upper triangular"),
    (np.triu(np.ones((7, 7), dtype=int), 1), ["input", *["maxpool3x3"] * 5, "output"], "more than 9"),
])
def test_from_matrix_ops_errors(matrix, ops, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        from_matrix_ops(matrix, ops)


@pytest.mark.parametrize("bad, fragment", [
    ("010/001/000", "exactly one ':'"),
    ("010/0x1/000:in/conv3x3/out", "row 1 '0x1' is not a bit string"),
    ("010/001/000:in/conv5x5/out", "op 1 'conv5x5' is unknown"),
    ("01/00/00:in/conv3x3/out", "3 ops need 3 rows of 3 bits"),
    ("0110/0001/0000/0000:in/conv3x3/maxpool/out", "not on an input->output path"),
    ("010/000/000:in/conv3x3/out", "not on an input->output path"),
])
def test_parse_errors_name_the_problem(bad, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)) as info:
        NB101.parse(bad)
    assert "\n" not in str(info.value)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_parse_never_crashes_otherwise(text):
    try:
        NB101.parse(text)
    except ValueError:
        pass


def test_official_op_names_are_accepted_but_not_canonical():
    arch = NB101.parse("010/001/000:input/conv3x3-bn-relu/output")
    assert NB101.format(arch) == "010/001/000:in/conv3x3/out"


def test_nb101_sampling_is_seeded_and_valid():
    a = NB101.sample(np.random.default_rng(5), 30)
    assert a == NB101.sample(np.random.default_rng(5), 30)
    assert all(x.num_edges <= 9 and x.num_vertices <= 7 for x in a)


# --- space 3 ---------------------------------------------------------------------------------------


def test_space3_enumeration_counts():
    structures, paper = space3_module._space3_structures()
    assert len(list(m.iter_space3_wirings())) == 5400
    assert len(structures) == 876 and paper == 135_900  # the paper says 363,648: see the report
    cells = m.space3_cells()
    assert len(cells) == 118_524
    assert all(m.in_space3(cell) for cell in cells)  # the structural rule accepts every enumerated cell


@SETTINGS
@given(space3_archs)
def test_space3_samples_are_members_and_parse(arch):
    assert m.in_space3(arch)
    assert NB101_SPACE3.parse(NB101_SPACE3.format(arch)) == arch
    assert all(indeg in (1, 2) for indeg in np.asarray(arch.matrix).sum(axis=0)[1:])


@SETTINGS
@given(nb101_archs())
def test_space3_witness_prunes_to_an_isomorphic_cell(arch):
    wiring = m.space3_wiring(arch)
    if wiring is None:
        return
    parents, ops = wiring
    assert [len(p) for p in parents] == [1, 1, 1, 2, 2, 2]
    assert all(all(q < node for q in p) for node, p in enumerate(parents, start=1))
    rebuilt = Nb101Arch(*m.prune(m.space3_matrix(parents), ops))
    assert NB101.canonical(rebuilt) == NB101.canonical(arch)


def test_space3_parse_rejects_cells_outside():
    assert not m.in_space3(from_matrix_ops(README_MATRIX, README_OPS))  # the output has 4 inputs
    with pytest.raises(ValueError, match="not in NAS-Bench-1shot1 search space 3"):
        NB101_SPACE3.parse(NB101.format(from_matrix_ops(README_MATRIX, README_OPS)))
    with pytest.raises(ValueError, match="not in NAS-Bench-1shot1 search space 3"):
        NB101_SPACE3.parse("01/00:in/out")  # input -> output alone: the output needs 2 inputs


def test_space3_sampling_is_seeded_and_as_1shot1():
    a = NB101_SPACE3.sample(np.random.default_rng(1), 50)
    assert a == NB101_SPACE3.sample(np.random.default_rng(1), 50) and all(map(m.in_space3, a))


@pytest.mark.slow
def test_structural_rule_equals_the_enumerated_hash_set():
    """About 15 s: hashes all 118,524 cells of space 3."""
    hashes = m.space3_hashes()
    assert len(hashes) == 55_854
    for arch in m.sample_archs(np.random.default_rng(1), 3000):
        assert m.in_space3(arch) == (NB101.canonical(arch) in hashes)


def test_partial_csv_rows_all_convert():
    path = paths.data_dir() / "nb101" / "nb101_partial.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    table = pd.read_csv(path)
    archs = [from_matrix_ops(json.loads(a), json.loads(o)) for a, o in zip(table["matrix"], table["ops"])]
    assert len(archs) == 500
    # 500 unpruned rows -> 301 distinct pruned cells -> 292 isomorphism classes (at the time of writing)
    assert len({NB101.canonical(a) for a in archs}) == 292
    assert all(NB101.parse(NB101.format(a)) == a for a in archs)


# --- networks --------------------------------------------------------------------------------------


def test_readme_cell_parameters_at_the_official_size():
    arch = from_matrix_ops(README_MATRIX, README_OPS)
    with torch.device("meta"):
        net = Nb101Network(arch, init_channels=128)
    assert count_parameters(net) == 2_694_282 == m.param_count(arch, init_channels=128)
    with torch.device("meta"):
        stored = Nb101Network(from_matrix_ops(STORED_MATRIX, STORED_OPS), init_channels=128)
    assert count_parameters(stored) == 2_694_282


def test_vertex_channels_follow_the_official_rule():
    arch = from_matrix_ops(README_MATRIX, README_OPS)
    assert m.vertex_channels(arch.matrix, 128, 128) == [128, 32, 32, 32, 32, 32, 128]
    three = NB101.parse("01110/00001/00001/00001/00000:in/conv3x3/conv3x3/conv3x3/out")
    assert m.vertex_channels(three.matrix, 8, 16) == [8, 6, 5, 5, 16]


def test_analytic_costs_equal_the_torch_module():
    rng = np.random.default_rng(0)
    for arch in NB101.sample(rng, 6) + NB101_SPACE3.sample(rng, 6) + [NB101.parse("01/00:in/out")]:
        with torch.device("meta"):
            full = Nb101Network(arch)
        assert count_parameters(full) == NB101.param_count(arch)
        net = Nb101Network(arch, init_channels=4, cells_per_stack=1)
        assert count_flops(net) == m.flop_count(arch, 4, cells_per_stack=1)
        relus = []
        handles = [mod.register_forward_hook(lambda *_: relus.append(1)) for mod in net.modules()
                   if isinstance(mod, torch.nn.ReLU)]
        net.eval()(torch.zeros(1, 3, 32, 32))
        for h in handles:
            h.remove()
        assert len(relus) == m.relu_count(arch, 4, cells_per_stack=1)
    assert NB101.flop_count(arch) == m.flop_count(arch)


def test_sampled_networks_run_and_cell_bn_affine_off():
    rng = np.random.default_rng(3)
    for arch in NB101_SPACE3.sample(rng, 4) + NB101.sample(rng, 2):
        net = NB101_SPACE3.build_network(arch, cell_bn_affine=False, init_channels=4, cells_per_stack=1)
        assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
        cell_bns = [b for c in net.layers if isinstance(c, Nb101Cell) for b in c.modules()
                    if isinstance(b, torch.nn.BatchNorm2d)]
        assert all(not b.affine for b in cell_bns) and net.stem[1].affine


def _perturbed_supernet(space=NB101_SPACE3, **options) -> Nb101Supernet:
    torch.manual_seed(0)
    net = space.build_supernet(**options)
    with torch.no_grad():
        for name, tensor in net.state_dict().items():
            if tensor.is_floating_point():
                noise = 0.1 * torch.randn_like(tensor)
                tensor.add_(noise).abs_() if "running_var" in name else tensor.add_(noise)
    return net


@pytest.mark.parametrize("space", [NB101_SPACE3, NB101], ids=lambda s: s.name)
@pytest.mark.parametrize("bn_affine", [False, True])
def test_supernet_forward_equals_the_subnet(space, bn_affine):
    supernet = _perturbed_supernet(space, init_channels=6, cells_per_stack=1, cell_bn_affine=bn_affine, dropout=0.1)
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    rng = np.random.default_rng(4)
    archs = space.sample(rng, 5) + ([NB101.parse("01/00:in/out")] if space is NB101 else [])
    for arch in archs:
        standalone = supernet.subnet(arch)
        assert set(standalone.state_dict()) == set(supernet.arch_state_dict(arch))
        for training in (False, True):
            supernet.train(training)
            supernet.dropout.eval()
            standalone.train(training)
            assert torch.equal(supernet(x, arch), standalone(x)), (NB101.format(arch), training)


def _cell(edges, ops):
    """An NB101 cell from its edges and interior ops (vertex 0 = input, the last = output)."""
    n = len(ops) + 2
    matrix = np.zeros((n, n), dtype=int)
    for u, v in edges:
        matrix[u, v] = 1
    return from_matrix_ops(matrix.tolist(), ["input", *ops, "output"])


def test_space3_supernet_shares_weights_by_1shot1_node():
    c3, c1 = "conv3x3-bn-relu", "conv1x1-bn-relu"
    # vertex 2 takes 2 inputs: 1shot1 node 4 (nodes 2, 3 and 5 are loose ends)
    short = _cell([(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)], [c3, c3])
    # the same 2-input node at vertex 3, after two 1-input vertices (nodes 1, 2, 4)
    long = _cell([(0, 1), (0, 2), (1, 3), (2, 3), (2, 4), (3, 4)], [c1, c1, c3])
    assert m.space3_nodes(short) == (0, 1, 4, 6) and m.space3_nodes(long) == (0, 1, 2, 4, 6)
    assert m.space3_nodes(NB101.parse("01/00:in/out")) is None

    space3 = NB101_SPACE3.build_supernet(init_channels=4, cells_per_stack=1)
    whole = NB101.build_supernet(init_channels=4, cells_per_stack=1)
    conv = "layers.0.ops.{t}.0.weight"
    projection = "layers.0.projections.{t}.0.weight"
    # by node: both cells' 2-input vertex uses slot 4, whatever was pruned
    assert space3.bank_key(conv.format(t=2), short) == space3.bank_key(conv.format(t=3), long) \
        == f"layers.0.ops.4.{c3}.0.weight"
    assert space3.bank_key(projection.format(t=1), long) == "layers.0.projections.1.0.weight"
    assert space3.bank_key(projection.format(t=2), short) == "layers.0.projections.4.0.weight"
    assert space3.bank_key(projection.format(t=4), long) == "layers.0.projections.out.0.weight"
    # by pruned index (the whole NB101 space): vertex 2 uses slot 2
    assert whole.bank_key(conv.format(t=2), short) == f"layers.0.ops.2.{c3}.0.weight"
    assert conv.format(t=2) in space3.subnet(short).state_dict()
    assert set(space3.subnet(short).state_dict()) == set(whole.subnet(short).state_dict())
    with pytest.raises(ValueError, match="outside NAS-Bench-1shot1 space 3"):
        space3.subnet(NB101.parse("01/00:in/out"))
    with pytest.raises(ValueError, match="share_by"):
        Nb101Supernet(share_by="index")


def test_supernet_running_statistics_update_the_bank_slices():
    supernet = NB101_SPACE3.build_supernet(init_channels=4, cells_per_stack=1)
    arch = NB101_SPACE3.sample(np.random.default_rng(0), 1)[0]
    before = supernet.subnet(arch).state_dict()
    supernet.train()
    supernet(torch.randn(2, 3, 32, 32), arch)
    after = supernet.subnet(arch).state_dict()
    changed = [k for k in before if "running_mean" in k and not torch.equal(before[k], after[k])]
    assert len(changed) == sum("running_mean" in k for k in before)
    assert supernet.options["cell_bn_affine"] is False
