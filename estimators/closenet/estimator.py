"""CLOSENet (``closenet``): the one-shot estimator with a curriculum on the sharing extent.

The supernet's cells hold GLOW blocks (complete sets of candidate-op weights) that a learned gate
routes each edge to (:mod:`estimators.closenet.nb201`, :mod:`~estimators.closenet.nb301`; the NDS
version shares blocks by position, :mod:`~estimators.closenet.nds`). Training starts with one block
per cell and unlocks one more at each curriculum epoch, the new block inheriting its parent's
weights; the optimizer and the LR schedule restart once (:mod:`estimators.closenet.curriculum`).
Everything else (training loop, resume, snapshots, scoring, result files) is the vanilla one-shot
estimator's: this one hands the trainer its own supernet builder (:mod:`estimators.closenet.supernets`)
and its curriculum.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from estimators.closenet.curriculum import CloseCurriculum
from estimators.closenet.supernets import BUILDERS, build_close_supernet
from estimators.one_shot.estimator import OneShotConfig, OneShotEstimator, parse_epochs
from estimators.one_shot.settings import SupernetBuilder
from suite.config_fields import option
from suite.errors import UsageError

#: The released CLOSE configs' values that differ from the vanilla recipe of the space.
CLOSE_RECIPES: dict[str, dict[str, Any]] = {
    "nb201": {"batch_size": 256},
    "nb301": {"batch_size": 256, "dropout": 0.1},
    # 9 blocks at epoch 1 (8 splits of the position groups before training), then 2 or 1 per stage
    "nds-resnet": {"batch_size": 128, "curriculum": ",".join(["1"] * 9 + ["201", "201", "401", "401", "601",
                                                                          "601", "801", "801"])},
    "nds-resnexta": {"batch_size": 128, "curriculum": ",".join(["1"] * 9 + ["201", "401", "601", "801"])},
}


@dataclass(frozen=True)
class CloseConfig(OneShotConfig):
    """The one-shot options, and

    Attributes:
        curriculum: comma-separated 1-based epochs at whose start a block is unlocked, one entry per
            block, ascending, the first 1 (the study: ``1,201,401,601,801``, 5 blocks).
        restart_epoch: the epoch at whose start the optimizer and LR schedule restart (0: never).
    """

    curriculum: str = "1,201,401,601,801"
    restart_epoch: int = option(401, ge=0, le=100_000)


class CloseNetEstimator(OneShotEstimator):
    """Score = OS accuracy (or negated loss) of the architecture in CLOSENet, each edge on the block
    its gate picks (argmax)."""

    name = "closenet"
    family = "one-shot"
    summary = "CLOSENet: supernet with a curriculum on the sharing extent (GLOW blocks, learned gate)"
    Config = CloseConfig

    @classmethod
    def recipe(cls, space_name: str) -> dict[str, Any]:
        """The vanilla recipe of the space, with the released CLOSE config's values where they differ."""
        return {**super().recipe(space_name), **CLOSE_RECIPES.get(space_name, {})}

    @classmethod
    def check_config(cls, c: CloseConfig, space_name: str) -> None:
        super().check_config(c, space_name)
        curriculum = parse_epochs(c.curriculum, "curriculum", "closenet")
        if not curriculum or curriculum[0] != 1 or list(curriculum) != sorted(curriculum):
            raise UsageError(f"closenet: curriculum must be ascending epochs starting with 1; got {c.curriculum!r}")
        if c.restart_epoch != 0 and not 2 <= c.restart_epoch <= c.epochs:
            raise UsageError(f"closenet: restart_epoch must be 0 (no restart) or in [2, epochs={c.epochs}]")
        k = c.temporal_ensemble
        for snap in parse_epochs(c.snapshots, "snapshots"):  # a snapshot must not average weights across an unlock
            if any(snap - k + 1 < start <= snap for start in curriculum if start > 1):
                raise UsageError(f"closenet: the temporal ensemble of snapshot {snap} (epochs {snap - k + 1}..{snap}) "
                                 "spans a curriculum epoch; move the snapshot or shorten temporal_ensemble")
        limit = {"nds-resnet": 23, "nds-resnexta": 15}.get(space_name)
        if limit is not None and len(curriculum) > limit:
            raise UsageError(f"closenet: {space_name} has {limit} shared block positions; the curriculum "
                             f"unlocks {len(curriculum)} blocks")
        if c.score not in ("acc", "loss"):
            raise UsageError("closenet: score must be acc or loss (zero-shot measures on CLOSENet weights are "
                             "not defined yet)")

    @property
    def curriculum(self) -> CloseCurriculum:
        """The config's curriculum: the epochs that unlock a block, and the restart epoch."""
        return CloseCurriculum(parse_epochs(self.config.curriculum, "curriculum", "closenet"), self.config.restart_epoch)

    def supernet_builder(self) -> SupernetBuilder:
        """The space's CLOSENet (:func:`~estimators.closenet.supernets.build_close_supernet`), one
        GLOW block per curriculum entry."""
        return functools.partial(build_close_supernet, max_blocks=self.curriculum.max_blocks)

    def supports(self, space_name: str) -> bool:
        return space_name in BUILDERS
