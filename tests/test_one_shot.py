"""The one-shot estimator: supernet forward = standalone network, samplers, exact resume, scoring."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from scipy import stats

from estimators.one_shot import OneShotEstimator
from estimators.one_shot.sampling import Sampler, deiso_classes
from estimators.one_shot.scoring import os_values
from estimators.one_shot.settings import TrainSettings
from estimators.one_shot.snapshots import average_weights
from estimators.one_shot.trainer import SupernetTrainer
from suite.errors import UsageError
from suite.spaces.nb201 import EDGES, OPS, Nb201Arch, canonical_form, enumerate_archs, has_conv_on_path, sample_archs
from suite.spaces.nb201.network import Nb201Network
from suite.spaces.nb201.supernet import Nb201SuperCell, Nb201Supernet
from conftest import result_path

TINY = TrainSettings(epochs=3, snapshot_epochs=(2, 3), train_images=48, batch_size=16, init_channels=4,
                     cells_per_stage=1, sampling="uniform", temporal_ensemble=2)


class FakeCifar:
    """Random images in the shape of the decoded training set (the trainer only calls split)."""

    def __init__(self, n: int = 64, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.images = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
        self.labels = rng.integers(0, 10, size=n).astype(np.int64)

    def split(self, name: str):
        return self.images, self.labels


def _perturbed_supernet(seed: int = 0, **options) -> Nb201Supernet:
    """A supernet whose BN statistics and weights are not the initial ones (as after training)."""
    torch.manual_seed(seed)
    net = Nb201Supernet(**options)
    with torch.no_grad():
        for name, tensor in net.state_dict().items():
            if tensor.is_floating_point():
                tensor.add_(0.1 * torch.randn_like(tensor)).abs_() if "running_var" in name else tensor.add_(
                    0.1 * torch.randn_like(tensor))
    return net


@pytest.mark.parametrize("bn_affine", [False, True])
def test_supernet_forward_equals_the_standalone_network_with_the_same_weights(bn_affine):
    supernet = _perturbed_supernet(init_channels=8, cells_per_stage=2, cell_bn_affine=bn_affine, dropout=0.1)
    x = torch.randn(6, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    archs = sample_archs(np.random.default_rng(3), 6) + [Nb201Arch(("none",) * 6), Nb201Arch(("nor_conv_3x3",) * 6)]
    for arch in archs:
        standalone = Nb201Network(arch, init_channels=8, cells_per_stage=2, cell_bn_affine=bn_affine)
        standalone.load_state_dict(supernet.arch_state_dict(arch))
        for training in (False, True):  # running statistics, then batch statistics
            supernet.train(training)
            supernet.dropout.eval()  # the standalone network has no dropout
            standalone.train(training)
            assert torch.equal(supernet(x, arch), standalone(x)), (str(arch), training)


def test_uniform_and_fairnas_draws():
    generator = torch.Generator().manual_seed(0)
    uniform = Sampler("uniform", samples=3)
    assert len(uniform.draw(generator)) == 3
    fair = Sampler("fairnas")
    for _ in range(50):
        archs = fair.draw(generator)
        assert len(archs) == len(OPS)
        for edge in range(len(EDGES)):  # every op of every edge exactly once per step
            assert sorted(a.ops[edge] for a in archs) == sorted(OPS)
    with pytest.raises(UsageError, match="fairnas"):
        Sampler("fairnas", samples=3)
    with pytest.raises(UsageError, match="sampling must be one of"):
        Sampler("greedy")


def test_a_fairnas_step_runs_every_operation_module_exactly_once():
    trainer = SupernetTrainer(dataclasses.replace(TINY, sampling="fairnas", epochs=1, snapshot_epochs=(1,),
                                                  train_images=16, temporal_ensemble=1),
                              seed=20, cifar=FakeCifar, device=torch.device("cpu"), work_root=None)
    calls: dict[str, int] = {}
    original = Nb201SuperCell.forward

    def counting(self, x, ops):
        for edge, module_dict in enumerate(self.edges):
            for op, module in module_dict.items():
                calls.setdefault(f"{id(self)}/{edge}/{op}", 0)
        for edge, op in enumerate(ops):
            key = f"{id(self)}/{edge}/{op}"
            calls[key] += 1
        return original(self, x, ops)

    Nb201SuperCell.forward = counting
    try:
        trainer.train()  # one epoch of one step
    finally:
        Nb201SuperCell.forward = original
    assert len(calls) == 3 * len(EDGES) * len(OPS)  # 3 cells (1 per stage) x 6 edges x 5 ops
    assert set(calls.values()) == {1}


def test_deiso_classes_are_the_valid_isomorphism_classes():
    classes = deiso_classes()
    all_classes = {canonical_form(a) for a in enumerate_archs()}
    assert len(all_classes) == 6466
    assert len(classes) == 6321  # the classes whose cells have a conv on an input-output path
    assert all(has_conv_on_path(a) for members in classes for a in members)
    assert len({canonical_form(members[0]) for members in classes}) == len(classes)


def test_deiso_sampling_is_uniform_over_classes_and_uniform_is_not():
    classes = deiso_classes()
    index = {canonical_form(members[0]): i for i, members in enumerate(classes)}
    generator = torch.Generator().manual_seed(7)
    draws = 32 * len(classes)
    deiso = Sampler("deiso", samples=draws).draw(generator)
    counts = np.bincount([index[canonical_form(a)] for a in deiso], minlength=len(classes))
    assert stats.chisquare(counts).pvalue > 1e-3
    uniform = [a for a in Sampler("uniform", samples=draws).draw(generator) if has_conv_on_path(a)]
    counts = np.bincount([index[canonical_form(a)] for a in uniform], minlength=len(classes))
    assert stats.chisquare(counts).pvalue < 1e-12  # the test can tell: uniform cells favour big classes


def _train(tmp_path, settings=TINY, fail_at=None, name="run", **options):
    """Train TINY in ``tmp_path/name``; ``fail_at``: raise at the n-th sampler draw (a crash);
    ``options``: the trainer's builder and curriculum (CLOSENet's tests)."""
    trainer = SupernetTrainer(settings, seed=2020, cifar=FakeCifar, device=torch.device("cpu"),
                              work_root=tmp_path / name, checkpoint_every=2, **options)
    if fail_at is not None:
        draws = {"n": 0}
        original = Sampler.draw

        def crashing(self, generator):
            draws["n"] += 1
            if draws["n"] == fail_at:
                raise KeyboardInterrupt("killed")
            return original(self, generator)

        Sampler.draw = crashing
        try:
            with pytest.raises(KeyboardInterrupt):
                trainer.train()
        finally:
            Sampler.draw = original
    trainer.train()
    return trainer


@pytest.mark.parametrize("fail_at", [4, 6, 7])  # epoch 2 step 1 (raw-1 kept), epoch 2 step 3, epoch 3 step 1
def test_training_resumes_bit_identically(tmp_path, fail_at):
    reference = _train(tmp_path, name="reference")
    resumed = _train(tmp_path, fail_at=fail_at, name="resumed")
    for label in ("epoch-2", "epoch-3"):
        a, b = reference.snapshot_weights(label), resumed.snapshot_weights(label)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), label
    assert list((tmp_path / "resumed").rglob("snapshot-*.pt")) and not list((tmp_path / "resumed").rglob("raw-*.pt"))  # per-epoch weights are cleaned up


def test_temporal_ensemble_averages_the_last_epochs(tmp_path):
    plain = _train(tmp_path, dataclasses.replace(TINY, temporal_ensemble=1, snapshot_epochs=(1, 2, 3)), name="plain")
    ensemble = _train(tmp_path, name="ensemble")  # k=2, snapshots 2 and 3
    for snap, members in (("epoch-2", ("epoch-1", "epoch-2")), ("epoch-3", ("epoch-2", "epoch-3"))):
        expected = average_weights([plain.snapshot_weights(m) for m in members])
        got = ensemble.snapshot_weights(snap)
        assert all(torch.equal(expected[k], got[k]) for k in expected), snap
    assert not torch.equal(got["classifier.weight"], plain.snapshot_weights("epoch-3")["classifier.weight"])


def test_scoring_leaves_the_supernet_untouched_and_ignores_order():
    supernet = _perturbed_supernet(init_channels=4, cells_per_stage=1)
    before = {k: v.clone() for k, v in supernet.state_dict().items()}
    rng = np.random.default_rng(0)
    x = torch.randn(20, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    batches = [(x[:10], torch.as_tensor(rng.integers(0, 10, 10))), (x[10:], torch.as_tensor(rng.integers(0, 10, 10)))]
    archs = sample_archs(rng, 5)
    for kind in ("acc", "loss"):
        for bn in ("train", "eval"):
            forward = os_values(supernet, archs, batches, kind, bn)
            backward = os_values(supernet, archs[::-1], batches, kind, bn)[::-1]
            assert forward.shape == (5, 2) and np.array_equal(forward, backward), (kind, bn)
    assert all(torch.equal(before[k], v) for k, v in supernet.state_dict().items())
    assert supernet.training  # modes restored
    acc = os_values(supernet, archs, batches, "acc")
    assert set(np.unique(acc * 10)) <= set(range(11))  # fractions of 10 images


def test_config_errors_are_one_line_usage_errors():
    for bad, match in [({"snapshots": "5,3"}, "ascending"), ({"snapshots": "2000"}, "ascending"),
                       ({"snapshots": "x"}, "comma-separated"), ({"score": "vote"}, "score must be"),
                       ({"sampling": "fairnas", "mc_samples": 3}, "fairnas"), ({"score_bn": "frozen"}, "score_bn"),
                       ({"temporal_ensemble": 0}, "temporal_ensemble")]:
        with pytest.raises(UsageError, match=match):
            OneShotEstimator.resolve_config(bad, "nb201")
    default = OneShotEstimator()
    assert default.snapshots() == ["epoch-200", "epoch-400", "epoch-600", "epoch-800", "epoch-1000"]
    assert (default.score_batches, default.score_batch_size) == (20, 500)  # all 10,000 scoring images
    assert (OneShotEstimator(score="snip").score_batches, OneShotEstimator(score="snip").score_batch_size) == (1, 128)


TINY_CLI = ["-c", "epochs=2", "-c", "snapshots=1,2", "-c", "train_images=256", "-c", "batch_size=64",
            "-c", "init_channels=4", "-c", "cells_per_stage=1", "-c", "score_batches=2", "-c", "score_batch_size=50"]


def _run(data_dir, cache_dir, out, *extra, seed="20"):
    from suite.cli import main

    assert main(["run", "-e", "oneshot", "-b", "nb201", "--seed", seed, "--sample", "6", "--threads", "1",
                 "--data-dir", str(data_dir), "--cache-dir", str(cache_dir), "--out-dir", str(out), "-q",
                 *TINY_CLI, *extra]) == 0
    from suite.results import read_result

    return read_result(result_path(out / "nb201" / "oneshot", int(seed)))


def test_oneshot_runs_through_the_runner_deterministically(data_dir, cache_dir, cifar, tmp_path):
    a = _run(data_dir, cache_dir, tmp_path / "a")
    b = _run(data_dir, cache_dir, tmp_path / "b")
    assert [s.label for s in a.snapshots] == ["epoch-1", "epoch-2"]
    assert [s.model_dump(mode="json") for s in a.snapshots] == [s.model_dump(mode="json") for s in b.snapshots]
    config = a.estimator.config
    assert config["sampling"] == "deiso" and config["epochs"] == 2 and config["score_bn"] == "train"
    per_batch = np.asarray(a.snapshots[-1].per_batch, dtype=float)
    assert per_batch.shape == (2, 6) and ((per_batch >= 0) & (per_batch <= 1)).all()  # accuracies on 2 batches
    assert not list((tmp_path / "a").rglob("*.pt"))  # the training is kept in the cache, for reuse
    assert list((cache_dir / "oneshot").glob("seed20-*/snapshot-epoch-2.pt"))


def test_seed_ensemble_averages_the_three_seeds(data_dir, cache_dir, cifar, tmp_path):
    single = [np.asarray(_run(data_dir, cache_dir, tmp_path / s, seed=s).snapshots[-1].per_batch, dtype=float)
              for s in ("20", "2020", "202020")]
    ensemble = _run(data_dir, cache_dir, tmp_path / "ens", "-c", "seed_ensemble=true")
    assert np.allclose(np.asarray(ensemble.snapshots[-1].per_batch, dtype=float), np.mean(single, axis=0), rtol=0, atol=1e-15)


def test_zero_shot_measures_on_trained_weights(data_dir, cache_dir, cifar, tmp_path):
    trained = _run(data_dir, cache_dir, tmp_path / "t", "-c", "score=synflow")
    values = np.asarray(trained.snapshots[-1].scores, dtype=float)
    first = np.asarray(trained.snapshots[0].scores, dtype=float)
    assert np.isfinite(values).all() and not np.array_equal(values, first)  # the weights moved between snapshots


@pytest.mark.parametrize("clip", [1e4, 0.1])  # clipping off (the mean, not the sum, shows), then surely on
def test_one_training_step_is_the_recipe_by_hand(clip):
    """One step with S=2 Monte-Carlo samples equals, by hand: the mean loss of the two sampled
    architectures, gradient-norm clipping, then SGD with weight decay on every parameter
    (sampled or not; momentum's first step is the gradient itself)."""
    import torch.nn.functional as F

    from estimators.one_shot.trainer import step_generator
    from suite.training import epoch_permutation

    settings = dataclasses.replace(TINY, epochs=1, snapshot_epochs=(1,), train_images=16, mc_samples=2, dropout=0.0,
                                   temporal_ensemble=1, lr=0.5, grad_clip=clip)  # a big step: a wrong term shows
    trainer = SupernetTrainer(settings, seed=202020, cifar=FakeCifar, device=torch.device("cpu"), work_root=None)
    trainer.train()
    trained = trainer.snapshot_weights("epoch-1")

    torch.manual_seed(202020)
    net = settings.build_supernet().train()
    data = FakeCifar()
    pick = epoch_permutation(16, 202020, 0)[:16].numpy()
    generator = step_generator(202020, 0, 0)
    x, y = trainer._batch(data.images[:16][pick], data.labels[:16][pick], generator)
    archs = Sampler("uniform", samples=2).draw(generator)
    (sum(F.cross_entropy(net(x, a), y) for a in archs) / 2).backward()
    torch.nn.utils.clip_grad_norm_([p for p in net.parameters() if p.grad is not None], settings.grad_clip)
    with torch.no_grad():
        for p in net.parameters():
            grad = torch.zeros_like(p) if p.grad is None else p.grad
            p -= settings.lr * (grad + settings.weight_decay * p)
    expected = net.state_dict()
    for key, value in expected.items():
        assert torch.allclose(trained[key], value, rtol=1e-5, atol=1e-7), key
    untouched = [k for k, p in net.named_parameters() if p.grad is None]
    assert untouched  # ops no sampled architecture used: only weight decay moved them


@pytest.mark.parametrize("space", ["nb201", "nb301", "nb101-1shot1-3", "nb101", "nds-resnet", "nds-resnexta"])
@pytest.mark.parametrize("name", ["oneshot", "closenet"])
def test_a_bound_config_rebuilds_the_same_estimator(name, space):
    """Ray workers, `suite merge` and reruns rebuild an estimator from its recorded config."""
    from suite.registry import get_estimator_class

    cls = get_estimator_class(name)
    if not cls().supports(space):
        return
    bound = cls.for_space(space)
    again = cls.for_space(space, bound.get_config())
    assert again.get_config() == bound.get_config() and again.train_settings(space) == bound.train_settings(space)
    assert bound.train_settings(space).space == space


def test_shards_scored_by_differently_trained_supernets_are_not_merged(data_dir, cache_dir, cifar, tmp_path):
    """Shards on machines without a shared cache each train a supernet; on other hardware the weights
    differ. Each shard journals its snapshots' weight hashes, so merge refuses to rank them together."""
    from suite.cli import main
    from suite.runner.journal import JournalError
    from suite.runner import merge
    from suite.training import load_checkpoint, save_checkpoint

    own_cache = tmp_path / "cache"
    own_cache.mkdir()
    (own_cache / "cifar10").symlink_to(cache_dir / "cifar10", target_is_directory=True)
    args = ["run", "-e", "oneshot", "-b", "nb201", "--seed", "20", "--sample", "6", "--threads", "1",
            "--data-dir", str(data_dir), "--cache-dir", str(own_cache), "--out-dir", str(tmp_path / "out"), "-q",
            *TINY_CLI]
    assert main([*args, "--shard", "0/2"]) == 0
    [snapshot] = (own_cache / "oneshot").glob("seed20-*/snapshot-epoch-2.pt")
    state = load_checkpoint(snapshot)
    name = next(k for k, v in state["weights"].items() if v.is_floating_point())
    state["weights"][name] = state["weights"][name] + 1e-3  # as if trained on another GPU
    save_checkpoint(snapshot, state)
    assert main([*args, "--shard", "1/2"]) == 0
    journals = sorted((tmp_path / "out" / ".journal").glob("*.jsonl"))
    with pytest.raises(JournalError, match=r"oneshot_weights:seed20:epoch-2 differs from the other shards'"):
        merge(journals, data_dir=data_dir)
