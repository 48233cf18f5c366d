"""NDS ResNet / ResNeXt-A: strings, sampling, the official config, costs, networks, supernet."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from suite.spaces import nds
from suite.spaces.nb201.network import count_flops, count_parameters
from suite.spaces.nds import (
    NDS_RESNET,
    NDS_RESNEXTA,
    NdsResNetArch,
    NdsResNeXtArch,
    OutsideSpaceError,
    flop_count,
    from_nds_net,
    param_count,
    relu_count,
)
from suite.spaces.nds import counts
from suite.spaces.nds.network import NdsNetwork
from suite.spaces.nds.supernet import grouped_slice

SPACES = [NDS_RESNET, NDS_RESNEXTA]
_three = lambda choices: st.tuples(*[st.sampled_from(choices)] * 3)  # noqa: E731
resnet_archs = st.builds(NdsResNetArch, _three(nds.RESNET_DEPTHS), _three(nds.RESNET_WIDTHS))
resnexta_archs = st.builds(NdsResNeXtArch, _three(nds.RESNEXTA_DEPTHS), _three(nds.RESNEXTA_WIDTHS),
                           _three(nds.RESNEXTA_BOT_MULS), _three(nds.RESNEXTA_GROUPS))

# Two released models with published figures (NNI's NDS benchmark example, from the NDS files):
# ResNet ds=[1,12,12,12] ws=[16,24,24,40]: 0.594138 M params, 184.519578 M flops;
# ResNeXt-A ds=[1,16,1,4] ws=[16,64,128,16] bot_muls=[0,.25,.25,.25] num_gs=[1,2,1,2]: 0.083002 M, 69.890986 M.
RESNET_NET = {"block_type": "res_basic_block", "ds": [1, 12, 12, 12], "ws": [16, 24, 24, 40], "ss": [1, 1, 2, 2]}
RESNEXT_NET = {"block_type": "res_bottleneck_block", "ds": [1, 16, 1, 4], "ws": [16, 64, 128, 16],
               "ss": [1, 1, 2, 2], "bot_muls": [0.0, 0.25, 0.25, 0.25], "num_gs": [1, 2, 1, 2]}


def _shrunk(arch, max_width=64):
    """The same architecture with depths <= 2 and widths <= max_width (still a member of its space)."""
    depths = tuple(min(d, 2) for d in arch.depths)
    widths = tuple(min(w, max_width) for w in arch.widths)
    if isinstance(arch, NdsResNeXtArch):
        return NdsResNeXtArch(depths, widths, arch.bot_muls, arch.groups)
    return NdsResNetArch(depths, widths)


# --- strings ----------------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(resnet_archs)
def test_resnet_round_trip(arch):
    text = NDS_RESNET.format(arch)
    assert NDS_RESNET.parse(text) == arch
    assert NDS_RESNET.canonical(arch) == text


@settings(max_examples=100, deadline=None)
@given(resnexta_archs)
def test_resnexta_round_trip(arch):
    text = NDS_RESNEXTA.format(arch)
    assert NDS_RESNEXTA.parse(text) == arch
    assert NDS_RESNEXTA.canonical(arch) == text


def test_known_strings_and_canonical_spelling():
    arch = NDS_RESNET.parse("d=1,2,3 w=16,32,64")
    assert arch.depths == (1, 2, 3) and arch.widths == (16, 32, 64)
    assert NDS_RESNET.format(NDS_RESNET.parse("  w=16,32,64   d=1,2,3 ")) == "d=1,2,3 w=16,32,64"
    x = NDS_RESNEXTA.parse("d=1,2,4 w=16,32,64 b=0.25,0.50,1.0 g=1,2,4")
    assert x.bot_muls == (0.25, 0.5, 1.0) and x.bottleneck_widths == (4, 16, 64)
    assert NDS_RESNEXTA.format(x) == "d=1,2,4 w=16,32,64 b=0.25,0.5,1 g=1,2,4"


@pytest.mark.parametrize("space, bad, fragment", [
    (NDS_RESNET, "", "empty"),
    (NDS_RESNET, "d=1,2,3", "missing w="),
    (NDS_RESNET, "d=1,2 w=16,32,64", "needs 3 comma-separated values"),
    (NDS_RESNET, "d=1,2,5 w=16,32,64", "depth of stage 3 is 5"),
    (NDS_RESNET, "d=1,2,3 w=16,20,64", "width of stage 2 is 20"),
    (NDS_RESNET, "d=1,2,3 w=16,32,64 b=1,1,1", "unknown key 'b'"),
    (NDS_RESNET, "d=1,2,3 d=1,2,3 w=16,32,64", "key 'd' appears twice"),
    (NDS_RESNET, "d=1,x,3 w=16,32,64", "'x' is not a positive integer"),
    (NDS_RESNET, "d:1,2,3 w=16,32,64", "not of the form key=v1,v2,v3"),
    (NDS_RESNEXTA, "d=1,2,4 w=16,32,64", "missing b=, g="),
    (NDS_RESNEXTA, "d=1,2,4 w=16,32,64 b=0.25,0.3,1 g=1,2,4", "bottleneck multiplier of stage 2 is 0.3"),
    (NDS_RESNEXTA, "d=1,2,4 w=16,32,64 b=0.25,0.5,1 g=1,8,4", "groups of stage 2 is 8"),
    (NDS_RESNEXTA, "d=1,2,3 w=16,32,64 b=0.25,0.5,1 g=1,2,4", "depth of stage 3 is 3"),
])
def test_parse_errors_name_the_problem(space, bad, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)) as info:
        space.parse(bad)
    assert "\n" not in str(info.value)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_parse_never_crashes_otherwise(text):
    for space in SPACES:
        try:
            space.parse(text)
        except ValueError:
            pass


def test_wrong_arch_type_is_refused():
    with pytest.raises(ValueError, match="expected a NdsResNeXtArch"):
        NDS_RESNEXTA.format(NDS_RESNET.parse("d=1,1,1 w=16,16,16"))


# --- sampling -------------------------------------------------------------------------------------


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.name)
def test_sampling_is_seeded_valid_and_covers_every_choice(space):
    a = space.sample(np.random.default_rng(7), 2000)
    b = space.sample(np.random.default_rng(7), 2000)
    assert a == b and len(a) == 2000
    assert all(isinstance(x, space.arch_type) for x in a)
    assert all(space.parse(space.format(x)) == x for x in a[:200])
    for attr, choices in [("depths", space.depth_choices), ("widths", space.width_choices)]:
        for stage in range(3):
            counts = np.array([sum(getattr(x, attr)[stage] == c for x in a) for c in choices])
            expected = len(a) / len(choices)
            assert counts.min() > 0.6 * expected and counts.max() < 1.4 * expected, (attr, stage, counts)
    assert space.sample(np.random.default_rng(8), 5) != space.sample(np.random.default_rng(9), 5)


def test_space_sizes():
    assert NDS_RESNET.size == 9**3 * 12**3 == 1_259_712
    assert NDS_RESNEXTA.size == 11_390_625


# --- the official configuration -------------------------------------------------------------------


def test_from_nds_net_released_layout():
    assert from_nds_net(RESNET_NET) == NDS_RESNET.parse("d=12,12,12 w=24,24,40")
    assert from_nds_net(RESNEXT_NET) == NDS_RESNEXTA.parse("d=16,1,4 w=64,128,16 b=0.25,0.25,0.25 g=2,1,2")
    assert NDS_RESNET.from_nds_net(RESNET_NET) == from_nds_net(RESNET_NET)


def test_from_nds_net_later_pycls_layout():
    net = {"block_type": "res_bottleneck_block", "stem_type": "res_stem_cifar", "stem_w": 16, "ds": [16, 1, 4],
           "ws": [64, 128, 16], "ss": [1, 2, 2], "bms": [0.25, 0.25, 0.25], "gws": [8, 32, 2]}
    assert from_nds_net(net) == from_nds_net(RESNEXT_NET)  # group widths 8, 32, 2 = 2, 1, 2 groups


@pytest.mark.parametrize("change, fragment", [
    ({"genotype": {}}, "cell-based"),
    ({"block_type": "double_plain_block"}, "block type"),
    ({"ds": [1, 12, 5, 12]}, "depth of stage 2 is 5"),
    ({"ws": [16, 24, 24, 20]}, "width of stage 3 is 20"),
    ({"ws": [12, 24, 24, 40]}, "stem width 12"),
    ({"ss": [1, 1, 2, 1]}, "strides"),
    ({"ds": [1, 12, 12, 12, 12], "ws": [16, 24, 24, 40, 40], "ss": [1, 1, 2, 2, 2]}, "5 per-stage entries"),
    ({"stem_type": "res_stem_in"}, "stem type"),
])
def test_from_nds_net_outside_the_space(change, fragment):
    with pytest.raises(OutsideSpaceError, match=re.escape(fragment)):
        from_nds_net({**RESNET_NET, **change})


@pytest.mark.parametrize("net, fragment", [
    ([1, 2], "must be a JSON object"),
    ({"ds": [1, 1, 1, 1]}, "block_type"),
    ({**RESNET_NET, "ds": "1,12,12,12"}, "must be a list"),
    ({**RESNET_NET, "ws": [16, 24, 24]}, "different lengths"),
    ({**RESNET_NET, "ds": [1, 12, "x", 12]}, "finite number"),
    ({k: v for k, v in RESNEXT_NET.items() if k != "num_gs"}, "needs 'bot_muls'"),
])
def test_from_nds_net_malformed(net, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)) as info:
        from_nds_net(net)
    assert not isinstance(info.value, OutsideSpaceError)


def test_space_from_nds_net_refuses_the_other_space():
    with pytest.raises(OutsideSpaceError, match="nds-resnet"):
        NDS_RESNET.from_nds_net(RESNEXT_NET)
    with pytest.raises(OutsideSpaceError, match="nds-resnexta"):
        NDS_RESNEXTA.from_nds_net(RESNET_NET)


# --- costs ----------------------------------------------------------------------------------------


def _bn_output_elements(net: torch.nn.Module) -> int:
    total = 0

    def hook(_m, _i, out):
        nonlocal total
        total += out.numel()

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    net.eval()
    with torch.no_grad():
        net(torch.zeros(1, 3, 32, 32))
    for h in handles:
        h.remove()
    return total


@pytest.mark.parametrize("net, params, file_flops", [(RESNET_NET, 594138, 184519578), (RESNEXT_NET, 83002, 69890986)])
def test_published_figures_of_released_models(net, params, file_flops):
    """Params equal the published count exactly; the file's flops = our MACs + 5 per BN output."""
    arch = from_nds_net(net)
    assert param_count(arch) == params
    with torch.device("meta"):
        assert count_parameters(NdsNetwork(arch)) == params
    torch.manual_seed(0)
    module = NdsNetwork(arch)
    assert count_flops(module) == flop_count(arch)
    assert flop_count(arch) + 5 * _bn_output_elements(module) == file_flops


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.name)
def test_analytic_costs_equal_the_module(space):
    archs = space.sample(np.random.default_rng(1), 20)
    for arch in archs:
        with torch.device("meta"):
            assert param_count(arch) == count_parameters(NdsNetwork(arch))
            assert param_count(arch, cell_bn_affine=False) == count_parameters(NdsNetwork(arch, cell_bn_affine=False))
    torch.manual_seed(0)
    for arch in [_shrunk(a) for a in archs[:6]]:
        assert flop_count(arch) == count_flops(NdsNetwork(arch))


def test_costs_are_fast():
    archs = NDS_RESNEXTA.sample(np.random.default_rng(2), 2000) + NDS_RESNET.sample(np.random.default_rng(2), 2000)
    start = time.perf_counter()
    for arch in archs:
        counts._param_count(arch), counts._flop_count(arch)  # uncached
    assert (time.perf_counter() - start) / len(archs) < 0.005


# --- networks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.name)
def test_every_sampled_architecture_builds_and_runs(space):
    archs = space.sample(np.random.default_rng(3), 12)
    for arch in archs:  # full size: shapes checked on the meta device
        with torch.device("meta"):
            net = space.build_network(arch)
            assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    torch.manual_seed(0)
    for arch in [_shrunk(a) for a in archs[:4]]:  # computed for real, shrunk
        net = space.build_network(arch, cell_bn_affine=False)
        out = net(torch.randn(2, 3, 32, 32))
        assert out.shape == (2, 10) and torch.isfinite(out).all()


@pytest.mark.parametrize("text, bottleneck", [("d=2,1,2 w=16,32,24", False),
                                              ("d=2,1,2 w=32,16,32 b=0.5,1,0.25 g=4,2,2", True)])
def test_network_layout(text, bottleneck):
    space = NDS_RESNEXTA if bottleneck else NDS_RESNET
    arch = space.parse(text)
    net = space.build_network(arch, cell_bn_affine=False)
    blocks = [b for stage in net.stages for b in stage]
    assert len(blocks) == sum(arch.depths)
    # projections exactly where the shape changes: stage 1 block 1 (16 -> w1 unless w1 == 16), stage 2/3 block 1
    assert [b.has_proj for b in blocks] == [arch.widths[0] != 16, False, True, True, False]
    block_bns = [m for b in blocks for m in b.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert block_bns and not any(bn.affine for bn in block_bns)
    assert net.stem.bn.affine
    if bottleneck:
        assert [b.b.groups for b in blocks] == [4, 4, 2, 2, 2]
        assert [b.b.in_channels for b in blocks] == [16, 16, 16, 8, 8]
    relus = 0

    def hook(*_):
        nonlocal relus
        relus += 1

    for m in net.modules():
        if isinstance(m, torch.nn.ReLU):
            m.register_forward_hook(hook)
    assert net.forward_features(torch.randn(1, 3, 32, 32)).shape == (1, arch.widths[-1])
    assert relus == relu_count(arch)


# --- supernet -----------------------------------------------------------------------------------------

SUPER_ARCHS = {
    "nds-resnet": ["d=2,1,2 w=16,24,32", "d=1,2,1 w=32,16,24", "d=2,2,2 w=24,32,16", "d=1,1,1 w=16,16,16"],
    "nds-resnexta": ["d=2,1,2 w=16,32,32 b=0.25,0.5,1 g=1,2,4", "d=1,2,1 w=32,16,32 b=1,1,1 g=4,2,4",
                     "d=2,2,2 w=32,32,16 b=1,0.5,0.25 g=2,4,4", "d=1,1,1 w=16,16,16 b=1,1,1 g=1,1,1"],
}


def _perturbed_supernet(space, seed=0, **options):
    """A small supernet whose weights and BN statistics are not the initial ones (as after training)."""
    torch.manual_seed(seed)
    net = space.build_supernet(max_depths=(2, 2, 2), max_widths=(32, 32, 32), **options)
    with torch.no_grad():
        for name, tensor in net.state_dict().items():
            if tensor.is_floating_point():
                tensor.add_(0.1 * torch.randn_like(tensor))
                if "running_var" in name:
                    tensor.abs_()
    return net


@pytest.mark.parametrize("bn_affine", [False, True])
@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.name)
def test_supernet_forward_equals_the_subnet(space, bn_affine):
    supernet = _perturbed_supernet(space, cell_bn_affine=bn_affine, dropout=0.1)
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    fits = [_shrunk(a, max_width=32) for a in space.sample(np.random.default_rng(4), 3)]
    archs = [space.parse(s) for s in SUPER_ARCHS[space.name]] + fits
    for arch in archs:
        sub = supernet.subnet(arch)
        assert set(sub.state_dict()) == set(supernet.arch_state_dict(arch))
        for training in (False, True):  # running statistics, then batch statistics
            supernet.train(training)
            supernet.dropout.eval()
            sub.train(training)
            assert torch.equal(supernet(x, arch), sub(x)), (str(arch), training)


@pytest.mark.parametrize("space", SPACES, ids=lambda s: s.name)
def test_supernet_training_updates_the_bank_as_the_subnet_updates_itself(space):
    supernet = _perturbed_supernet(space)
    arch = space.parse(SUPER_ARCHS[space.name][0])
    sub = supernet.subnet(arch)
    supernet.train()
    sub.train()
    x = torch.randn(3, 3, 32, 32)
    supernet(x, arch).sum().backward()
    sub(x).sum().backward()
    after = supernet.arch_state_dict(arch)
    for key, value in sub.state_dict().items():
        assert torch.allclose(after[key], value, atol=1e-6), key  # running statistics moved alike
    grads = dict(sub.named_parameters())
    bank = dict(supernet.named_parameters())
    conv = "stages.0.0.a.weight"
    w = arch.widths[0] if space is NDS_RESNET else arch.bottleneck_widths[0]
    assert torch.allclose(bank[conv].grad[:w, :16], grads[conv].grad, atol=1e-6)
    assert bank[conv].grad[w:].abs().sum() == 0


def test_supernet_subnet_is_an_independent_copy():
    supernet = _perturbed_supernet(NDS_RESNET)
    arch = NDS_RESNET.parse("d=1,1,1 w=16,16,16")
    sub = supernet.subnet(arch)
    with torch.no_grad():
        sub.stem.conv.weight.zero_()
    assert supernet.stem.conv.weight.abs().sum() > 0
    assert supernet.options == {"cell_bn_affine": False, "track_running_stats": True, "num_classes": 10,
                                "stem_channels": 16}


def test_thinner_stem_supernet_equals_its_subnet():
    """The one-shot recipes' channel proxy: a stem of 8 channels (every stage-1 first block projects)."""
    torch.manual_seed(0)
    supernet = NDS_RESNEXTA.build_supernet(max_depths=(1, 1, 1), max_widths=(16, 16, 16), stem_channels=8)
    arch = NDS_RESNEXTA.parse("d=1,1,1 w=16,16,16 b=0.5,1,0.25 g=2,4,1")
    sub = supernet.subnet(arch)
    assert sub.stem.conv.out_channels == 8 and sub.stages[0][0].has_proj
    x = torch.randn(2, 3, 32, 32)
    supernet.eval()
    sub.eval()
    assert torch.equal(supernet(x, arch), sub(x))


def test_supernet_refuses_what_does_not_fit():
    supernet = _perturbed_supernet(NDS_RESNEXTA)
    with pytest.raises(ValueError, match="exceeds the bank"):
        supernet(torch.zeros(1, 3, 32, 32), NDS_RESNEXTA.parse("d=4,1,1 w=16,16,16 b=1,1,1 g=1,1,1"))
    with pytest.raises(ValueError, match="expected a NdsResNeXtArch"):
        supernet.subnet(NDS_RESNET.parse("d=1,1,1 w=16,16,16"))


def test_default_supernet_has_the_widest_shapes():
    with torch.device("meta"):
        resnet = NDS_RESNET.build_supernet()
        resnexta = NDS_RESNEXTA.build_supernet()
    assert [len(s) for s in resnet.stages] == [24, 24, 24] and resnet.classifier.in_features == 256
    assert resnet.stages[1][0].a.weight.shape == (256, 256, 3, 3)
    assert [len(s) for s in resnexta.stages] == [16, 16, 16]
    assert resnexta.stages[2][3].b.weight.shape == (256, 256, 3, 3)  # dense bank for every grouping
    assert not resnet.dropout.p and not any(bn.affine for bn in resnet.stages[0][0].modules()
                                            if isinstance(bn, torch.nn.BatchNorm2d))


def test_grouped_slice_follows_the_study_rule():
    bank = torch.arange(8 * 8, dtype=torch.float32).reshape(8, 8, 1, 1)
    # 2 groups of a bank of 8: max-width groups are rows/cols 0-3 and 4-7.
    small = grouped_slice(bank, 4, 2)  # inner 4 <= 8/2: the plain leading corner
    assert torch.equal(small[:, :, 0, 0], bank[:4, :2, 0, 0])
    full = grouped_slice(bank, 8, 2)  # the widest: block-diagonal
    assert torch.equal(full[:4, :, 0, 0], bank[:4, :4, 0, 0]) and torch.equal(full[4:, :, 0, 0], bank[4:, 4:, 0, 0])
    mid = grouped_slice(bank, 6, 2)  # rows 4, 5 lie in the second max-width group
    assert torch.equal(mid[:4, :, 0, 0], bank[:4, :3, 0, 0]) and torch.equal(mid[4:, :, 0, 0], bank[4:6, 4:7, 0, 0])
    assert torch.equal(grouped_slice(bank, 4, 1), bank[:4, :4])
