"""NB201: parse/format, enumeration, the canonical form against NATS-Bench's iso_key, costs, network."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from suite.spaces import nb201
from suite.spaces.nb201 import (
    OPS,
    Nb201Arch,
    canonical_form,
    enumerate_archs,
    flop_count,
    format_arch,
    has_conv_on_path,
    param_count,
    parse_arch,
)
from suite.spaces.nb201.network import (
    Nb201Cell,
    Nb201Network,
    count_flops,
    count_parameters,
)

archs_strategy = st.tuples(*[st.sampled_from(OPS)] * 6).map(Nb201Arch)


@given(archs_strategy)
def test_format_parse_round_trip(arch):
    assert parse_arch(format_arch(arch)) == arch


def test_parse_known_string():
    arch = parse_arch("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
    assert arch.ops == ("nor_conv_3x3", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "nor_conv_3x3", "skip_connect")


@pytest.mark.parametrize("bad, fragment", [
    ("|nor_conv_3x3~0|+|none~0|none~1|", "3 '+'-separated nodes"),
    ("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown NB201 operation 'conv'"),
    ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "reads from node 1"),
    ("|none~0|+|none~0|+|none~0|none~1|none~2|", "needs 2 inputs"),
    ("none~0+none~0|none~1+none~0|none~1|none~2", "not of the form"),
])
def test_parse_errors_name_the_problem(bad, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        parse_arch(bad)


@given(st.text(max_size=80))
def test_parse_never_crashes_otherwise(text):
    try:
        parse_arch(text)
    except ValueError:
        pass


def test_enumeration_is_the_whole_space():
    archs = list(enumerate_archs())
    assert len(archs) == nb201.N_ARCHS == 15625 and len(set(archs)) == 15625


def test_ground_truth_covers_the_space_once(nb201):
    assert set(nb201.archs) == set(enumerate_archs())
    assert nb201.arch_ids.tolist() == list(range(15625))


def test_index_to_architecture_and_back(nb201):
    first = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    assert format_arch(nb201.arch(0)) == first and nb201.index_of(parse_arch(first)) == 0
    assert all(nb201.index_of(nb201.arch(i)) == i for i in range(0, 15625, 97))
    assert nb201.index_of(nb201.arch(15624)) == 15624


def test_canonical_form_equals_iso_key_on_every_row(nb201):
    ours = [canonical_form(a) for a in nb201.archs]
    theirs = nb201.table["iso_key"].tolist()
    assert ours == theirs
    assert len(set(ours)) == 6466


def test_conv_on_path():
    assert has_conv_on_path(parse_arch("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|skip_connect~1|none~2|"))
    assert not has_conv_on_path(parse_arch("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"))
    assert not has_conv_on_path(parse_arch("|none~0|+|none~0|none~1|+|none~0|nor_conv_1x1~1|none~2|"))


def test_cost_extremes_match_the_benchmark():
    # NAS-Bench-201 CIFAR-10: params 0.073306 .. 1.531546 M, FLOPs 7.78305 .. 220.11969 M.
    costs = [(param_count(a), flop_count(a)) for a in enumerate_archs()]
    params, flops = zip(*costs)
    assert (min(params), max(params)) == (73306, 1531546)
    assert (min(flops), max(flops)) == (7783050, 220119690)


def test_analytic_costs_equal_the_torch_module():
    rng = np.random.default_rng(0)
    for arch in nb201.sample_archs(rng, 12):
        net = Nb201Network(arch)
        assert param_count(arch) == count_parameters(net)
        assert flop_count(arch) == count_flops(net)
        plain = Nb201Network(arch, cell_bn_affine=False)
        assert param_count(arch, cell_bn_affine=False) == count_parameters(plain)


def test_network_forward_shapes_and_layout():
    arch = parse_arch("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
    net = Nb201Network(arch, cell_bn_affine=False)
    assert len(net.layers) == 17
    out = net(torch.randn(4, 3, 32, 32))
    assert out.shape == (4, 10)
    assert net.forward_features(torch.randn(2, 3, 32, 32)).shape == (2, 64)
    cell_bns = [m for cell in net.layers if isinstance(cell, Nb201Cell) for m in cell.modules()
                if isinstance(m, torch.nn.BatchNorm2d)]
    assert cell_bns and all(not bn.affine for bn in cell_bns)


def test_all_none_cell_outputs_zeros():
    cell = Nb201Cell(Nb201Arch(("none",) * 6), channels=16)
    assert torch.equal(cell(torch.randn(2, 16, 32, 32)), torch.zeros(2, 16, 32, 32))
