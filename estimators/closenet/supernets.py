"""CLOSENet's supernet of each space, and the builder its trainer calls."""

from __future__ import annotations

from typing import Any

from torch import nn

from estimators.closenet.nb201 import Nb201CloseSupernet
from estimators.closenet.nb301 import Nb301CloseSupernet
from estimators.closenet.nds import NdsCloseSupernet
from estimators.one_shot.recipes import supernet_options
from estimators.one_shot.settings import TrainSettings
from suite.spaces import SearchSpace


def _nb201(space: SearchSpace, max_blocks: int, **options: Any) -> nn.Module:
    return Nb201CloseSupernet(max_blocks=max_blocks, **options)


def _nb301(space: SearchSpace, max_blocks: int, **options: Any) -> nn.Module:
    return Nb301CloseSupernet(max_blocks=max_blocks, **options)


def _nds(space: SearchSpace, max_blocks: int, **options: Any) -> nn.Module:
    return NdsCloseSupernet(space, max_blocks, **options)


#: space name -> ``build(space, max_blocks, **options)``: that space's CLOSENet (options: those of
#: its class, :class:`~estimators.closenet.nb201.Nb201CloseSupernet`, ...).
BUILDERS = {"nb201": _nb201, "nb301": _nb301, "nds-resnet": _nds, "nds-resnexta": _nds}


def close_supernet(space: SearchSpace, max_blocks: int, **options: Any) -> nn.Module:
    """A freshly initialised CLOSENet of ``space`` holding ``max_blocks`` GLOW blocks (draws from the
    global generator). ValueError for a space without one."""
    if space.name not in BUILDERS:
        raise ValueError(f"no CLOSENet for the {space.name} space; there is one for {', '.join(BUILDERS)}")
    return BUILDERS[space.name](space, max_blocks, **options)


def build_close_supernet(space: SearchSpace, settings: TrainSettings, *, max_blocks: int) -> nn.Module:
    """The trainer's builder (bound to ``max_blocks`` with ``functools.partial``): the CLOSENet of
    ``space`` with the settings' BN, dropout and channel/layer proxies."""
    options = supernet_options(settings.space, settings.init_channels, settings.cells_per_stage)
    return close_supernet(space, max_blocks, cell_bn_affine=settings.cell_bn_affine, dropout=settings.dropout,
                          **options)
