"""NAS-Bench-101 cells and NAS-Bench-1shot1 search space 3: the cell type (:mod:`.arch`), space 3
(:mod:`.space3`), the cost model (:mod:`.counts`), the standalone network (:mod:`.network`), the
supernet (:mod:`.supernet`) and the two space objects (:mod:`.space`).

Only the torch-free names are re-exported here; the network modules import torch.
"""

from suite.spaces.nb101.arch import (
    CONV1X1,
    CONV3X3,
    INPUT,
    MAX_EDGES,
    MAX_VERTICES,
    MAXPOOL3X3,
    OPS,
    OUTPUT,
    SHORT,
    Nb101Arch,
    canonical_form,
    format_arch,
    from_matrix_ops,
    graph_hash,
    parse_arch,
    prune,
    sample_archs,
)
from suite.spaces.nb101.counts import costs, flop_count, param_count, relu_count, stack_widths, vertex_channels
from suite.spaces.nb101.space import NB101, NB101_SPACE3, Nb101Space, Nb101Space3
from suite.spaces.nb101.space3 import (
    SPACE3_PAPER_SIZE,
    SPACE3_PARENTS,
    in_space3,
    iter_space3_wirings,
    sample_space3,
    space3_cells,
    space3_hashes,
    space3_matrix,
    space3_nodes,
    space3_statistics,
    space3_wiring,
)
