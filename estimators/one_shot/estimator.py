"""The one-shot estimator: a weight-sharing supernet trained under the protocol (``oneshot``).

``prepare`` trains the supernet of the run's seed (or of all three protocol seeds, for the seed
ensemble), resumably, keeping the weights at each snapshot epoch; ``score`` evaluates each
architecture with the weights of one snapshot (the runner journals every snapshot's scores, and
the result holds one criteria block per snapshot). Every option the study measures is a config
field; docs/one_shot.md explains them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from estimators.one_shot.curriculum import Curriculum
from estimators.one_shot.recipes import RECIPES, supernet_options
from estimators.one_shot.sampling import SAMPLERS
from estimators.one_shot.scoring import BN_MODES, os_values
from estimators.one_shot.settings import SupernetBuilder, TrainOptions, TrainSettings, vanilla_supernet
from estimators.one_shot.snapshots import ExportedSnapshots, snapshot_label
from estimators.one_shot.trainer import SupernetTrainer
from estimators.zero_shot import measures as M
from estimators.zero_shot.engine import ZeroShotEngine, get_preset
from suite import paths, protocol
from suite.data.cifar10 import SCORE_SPLIT
from suite.config_fields import option
from suite.errors import UsageError
from suite.estimator import Capabilities, Estimator, RunContext
from suite.spaces import get_space
from suite.weights import weights_key

#: Zero-shot measures that can be computed on the trained supernet's weights (``score=<measure>``).
TRAINED_MEASURES = tuple(m for m in M.ALL_MEASURES if m != "relu")
SCORES = ("acc", "loss", *TRAINED_MEASURES)
SCORE_IMAGES = SCORE_SPLIT[1] - SCORE_SPLIT[0]
#: Config fields of the forgetting measurement (left out of the recorded config while off).
FORGETTING_FIELDS = ("forgetting_epochs", "forgetting_archs")


@dataclass(frozen=True)
class OneShotConfig(TrainOptions):
    """Options of the one-shot estimator: the training options of
    :class:`~estimators.one_shot.settings.TrainOptions`, and

    Attributes:
        snapshots: comma-separated epochs after which the weights are scored, ascending, each <= epochs.
        score: ``acc``, ``loss`` (negated cross-entropy), or a zero-shot measure on the trained
            weights (``snip``, ``synflow``, ...).
        score_batches: scoring batches (0: for acc/loss all whole batches of the 10,000 scoring
            images, 20 of 500 by default; for a measure 1).
        score_batch_size: images per scoring batch (0: 500 for acc/loss, 128 for a measure).
        score_bn: ``train`` (batch statistics, the study's) or ``eval`` (running statistics).
        seed_ensemble: train the supernets of all three protocol seeds and average their scores.
        forgetting_epochs: comma-separated 1-based epochs in which multi-model forgetting is
            measured (empty, the default: off). Changes no trained weight; recorded in the result's
            ``provenance["estimator_record"]["forgetting"]`` (see :meth:`OneShotEstimator.run_record`).
        forgetting_archs: the steps measured at the start of each such epoch (the architectures
            trained at the first this-many steps; S per step with ``mc_samples=S``).
    """

    snapshots: str = "200,400,600,800,1000"
    score: str = "acc"
    score_batches: int = option(0, ge=0, le=10_000)
    score_batch_size: int = option(0, ge=0, le=10_000)
    score_bn: str = "train"
    seed_ensemble: bool = False
    forgetting_epochs: str = ""
    forgetting_archs: int = option(16, ge=1, le=100_000)


def parse_epochs(text: str, what: str, estimator: str = "oneshot") -> tuple[int, ...]:
    """``"200,400"`` -> (200, 400); UsageError naming the option ``what`` otherwise."""
    try:
        return tuple(int(e) for e in str(text).split(",") if e.strip())
    except ValueError:
        raise UsageError(f"{estimator}: {what} must be comma-separated epochs, got {text!r}") from None


class OneShotEstimator(Estimator):
    """Score = the architecture's accuracy (or negated loss, or a zero-shot measure) with the
    trained supernet's shared weights."""

    name = "oneshot"
    family = "one-shot"
    summary = "weight-sharing supernet trained under the protocol; OS accuracy of each architecture"
    Config = OneShotConfig
    # A few architectures per call: each is a full pass over the scoring batches. Re-scored on another
    # machine (a CPU for a file scored on a GPU), an accuracy over a batch of 500 scoring images may
    # differ by one image whose top two logits were nearly tied: 2e-3 absolute.
    capabilities = Capabilities(snapshots=True, state_hashes=True, run_record=True, prepares_in_work_dir=True,
                                chunk_size=4, trained_weights=True, rerun_tolerance=(1e-3, 2e-3))
    #: Set by ``prepare`` (or ``load_trained_weights``): the training settings, the trained
    #: supernets, and the engines of the snapshot loaded last.
    _settings: TrainSettings | None = None
    _trainers: tuple[SupernetTrainer, ...] = ()
    _loaded: tuple[str, list] | None = None

    @classmethod
    def recipe(cls, space_name: str) -> dict[str, Any]:
        """The space's released recipe (lr, weight decay, batch, sampling, sizes)."""
        if space_name not in RECIPES:
            raise UsageError(f"oneshot: no supernet recipe for the {space_name} space")
        return dict(RECIPES[space_name])

    @classmethod
    def resolve_config(cls, config: Mapping[str, Any], space_name: str) -> OneShotConfig:
        """Take the space's recipe for every option the user did not set; check the options."""
        recipe = {k: v for k, v in cls.recipe(space_name).items() if k not in config}
        resolved = cls.make_config({**config, **recipe})
        cls.check_config(resolved, space_name)
        return resolved

    @classmethod
    def check_config(cls, c: OneShotConfig, space_name: str) -> None:
        """UsageError for the first option ``c`` may not have on ``space_name``."""
        epochs = parse_epochs(c.snapshots, "snapshots")
        if c.epochs < 1 or not epochs or list(epochs) != sorted(set(epochs)) or epochs[0] < 1 or epochs[-1] > c.epochs:
            raise UsageError(f"oneshot: snapshots must be ascending epochs in [1, epochs={c.epochs}]; got {c.snapshots!r}")
        checks = [
            (c.sampling in SAMPLERS, f"sampling must be one of {', '.join(SAMPLERS)}"),
            (space_name == "nb201" or c.sampling == "uniform",
             f"sampling={c.sampling} is defined on NB201 cells only; use sampling=uniform on {space_name}"),
            (c.score in SCORES, f"score must be acc, loss or one of {', '.join(TRAINED_MEASURES)}"),
            (c.score_bn in BN_MODES, "score_bn must be train or eval"),
            (c.temporal_ensemble >= 1, "temporal_ensemble must be at least 1"),
            (c.score_batches >= 0 and c.score_batch_size >= 0, "score_batches and score_batch_size must be >= 0"),
            (c.init_channels >= 1 and c.cells_per_stage >= 0, "init_channels must be >= 1 and cells_per_stage >= 0"),
            (space_name in ("nds-resnet", "nds-resnexta") or c.cells_per_stage >= 1, "cells_per_stage must be >= 1"),
            (c.batch_size >= 1 and c.train_images >= 1, "batch_size and train_images must be >= 1"),
            (0.0 <= c.dropout < 1.0, "dropout must be in [0, 1)"),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(f"oneshot: {message}")
        if c.sampling == "fairnas" and c.mc_samples != 1:
            raise UsageError(f"oneshot: fairnas trains one architecture per operation each step; drop mc_samples={c.mc_samples}")
        forgetting = parse_epochs(c.forgetting_epochs, "forgetting_epochs")
        if forgetting and (list(forgetting) != sorted(set(forgetting)) or forgetting[0] < 1 or forgetting[-1] > c.epochs):
            raise UsageError(f"oneshot: forgetting_epochs must be ascending epochs in [1, epochs={c.epochs}]; "
                             f"got {c.forgetting_epochs!r}")
        if c.forgetting_archs < 1:
            raise UsageError(f"oneshot: forgetting_archs must be at least 1, got {c.forgetting_archs}")
        supernet_options(space_name, c.init_channels, c.cells_per_stage)  # refuses a proxy the space lacks

    @property
    def score_batch_size(self) -> int:
        """Images per scoring batch: the config's, or 500 for acc/loss and 128 for a measure."""
        return self.config.score_batch_size or (128 if self.config.score not in ("acc", "loss") else 500)

    @property
    def score_batches(self) -> int:
        """Scoring batches: the config's, or one for a measure and, for acc/loss, as many whole
        batches as the scoring split holds."""
        measure = self.config.score not in ("acc", "loss")
        return self.config.score_batches or (1 if measure else SCORE_IMAGES // self.score_batch_size)

    def train_settings(self, space_name: str) -> TrainSettings:
        """The training this config stands for on ``space_name`` (forgetting is measured on the
        first scoring batch, evaluated as the scorer does)."""
        c = self.config
        options = {f.name: getattr(c, f.name) for f in dataclasses.fields(TrainOptions)}
        return TrainSettings(**options, snapshot_epochs=parse_epochs(c.snapshots, "snapshots"), space=space_name,
                             forgetting_epochs=parse_epochs(c.forgetting_epochs, "forgetting_epochs"),
                             forgetting_archs=c.forgetting_archs, forgetting_batch=self.score_batch_size,
                             forgetting_bn=c.score_bn)

    @property
    def curriculum(self) -> Curriculum | None:
        """The schedule the trainer consults at epoch starts (None: the plain loop; CLOSENet has one)."""
        return None

    def supernet_builder(self) -> SupernetBuilder:
        """``build(space, settings)``: the supernet this estimator trains (the space's own)."""
        return vanilla_supernet

    def build_supernet(self, space_name: str):
        """A freshly initialised supernet of ``space_name`` for this config's training (draws its
        initialisation from the global generator)."""
        return self.supernet_builder()(get_space(space_name), self.train_settings(space_name))

    def get_config(self) -> dict[str, Any]:
        """The config; without the forgetting options while they are off, so that runs and result
        files made before the option existed keep their identity (their journals resume)."""
        config = super().get_config()
        if not parse_epochs(self.config.forgetting_epochs, "forgetting_epochs"):
            for name in FORGETTING_FIELDS:
                if config.get(name) == OneShotConfig.__dataclass_fields__[name].default:
                    del config[name]
        return config

    def supports(self, space_name: str) -> bool:
        return space_name in RECIPES

    def snapshots(self) -> list[str]:
        return [snapshot_label(e) for e in parse_epochs(self.config.snapshots, "snapshots")]

    def prepare(self, ctx: RunContext) -> None:
        """Train the supernet(s), or pick up where a killed run left them.

        Runs that keep a journal (``ctx.work_dir`` set) train into ``<cache dir>/oneshot/``, keyed
        by everything that decides the weights; without one, training stays in memory.
        """
        seeds = protocol.SEEDS if self.config.seed_ensemble else (ctx.seed,)
        self._settings = self.train_settings(ctx.space.name)
        trainers = []
        for seed in seeds:
            # Kept in the cache, beyond the run: shards and runs that only score differently reuse it.
            root = None if ctx.work_dir is None else paths.cache_dir(ctx.cache_dir) / "oneshot"
            trainer = SupernetTrainer(self._settings, seed, ctx.cifar10, ctx.device, root, progress=ctx.progress,
                                      build=self.supernet_builder(), curriculum=self.curriculum)
            trainer.train()
            trainers.append(trainer)
        self._trainers = tuple(trainers)
        self._loaded = None

    def state_hashes(self) -> dict[str, str]:
        """``{"<name>_weights:seed<s>:<label>": sha256}`` of every trained supernet's snapshots."""
        return {weights_key(self.name, t.seed, label): t.snapshot_sha256(label)
                for t in self._trainers for label in self.snapshots()}

    def trained_weights(self) -> Iterator[tuple[str, dict[str, torch.Tensor]]]:
        """(``<name>_weights:seed<s>:<label>``, state dict) of every trained supernet's snapshots."""
        for trainer in self._trainers:
            for label in self.snapshots():
                yield weights_key(self.name, trainer.seed, label), trainer.snapshot_weights(label)

    def load_trained_weights(self, weights: dict[str, dict[str, torch.Tensor]], ctx: RunContext) -> None:
        """Score with exported snapshots instead of training: one per seed (the run's, or the three
        of a seed ensemble) and snapshot label, keyed as :meth:`trained_weights` yields them."""
        seeds = protocol.SEEDS if self.config.seed_ensemble else (ctx.seed,)
        trainers = []
        for seed in seeds:
            missing = [label for label in self.snapshots() if weights_key(self.name, seed, label) not in weights]
            if missing:
                raise UsageError(f"{self.name}: no weights for seed {seed}, snapshot {missing[0]!r}")
            trainers.append(ExportedSnapshots(seed, {label: weights[weights_key(self.name, seed, label)]
                                                     for label in self.snapshots()}))
        self._settings = self.train_settings(ctx.space.name)
        self._trainers, self._loaded = tuple(trainers), None

    def run_record(self, ctx: RunContext) -> dict[str, Any]:
        """What the training measured besides the weights, for the result's provenance:
        ``{"forgetting": {"epochs": {"<e>": {"arch": [...], "step": [...], "acc_after_step": [...],
        "acc_epoch_end": [...], "fv": [...]}}, "eval_batch": n, "bn": mode, "steps": k, "seed": s}}``
        for the supernet of the run's seed (FV = accuracy after the architecture's own step minus at
        the epoch's end), or ``{}`` when ``forgetting_epochs`` is empty. Read from the training's
        directory, so a training reused from the cache gives the same record."""
        if not self._trainers or not self._settings.forgetting_epochs:
            return {}
        trainer = next((t for t in self._trainers if t.seed == ctx.seed), self._trainers[0])
        record = trainer.forgetting_record()
        return {"forgetting": {"epochs": record["epochs"], "eval_batch": record["eval_batch"], "bn": record["bn"],
                               "steps": record["steps"], "seed": trainer.seed}}

    def score(self, archs: Sequence[Any], ctx: RunContext, snapshot: str = "final") -> np.ndarray:
        """float64 [n, batches]: per scoring batch, averaged over the seed ensemble's supernets."""
        if not self._trainers:
            raise RuntimeError("oneshot: score() before prepare()")
        values = [self._values(engine, archs) for engine in self._supernets(snapshot, ctx)]
        return np.mean(values, axis=0) if len(values) > 1 else values[0]

    def _supernets(self, label: str, ctx: RunContext) -> list:
        """One zero-shot engine per trained supernet at snapshot ``label`` (loaded once per label):
        it holds the supernet and the scoring batches (the study preset's: scoring split, in order)."""
        if self._loaded is None or self._loaded[0] != label:
            engines = []
            for trainer in self._trainers:
                net = self.build_supernet(ctx.space.name)
                net.load_state_dict(trainer.snapshot_weights(label))
                engines.append(ZeroShotEngine(get_preset("study"), self.score_batches, self.score_batch_size, ctx.seed,
                                              ctx.space, ctx.cifar10, ctx.device, supernet=net.to(ctx.device)))
            self._loaded = (label, engines)
        return self._loaded[1]

    def _values(self, engine, archs: Sequence[Any]) -> np.ndarray:
        if self.config.score in ("acc", "loss"):
            return os_values(engine.supernet, archs, engine.batches(), self.config.score, self.config.score_bn)
        return np.stack([engine.evaluate(arch, [self.config.score])[self.config.score] for arch in archs])
