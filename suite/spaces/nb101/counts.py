"""The NB101 cost model: vertex widths, parameters, multiply-accumulates and ReLUs (analytic,
checked against the torch module in the tests)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from suite.spaces.nb101.arch import CONV1X1, CONV3X3, Nb101Arch


def vertex_channels(matrix: Sequence[Sequence[int]], c_in: int, c_out: int) -> list[int]:
    """Channels of every vertex of a pruned cell (the official ``compute_vertex_channels``).

    The output's channels are split evenly among the interior vertices feeding it (the first ones in
    vertex order take the remainder, one each); every other interior vertex takes the largest width
    among the interior vertices it feeds. ``[c_in, ..., c_out]``.
    """
    n = len(matrix)
    channels = [0] * n
    channels[0], channels[-1] = c_in, c_out
    if n == 2:
        return channels
    fan_in = sum(matrix[v][n - 1] for v in range(1, n - 1))
    base, extra = divmod(c_out, fan_in)
    for v in range(1, n - 1):
        if matrix[v][n - 1]:
            channels[v] = base + (1 if extra > 0 else 0)
            extra -= 1 if extra > 0 else 0
    for v in range(n - 3, 0, -1):
        if not matrix[v][n - 1]:
            for dst in range(v + 1, n - 1):
                if matrix[v][dst]:
                    channels[v] = max(channels[v], channels[dst])
    return channels


def stack_widths(init_channels: int, num_stacks: int = 3, cells_per_stack: int = 3) -> list[tuple[int, int, int]]:
    """(c_in, c_out, spatial size) of every cell, in order, for 32x32 inputs."""
    out = []
    c, size = init_channels, 32
    for stack in range(num_stacks):
        c_in = c
        if stack > 0:
            c, size = 2 * c, size // 2
        for _ in range(cells_per_stack):
            out.append((c_in, c, size))
            c_in = c
    return out


def _cell_costs(arch: Nb101Arch, c_in: int, c_out: int, size: int, bn_affine: bool) -> tuple[int, int, int]:
    """(parameters, multiply-accumulates, ReLU modules) of one cell."""
    n = arch.num_vertices
    ch = vertex_channels(arch.matrix, c_in, c_out)
    bn = 2 if bn_affine else 0
    params = flops = relus = 0
    area = size * size
    for t in range(1, n):
        if arch.matrix[0][t]:  # a 1x1 projection of the cell input (ch[n-1] = c_out for the output)
            params += c_in * ch[t] + bn * ch[t]
            flops += area * c_in * ch[t]
            relus += 1
    for t in range(1, n - 1):
        kernel = {CONV3X3: 9, CONV1X1: 1}.get(arch.ops[t], 0)
        if kernel:
            params += ch[t] * ch[t] * kernel + bn * ch[t]
            flops += area * ch[t] * ch[t] * kernel
            relus += 1
    return params, flops, relus


@functools.lru_cache(maxsize=65536)
def costs(arch: Nb101Arch, init_channels: int = 16, num_stacks: int = 3, cells_per_stack: int = 3,
          num_classes: int = 10, cell_bn_affine: bool = True) -> tuple[int, int, int]:
    """(parameters, multiply-accumulates for one 32x32 image, ReLU applications) of the standalone
    network. Parameters count BN's scale and shift, as TF's ``batch_normalization`` (center and
    scale on) counted NAS-Bench-101's ``trainable_parameters``."""
    c = init_channels
    params = 3 * c * 9 + 2 * c
    flops = 32 * 32 * 3 * c * 9
    relus = 1
    for c_in, c_out, size in stack_widths(c, num_stacks, cells_per_stack):
        p, f, r = _cell_costs(arch, c_in, c_out, size, cell_bn_affine)
        params, flops, relus = params + p, flops + f, relus + r
    last = c * 2 ** (num_stacks - 1)
    params += last * num_classes + num_classes
    flops += last * num_classes + num_classes
    return params, flops, relus


def param_count(arch: Nb101Arch, init_channels: int = 16, **options: Any) -> int:
    """Parameters of the standalone network (``init_channels=128``: the official figure)."""
    return costs(arch, init_channels, **options)[0]


def flop_count(arch: Nb101Arch, init_channels: int = 16, **options: Any) -> int:
    """Multiply-accumulates of Conv2d and Linear (+ bias) for one 32x32 image."""
    return costs(arch, init_channels, **options)[1]


def relu_count(arch: Nb101Arch, init_channels: int = 16, **options: Any) -> int:
    """ReLU applications for one image: the stem, every conv vertex and every input projection."""
    return costs(arch, init_channels, **options)[2]
