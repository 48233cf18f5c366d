"""CLOSENet's curriculum on the sharing extent: which GLOW blocks are unlocked when, and the restart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn


@dataclass(frozen=True)
class CloseCurriculum:
    """The :class:`~estimators.one_shot.curriculum.Curriculum` of a CLOSENet training.

    Attributes:
        epochs: the 1-based epochs at whose start a GLOW block is unlocked, one entry per block
            (so ``len(epochs)`` blocks in all; the first entries are 1).
        restart: the epoch whose start restarts the optimizer and the LR schedule (0: never).
    """

    epochs: tuple[int, ...]
    restart: int = 0

    @property
    def max_blocks(self) -> int:
        """The blocks the supernet holds: one per entry of the curriculum."""
        return len(self.epochs)

    def blocks_at(self, epoch: int) -> int:
        """The blocks unlocked during 1-based ``epoch`` (entries of the curriculum <= epoch)."""
        return sum(1 for start in self.epochs if start <= epoch)

    def fingerprint(self) -> dict[str, Any]:
        """The training's fingerprint fields (as the settings held them before this hook existed)."""
        return {"close_curriculum": list(self.epochs), "close_restart": self.restart}

    def start_epoch(self, epoch: int, model: nn.Module) -> None:
        """Unlock the blocks due by 1-based ``epoch`` (each inheriting its parent's weights, in place)."""
        while int(model.level) < self.blocks_at(epoch):
            model.unlock()

    def restarts_optimizer(self, epoch: int) -> bool:
        return epoch == self.restart
