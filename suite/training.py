"""Training that resumes from its last checkpoint, bit-identically (for one-shot estimators).

A :class:`ResumableLoop` drives ``step_fn(epoch, step)`` over ``epochs x steps_per_epoch`` and
checkpoints every ``every_steps`` steps and at each epoch's end: the state dicts of the modules
it was given (model, optimizer, scheduler, ...), the states of its torch generators, of the
global torch RNG (and of the training GPU's), and the position. Killed at any point, the same
loop started again loads the checkpoint and continues from that position, and the end state
equals an uninterrupted run's, bit for bit on CPU, provided the step function draws its randomness only from the registered
generators (or the global torch RNG) and derives the data order from (seed, epoch), e.g. with
:func:`epoch_permutation`.

Checkpoints are written atomically (temporary file, fsync, rename) and read with
``torch.load(weights_only=True)``: a checkpoint never executes code.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import torch

from suite.errors import SuiteError

CHECKPOINT_VERSION = 1


class Stateful(Protocol):
    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> Any: ...


class CheckpointError(SuiteError):
    """A checkpoint cannot be read or does not fit the training it is loaded into."""


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """``torch.save`` to a temporary file in the same directory, fsync, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.{socket.gethostname()}.{os.getpid()}")
    with open(tmp, "wb") as handle:
        torch.save(state, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` (tensors, containers and numbers only).

    Raises:
        CheckpointError: unreadable or not a checkpoint of this suite (one line naming the file).
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types here (pickle, zip, weights-only refusals)
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(exc).__name__}); delete it to restart training") from None
    if not isinstance(state, dict) or state.get("checkpoint_version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"{path}: not a suite checkpoint (version {CHECKPOINT_VERSION}); delete it to restart training")
    return state


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """int64 [n]: the data order of ``epoch``, a pure function of (seed, epoch), so a resumed
    epoch replays the same order without saving it."""
    generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return torch.randperm(n, generator=generator)


class ResumableLoop:
    """An epoch/step loop with checkpoints and exact resume.

    Args:
        path: the checkpoint file (None: no checkpoints, nothing resumes).
        modules: name -> object with ``state_dict``/``load_state_dict`` (model, optimizer, scheduler).
        generators: name -> torch.Generator the step function draws from.
        every_steps: checkpoint after every this-many steps (and at each epoch's end).
        fingerprint: anything identifying the training (config, seed); a checkpoint with another
            fingerprint is refused rather than silently continued.
        cuda_device: the GPU index whose generator is saved with the global one (training on
            CUDA); None on CPU. Only that GPU's: a job requeued with fewer GPUs visible resumes.
    """

    def __init__(self, path: str | Path | None, modules: Mapping[str, Stateful],
                 generators: Mapping[str, torch.Generator] | None = None, every_steps: int = 100,
                 fingerprint: str = "", cuda_device: int | None = None) -> None:
        if every_steps < 1:
            raise ValueError("every_steps must be at least 1")
        self.path = None if path is None else Path(path)
        self.modules, self.generators = dict(modules), dict(generators or {})
        self.every_steps, self.fingerprint, self.cuda_device = every_steps, fingerprint, cuda_device
        self.epoch = self.step = 0  # the next step to run
        self.resumed_from: tuple[int, int] | None = None
        self._restored = False

    def run(self, epochs: int, steps_per_epoch: int, step_fn: Callable[[int, int], Any],
            on_epoch_end: Callable[[int], Any] | None = None) -> None:
        """Run (or finish) ``epochs x steps_per_epoch`` steps; ``on_epoch_end(epoch)`` after each epoch.

        ``on_epoch_end`` runs before the epoch's checkpoint, so work it does is redone after a
        kill only if the epoch's checkpoint was not written. It is not replayed for epochs
        finished before a resume: whatever it produces (a snapshot of the weights) must go to
        disk (e.g. ``work_dir``), idempotently, not stay in memory.
        """
        self.restore()
        since_save = 0
        while self.epoch < epochs:
            while self.step < steps_per_epoch:
                step_fn(self.epoch, self.step)
                self.step += 1
                since_save += 1
                if since_save >= self.every_steps and self.step < steps_per_epoch:
                    self._save()
                    since_save = 0
            if on_epoch_end is not None:
                on_epoch_end(self.epoch)
            self.epoch, self.step = self.epoch + 1, 0
            self._save()
            since_save = 0

    def _state(self) -> dict[str, Any]:
        return {
            "checkpoint_version": CHECKPOINT_VERSION,
            "fingerprint": self.fingerprint,
            "position": {"epoch": self.epoch, "step": self.step},
            "modules": {name: module.state_dict() for name, module in self.modules.items()},
            "generators": {name: g.get_state() for name, g in self.generators.items()},
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(self.cuda_device) if self.cuda_device is not None else None,
        }

    def _save(self) -> None:
        if self.path is not None:
            save_checkpoint(self.path, self._state())

    def restore(self) -> None:
        """Load the checkpoint, if there is one, into the modules and generators and set the
        position; only the first call reads it (``run`` calls it, callers may call it earlier to
        learn where training will start)."""
        if self._restored:
            return
        self._restored = True
        if self.path is None or not self.path.exists():
            return
        state = load_checkpoint(self.path)
        if state.get("fingerprint") != self.fingerprint:
            raise CheckpointError(f"{self.path} is a checkpoint of other training (its settings differ); "
                                  "delete it to train afresh (--restart does not: a shared training cache outlives runs)")
        missing = (set(self.modules) ^ set(state["modules"])) | (set(self.generators) ^ set(state["generators"]))
        if missing:
            raise CheckpointError(f"{self.path}: holds {sorted(state['modules'])} and generators "
                                  f"{sorted(state['generators'])}, not what this training has; delete it to train afresh")
        for name, module in self.modules.items():
            module.load_state_dict(state["modules"][name])
        for name, generator in self.generators.items():
            generator.set_state(state["generators"][name])
        torch.set_rng_state(state["torch_rng"])
        if self.cuda_device is not None and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"], self.cuda_device)
        self.epoch, self.step = state["position"]["epoch"], state["position"]["step"]
        self.resumed_from = (self.epoch, self.step)
