"""The curriculum hook: what a training schedule may change at the start of an epoch (CLOSENet's)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # annotations only
    from torch import nn

#: The fingerprint fields of a training without a curriculum. They are what the settings held when
#: CLOSENet's schedule was part of them, so trainings made before keep their cache directory and
#: their checkpoints resume.
NO_CURRICULUM: dict[str, Any] = {"close_curriculum": [], "close_restart": 0}


@runtime_checkable
class Curriculum(Protocol):
    """A schedule the trainer consults at epoch starts (:class:`~estimators.one_shot.trainer.SupernetTrainer`).

    The trainer calls :meth:`start_epoch` before the first epoch and, at the end of every epoch but
    the last, for the next one (before that epoch end's checkpoint, so a resumed run redoes it from
    the same weights); after each call it gives the parameters that train a gradient (the model's
    ``locked_parameters()``, when it has them, get none) and restarts the optimizer when
    :meth:`restarts_optimizer` says so.
    """

    def fingerprint(self) -> dict[str, Any]:
        """JSON-ready fields that identify the schedule in the training's fingerprint (they replace
        :data:`NO_CURRICULUM`'s keys)."""

    def start_epoch(self, epoch: int, model: nn.Module) -> None:
        """Prepare ``model`` for 1-based ``epoch``, in place (CLOSENet: unlock the blocks due)."""

    def restarts_optimizer(self, epoch: int) -> bool:
        """True when the optimizer's momentum, the learning rate and its plateau schedule restart at
        the start of 1-based ``epoch`` (never asked for epoch 1)."""
