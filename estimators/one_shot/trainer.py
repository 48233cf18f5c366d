"""Training a supernet under the protocol, resumably, with weight snapshots along the way.

The released recipe (FACTS.md): SGD (lr 0.05, momentum 0.9, weight decay 5e-4), batch 512,
gradient-norm clipping at 5, ReduceLROnPlateau (factor 0.5, patience 30) on the epoch's mean
training loss; images [0, 40000) of the CIFAR-10 training set with random crop (pad 4) and flip.
Each step trains the architectures its :class:`~estimators.one_shot.sampling.Sampler` draws; their
losses are averaged, so the learning rate means the same whatever their number.

Two details follow the released code, which runs on PyTorch 1.x:
- ``zero_grad`` zeroes gradients in place instead of dropping them, so weight decay and momentum
  act on every operation at every step, sampled or not. (There an operation's gradient exists
  only from its first use on; here every gradient exists from the first step, which a resumed
  run can reproduce: gradients are not checkpointed.)
- the last batch of an epoch is kept even when smaller than the others.

Randomness: the initial weights come from ``torch.manual_seed(seed)``, and dropout from the same
(forked) global generator afterwards, which the checkpoint saves; the data order of each epoch,
its crops and flips and the sampled architectures of each step from generators seeded on
(seed, epoch, step). So a run killed
anywhere resumes to the same weights, bit for bit on CPU.

The supernet comes from a builder (default: the space's own, :func:`~estimators.one_shot.settings.vanilla_supernet`);
a :class:`~estimators.one_shot.curriculum.Curriculum` (CLOSENet's) may change the model and restart
the optimizer at epoch starts. Snapshots: :mod:`estimators.one_shot.snapshots`; multi-model
forgetting: :mod:`estimators.one_shot.forgetting`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from estimators.one_shot.curriculum import NO_CURRICULUM, Curriculum
from estimators.one_shot.forgetting import ForgettingMeter, read_epochs, write_epochs
from estimators.one_shot.sampling import Sampler
from estimators.one_shot.settings import SupernetBuilder, TrainSettings, vanilla_supernet
from estimators.one_shot.snapshots import SnapshotStore
from suite.data.cifar10 import augment_uint8, normalize
from suite.progress import Progress
from suite.spaces import get_space
from suite.training import ResumableLoop, epoch_permutation


def give_gradients(model: nn.Module) -> None:
    """A zero gradient for every parameter that trains, so that weight decay and momentum act on
    ops the step did not sample (as the released code's in-place zeroing does once an op has run);
    none for the blocks a CLOSENet has not unlocked yet, so they keep their initialisation until then
    (SGD and gradient clipping skip parameters without a gradient)."""
    locked = {id(p) for p in getattr(model, "locked_parameters", list)()}
    for p in model.parameters():
        if id(p) in locked:
            p.grad = None
        elif p.grad is None:
            p.grad = torch.zeros_like(p)


def step_generator(seed: int, epoch: int, step: int) -> torch.Generator:
    """The generator of one step's crops, flips and architectures: a pure function of its position."""
    state = np.random.SeedSequence([seed, epoch, step, 0x5EED]).generate_state(2, dtype=np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))


def plateau_schedule(optimizer: torch.optim.Optimizer,
                     settings: TrainSettings) -> torch.optim.lr_scheduler.ReduceLROnPlateau:
    """The recipe's ReduceLROnPlateau on the epoch's mean training loss."""
    return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=settings.plateau_factor,
                                                      patience=settings.plateau_patience)


class _EpochLoss:
    """Summed loss and image count of the current epoch (checkpointed, so a resumed epoch's mean is whole)."""

    def __init__(self) -> None:
        self.total, self.count = 0.0, 0

    def state_dict(self) -> dict[str, Any]:
        return {"total": self.total, "count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.total, self.count = float(state["total"]), int(state["count"])


class SupernetTrainer:
    """Trains one supernet (one seed) and serves its snapshots' weights.

    Args:
        settings: the training settings.
        seed: the run's seed (initialisation and every generator).
        cifar: zero-argument callable returning the decoded CIFAR-10 training set.
        device: where the supernet trains.
        work_root: the checkpoint and snapshots go to a directory under it named by a hash of
            everything that decides the weights (settings, curriculum, seed, torch version, device
            type, CPU threads, data hash), so runs that train alike (shards, other scoring options)
            share one training and others never meet; a file lock lets one train while the others
            wait. None: kept in memory, nothing resumes.
        progress: a mode of :mod:`suite.progress`.
        checkpoint_every: steps between checkpoints (and at every epoch's end).
        build: ``build(space, settings)``, the freshly initialised supernet (default: the space's own).
            It decides the weights, so a builder other than the default comes with a curriculum
            whose fingerprint tells the trainings apart.
        curriculum: the schedule consulted at epoch starts (None: the plain loop).
    """

    def __init__(self, settings: TrainSettings, seed: int, cifar, device: torch.device, work_root: Path | None,
                 progress: str = "none", checkpoint_every: int = 50, build: SupernetBuilder = vanilla_supernet,
                 curriculum: Curriculum | None = None) -> None:
        self.settings, self.seed, self.device = settings, seed, device
        self._cifar, self.progress = cifar, progress
        self.checkpoint_every = checkpoint_every
        self.build, self.curriculum = build, curriculum
        # Everything that can change the trained weights' bits: a training is reused only when all agree.
        # The forgetting measurement changes no bit, but a training measured is kept apart from one
        # that was not (its record exists only there); when off, the fingerprint is as before it existed.
        fields = asdict(settings)
        fields.update(NO_CURRICULUM if curriculum is None else curriculum.fingerprint())
        forgetting = {k[len("forgetting_"):]: fields.pop(k) for k in list(fields) if k.startswith("forgetting_")}
        if settings.forgetting_epochs:
            fields["forgetting"] = forgetting
        self.fingerprint = json.dumps({
            "settings": fields, "seed": seed, "version": 1, "torch": torch.__version__,
            "device": device.type, "threads": torch.get_num_threads() if device.type == "cpu" else None,
            "data": getattr(cifar(), "content_sha256", None),
        }, sort_keys=True)
        digest = hashlib.sha256(self.fingerprint.encode()).hexdigest()[:16]
        self.work_dir = None if work_root is None else Path(work_root) / f"seed{seed}-{digest}"
        self.snapshots = SnapshotStore(self.work_dir, settings.epochs, settings.snapshot_epochs,
                                       settings.temporal_ensemble)
        self.cuda_device = (device.index if device.index is not None else torch.cuda.current_device()) \
            if device.type == "cuda" else None
        self._forgetting: dict[str, Any] = {}  # finished epochs' records, without a work_dir

    def build_supernet(self) -> nn.Module:
        """A freshly initialised supernet of this training (draws from the global generator)."""
        return self.build(get_space(self.settings.space), self.settings)

    # -- training -------------------------------------------------------------------------------
    def train(self) -> None:
        """Train (or finish training) and write every snapshot.

        The global generator is forked: it is seeded for the initialisation and then drives
        dropout (a resumed run restores it from the checkpoint), and the caller's is left as it was.
        """
        with self._lock():  # a second process (a shard of the same run) waits, then finds the snapshots
            measured = self.forgetting_record()["epochs"]
            if not (all(self._has_snapshot(e) for e in self.settings.snapshot_epochs)
                    and all(str(e) in measured for e in self.settings.forgetting_epochs)):
                cuda = [] if self.cuda_device is None else [self.cuda_device]
                with torch.random.fork_rng(devices=cuda):
                    torch.manual_seed(self.seed)
                    self._train()
            self.cleanup()

    @contextmanager
    def _lock(self) -> Iterator[None]:
        if self.work_dir is None:
            yield
            return
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with open(self.work_dir / "lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _train(self) -> None:
        s = self.settings
        model = self.build_supernet().to(self.device).train()
        optimizer = torch.optim.SGD(model.parameters(), lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay)
        scheduler = plateau_schedule(optimizer, s)
        if self.curriculum is not None:  # epoch 1's model (a checkpoint, when there is one, restores its state)
            self.curriculum.start_epoch(1, model)
        give_gradients(model)
        meter = _EpochLoss()
        modules = {"model": model, "optimizer": optimizer, "scheduler": scheduler, "loss": meter}
        forgetting = None
        if s.forgetting_epochs:  # only then: checkpoints of unmeasured trainings keep their modules
            forgetting = ForgettingMeter(s, self._forgetting_batch(), self.cuda_device)
            modules["forgetting"] = forgetting
        loop = ResumableLoop(None if self.work_dir is None else self.work_dir / "train.pt", modules,
                             every_steps=self.checkpoint_every, fingerprint=self.fingerprint,
                             cuda_device=self.cuda_device)
        images, labels = self._train_split()
        sampler = Sampler(s.sampling, s.mc_samples, space=s.space)
        order: dict[int, torch.Tensor] = {}
        steps = s.steps_per_epoch()

        def step(epoch: int, index: int) -> None:
            if epoch not in order:
                order.clear()
                order[epoch] = epoch_permutation(len(images), self.seed, epoch)
            pick = order[epoch][index * s.batch_size : (index + 1) * s.batch_size].numpy()
            generator = step_generator(self.seed, epoch, index)
            x, y = self._batch(images[pick], labels[pick], generator)
            archs = sampler.draw(generator)
            optimizer.zero_grad(set_to_none=False)
            total = 0.0
            for arch in archs:
                loss = F.cross_entropy(model(x, arch), y) / len(archs)
                loss.backward()
                total += float(loss.detach())
            torch.nn.utils.clip_grad_norm_(model.parameters(), s.grad_clip)
            optimizer.step()
            if forgetting is not None:
                forgetting.after_step(model, epoch, index, archs)
            # the epoch's mean loss weighs each image once (the last batch is smaller)
            meter.total, meter.count = meter.total + total * len(y), meter.count + len(y)
            bar.update(1)

        def end_of_epoch(epoch: int) -> None:
            if forgetting is not None and forgetting.end_of_epoch(model, epoch):
                self._put_forgetting(forgetting.done)  # before the epoch's checkpoint: idempotent
            mean_loss = meter.total / max(meter.count, 1)
            scheduler.step(mean_loss)
            meter.total, meter.count = 0.0, 0
            self._keep(epoch + 1, model)
            if self.curriculum is not None and epoch + 2 <= s.epochs:
                self._start_epoch(epoch + 2, model, optimizer, scheduler, mean_loss)

        loop.restore()  # here, to know where the progress bar starts
        give_gradients(model)  # the restored model decides which parameters train (CLOSENet: its level)
        with Progress(s.epochs * steps, loop.epoch * steps + loop.step, desc=f"supernet seed {self.seed}",
                      mode=self.progress, unit="step") as bar:
            loop.run(s.epochs, steps, step, on_epoch_end=end_of_epoch)

    def _start_epoch(self, epoch: int, model: nn.Module, optimizer: torch.optim.Optimizer,
                     scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau, last_loss: float) -> None:
        """Before 1-based ``epoch``: the curriculum's changes to the model; at its restart epochs,
        drop the momentum buffers, reset the learning rate and start a fresh plateau schedule,
        stepped once with the last epoch's mean loss (as the study's code does). Runs at the
        previous epoch's end, before its checkpoint, so a resumed run redoes it from the same weights."""
        s = self.settings
        self.curriculum.start_epoch(epoch, model)
        give_gradients(model)
        if self.curriculum.restarts_optimizer(epoch):
            optimizer.state.clear()
            for group in optimizer.param_groups:
                group["lr"] = s.lr
            scheduler.load_state_dict(plateau_schedule(optimizer, s).state_dict())
            scheduler.step(last_loss)

    def _forgetting_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The forgetting measurement's batch: the first ``forgetting_batch`` scoring images, in
        order, test transform (as the scorer's first batch)."""
        images, labels = self._cifar().split("score")
        n = self.settings.forgetting_batch
        if not 1 <= n <= len(images):
            raise ValueError(f"forgetting_batch must be in [1, {len(images)}], got {n}")
        x = normalize(images[:n]).to(self.device)
        return x, torch.as_tensor(np.asarray(labels[:n], dtype=np.int64)).to(self.device)

    def forgetting_record(self) -> dict[str, Any]:
        """The forgetting measurements of the finished epochs: ``{"epochs": {"<e>": {"arch": [...],
        "step": [...], "acc_after_step": [...], "acc_epoch_end": [...], "fv": [...]}}, "eval_batch": n,
        "bn": mode, "steps": forgetting_archs}`` (``epochs`` empty when off or before the first
        measured epoch ends). Read from ``forgetting.json`` in the work dir, so a reused training has it."""
        s = self.settings
        record = {"epochs": {}, "eval_batch": s.forgetting_batch, "bn": s.forgetting_bn, "steps": s.forgetting_archs}
        if not s.forgetting_epochs:
            return record
        epochs = self._forgetting if self.work_dir is None else read_epochs(self.work_dir)
        record["epochs"] = {k: epochs[k] for k in sorted(epochs, key=int)}
        return record

    def _put_forgetting(self, epochs: dict[str, Any]) -> None:
        epochs = json.loads(json.dumps(epochs))  # a copy, JSON-typed
        if self.work_dir is None:
            self._forgetting = epochs
        else:
            write_epochs(self.work_dir, epochs)

    def _train_split(self) -> tuple[np.ndarray, np.ndarray]:
        images, labels = self._cifar().split("train")
        if not 1 <= self.settings.train_images <= len(images):
            raise ValueError(f"train_images must be in [1, {len(images)}]")
        return images[: self.settings.train_images], labels[: self.settings.train_images]

    def _batch(self, images: np.ndarray, labels: np.ndarray, generator: torch.Generator):
        x = normalize(augment_uint8(images, generator)).to(self.device)
        return x, torch.as_tensor(np.asarray(labels, dtype=np.int64)).to(self.device)

    # -- snapshots (:class:`~estimators.one_shot.snapshots.SnapshotStore`) ---------------------
    def _keep(self, finished: int, model: nn.Module) -> None:
        """After epoch ``finished`` (1-based): keep what the snapshots need (idempotent)."""
        self.snapshots.keep(finished, model)

    def cleanup(self) -> None:
        """Delete the per-epoch weights kept for temporal ensembles (the snapshots stay)."""
        self.snapshots.cleanup()

    def snapshot_weights(self, label: str) -> dict[str, torch.Tensor]:
        """The supernet state dict kept as snapshot ``label`` (CPU tensors)."""
        return self.snapshots.weights(label)

    def snapshot_sha256(self, label: str) -> str:
        """sha256 hex of snapshot ``label``'s weights (:meth:`SnapshotStore.sha256`)."""
        return self.snapshots.sha256(label)

    def _has_snapshot(self, epoch: int) -> bool:
        return self.snapshots.has(epoch)
