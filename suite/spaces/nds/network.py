"""The standalone NDS network: pycls ``AnyNet`` for CIFAR with basic or bottleneck residual blocks.

Layout: stem (3x3 conv, 16 channels, BN, ReLU) -> stage 1 (stride 1) -> stage 2 (stride 2) ->
stage 3 (stride 2) -> global average pool -> linear classifier. A stage of depth d and width w
has d blocks; its first block takes the previous width and the stage's stride, and has a 1x1
conv + BN projection shortcut exactly when the shape changes (``w_in != w`` or stride != 1).

* basic block (ResNet): ``relu(shortcut(x) + bn(conv3x3(relu(bn(conv3x3_s(x))))))``
* bottleneck block (ResNeXt-A), inner width ``wb = round(w * b)``:
  ``relu(shortcut(x) + bn(conv1x1(relu(bn(gconv3x3_s(relu(bn(conv1x1(x)))), groups=g)))))``

As in pycls the stride sits on the first 3x3 convolution and on the projection. The BNs of the
blocks (projection included) have affine parameters when ``cell_bn_affine`` (pycls: yes; the
study's supernet and so its sub-networks: no); the stem's BN always has them. Weights are
initialised as pycls does (conv: normal, std sqrt(2 / (k*k*c_out)); BN: 1 and 0; linear: normal,
std 0.01, bias 0), which is also the study's supernet initialisation.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from suite.spaces.nds.arch import STEM_WIDTH, STRIDES, NdsArch, NdsResNeXtArch

#: Layer names of a block's residual branch, in order (the shortcut is ``proj`` + ``proj_bn``).
BASIC_BRANCH: tuple[str, ...] = ("a", "a_bn", "a_relu", "b", "b_bn")
BOTTLENECK_BRANCH: tuple[str, ...] = ("a", "a_bn", "a_relu", "b", "b_bn", "b_relu", "c", "c_bn")


def init_weights(module: nn.Module) -> None:
    """pycls's initialisation of one module (applied with ``net.apply``)."""
    if isinstance(module, nn.Conv2d):
        fan_out = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
        nn.init.normal_(module.weight, mean=0.0, std=math.sqrt(2.0 / fan_out))
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d) and module.affine:
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, mean=0.0, std=0.01)
        nn.init.zeros_(module.bias)


def residual_forward(x: torch.Tensor, layer: Callable[[str, torch.Tensor], torch.Tensor],
                     branch: tuple[str, ...], has_proj: bool) -> torch.Tensor:
    """One residual block: ``relu(shortcut(x) + branch(x))`` with ``layer(name, input)`` applying the
    block's named layer. Shared by the standalone network and the supernet, so both compute in the
    same order."""
    out = x
    for name in branch:
        out = layer(name, out)
    shortcut = layer("proj_bn", layer("proj", x)) if has_proj else x
    return layer("relu", shortcut + out)


def _bn(channels: int, affine: bool, track_running_stats: bool) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, affine=affine, track_running_stats=track_running_stats)


class Stem(nn.Module):
    """3x3 conv (3 -> 16), BN (affine), ReLU: [N, 3, H, W] -> [N, 16, H, W]."""

    def __init__(self, width: int = STEM_WIDTH, track_running_stats: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, stride=1, padding=1, bias=False)
        self.bn = _bn(width, True, track_running_stats)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


class ResidualBlock(nn.Module):
    """A basic (``bottleneck_width is None``) or bottleneck residual block.

    [N, w_in, H, W] -> [N, w_out, H / stride, W / stride].
    """

    def __init__(self, w_in: int, w_out: int, stride: int, bottleneck_width: int | None = None, groups: int = 1,
                 bn_affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__()
        self.has_proj = w_in != w_out or stride != 1
        if self.has_proj:
            self.proj = nn.Conv2d(w_in, w_out, 1, stride=stride, bias=False)
            self.proj_bn = _bn(w_out, bn_affine, track_running_stats)
        if bottleneck_width is None:
            self.branch = BASIC_BRANCH
            self.a = nn.Conv2d(w_in, w_out, 3, stride=stride, padding=1, bias=False)
            self.a_bn = _bn(w_out, bn_affine, track_running_stats)
            self.a_relu = nn.ReLU()
            self.b = nn.Conv2d(w_out, w_out, 3, stride=1, padding=1, bias=False)
            self.b_bn = _bn(w_out, bn_affine, track_running_stats)
        else:
            wb = bottleneck_width
            if wb % groups:
                raise ValueError(f"{groups} groups do not divide the bottleneck width {wb}")
            self.branch = BOTTLENECK_BRANCH
            self.a = nn.Conv2d(w_in, wb, 1, bias=False)
            self.a_bn = _bn(wb, bn_affine, track_running_stats)
            self.a_relu = nn.ReLU()
            self.b = nn.Conv2d(wb, wb, 3, stride=stride, padding=1, groups=groups, bias=False)
            self.b_bn = _bn(wb, bn_affine, track_running_stats)
            self.b_relu = nn.ReLU()
            self.c = nn.Conv2d(wb, w_out, 1, bias=False)
            self.c_bn = _bn(w_out, bn_affine, track_running_stats)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return residual_forward(x, lambda name, t: getattr(self, name)(t), self.branch, self.has_proj)


class NdsNetwork(nn.Module):
    """The standalone network of one NDS ResNet / ResNeXt-A architecture (pycls AnyNet, CIFAR).

    Args:
        arch: an :class:`~suite.spaces.nds.arch.NdsResNetArch` or :class:`~suite.spaces.nds.arch.NdsResNeXtArch`.
        cell_bn_affine: affine BN in the blocks (pycls: True; the study's sub-networks: False).
        track_running_stats: keep BN running statistics; False makes BN always use batch statistics.
        num_classes: classifier outputs (10 for CIFAR-10).
        stem_channels: the stem's width (16 in NDS; smaller for a thinner proxy network; the
            space's ``param_count``/``flop_count`` are for 16).

    Parameter names: ``stem.{conv,bn}``, ``stages.<s>.<i>.{proj,proj_bn,a,a_bn,b,b_bn[,c,c_bn]}``,
    ``classifier`` (the supernet uses the same names).
    """

    def __init__(self, arch: NdsArch, cell_bn_affine: bool = True, track_running_stats: bool = True,
                 num_classes: int = 10, stem_channels: int = STEM_WIDTH) -> None:
        super().__init__()
        if num_classes < 1 or stem_channels < 1:
            raise ValueError("num_classes and stem_channels must be positive")
        self.arch = arch
        self.stem = Stem(stem_channels, track_running_stats)
        bottleneck = isinstance(arch, NdsResNeXtArch)
        stages = []
        w_in = stem_channels
        for stage, (depth, width, stride) in enumerate(zip(arch.depths, arch.widths, STRIDES)):
            blocks = []
            for i in range(depth):
                blocks.append(ResidualBlock(
                    w_in, width, stride if i == 0 else 1,
                    arch.bottleneck_widths[stage] if bottleneck else None,
                    arch.groups[stage] if bottleneck else 1,
                    cell_bn_affine, track_running_stats))
                w_in = width
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.ModuleList(stages)
        self.classifier = nn.Linear(w_in, num_classes)
        self.apply(init_weights)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N, 3, 32, 32] normalised images -> pooled features [N, w_3]."""
        out = self.stem(x)
        for stage in self.stages:
            out = stage(out)
        # A mean rather than AdaptiveAvgPool2d: its CUDA backward has no deterministic kernel.
        return out.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: [N, 3, 32, 32] normalised images -> logits [N, num_classes]."""
        return self.classifier(self.forward_features(x))
