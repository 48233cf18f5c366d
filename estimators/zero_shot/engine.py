"""Presets (how networks and batches are made) and the engine that computes measures per architecture.

Two presets:

``study`` (the default; the protocol of the study this suite grows from)
    The network of an architecture is a sub-network of one randomly initialised supernet per seed
    (``torch.manual_seed(seed)``, default PyTorch init, BN affine off inside cells), so
    architectures sharing an operation on an edge share its initial weights. Batches of 128 are
    the scoring split's images [40000, 50000) in order, normalised with the exact CIFAR-10
    statistics, identical for every architecture; ``batches`` of them are used, one value each.

``abdelfattah2021`` (reproduces Abdelfattah et al., ICLR 2021, "Zero-Cost Proxies")
    The standalone NB201 network (cell BN affine on) with default PyTorch init drawn after
    ``torch.manual_seed(42)``; one batch of 64 training images drawn with seed 42 from all 50,000,
    augmented (crop with padding 4, flip) and normalised with the legacy std (0.2023, 0.1994,
    0.2010) as their loader does; reference ground truth ``cifar10valid_test_200``. Unlike their
    script (which draws a fresh batch and init from one running generator per architecture, so a
    score depends on the order architectures are visited), every architecture here gets the same
    batch and an init seeded on its own: scores do not depend on order, shard or sample.

Networks are always in training mode (BN on batch statistics), as in both reference codes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from estimators.zero_shot import measures as M
from suite.data.cifar10 import augment_uint8, normalize
from suite.errors import UsageError


@dataclass(frozen=True)
class Preset:
    """How a zero-shot run builds networks and batches.

    Attributes:
        name: the preset's name (recorded in the config).
        batch_size: images per batch.
        source: ``"score"`` (the protocol's scoring split, in order, test transform) or
            ``"train_augmented"`` (a seeded draw from all 50,000 training images, augmented).
        normalization: key of ``suite.data.cifar10.NORMALIZATIONS``.
        network: ``"supernet"`` (sub-network of a seeded supernet) or ``"standalone"``.
        cell_bn_affine: affine BN inside cells.
        fixed_seed: the seed of init and data when the preset fixes it (else the run's seed).
        max_batches: the most batches the preset allows (None: the scoring split's size).
        reference_gt: the ground-truth column its published numbers use (None: the protocol's).
    """

    name: str
    batch_size: int
    source: str
    normalization: str
    network: str
    cell_bn_affine: bool
    fixed_seed: int | None = None
    max_batches: int | None = None
    reference_gt: str | None = None


PRESETS: dict[str, Preset] = {
    "study": Preset("study", 128, "score", "exact", "supernet", cell_bn_affine=False),
    "abdelfattah2021": Preset("abdelfattah2021", 64, "train_augmented", "legacy", "standalone",
                              cell_bn_affine=True, fixed_seed=42, max_batches=1,
                              reference_gt="cifar10valid_test_200"),
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; UsageError listing the known ones otherwise."""
    if name not in PRESETS:
        raise UsageError(f"unknown zero-shot preset {name!r}; known: {', '.join(PRESETS)}")
    return PRESETS[name]


class ZeroShotEngine:
    """Builds each architecture's network and evaluates any set of measures on it, sharing passes.

    Args:
        preset: the preset.
        batches: number of batches (data measures give one value per batch).
        batch_size: images per batch.
        seed: the run's seed (ignored when the preset fixes one).
        space: the search space (``build_network``, and ``build_supernet`` for the study preset).
        cifar: a zero-argument callable returning the decoded CIFAR-10 training set (only called
            when a data measure is evaluated).
        device: torch device of networks and batches.
        supernet: score sub-networks of this supernet (e.g. a trained one: zero-shot measures on
            trained weights) instead of freshly initialised networks.
    """

    def __init__(self, preset: Preset, batches: int, batch_size: int, seed: int, space: Any,
                 cifar, device: torch.device, supernet: Any = None) -> None:
        self.preset = preset
        self.n_batches = batches
        self.batch_size = batch_size
        self.seed = preset.fixed_seed if preset.fixed_seed is not None else seed
        self.space = space
        self.device = device
        self._cifar = cifar
        self._batches: list[tuple[torch.Tensor, torch.Tensor]] | None = None
        self._supernet = supernet

    @property
    def supernet(self) -> Any:
        """The supernet whose sub-networks are scored (None until the study preset first builds one)."""
        return self._supernet

    # -- inputs ---------------------------------------------------------------------------------
    def batches(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The (images float32 [B, 3, 32, 32], labels int64 [B]) batches, built once."""
        if self._batches is None:
            data = self._cifar()
            total = self.n_batches * self.batch_size
            if self.preset.source == "score":
                images, labels = data.split("score")
                if total > len(images):
                    raise UsageError(f"{self.n_batches} batches of {self.batch_size} exceed the "
                                     f"{len(images)} scoring images; use fewer batches")
                images, labels = images[:total], labels[:total]
            else:
                generator = torch.Generator().manual_seed(self.seed)
                pick = torch.randperm(len(data.images), generator=generator)[:total].numpy()
                images = augment_uint8(data.images[pick], generator)
                labels = data.labels[pick]
            x = normalize(images, self.preset.normalization)
            y = torch.as_tensor(np.asarray(labels, dtype=np.int64))
            self._batches = [
                (x[i : i + self.batch_size].to(self.device), y[i : i + self.batch_size].to(self.device))
                for i in range(0, total, self.batch_size)
            ]
        return self._batches

    def network(self, arch: Any) -> torch.nn.Module:
        """The freshly initialised network of ``arch``, in training mode, on the engine's device."""
        if self._supernet is not None or self.preset.network == "supernet":
            if self._supernet is None:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(self.seed)
                    self._supernet = self.space.build_supernet(cell_bn_affine=self.preset.cell_bn_affine)
            net = self._supernet.subnet(arch)
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                net = self.space.build_network(arch, cell_bn_affine=self.preset.cell_bn_affine)
        return net.to(self.device).train()

    def _relu_count(self, arch: Any) -> int:
        """The space's analytic count when it has one (tested equal to the hook count), else hooks
        on a network built on the meta device (no memory, no compute)."""
        if hasattr(self.space, "relu_count"):
            return int(self.space.relu_count(arch))
        with torch.device("meta"):
            skeleton = self.space.build_network(arch, cell_bn_affine=self.preset.cell_bn_affine)
        return M.relu_count(skeleton)

    # -- measures -------------------------------------------------------------------------------
    def evaluate(self, arch: Any, measures: Iterable[str]) -> dict[str, np.ndarray]:
        """Every measure in ``measures`` for ``arch``.

        Returns:
            measure -> float64 array: [n_batches] for data measures, [1] for data-free ones.
        """
        wanted = set(measures)
        unknown = wanted - set(M.ALL_MEASURES)
        if unknown:
            raise ValueError(f"unknown zero-shot measures {sorted(unknown)}")
        out: dict[str, np.ndarray] = {}
        if "relu" in wanted:
            out["relu"] = np.array([self._relu_count(arch)], dtype=np.float64)
        needs_net = wanted & (set(M.LABELLED) | set(M.INPUT) | {"synflow", "synflow_bn"})
        if not needs_net:
            return out
        net = self.network(arch)
        for name, keep_bn in (("synflow", False), ("synflow_bn", True)):
            if name in wanted:
                out[name] = np.array([M.synflow(net, keep_bn=keep_bn)], dtype=np.float64)
        data_measures = wanted & (set(M.LABELLED) | set(M.INPUT))
        if data_measures:
            per_batch: dict[str, list[float]] = {m: [] for m in data_measures}
            for images, labels in self.batches():
                values = M.labelled_pass(net, images, labels, data_measures)
                values.update(M.input_pass(net, images, data_measures))
                for name, value in values.items():
                    per_batch[name].append(value)
            out.update({name: np.asarray(v, dtype=np.float64) for name, v in per_batch.items()})
        return out
