"""The NAS-Bench-201 cell space: the architecture type (:mod:`.arch`), the standalone network
(:mod:`.network`), the supernet (:mod:`.supernet`) and the space object (:mod:`.space`).

Only the torch-free names are re-exported here; the network modules import torch.
"""

from suite.spaces.nb201.arch import (
    EDGES,
    N_ARCHS,
    N_NODES,
    OPS,
    Nb201Arch,
    canonical_form,
    enumerate_archs,
    flop_count,
    format_arch,
    has_conv_on_path,
    param_count,
    parse_arch,
    relu_count,
    sample_archs,
)
from suite.spaces.nb201.space import NB201, Nb201Space
