"""Training an NB201 supernet under the protocol, resumably, with weight snapshots along the way.

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

Snapshots: at each snapshot epoch the weights (averaged over the last ``temporal_ensemble``
epochs' ends when that is above 1) are written to ``work_dir`` and scored later, one result
snapshot each.

Multi-model forgetting (``forgetting_epochs``, the study's A3): in each listed epoch the
architectures trained at its first ``forgetting_archs`` steps are evaluated on one fixed batch (the
first ``forgetting_batch`` scoring images, as the scorer evaluates: dropout off, BN per
``forgetting_bn``) right after their own step and again at the epoch's end; the forgetting value
is the first accuracy minus the second. The measurement draws no random number (the global
generator is forked around it), updates no BN statistic and leaves the gradients and the optimizer
alone, so the trained weights are bit-identical with it on or off. The epoch in progress is
checkpointed with the training; finished epochs go to ``forgetting.json`` beside the checkpoints
(:meth:`SupernetTrainer.forgetting_record`).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from estimators.one_shot.sampling import Sampler
from estimators.one_shot.scoring import os_values
from suite.progress import Progress
from estimators.one_shot.recipes import supernet_options
from suite.spaces import get_space
from suite.training import CheckpointError, ResumableLoop, epoch_permutation, load_checkpoint, save_checkpoint


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

    epochs: int = 1000
    train_images: int = 40_000
    batch_size: int = 512
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    grad_clip: float = 5.0
    plateau_factor: float = 0.5
    plateau_patience: int = 30
    sampling: str = "deiso"
    mc_samples: int = 1
    cell_bn_affine: bool = False
    init_channels: int = 16
    cells_per_stage: int = 5
    dropout: float = 0.1
    temporal_ensemble: int = 1


@dataclass(frozen=True)
class TrainSettings(TrainOptions):
    """The options plus the epochs (1-based, ascending, each <= epochs) after which weights are
    kept, and the search space whose supernet trains."""

    snapshot_epochs: tuple[int, ...] = (1000,)
    space: str = "nb201"
    #: CLOSENet: the epochs (1-based) at whose start a GLOW block is unlocked, one entry per block
    #: (empty: the vanilla supernet), and the epoch whose start restarts the optimizer and the LR
    #: schedule (0: never).
    close_curriculum: tuple[int, ...] = ()
    close_restart: int = 0
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
        """A freshly initialised supernet of the space (draws from the global generator); CLOSENet's
        when ``close_curriculum`` is set."""
        options = supernet_options(self.space, self.init_channels, self.cells_per_stage)
        space = get_space(self.space)
        if self.close_curriculum:
            return space.build_close_supernet(max_blocks=len(self.close_curriculum), cell_bn_affine=self.cell_bn_affine,
                                              dropout=self.dropout, **options)
        return space.build_supernet(cell_bn_affine=self.cell_bn_affine, dropout=self.dropout, **options)

    def blocks_at(self, epoch: int) -> int:
        """CLOSENet: the blocks unlocked during 1-based ``epoch`` (entries of the curriculum <= epoch)."""
        return sum(1 for start in self.close_curriculum if start <= epoch)


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
            everything that decides the weights (settings, seed, torch version, device type, CPU
            threads, data hash), so runs that train alike (shards, other scoring options) share
            one training and others never meet; a file lock lets one train while the others wait.
            None: kept in memory, nothing resumes.
        progress: a mode of :mod:`suite.progress`.
        checkpoint_every: steps between checkpoints (and at every epoch's end).
    """

    def __init__(self, settings: TrainSettings, seed: int, cifar, device: torch.device, work_root: Path | None,
                 progress: str = "none", checkpoint_every: int = 50) -> None:
        self.settings, self.seed, self.device = settings, seed, device
        self._cifar, self.progress = cifar, progress
        self.checkpoint_every = checkpoint_every
        self._memory: dict[str, dict[str, torch.Tensor]] = {}
        self._sha256: dict[str, str] = {}  # snapshot label -> weights hash, once training is done
        # Everything that can change the trained weights' bits: a training is reused only when all agree.
        # The forgetting measurement changes no bit, but a training measured is kept apart from one
        # that was not (its record exists only there); when off, the fingerprint is as before it existed.
        fields = asdict(settings)
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
        self.cuda_device = (device.index if device.index is not None else torch.cuda.current_device()) \
            if device.type == "cuda" else None
        self._forgetting: dict[str, Any] = {}  # finished epochs' records, without a work_dir

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
        model = s.build_supernet().to(self.device).train()
        optimizer = torch.optim.SGD(model.parameters(), lr=s.lr, momentum=s.momentum, weight_decay=s.weight_decay)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=s.plateau_factor,
                                                               patience=s.plateau_patience)
        if s.close_curriculum:  # the blocks of epoch 1 (a checkpoint, when there is one, restores the level)
            while int(model.level) < s.blocks_at(1):
                model.unlock()
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
            if s.close_curriculum and epoch + 2 <= s.epochs:
                self._start_close_epoch(epoch + 2, model, optimizer, scheduler, mean_loss)

        loop.restore()  # here, to know where the progress bar starts
        give_gradients(model)  # the restored level decides which blocks train
        with Progress(s.epochs * steps, loop.epoch * steps + loop.step, desc=f"supernet seed {self.seed}",
                      mode=self.progress, unit="step") as bar:
            loop.run(s.epochs, steps, step, on_epoch_end=end_of_epoch)

    def _start_close_epoch(self, epoch: int, model: nn.Module, optimizer: torch.optim.Optimizer,
                           scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau, last_loss: float) -> None:
        """CLOSENet, before 1-based ``epoch``: unlock its blocks; at the restart epoch, drop the
        momentum buffers, reset the learning rate and start a fresh plateau schedule, stepped once
        with the last epoch's mean loss (as the study's code does). Runs at the previous epoch's end,
        before its checkpoint, so a resumed run redoes it from the same weights."""
        s = self.settings
        while int(model.level) < s.blocks_at(epoch):
            model.unlock()
        give_gradients(model)
        if epoch == s.close_restart:
            optimizer.state.clear()
            for group in optimizer.param_groups:
                group["lr"] = s.lr
            fresh = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=s.plateau_factor,
                                                               patience=s.plateau_patience)
            scheduler.load_state_dict(fresh.state_dict())
            scheduler.step(last_loss)

    def _forgetting_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The forgetting measurement's batch: the first ``forgetting_batch`` scoring images, in
        order, test transform (as the scorer's first batch)."""
        from suite.data.cifar10 import normalize

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
        if self.work_dir is None:
            epochs = self._forgetting
        else:
            path = self.work_dir / FORGETTING_FILE
            try:
                epochs = json.loads(path.read_text())["epochs"] if path.exists() else {}
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise CheckpointError(f"{path} is unreadable ({type(exc).__name__}); delete {self.work_dir} to retrain") from None
        record["epochs"] = {k: epochs[k] for k in sorted(epochs, key=int)}
        return record

    def _put_forgetting(self, epochs: dict[str, Any]) -> None:
        epochs = json.loads(json.dumps(epochs))  # a copy, JSON-typed
        if self.work_dir is None:
            self._forgetting = epochs
            return
        path = self.work_dir / FORGETTING_FILE
        tmp = path.with_name(f".{path.name}.tmp.{os.getpid()}")
        with open(tmp, "w", encoding="utf-8") as handle:  # atomically, as the checkpoints
            handle.write(json.dumps({"version": 1, "epochs": epochs}, indent=1, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    def _train_split(self) -> tuple[np.ndarray, np.ndarray]:
        images, labels = self._cifar().split("train")
        if not 1 <= self.settings.train_images <= len(images):
            raise ValueError(f"train_images must be in [1, {len(images)}]")
        return images[: self.settings.train_images], labels[: self.settings.train_images]

    def _batch(self, images: np.ndarray, labels: np.ndarray, generator: torch.Generator):
        from suite.data.cifar10 import augment_uint8, normalize

        x = normalize(augment_uint8(images, generator)).to(self.device)
        return x, torch.as_tensor(np.asarray(labels, dtype=np.int64)).to(self.device)

    # -- snapshots ------------------------------------------------------------------------------
    def _keep(self, finished: int, model: nn.Module) -> None:
        """After epoch ``finished`` (1-based): keep its weights if a snapshot will average them,
        and write the snapshots that end here.

        Idempotent, so an epoch end replayed after a kill is harmless: the weights an epoch's
        snapshot averages are deleted only at a later epoch's end, once the checkpoint has moved
        past it.
        """
        k, snaps = self.settings.temporal_ensemble, self.settings.snapshot_epochs
        if k > 1:
            for e in range(max(1, finished - k - 1), finished):
                if not any(s - k < e <= s for s in snaps if s >= finished):
                    self._drop(f"raw-{e}")
        wanted = [e for e in snaps if e - k < finished <= e]
        if not wanted:
            return
        weights = {key: t.detach().to("cpu", copy=True) for key, t in model.state_dict().items()}
        if k > 1:
            self._put(f"raw-{finished}", weights)
        if finished in snaps:
            if k > 1:  # the snapshot's own epochs; fewer when training is shorter than k
                weights = average_weights([self._get(f"raw-{e}") for e in range(max(1, finished - k + 1), finished + 1)])
            self._put(f"snapshot-{snapshot_label(finished)}", weights)

    def cleanup(self) -> None:
        """Delete the per-epoch weights kept for temporal ensembles (the snapshots stay)."""
        for e in range(1, self.settings.epochs + 1):
            self._drop(f"raw-{e}")

    def snapshot_weights(self, label: str) -> dict[str, torch.Tensor]:
        """The supernet state dict kept as snapshot ``label`` (CPU tensors)."""
        return self._get(f"snapshot-{label}")

    def snapshot_sha256(self, label: str) -> str:
        """sha256 hex of snapshot ``label``'s weights: each state-dict entry's name, dtype, shape and
        raw bytes, in key order (independent of how the checkpoint file was written). Computed once
        per label: a Ray worker reports it with every chunk."""
        if label in self._sha256:
            return self._sha256[label]
        digest = hashlib.sha256()
        for name, tensor in sorted(self.snapshot_weights(label).items()):
            flat = tensor.detach().cpu().contiguous().reshape(-1)
            digest.update(f"{name}|{flat.dtype}|{tuple(tensor.shape)}|".encode())
            digest.update(flat.view(torch.uint8).numpy().tobytes())
        self._sha256[label] = digest.hexdigest()
        return self._sha256[label]

    def _has_snapshot(self, epoch: int) -> bool:
        name = f"snapshot-{snapshot_label(epoch)}"
        return name in self._memory if self.work_dir is None else (self.work_dir / f"{name}.pt").exists()

    def _put(self, name: str, weights: dict[str, torch.Tensor]) -> None:
        if self.work_dir is None:
            self._memory[name] = weights
        else:
            save_checkpoint(self.work_dir / f"{name}.pt", {"checkpoint_version": 1, "weights": weights})

    def _get(self, name: str) -> dict[str, torch.Tensor]:
        if self.work_dir is None:
            return self._memory[name]
        path = self.work_dir / f"{name}.pt"
        if not path.exists():
            raise CheckpointError(f"{path} is missing although training passed it; delete {self.work_dir} to retrain")
        return load_checkpoint(path)["weights"]

    def _drop(self, name: str) -> None:
        if self.work_dir is None:
            self._memory.pop(name, None)
        else:
            (self.work_dir / f"{name}.pt").unlink(missing_ok=True)


FORGETTING_FILE = "forgetting.json"


class ForgettingMeter:
    """Multi-model forgetting of one training (see the module docstring); checkpointed with it.

    ``after_step`` records, in a measured epoch, the OS accuracy of each architecture of the first
    ``forgetting_archs`` steps right after its step; ``end_of_epoch`` evaluates them again and
    moves the epoch's record to ``done`` (``{"<epoch>": {"arch", "step", "acc_after_step",
    "acc_epoch_end", "fv"}}``, FV = after step - at the end: positive = forgotten).
    """

    def __init__(self, settings: TrainSettings, batch: tuple[torch.Tensor, torch.Tensor],
                 cuda_device: int | None = None) -> None:
        self.epochs, self.steps = set(settings.forgetting_epochs), settings.forgetting_archs
        self.bn, self.batch, self.cuda_device = settings.forgetting_bn, batch, cuda_device
        self.space = get_space(settings.space)
        self.done: dict[str, dict[str, list]] = {}
        self.current: dict[str, Any] | None = None  # the measured epoch in progress

    def _accuracies(self, model: nn.Module, archs: list) -> list[float]:
        """OS accuracy of each architecture on the batch, as the scorer computes it: no gradient,
        dropout off, BN statistics not updated; the global generator is restored afterwards."""
        with torch.random.fork_rng(devices=[] if self.cuda_device is None else [self.cuda_device]):
            return [float(v) for v in os_values(model, archs, [self.batch], "acc", self.bn)[:, 0]]

    def after_step(self, model: nn.Module, epoch: int, index: int, archs: list) -> None:
        if epoch + 1 not in self.epochs or index >= self.steps:
            return
        if self.current is None or self.current["epoch"] != epoch + 1:
            self.current = {"epoch": epoch + 1, "arch": [], "step": [], "acc_after_step": []}
        keep = sum(1 for k in self.current["step"] if k < index)  # a replayed step replaces its entries
        for key in ("arch", "step", "acc_after_step"):
            del self.current[key][keep:]
        self.current["arch"] += [self.space.format(a) for a in archs]
        self.current["step"] += [index] * len(archs)
        self.current["acc_after_step"] += self._accuracies(model, archs)

    def end_of_epoch(self, model: nn.Module, epoch: int) -> bool:
        """Evaluate the epoch's architectures again; True when ``epoch`` (0-based) was measured."""
        if epoch + 1 not in self.epochs:
            return False
        current = self.current if self.current is not None and self.current["epoch"] == epoch + 1 else \
            {"arch": [], "step": [], "acc_after_step": []}
        end = self._accuracies(model, [self.space.parse(a) for a in current["arch"]]) if current["arch"] else []
        self.done[str(epoch + 1)] = {
            "arch": list(current["arch"]), "step": list(current["step"]),
            "acc_after_step": list(current["acc_after_step"]), "acc_epoch_end": end,
            "fv": [a - b for a, b in zip(current["acc_after_step"], end)],
        }
        self.current = None
        return True

    def state_dict(self) -> dict[str, Any]:
        return {"done": json.loads(json.dumps(self.done)), "current": json.loads(json.dumps(self.current))}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.done, self.current = dict(state["done"]), state["current"]


def snapshot_label(epoch: int) -> str:
    return f"epoch-{epoch}"


def average_weights(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Element-wise mean of floating tensors (parameters, BN statistics); integer buffers
    (``num_batches_tracked``) are taken from the last state."""
    out = {}
    for key, last in states[-1].items():
        if last.is_floating_point():
            out[key] = torch.stack([s[key] for s in states]).mean(dim=0)
        else:
            out[key] = last.clone()
    return out
