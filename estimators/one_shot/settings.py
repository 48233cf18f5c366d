"""What decides a supernet's training: the options, the settings, and the default supernet builder."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from estimators.one_shot.recipes import supernet_options
from suite.config_fields import option
from suite.spaces import SearchSpace, get_space

if TYPE_CHECKING:  # annotations only: the settings import no torch
    from torch import nn


@dataclass(frozen=True)
class TrainOptions:
    """The options that decide the trained weights (defaults: the study's NB201 protocol).

    Attributes:
        epochs: training epochs (protocol: 1000).
        train_images: the first this-many images of the training split [0, 40000) (reduced budgets: fewer).
        batch_size, lr, momentum, weight_decay, grad_clip: SGD and clipping (clip: max grad L2 norm).
        plateau_factor, plateau_patience: ReduceLROnPlateau on the epoch's mean training loss.
        sampling: ``deiso`` (the study's NB201 default), ``uniform`` or ``fairnas``
            (see :mod:`estimators.one_shot.sampling`).
        mc_samples: S, architectures per step whose gradients are averaged (uniform and deiso).
        cell_bn_affine: affine BN inside cells (protocol: off).
        init_channels: C (channel proxy: below 16).
        cells_per_stage: N (layer proxy: below 5).
        dropout: before the classifier, in training only.
        temporal_ensemble: k; a snapshot is the mean of the weights at the ends of its last k epochs.
    """

    epochs: int = option(1000, ge=1, le=100_000)
    train_images: int = option(40_000, ge=1, le=40_000)
    batch_size: int = option(512, ge=1, le=40_000)
    lr: float = option(0.05, gt=0, le=10)
    momentum: float = option(0.9, ge=0, lt=1)
    weight_decay: float = option(5e-4, ge=0, lt=1)
    grad_clip: float = option(5.0, gt=0)
    plateau_factor: float = option(0.5, gt=0, lt=1)
    plateau_patience: int = option(30, ge=0)
    sampling: str = "deiso"
    mc_samples: int = option(1, ge=1, le=64)
    cell_bn_affine: bool = False
    init_channels: int = option(16, ge=1, le=256)
    cells_per_stage: int = option(5, ge=0, le=32)
    dropout: float = option(0.1, ge=0, lt=1)
    temporal_ensemble: int = option(1, ge=1, le=100_000)


@dataclass(frozen=True)
class TrainSettings(TrainOptions):
    """The options plus the epochs (1-based, ascending, each <= epochs) after which weights are
    kept, and the search space whose supernet trains."""

    snapshot_epochs: tuple[int, ...] = (1000,)
    space: str = "nb201"
    #: Multi-model forgetting: the 1-based epochs measured (empty: off), the steps measured at the
    #: start of each, the evaluation batch's size and its BN mode (``train`` or ``eval``, as scoring).
    #: Part of the training's fingerprint only when on (the weights do not depend on them).
    forgetting_epochs: tuple[int, ...] = ()
    forgetting_archs: int = 16
    forgetting_batch: int = 500
    forgetting_bn: str = "train"

    def steps_per_epoch(self) -> int:
        return math.ceil(self.train_images / self.batch_size)

    def build_supernet(self) -> nn.Module:
        """The space's own supernet for these settings (:func:`vanilla_supernet`, a trainer's default
        builder; an estimator with another builder, such as CLOSENet, builds through its own)."""
        return vanilla_supernet(get_space(self.space), self)


#: ``build(space, settings) -> supernet``: how a trainer makes its freshly initialised supernet
#: (drawing the initialisation from the global generator).
SupernetBuilder = Callable[[SearchSpace, TrainSettings], "nn.Module"]


def vanilla_supernet(space: SearchSpace, settings: TrainSettings) -> nn.Module:
    """The space's own supernet (``space.build_supernet``) with the settings' BN, dropout and
    channel/layer proxies (:func:`~estimators.one_shot.recipes.supernet_options`)."""
    options = supernet_options(settings.space, settings.init_channels, settings.cells_per_stage)
    return space.build_supernet(cell_bn_affine=settings.cell_bn_affine, dropout=settings.dropout, **options)
