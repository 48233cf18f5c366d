"""The released supernet-training recipe of each space (FACTS.md, "One-shot estimator").

A run on a space takes these values for every option the user did not set; NB201's are the
defaults of :class:`~estimators.one_shot.settings.TrainOptions`. SGD momentum 0.9, clip 5 and
ReduceLROnPlateau(0.5, 30) are common to all. ``init_channels`` and ``cells_per_stage`` are the
channel and layer proxies in the space's own terms (see :func:`supernet_options`); 0 means the
space has no such knob (NDS networks take their depth from the architecture).
"""

from __future__ import annotations

from typing import Any

from suite.errors import UsageError

# Dropout before the classifier: 0.1 in the study's released NB101 and NB301 supernet configs
# (aw_nas examples/research/surgery/{nb101/oneshot_cfg.yaml,nb301/config.yaml}, ``dropout_rate``);
# FACTS.md states it only for NB201. The released NDS supernets have none.
_NB101 = {"lr": 0.025, "weight_decay": 5e-4, "batch_size": 256, "sampling": "uniform", "dropout": 0.1,
          "init_channels": 16, "cells_per_stage": 3}
_NDS = {"lr": 0.05, "weight_decay": 5e-5, "sampling": "uniform", "dropout": 0.0, "init_channels": 16,
        "cells_per_stage": 0}

#: space name -> option -> value (options absent here keep TrainOptions' defaults).
RECIPES: dict[str, dict[str, Any]] = {
    "nb201": {},
    # C=16, 8 cells with reductions at 2 and 5, stem x3
    "nb301": {"lr": 0.05, "weight_decay": 5e-4, "batch_size": 256, "sampling": "uniform", "dropout": 0.1,
              "init_channels": 16, "cells_per_stage": 8},
    # NB101 cell, C=16, 3 stacks of 3 cells
    "nb101-1shot1-3": _NB101,
    "nb101": _NB101,
    "nds-resnet": {**_NDS, "batch_size": 128},
    "nds-resnexta": {**_NDS, "batch_size": 64},
}


def supernet_options(space_name: str, init_channels: int, cells_per_stage: int) -> dict[str, Any]:
    """The space's ``build_supernet`` keywords for the channel and layer proxies.

    NB201: C and N (cells per stage); NB301: C and the number of cells (``layers``); NB101: the stem
    width and cells per stack; NDS: the stem width only (depths are part of the architecture).
    """
    if space_name == "nb201":
        return {"init_channels": init_channels, "cells_per_stage": cells_per_stage}
    if space_name == "nb301":
        return {"init_channels": init_channels, "layers": cells_per_stage}
    if space_name in ("nb101", "nb101-1shot1-3"):
        return {"init_channels": init_channels, "cells_per_stack": cells_per_stage}
    if space_name in ("nds-resnet", "nds-resnexta"):
        if cells_per_stage:
            raise UsageError(f"oneshot: {space_name} networks take their depth from the architecture; "
                             "drop cells_per_stage")
        return {"stem_channels": init_channels}
    raise UsageError(f"oneshot: no supernet recipe for the {space_name} space")
