"""CLOSENet on NB201: GLOW blocks, the gate, the curriculum, inheritance, the restart, resume."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest
import torch
from test_one_shot import TINY, FakeCifar
from test_one_shot import _train as train_or_crash

from estimators.closenet.curriculum import CloseCurriculum
from estimators.closenet.gates import straight_through_gumbel
from estimators.closenet.nb201 import Nb201CloseCell, Nb201CloseSupernet
from estimators.closenet.supernets import build_close_supernet, close_supernet
from estimators.one_shot.trainer import SupernetTrainer
from suite.errors import UsageError
from suite.spaces.nb201 import NB201, OPS, Nb201Arch, sample_archs
from suite.spaces.nb201.supernet import Nb201Supernet
from conftest import result_path

SMALL_GATE = {"op_dim": 8, "node_dim": 8, "hidden_dim": 8, "layer_dims": (8, 8), "mlp_hidden": 16}
CLOSE = dataclasses.replace(TINY, epochs=4, snapshot_epochs=(1, 2, 3, 4), temporal_ensemble=1)
CURRICULUM = CloseCurriculum((1, 2, 4), restart=3)


def _close_trainer(curriculum=CURRICULUM) -> dict:
    """The trainer options of a CLOSENet training: its builder and its curriculum."""
    return {"build": functools.partial(build_close_supernet, max_blocks=curriculum.max_blocks),
            "curriculum": curriculum}


def _close(**options) -> Nb201CloseSupernet:
    torch.manual_seed(0)
    return Nb201CloseSupernet(**{"init_channels": 4, "cells_per_stage": 1, "gate_options": SMALL_GATE,
                                 **options})


def test_with_one_block_every_edge_of_a_cell_uses_the_same_weights():
    close = _close(max_blocks=3)
    # A vanilla supernet whose six edges of each cell all hold block 0 of the CLOSENet cell.
    vanilla = Nb201Supernet(init_channels=4, cells_per_stage=1)
    state = {}
    for key in vanilla.state_dict():
        parts = key.split(".")
        if parts[0] == "layers" and parts[2] == "edges":
            parts = [*parts[:2], "blocks", "0", *parts[4:]]
        state[key] = close.state_dict()[".".join(parts)]
    vanilla.load_state_dict(state)
    x = torch.randn(2, 3, 32, 32)
    for arch in sample_archs(np.random.default_rng(1), 4):
        close.eval(), vanilla.eval()
        assert torch.equal(close(x, arch), vanilla(x, arch))
        assert close.routing(arch) == [0] * 6
    close.train(), vanilla.train()  # training: the gate can only pick block 0 (BN on batch statistics)
    for arch in sample_archs(np.random.default_rng(2), 4):
        assert torch.equal(close(x, arch), vanilla(x, arch))


def test_an_unlocked_block_is_its_parent_plus_its_own_initialisation():
    close = _close(max_blocks=3)
    optimizer = torch.optim.SGD(close.parameters(), lr=0.1)
    before = [id(p) for p in optimizer.param_groups[0]["params"]]
    cell = close.cells()[0]
    own = {k: v.clone() for k, v in cell.blocks[1].state_dict().items()}
    parent = {k: v.clone() for k, v in cell.blocks[0].state_dict().items()}
    rows = close.gate.logit.weight.detach().clone(), close.gate.logit.bias.detach().clone()
    close.unlock()
    assert int(close.level) == 2
    after = cell.blocks[1].state_dict()
    assert own.keys() == after.keys() and own  # conv weights and BN buffers alike
    for key in own:
        assert torch.equal(after[key], own[key] + parent[key]), key
    assert torch.equal(cell.blocks[0].state_dict()["nor_conv_3x3.1.weight"], parent["nor_conv_3x3.1.weight"])
    assert torch.equal(close.gate.logit.weight[1], rows[0][1] + rows[0][0])
    assert torch.equal(close.gate.logit.bias[1], rows[1][1] + rows[1][0])
    assert torch.equal(close.gate.logit.weight[2], rows[0][2])  # the locked row is untouched
    # in place: the optimizer still holds (and so trains) every tensor, the gate's last layer included
    assert [id(p) for p in close.parameters()] == before
    close.unlock()
    with pytest.raises(ValueError, match="all 3 blocks"):
        close.unlock()


def test_the_hard_choice_is_one_hot_and_passes_gradients_straight_through():
    torch.manual_seed(3)
    logits = torch.randn(6, 4, requires_grad=True)
    gate = straight_through_gumbel(logits)
    assert torch.equal(gate.detach().sum(dim=1), torch.ones(6)) and set(gate.detach().unique().tolist()) == {0.0, 1.0}
    (gate * torch.arange(1.0, 5.0)).sum().backward()
    assert logits.grad is not None and (logits.grad != 0).all()  # every logit learns, not only the chosen one
    # the choice is a draw from softmax(logits): a large logit wins almost always
    wins = [int(straight_through_gumbel(torch.tensor([[0.0, 8.0]])).argmax()) for _ in range(200)]
    assert sum(wins) >= 195


def test_training_routes_through_the_gate_and_scoring_through_its_argmax():
    close = _close(max_blocks=3)
    close.unlock(), close.unlock()
    arch = Nb201Arch(("nor_conv_3x3",) * 6)
    x = torch.randn(2, 3, 32, 32)
    close.train()
    loss = close(x, arch).square().mean()
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in close.gate.parameters())
    close.eval()
    with torch.no_grad():
        net = close.subnet(arch).eval()
        assert torch.equal(close(x, arch), net(x))  # scoring = the standalone net of the argmax blocks
    assert len(close.routing(arch)) == 6 and max(close.routing(arch)) < 3


def _train(tmp_path, settings=CLOSE, fail_at=None, name="run", curriculum=CURRICULUM):
    """test_one_shot's crash-and-resume trainer (seed 2020) on CLOSENet settings."""
    return train_or_crash(tmp_path, settings, fail_at=fail_at, name=name, **_close_trainer(curriculum))


def _settings(**changes):
    return dataclasses.replace(CLOSE, **changes)


def test_blocks_appear_exactly_at_the_scheduled_epochs(tmp_path, monkeypatch):
    unlocked = []
    original = Nb201CloseSupernet.unlock

    def recording(self):
        unlocked.append(int(self.level) + 1)
        original(self)

    monkeypatch.setattr(Nb201CloseSupernet, "unlock", recording)
    trainer = _train(tmp_path, _settings())
    levels = [int(trainer.snapshot_weights(f"epoch-{e}")["level"]) for e in (1, 2, 3, 4)]
    assert levels == [1, 2, 2, 3]  # curriculum 1, 2, 4: block 2 from epoch 2, block 3 from epoch 4
    assert unlocked == [2, 3]


def test_the_restart_resets_momentum_and_learning_rate(tmp_path):
    trainer = SupernetTrainer(_settings(epochs=3, snapshot_epochs=(3,)), seed=20, cifar=FakeCifar,
                              device=torch.device("cpu"), work_root=None, **_close_trainer())
    model = trainer.build_supernet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=0)
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    optimizer.step()
    scheduler.step(1.0), scheduler.step(2.0)  # one bad epoch: lr halves
    assert optimizer.param_groups[0]["lr"] == 0.025 and optimizer.state
    trainer._start_epoch(3, model, optimizer, scheduler, last_loss=2.0)
    assert optimizer.param_groups[0]["lr"] == 0.05 and not optimizer.state
    assert scheduler.best == 2.0 and scheduler.num_bad_epochs == 0
    trainer._start_epoch(4, model, optimizer, scheduler, last_loss=2.0)  # not a restart epoch
    assert int(model.level) == 3


# 3 steps per epoch: the last step before the first unlock, the first step after it, the first after
# the restart (epoch 3), the first after the second unlock (epoch 4)
@pytest.mark.parametrize("fail_at", [3, 4, 7, 10])
def test_resume_across_curriculum_boundaries_is_bit_identical(tmp_path, fail_at):
    reference = _train(tmp_path, name="reference")
    resumed = _train(tmp_path, fail_at=fail_at, name="resumed")
    for label in ("epoch-1", "epoch-2", "epoch-3", "epoch-4"):
        a, b = reference.snapshot_weights(label), resumed.snapshot_weights(label)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), label


def test_config_errors_are_one_line_usage_errors():
    from suite.registry import get_estimator_class

    cls = get_estimator_class("closenet")
    for bad, fragment in [({"curriculum": "2,3"}, "starting with 1"), ({"curriculum": "1,x"}, "comma-separated"),
                          ({"score": "synflow"}, "acc or loss"), ({"restart_epoch": -1}, "restart_epoch"),
                          ({"restart_epoch": 1001}, "restart_epoch"),
                          ({"temporal_ensemble": 3, "snapshots": "202,1000"}, "spans a curriculum epoch")]:
        with pytest.raises(UsageError, match=fragment):
            cls.resolve_config(bad, "nb201")
    estimator = cls()
    assert all(estimator.supports(s) for s in ("nb201", "nb301", "nds-resnet", "nds-resnexta"))
    assert not estimator.supports("nb101-1shot1-3")
    estimator = cls.for_space("nb201")
    assert estimator.config.batch_size == 256 and estimator.curriculum.epochs == (1, 201, 401, 601, 801)
    assert cls(batch_size=512).config.batch_size == 512


def test_closenet_runs_through_the_runner(data_dir, cache_dir, cifar, tmp_path):
    from suite.cli import main
    from suite.results import read_result

    args = ["run", "-e", "closenet", "-b", "nb201", "--sample", "5", "--threads", "1", "--data-dir", str(data_dir),
            "--cache-dir", str(cache_dir), "--out-dir", str(tmp_path), "-q", "-c", "epochs=2", "-c", "snapshots=1,2",
            "-c", "curriculum=1,2", "-c", "restart_epoch=2", "-c", "train_images=128", "-c", "batch_size=64",
            "-c", "init_channels=4", "-c", "cells_per_stage=1", "-c", "score=loss", "-c", "score_batches=1",
            "-c", "score_batch_size=50"]
    assert main(args) == 0
    result = read_result(result_path(tmp_path / "nb201" / "closenet"))
    assert [s.label for s in result.snapshots] == ["epoch-1", "epoch-2"]
    assert result.estimator.config["curriculum"] == "1,2" and result.estimator.config["sampling"] == "deiso"
    assert all(np.isfinite(s.scores).all() for s in result.snapshots)


def test_the_close_cell_holds_one_op_set_per_block():
    cell = Nb201CloseCell(4, 5, bn_affine=False, track_running_stats=True)
    assert len(cell.blocks) == 5 and all(set(block) == set(OPS) for block in cell.blocks)
    assert close_supernet(NB201, max_blocks=2, init_channels=4, cells_per_stage=1).max_blocks == 2


# --- NDS: positional grouping ----------------------------------------------------------------------

# The position -> block maps of the study's code (walkerning/aw_nas GermCloseWeightsManager, "pre"
# criterion), at 9 blocks (epoch 1) and at the last stage.
STUDY_MAPS = {
    "nds-resnet": {9: [0, 4, 3, 5, 6, 2, 8, 8, 7, 7, 7, *[1] * 12],
                   11: [0, 4, 3, 5, 6, 2, 8, 9, 7, 10, 10, *[1] * 12],
                   17: [0, 4, 3, 5, 6, 2, 8, 9, 7, 10, 11, 1, 14, 15, 13, 16, 16, *[12] * 6]},
    "nds-resnexta": {9: [0, 3, 4, 2, 6, 5, 7, 1, 1, 1, 1, 8, 8, 8, 8],
                     13: [0, 3, 4, 2, 6, 5, 7, 1, 10, 9, 11, 8, 8, 12, 12]},
}


def _nds_close(name: str, max_blocks: int):
    from suite.spaces import get_space

    torch.manual_seed(0)
    return close_supernet(get_space(name), max_blocks, max_widths=(16, 16, 16), stem_channels=8)


@pytest.mark.parametrize("name", ["nds-resnet", "nds-resnexta"])
def test_nds_grouping_splits_the_earliest_group_as_the_study_does(name):
    maps = STUDY_MAPS[name]
    net = _nds_close(name, max(maps))
    assert net.block_of.tolist() == [0] * net.positions
    for level in range(2, max(maps) + 1):
        net.unlock()
        if level in maps:
            assert net.block_of.tolist() == maps[level], level


def test_nds_unlock_inherits_and_every_stage_follows_the_map():
    from suite.spaces.nds import NDS_RESNET

    net = _nds_close("nds-resnet", 3)
    own = [{k: v.clone() for k, v in stage[2].state_dict().items()} for stage in net.stages]
    parent = [{k: v.clone() for k, v in stage[1].state_dict().items()} for stage in net.stages]
    net.unlock()  # positions 11.. split off to block 1 (bank index 2); depth 16 reaches them
    for stage, o, p in zip(net.stages, own, parent):
        assert all(torch.equal(stage[2].state_dict()[k], o[k] + p[k]) for k in o)
    assert net.bank_index(0) == 0 and net.bank_index(1) == 1 and net.bank_index(12) == 2
    arch = NDS_RESNET.parse("d=16,2,1 w=16,16,16")
    x = torch.randn(2, 3, 32, 32)
    for mode in (net.eval, net.train):
        mode()
        subnet = net.subnet(arch).train(net.training)
        with torch.no_grad():
            assert torch.allclose(net(x, arch), subnet(x), atol=1e-6)


def test_nds_closenet_takes_the_study_curriculum():
    from suite.registry import get_estimator_class

    estimator = get_estimator_class("closenet").for_space("nds-resnet")
    settings, curriculum = estimator.train_settings("nds-resnet"), estimator.curriculum
    assert len(curriculum.epochs) == 17 and curriculum.blocks_at(1) == 9 and curriculum.blocks_at(201) == 11
    assert curriculum.blocks_at(801) == 17 and settings.batch_size == 128 and settings.weight_decay == 5e-5
    estimator = get_estimator_class("closenet").for_space("nds-resnexta")
    assert estimator.curriculum.blocks_at(1) == 9 and estimator.curriculum.blocks_at(1000) == 13
    net = estimator.build_supernet("nds-resnexta")  # the full-size bank: 1 + 13 blocks per stage
    assert net.max_blocks == 13 and len(net.stages[0]) == 14


# --- NB301 ----------------------------------------------------------------------------------------


def _nb301_close(max_blocks=3):
    from suite.spaces.nb301 import NB301

    torch.manual_seed(0)
    gate = {"op_dim": 8, "node_dim": 8, "hidden_dim": 8, "layer_dims": (8, 8), "mlp_hidden": 16}
    return close_supernet(NB301, max_blocks=max_blocks, init_channels=4, layers=3, gate_options=gate)


def test_nb301_closenet_shares_one_block_routes_and_inherits():
    from suite.spaces.nb301 import NB301

    net = _nb301_close()
    archs = NB301.sample(np.random.default_rng(0), 3)
    x = torch.randn(2, 3, 32, 32)
    net.eval()
    for arch in archs:
        assert net.routing(arch) == [[0] * 8, [0] * 8]
        with torch.no_grad():
            assert torch.equal(net(x, arch), net.subnet(arch).eval()(x))
    reduction = next(c for c in net.cells if c.reduction)
    own = {k: v.clone() for k, v in reduction.reduce_blocks[1].state_dict().items()}
    parent = {k: v.clone() for k, v in reduction.reduce_blocks[0].state_dict().items()}
    net.unlock(), net.unlock()
    assert all(torch.equal(reduction.reduce_blocks[1].state_dict()[k], own[k] + parent[k]) for k in own)
    net.train()
    loss = net(x, archs[0]).square().mean()
    loss.backward()
    assert net.gate.op_embedding.grad is not None and net.gate.op_embedding.grad.abs().sum() > 0
    net.eval()
    routing = net.routing(archs[1])
    assert len(routing) == 2 and all(len(r) == 8 and max(r) < 3 for r in routing)
    with torch.no_grad():
        assert torch.equal(net(x, archs[1]), net.subnet(archs[1]).eval()(x))


def test_a_locked_block_keeps_its_initialisation_until_it_is_unlocked(tmp_path):
    settings = _settings(epochs=3, snapshot_epochs=(2, 3))
    trainer = _train(tmp_path, settings, curriculum=CloseCurriculum((1, 3), restart=0))
    torch.manual_seed(2020)  # the trainer's init
    init = trainer.build_supernet().state_dict()
    at2, at3 = trainer.snapshot_weights("epoch-2"), trainer.snapshot_weights("epoch-3")
    key = "layers.0.blocks.1.nor_conv_3x3.1.weight"
    assert torch.equal(at2[key], init[key])  # weight decay and momentum did not touch it while locked
    assert not torch.equal(at3[key], init[key] + at2["layers.0.blocks.0.nor_conv_3x3.1.weight"])  # it trained


def _fixed_logits(net, shape, seed=0):
    logits = torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
    net.gate.forward = lambda arch: logits
    return logits


@pytest.mark.parametrize("space", ["nb201", "nb301"])
def test_scoring_with_mixed_routing_equals_the_standalone_network(space):
    from estimators.one_shot.scoring import scoring_mode
    from suite.spaces import get_space

    if space == "nb201":
        net = _close(max_blocks=4)
        archs = sample_archs(np.random.default_rng(5), 3)
        logits = _fixed_logits(net, (6, 4))
    else:
        net = _nb301_close(max_blocks=4)
        archs = get_space("nb301").sample(np.random.default_rng(5), 3)
        logits = _fixed_logits(net, (2, 8, 4))
    for _ in range(3):
        net.unlock()
    expected = logits.argmax(dim=-1).tolist()
    x = torch.randn(4, 3, 32, 32)
    for arch in archs:
        assert net.routing(arch) == expected and len({b for row in np.atleast_2d(expected) for b in row}) > 1
        subnet = net.subnet(arch)
        with torch.no_grad(), scoring_mode(net, "train"), scoring_mode(subnet, "train"):
            assert torch.equal(net(x, arch), subnet(x))


def test_the_nb201_encoder_is_the_message_passing_of_the_spec():
    close = _close(max_blocks=2)
    gate = close.gate
    arch = Nb201Arch(("nor_conv_3x3", "none", "skip_connect", "avg_pool_3x3", "nor_conv_1x1", "none"))
    from suite.spaces.nb201 import EDGES

    ops = {(src, dst): OPS.index(op) for (src, dst), op in zip(EDGES, arch.ops)}
    with torch.no_grad():
        h = gate.node_in(torch.cat([gate.input_node, torch.zeros(3, gate.input_node.shape[1])]))
        for k, (node_map, op_gate) in enumerate(zip(gate.node_maps, gate.op_gates)):
            s = node_map(h)
            rows = []
            for to in range(4):
                total = s[0] if to == 0 else torch.zeros_like(s[0])
                for src in range(to):
                    if ops[(src, to)] != 0:
                        total = total + torch.sigmoid(op_gate(gate.op_embedding.weight[ops[(src, to)]])) * s[src]
                rows.append(total)
            h = torch.stack(rows)
            h = torch.relu(h) if k < len(gate.node_maps) - 1 else h
        assert torch.allclose(gate.node_embeddings(arch), h, atol=1e-6)
        # an edge into node 3 changes node 3 only
        other = Nb201Arch(arch.ops[:5] + ("nor_conv_3x3",))
        assert torch.equal(gate.node_embeddings(other)[:3], gate.node_embeddings(arch)[:3])
        assert not torch.equal(gate.node_embeddings(other)[3], gate.node_embeddings(arch)[3])
