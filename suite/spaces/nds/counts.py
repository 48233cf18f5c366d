"""The NDS cost model: parameters, multiply-accumulates and ReLUs of the standalone network (analytic).

Counted as the benchmark counts parameters (every parameter, BN affine included; checked against
the torch module in the tests and against the published figures of two released models) and
FLOPs as the suite does for every space: multiply-accumulates of Conv2d and Linear (+ the
classifier bias) for one 32x32 image. (The files' own ``flops`` column also counts 5 operations
per BatchNorm output element, so it is larger than ``flop_count``.)
"""

from __future__ import annotations

from functools import lru_cache

from suite.spaces.nds.arch import NUM_CLASSES, STEM_WIDTH, STRIDES, NdsArch, NdsResNeXtArch


def _stage_shapes(arch: NdsArch, resolution: int = 32):
    """Yield (w_in, w_out, stride, spatial_out, stage) for every block of the network."""
    w_in, size = STEM_WIDTH, resolution
    for stage, (d, w, s) in enumerate(zip(arch.depths, arch.widths, STRIDES)):
        for i in range(d):
            stride = s if i == 0 else 1
            size = size // stride
            yield w_in, w, stride, size, stage
            w_in = w


def _block_costs(arch: NdsArch, w_in: int, w: int, stride: int, stage: int, bn_affine: bool):
    """(params, MACs per output pixel of the block) of one block. A bottleneck's first 1x1 conv
    runs before the stride (at ``stride**2`` times the output resolution), as in pycls."""
    bn = 2 if bn_affine else 0
    params = macs = 0
    if w_in != w or stride != 1:
        params += w_in * w + bn * w
        macs += w_in * w
    if isinstance(arch, NdsResNeXtArch):
        wb, g = arch.bottleneck_widths[stage], arch.groups[stage]
        convs = [(w_in, wb, 1, 1, stride * stride), (wb, wb, 9, g, 1), (wb, w, 1, 1, 1)]
    else:
        convs = [(w_in, w, 9, 1, 1), (w, w, 9, 1, 1)]
    for c_in, c_out, k, g, area in convs:
        params += c_in // g * c_out * k + bn * c_out
        macs += c_in // g * c_out * k * area
    return params, macs


def _param_count(arch: NdsArch, cell_bn_affine: bool = True, num_classes: int = NUM_CLASSES) -> int:
    total = 3 * STEM_WIDTH * 9 + 2 * STEM_WIDTH
    for w_in, w, stride, _size, stage in _stage_shapes(arch):
        total += _block_costs(arch, w_in, w, stride, stage, cell_bn_affine)[0]
    return total + arch.widths[-1] * num_classes + num_classes


def _flop_count(arch: NdsArch, num_classes: int = NUM_CLASSES) -> int:
    total = 32 * 32 * 3 * STEM_WIDTH * 9
    for w_in, w, stride, size, stage in _stage_shapes(arch):
        total += size * size * _block_costs(arch, w_in, w, stride, stage, False)[1]
    return total + arch.widths[-1] * num_classes + num_classes


@lru_cache(maxsize=65536)
def param_count(arch: NdsArch, cell_bn_affine: bool = True, num_classes: int = NUM_CLASSES) -> int:
    """Parameters of the standalone network of ``arch`` (pycls counting: all of them)."""
    return _param_count(arch, cell_bn_affine, num_classes)


@lru_cache(maxsize=65536)
def flop_count(arch: NdsArch, num_classes: int = NUM_CLASSES) -> int:
    """Multiply-accumulates of Conv2d and Linear (+ classifier bias) for one 32x32 image."""
    return _flop_count(arch, num_classes)


def relu_count(arch: NdsArch) -> int:
    """ReLU applications for one sample: one after the stem, then per block one per inner
    convolution but the last and one after the residual sum (basic: 2, bottleneck: 3)."""
    per_block = 3 if isinstance(arch, NdsResNeXtArch) else 2
    return 1 + per_block * sum(arch.depths)
