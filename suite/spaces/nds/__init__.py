"""The NDS ResNet and ResNeXt-A spaces: the architecture types (:mod:`.arch`), the cost model
(:mod:`.counts`), the standalone network (:mod:`.network`), the supernet (:mod:`.supernet`) and the
space objects (:mod:`.space`).

Only the torch-free names are re-exported here; the network modules import torch.
"""

from suite.spaces.nds.arch import (
    BOTTLENECK_BLOCK,
    N_STAGES,
    NUM_CLASSES,
    RESNET_BLOCK,
    RESNET_DEPTHS,
    RESNET_WIDTHS,
    RESNEXTA_BOT_MULS,
    RESNEXTA_DEPTHS,
    RESNEXTA_GROUPS,
    RESNEXTA_WIDTHS,
    STEM_WIDTH,
    STRIDES,
    NdsArch,
    NdsResNetArch,
    NdsResNeXtArch,
    OutsideSpaceError,
    bottleneck_width,
    format_arch,
    from_nds_net,
    parse_resnet,
    parse_resnexta,
)
from suite.spaces.nds.counts import flop_count, param_count, relu_count
from suite.spaces.nds.space import NDS_RESNET, NDS_RESNEXTA, NdsResNetSpace, NdsResNeXtASpace
