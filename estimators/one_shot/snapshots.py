"""The weights a supernet training keeps: its snapshots and the per-epoch weights a temporal
ensemble averages, in the training's directory or in memory.

At each snapshot epoch the weights (averaged over the last ``temporal_ensemble`` epochs' ends
when that is above 1) are kept and scored later, one result snapshot each.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from suite.training import CheckpointError, load_checkpoint, save_checkpoint
from suite.weights import state_sha256


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


class SnapshotStore:
    """The snapshots of one training.

    Args:
        work_dir: where the weights go (``<name>.pt`` files); None keeps them in memory.
        epochs: the training's epochs.
        snapshot_epochs: the 1-based epochs whose weights are kept.
        temporal_ensemble: k; a snapshot averages the weights at the ends of its last k epochs.
    """

    def __init__(self, work_dir: Path | None, epochs: int, snapshot_epochs: tuple[int, ...],
                 temporal_ensemble: int) -> None:
        self.work_dir, self.epochs = work_dir, epochs
        self.snapshot_epochs, self.temporal_ensemble = snapshot_epochs, temporal_ensemble
        self._memory: dict[str, dict[str, torch.Tensor]] = {}
        self._sha256: dict[str, str] = {}  # snapshot label -> weights hash, once training is done

    def keep(self, finished: int, model: nn.Module) -> None:
        """After epoch ``finished`` (1-based): keep its weights if a snapshot will average them,
        and write the snapshots that end here.

        Idempotent, so an epoch end replayed after a kill is harmless: the weights an epoch's
        snapshot averages are deleted only at a later epoch's end, once the checkpoint has moved
        past it.
        """
        k, snaps = self.temporal_ensemble, self.snapshot_epochs
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
        for e in range(1, self.epochs + 1):
            self._drop(f"raw-{e}")

    def weights(self, label: str) -> dict[str, torch.Tensor]:
        """The supernet state dict kept as snapshot ``label`` (CPU tensors)."""
        return self._get(f"snapshot-{label}")

    def sha256(self, label: str) -> str:
        """sha256 hex of snapshot ``label``'s weights: each state-dict entry's name, dtype, shape and
        raw bytes, in key order (independent of how the checkpoint file was written). Computed once
        per label: a Ray worker reports it with every chunk."""
        if label not in self._sha256:
            self._sha256[label] = state_sha256(self.weights(label))
        return self._sha256[label]

    def has(self, epoch: int) -> bool:
        """Whether the snapshot of ``epoch`` exists."""
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


class ExportedSnapshots:
    """The snapshots of one training as exported beside a result (``suite verify --rerun`` scores
    with them instead of training): what :class:`~estimators.one_shot.trainer.SupernetTrainer`
    serves for scoring.

    Args:
        seed: the training's seed.
        weights: snapshot label -> state dict.
    """

    def __init__(self, seed: int, weights: dict[str, dict[str, torch.Tensor]]) -> None:
        self.seed, self._weights = seed, weights

    def snapshot_weights(self, label: str) -> dict[str, torch.Tensor]:
        return self._weights[label]

    def snapshot_sha256(self, label: str) -> str:
        return state_sha256(self._weights[label])
