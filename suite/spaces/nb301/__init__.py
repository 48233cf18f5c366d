"""The NAS-Bench-301 (DARTS) space: the genotype type and its costs (:mod:`.arch`), the standalone
network (:mod:`.network`), the supernet (:mod:`.supernet`) and the space object (:mod:`.space`).

Only the torch-free names are re-exported here; the network modules import torch.
"""

from suite.spaces.nb301.arch import (
    CONCAT,
    EDGES,
    N_CELLS,
    N_INTERMEDIATE,
    N_PAIRS,
    OPS,
    Nb301Arch,
    OutsideSpaceError,
    Pair,
    canonical_form,
    edge_index,
    flop_count,
    format_arch,
    from_compact,
    param_count,
    parse_arch,
    reduction_layers,
    relu_count,
    sample_archs,
    to_compact,
)
from suite.spaces.nb301.space import NB301, Nb301Space
