"""CLOSENet on the NDS spaces: GLOW blocks shared by block positions, grouped by a fixed rule.

NDS networks have no cell DAG to route, so there is no learned gate (the study's NDS version,
walkerning/aw_nas ``GermCloseStage``): in every stage, the first block (which changes width and
stride) is an ordinary unshared block, and positions ``p = 0..P-1`` (stage blocks 2..max depth,
``P = 23`` for ResNet, 15 for ResNeXt-A) take a GLOW block from the stage's pool by a
position -> block map that every stage and every architecture shares. The map starts as one group
(all positions share block 0) and :meth:`NdsCloseSupernet.unlock` splits the group that starts
earliest among those spanning more than one position at its midpoint ``(l + r) // 2``: the left
half keeps its block, the right half gets the new one, initialised as its own fresh weights plus
the parent's. The study's curriculum unlocks 9 blocks at epoch 1 (8 splits before any training)
and two (ResNet) or one (ResNeXt-A) at each of epochs 201, 401, 601 and 801: pools of 17 and 13.
"""

from __future__ import annotations

from typing import Any

import torch

from suite.spaces.nds.arch import NdsArch
from suite.spaces.nds.supernet import NdsSupernet


def split_groups(groups: list[tuple[int, int, int]], new_id: int) -> tuple[list[tuple[int, int, int]], int]:
    """One curriculum split of the position groups.

    Args:
        groups: (start, end, block) per group, covering positions [0, P) without overlap.
        new_id: the block the split-off half gets.
    Returns:
        The new groups (sorted by start) and the parent block of the split-off half.
    Raises:
        ValueError: every group is a single position already.
    """
    splittable = [g for g in groups if g[1] - g[0] > 1]
    if not splittable:
        raise ValueError("every position has its own block already")
    start, end, block = min(splittable)
    middle = (start + end) // 2
    rest = [g for g in groups if g != (start, end, block)]
    return sorted([*rest, (start, middle, block), (middle, end, new_id)]), block


class NdsCloseSupernet(NdsSupernet):
    """The NDS bank with stage blocks 2.. taken from a pool of ``max_blocks`` GLOW blocks.

    Args:
        space: ``NDS_RESNET`` or ``NDS_RESNEXTA``.
        max_blocks: L, GLOW blocks per stage (the study: 17 for ResNet, 13 for ResNeXt-A).
        positions: P, the shared positions (default: the space's largest depth - 1).
        other options: as for :class:`~suite.spaces.nds.supernet.NdsSupernet` (``max_depths`` is
            not one: a stage holds its first block and the pool).

    ``level`` (a buffer) counts the unlocked blocks; ``block_of`` (a buffer, int64 [P]) is the map.
    """

    def __init__(self, space: Any, max_blocks: int, positions: int | None = None, **options: Any) -> None:
        self.positions = positions or max(space.depth_choices) - 1
        if not 1 <= max_blocks <= self.positions:
            raise ValueError(f"max_blocks must be in [1, {self.positions}] (one block per position at most)")
        super().__init__(space, max_depths=(1 + max_blocks,) * 3, **options)
        self.max_blocks = max_blocks
        self.register_buffer("level", torch.tensor(1, dtype=torch.long))
        self.register_buffer("block_of", torch.zeros(self.positions, dtype=torch.long))

    def locked_parameters(self) -> list[torch.nn.Parameter]:
        """The parameters of the pool blocks not unlocked yet (no gradient until they are)."""
        return [p for stage in self.stages for block in list(stage)[1 + int(self.level):] for p in block.parameters()]

    def groups(self) -> list[tuple[int, int, int]]:
        """The current (start, end, block) groups of positions."""
        out, start = [], 0
        block_of = self.block_of.tolist()
        for p in range(1, self.positions + 1):
            if p == self.positions or block_of[p] != block_of[start]:
                out.append((start, p, block_of[start]))
                start = p
        return out

    def bank_index(self, position_in_stage: int) -> int:
        """The bank block of stage block ``position_in_stage`` (0 = the stage's own first block)."""
        return 0 if position_in_stage == 0 else 1 + int(self.block_of[position_in_stage - 1])

    def check_arch(self, arch: NdsArch) -> None:
        """As the vanilla bank's check, with depths up to the shared positions + 1."""
        if isinstance(arch, self.space.arch_type) and max(arch.depths) > self.positions + 1:
            raise ValueError(f"{self.space.name} CLOSENet: depth {max(arch.depths)} exceeds {self.positions + 1}")
        saved = self.max_depths
        self.max_depths = (self.positions + 1,) * len(saved)  # the pool serves every position
        try:
            super().check_arch(arch)
        finally:
            self.max_depths = saved

    def forward(self, x: torch.Tensor, arch: NdsArch) -> torch.Tensor:
        """x: [N, 3, 32, 32] -> logits [N, num_classes]; block i of a stage runs bank block
        :meth:`bank_index` (i)."""
        self.check_arch(arch)
        out = self.stem(x)
        for stage, blocks in enumerate(self.stages):
            for i in range(arch.depths[stage]):
                out = self._block_forward(blocks[self.bank_index(i)], out, arch, stage, first=i == 0)
        features = out.mean(dim=(2, 3))
        width = arch.widths[-1]
        return torch.nn.functional.linear(self.dropout(features), self.classifier.weight[:, :width],
                                          self.classifier.bias)

    def bank_key(self, key: str, arch: NdsArch) -> str:
        """``stages.s.i.<rest>`` of the standalone network -> the bank block of position i."""
        parts = key.split(".")
        if parts[0] == "stages" and len(parts) > 2:
            parts[2] = str(self.bank_index(int(parts[2])))
        return ".".join(parts)

    @torch.no_grad()
    def unlock(self) -> None:
        """Split a group: the split-off positions get a new block, its fresh weights plus the parent's."""
        new = int(self.level)
        if new >= self.max_blocks:
            raise ValueError(f"all {self.max_blocks} blocks are unlocked already")
        groups, parent = split_groups(self.groups(), new)
        for stage in self.stages:
            child = stage[1 + new].state_dict(keep_vars=True)
            source = stage[1 + parent].state_dict(keep_vars=True)
            for key, tensor in child.items():
                tensor.add_(source[key])
        for start, end, block in groups:
            self.block_of[start:end] = block
        self.level.add_(1)
