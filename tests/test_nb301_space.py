"""NB301 (DARTS space): parse/format/compact, canonical form, sampling, costs, network, supernet."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from suite import paths
from suite.spaces import nb301
from suite.spaces.nb201.network import count_flops, count_parameters
from suite.spaces.nb301 import (
    NB301,
    OPS,
    Nb301Arch,
    OutsideSpaceError,
    canonical_form,
    flop_count,
    format_arch,
    from_compact,
    param_count,
    parse_arch,
    relu_count,
    sample_archs,
    to_compact,
)
from suite.spaces.nb301.network import FactorizedReduce, Nb301Cell, Nb301Network
from suite.spaces.nb301.supernet import Nb301Supernet

# DARTS_V2 of quark0/darts cnn/genotypes.py (the genotype of the DARTS paper's CIFAR-10 result).
DARTS_V2 = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
            "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
            "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), "
            "('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")
TINY = {"init_channels": 4, "layers": 3}  # cells 1 and 2 reduce: covers FactorizedReduce preprocessing


@st.composite
def cells(draw):
    """8 (op, input) pairs, two distinct inputs per node, pairs in any order."""
    pairs = []
    for node in range(4):
        inputs = draw(st.lists(st.integers(0, node + 1), min_size=2, max_size=2, unique=True))
        pairs.extend((draw(st.sampled_from(OPS)), src) for src in inputs)
    return pairs


archs_strategy = st.builds(Nb301Arch, cells(), cells())


def _swap(pairs, node):
    out = list(pairs)
    out[2 * node], out[2 * node + 1] = out[2 * node + 1], out[2 * node]
    return out


@settings(max_examples=100, deadline=None)
@given(archs_strategy)
def test_format_parse_round_trip(arch):
    text = format_arch(arch)
    assert parse_arch(text) == arch
    assert format_arch(parse_arch(text)) == text
    assert from_compact(to_compact(arch)) == arch
    assert from_compact(str(to_compact(arch))) == arch


@settings(max_examples=100, deadline=None)
@given(cells(), cells(), st.integers(0, 3), st.integers(0, 3))
def test_canonical_form_ignores_the_order_of_a_nodes_two_pairs(normal, reduce, node_n, node_r):
    a = Nb301Arch(normal, reduce)
    b = Nb301Arch(_swap(normal, node_n), _swap(reduce, node_r))
    assert a == b and canonical_form(a) == canonical_form(b) == NB301.canonical(b)
    for cell in (a.normal, a.reduce):  # canonical order: each node's inputs ascending
        assert all(cell[2 * k][1] < cell[2 * k + 1][1] for k in range(4))


def test_canonical_form_tells_different_genotypes_apart():
    a = parse_arch(DARTS_V2)
    other_op = Nb301Arch(_replace(a.normal, 7, ("sep_conv_5x5", 2)), a.reduce)
    other_input = Nb301Arch(_replace(a.normal, 7, ("dil_conv_3x3", 3)), a.reduce)
    swapped_cells = Nb301Arch(a.reduce, a.normal)
    forms = {canonical_form(x) for x in (a, other_op, other_input, swapped_cells)}
    assert len(forms) == 4


def _replace(pairs, position, pair):
    out = list(pairs)
    out[position] = pair
    return out


def test_parse_known_genotype_and_variants():
    arch = parse_arch(DARTS_V2)
    assert arch.normal[:2] == (("sep_conv_3x3", 0), ("sep_conv_3x3", 1))
    assert arch.normal[6:] == (("skip_connect", 0), ("dil_conv_3x3", 2))
    # The order of a node's pairs is normalised: ('skip_connect', 2), ('max_pool_3x3', 1) -> sorted.
    assert arch.reduce[2:4] == (("max_pool_3x3", 1), ("skip_connect", 2))
    variant = DARTS_V2.replace("[2, 3, 4, 5]", "range(2, 6)").replace(", (", ",\n (")
    assert parse_arch("  " + variant + "\n") == arch
    assert NB301.parse(format_arch(arch)) == arch


@pytest.mark.parametrize("bad, fragment", [
    ("Genotype(normal=[], reduce=[])", "is not of the form Genotype("),
    ("genotype_string", "is not of the form"),
    (DARTS_V2.replace("('sep_conv_3x3', 0)", "('sep_conv_7x7', 0)", 1), "unknown operation 'sep_conv_7x7'"),
    (DARTS_V2.replace("('sep_conv_3x3', 0)", "('none', 0)", 1), "unknown operation 'none'"),
    (DARTS_V2.replace("('sep_conv_3x3', 1)", "('sep_conv_3x3', 0)", 1), "node 2 reads node 0 twice"),
    (DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"), "normal pair 7 reads node 5"),
    (DARTS_V2.replace("('sep_conv_3x3', 0)", "('sep_conv_3x3', -1)", 1), "normal pair 0 reads node -1"),
    (DARTS_V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[4, 5]"), "normal_concat is [4, 5]"),
    (DARTS_V2.replace("reduce_concat=[2, 3, 4, 5]", "reduce_concat=range(2, 7)"), "reduce_concat is [2, 3, 4, 5, 6]"),
    (DARTS_V2.replace("('sep_conv_3x3', 0), ", "", 1), "odd number of pairs"),
    (DARTS_V2.replace("('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ", "", 1), "needs 8 (op, input) pairs"),
    (DARTS_V2.replace("('sep_conv_3x3', 0)", "('sep_conv_3x3', '0')", 1), "is not an (op name, input node) pair"),
    (DARTS_V2.replace("('sep_conv_3x3', 0)", "(__import__('os'), 0)", 1), "is not a list literal"),
    (DARTS_V2.replace("[2, 3, 4, 5]", "range(2, x)", 1), "is not range(start, stop)"),
])
def test_parse_errors_name_the_problem(bad, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)) as info:
        parse_arch(bad)
    assert "\n" not in str(info.value) and "Traceback" not in str(info.value)


def test_outside_space_errors_are_marked():
    with pytest.raises(OutsideSpaceError):
        parse_arch(DARTS_V2.replace("('sep_conv_3x3', 0)", "('none', 0)", 1))
    with pytest.raises(ValueError) as info:  # malformed, not merely outside the space
        parse_arch(DARTS_V2.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"))
    assert not isinstance(info.value, OutsideSpaceError)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=120))
def test_parse_never_crashes_otherwise(text):
    for candidate in (text, "Genotype(normal=" + text, DARTS_V2[:40] + text):
        try:
            parse_arch(candidate)
        except ValueError:
            pass


@pytest.mark.parametrize("bad, fragment", [
    ("[[(0,0)]]", "[normal pairs, reduce pairs]"),
    ("[[(0,7)] * 8, []]", "not a list literal"),
    ([[(0, 7)] * 8, []], "op_index 7 is not in 0..6"),
    ([[(0, "a")] * 8, []], "is not an (input, op_index) pair"),
])
def test_compact_errors(bad, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        from_compact(bad)


def test_compact_form_of_darts_v2():
    arch = parse_arch(DARTS_V2)
    compact = to_compact(arch)
    assert compact[0] == ((0, 3), (1, 3), (0, 3), (1, 3), (0, 2), (1, 3), (0, 2), (2, 5))
    assert NB301.from_compact(compact) == arch


def _partial_csv():
    path = paths.data_dir() / "nb301" / "nb301_partial_surrogate.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found; set {paths.DATA_DIR_ENV}")
    return pd.read_csv(path)


def test_the_partial_data_set_parses_and_its_compact_form_agrees():
    table = _partial_csv()
    assert len(table) == 1218
    archs = [parse_arch(text) for text in table["genotype"]]
    assert archs == [from_compact(text) for text in table["compact"]]
    assert len({canonical_form(a) for a in archs}) == 1218  # the file holds 1,218 distinct genotypes


def test_sampling_is_seeded_valid_and_uniform():
    first = sample_archs(np.random.default_rng(5), 3000)
    assert first == sample_archs(np.random.default_rng(5), 3000)
    assert first != sample_archs(np.random.default_rng(6), 3000)
    assert all(parse_arch(format_arch(a)) == a for a in first[:50])
    ops = Counter(op for a in first for op, _ in a.normal + a.reduce)
    expected = 3000 * 16 / len(OPS)
    assert set(ops) == set(OPS) and all(abs(c - expected) < 0.06 * expected for c in ops.values())
    pairs = Counter((a.normal[6][1], a.normal[7][1]) for a in first)  # node 5: 10 input pairs
    assert len(pairs) == 10 and all(abs(c - 300) < 75 for c in pairs.values())
    assert NB301.sample(np.random.default_rng(9), 4) == sample_archs(np.random.default_rng(9), 4)
    assert nb301.N_CELLS == 180 * 7**8


def test_darts_v2_parameter_count_matches_the_darts_log():
    # DARTS (quark0/darts) trains DARTS_V2 at C=36, 20 layers: "param size = 3.349342MB" (auxiliary head
    # excluded); the paper reports 3.3M. 528M multiply-adds is the commonly quoted FLOP figure.
    arch = parse_arch(DARTS_V2)
    with torch.device("meta"):
        net = Nb301Network(arch, init_channels=36, layers=20)
    assert count_parameters(net) == param_count(arch, init_channels=36, layers=20) == 3_349_342
    assert flop_count(arch, init_channels=36, layers=20) == 528_359_050


def _relu_calls(model: nn.Module) -> int:
    calls = [0]
    handles = [m.register_forward_pre_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
               for m in model.modules() if isinstance(m, nn.ReLU)]
    with torch.no_grad():
        model(torch.zeros(1, 3, 32, 32, device=next(model.parameters()).device))
    for handle in handles:
        handle.remove()
    return calls[0]


def test_analytic_costs_equal_the_torch_module():
    archs = sample_archs(np.random.default_rng(0), 3) + [parse_arch(DARTS_V2)]
    for arch in archs:
        with torch.device("meta"):
            meta = Nb301Network(arch)
            plain = Nb301Network(arch, cell_bn_affine=False)
            small = Nb301Network(arch, init_channels=6, layers=5)
        assert NB301.param_count(arch) == param_count(arch) == count_parameters(meta)
        assert param_count(arch, cell_bn_affine=False) == count_parameters(plain)
        assert param_count(arch, init_channels=6, layers=5) == count_parameters(small)
        assert NB301.relu_count(arch) == relu_count(arch) == _relu_calls(meta)
    for arch in archs[:2]:
        assert NB301.flop_count(arch) == flop_count(arch) == count_flops(Nb301Network(arch))


def test_cost_queries_are_fast():
    import time

    archs = sample_archs(np.random.default_rng(1), 500)
    start = time.perf_counter()
    for arch in archs:
        NB301.param_count(arch), NB301.flop_count(arch), NB301.relu_count(arch)
    assert (time.perf_counter() - start) / len(archs) < 0.005


def test_network_layout():
    arch = parse_arch(DARTS_V2)
    with torch.device("meta"):
        net = NB301.build_network(arch, cell_bn_affine=False)
    assert len(net.cells) == 8
    reductions = [i for i, cell in enumerate(net.cells) if cell.pairs == arch.reduce]
    assert reductions == [2, 5]
    assert [isinstance(cell.preprocess0, FactorizedReduce) for cell in net.cells] == [
        False, False, False, True, False, False, True, False]
    assert net.stem[0].out_channels == 48 and net.stem[1].affine
    cell_bns = [m for cell in net.cells for m in cell.modules() if isinstance(m, nn.BatchNorm2d)]
    assert cell_bns and not any(bn.affine for bn in cell_bns)
    assert net.classifier.in_features == 256
    assert not any(isinstance(m, nn.AdaptiveAvgPool2d) for m in net.modules())


def test_every_sampled_architecture_builds_and_runs():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32)
    for arch in sample_archs(np.random.default_rng(2), 8):
        net = NB301.build_network(arch, **TINY)
        out = net(x)
        assert out.shape == (2, 10) and torch.isfinite(out).all()
        assert net.forward_features(x).shape == (2, 4 * 4 * 4)  # 4 nodes x 4C x 2 doublings
    cell = Nb301Cell(parse_arch(DARTS_V2).reduce, 12, 12, 8, True, False)
    assert cell(torch.randn(2, 12, 8, 8), torch.randn(2, 12, 8, 8)).shape == (2, 32, 4, 4)


def _perturbed_supernet(seed: int = 0, **options) -> Nb301Supernet:
    """A supernet whose weights and BN statistics are not the initial ones (as after training)."""
    torch.manual_seed(seed)
    net = NB301.build_supernet(**options)
    with torch.no_grad():
        for name, tensor in net.state_dict().items():
            if tensor.is_floating_point():
                noise = 0.1 * torch.randn_like(tensor)
                tensor.add_(noise).abs_() if "running_var" in name else tensor.add_(noise)
    return net


@pytest.mark.parametrize("bn_affine", [False, True])
def test_supernet_forward_equals_the_standalone_subnet(bn_affine):
    supernet = _perturbed_supernet(cell_bn_affine=bn_affine, dropout=0.1, **TINY)
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    every_op = [Nb301Arch([(op, 0), (op, 1)] * 4, [(op, 1), (op, 0)] * 4) for op in ("skip_connect", "sep_conv_5x5")]
    for arch in sample_archs(np.random.default_rng(3), 3) + every_op:
        standalone = supernet.subnet(arch)
        for training in (False, True):  # running statistics, then batch statistics
            supernet.train(training)
            supernet.dropout.eval()  # the standalone network has no dropout
            standalone.train(training)
            assert torch.equal(supernet(x, arch), standalone(x)), (format_arch(arch), training)


def test_subnet_holds_copies_of_the_bank_and_draws_no_randomness():
    supernet = NB301.build_supernet(track_running_stats=False, **TINY)
    assert supernet.options == {**TINY, "num_classes": 10, "cell_bn_affine": False, "track_running_stats": False,
                                "stem_multiplier": 3}
    arch = parse_arch(DARTS_V2)
    state = torch.random.get_rng_state()
    net = supernet.subnet(arch)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert set(supernet.arch_state_dict(arch)) == set(net.state_dict())
    # pair 7 of the normal cell = (dil_conv_3x3, input 2) -> node 5, edge 2 + 9 = 11 of the bank
    bank = supernet.cells[0].edges[nb301.edge_index(2, 5)]["dil_conv_3x3"][1].weight
    assert torch.equal(net.cells[0].ops[7][1].weight, bank)
    with torch.no_grad():
        net.cells[0].ops[7][1].weight.add_(1.0)
    assert not torch.equal(net.cells[0].ops[7][1].weight, bank)


def test_supernet_bank_holds_every_op_of_every_edge():
    supernet = Nb301Supernet(**TINY)
    for cell in supernet.cells:
        assert len(cell.edges) == 14 and all(set(edge) == set(OPS) for edge in cell.edges)
    reduction = supernet.cells[1]
    assert isinstance(reduction.edges[nb301.edge_index(0, 2)]["skip_connect"], FactorizedReduce)
    assert isinstance(reduction.edges[nb301.edge_index(2, 3)]["skip_connect"], nn.Identity)
