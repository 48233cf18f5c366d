"""Multi-model forgetting (``forgetting_epochs``, the study's A3), measured during a supernet training.

In each listed epoch the architectures trained at its first ``forgetting_archs`` steps are evaluated
on one fixed batch (the first ``forgetting_batch`` scoring images, as the scorer evaluates: dropout
off, BN per ``forgetting_bn``) right after their own step and again at the epoch's end; the
forgetting value is the first accuracy minus the second. The measurement draws no random number
(the global generator is forked around it), updates no BN statistic and leaves the gradients and
the optimizer alone, so the trained weights are bit-identical with it on or off. The epoch in
progress is checkpointed with the training; finished epochs go to ``forgetting.json`` beside the
checkpoints (:meth:`~estimators.one_shot.trainer.SupernetTrainer.forgetting_record`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from estimators.one_shot.scoring import os_values
from estimators.one_shot.settings import TrainSettings
from suite.spaces import get_space
from suite.training import CheckpointError

FORGETTING_FILE = "forgetting.json"


def read_epochs(work_dir: Path) -> dict[str, Any]:
    """The finished epochs' records in ``work_dir`` (empty before the first measured epoch ends)."""
    path = work_dir / FORGETTING_FILE
    try:
        return json.loads(path.read_text())["epochs"] if path.exists() else {}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{path} is unreadable ({type(exc).__name__}); delete {work_dir} to retrain") from None


def write_epochs(work_dir: Path, epochs: dict[str, Any]) -> None:
    """Write the finished epochs' records to ``work_dir``, atomically (as the checkpoints)."""
    path = work_dir / FORGETTING_FILE
    tmp = path.with_name(f".{path.name}.tmp.{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(json.dumps({"version": 1, "epochs": epochs}, indent=1, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


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
