"""NDS architectures: the ResNet and ResNeXt-A types, choices, strings and the official config (torch-free).

The NDS ResNet and ResNeXt-A spaces for CIFAR-10 (Radosavovic et al. 2019, "On Network Design Spaces").

Both are pycls ``AnyNet`` networks: a 3x3 stem of 16 channels, three stages with strides 1, 2, 2,
then global average pooling and a linear classifier. An architecture chooses, per stage ``i``:

* ``d_i``, the number of residual blocks, and ``w_i``, their output width (both spaces);
* for ResNeXt-A also ``b_i``, the bottleneck multiplier (the inner width is ``round(w_i * b_i)``),
  and ``g_i``, the NUMBER of groups of the 3x3 convolution.

The design choices, as the study's supernets define them (walkerning/aw_nas,
``examples/research/surgery/nds/plugin/germ_nds.py``: ``GermResNet`` and ``GermResNextA``) and as
the released CIFAR files hold them:

=============  ======================================================  ==========================
space          choice per stage (each stage independently)             size
=============  ======================================================  ==========================
ResNet         d in {1,2,3,4,6,8,12,16,24};                            9**3 * 12**3 = 1,259,712
               w in {16,24,32,40,48,64,80,96,128,160,192,256}
ResNeXt-A      d in {1,2,4,8,16}; w in {16,32,64,128,256};             5**3 * 5**3 * 3**3 * 3**3
               b in {0.25,0.5,1}; g in {1,2,4}                         = 11,390,625
=============  ======================================================  ==========================

There is no ordering constraint between stages (the released files hold e.g. widths 64,128,16).
The one structural constraint, that ``g_i`` divides the bottleneck width ``round(w_i * b_i)``,
holds for every combination of these ranges (the smallest bottleneck is 16 * 0.25 = 4); it is
checked anyway. ``sample`` is uniform over the product of the ranges. (NDS trained a random
sample of its space; whether it filtered it by complexity is not documented in the release, so
the suite's sampler does not filter.)

About the official ``net`` configuration (what :func:`from_nds_net` reads): the released JSON
files hold the pycls config of each model, with four entries per list, the first describing the
stem: ``ds = [1, d1, d2, d3]``, ``ws = [16, w1, w2, w3]``, ``ss = [1, 1, 2, 2]``, and for
ResNeXt ``bot_muls = [0.0, b1, b2, b3]`` and ``num_gs = [1, g1, g2, g3]``. ``num_gs`` is the
number of groups, not pycls's later group width (``gws``): the published parameter count of the
ResNeXt-A model ``ds=[1,16,1,4] ws=[16,64,128,16] bot_muls=0.25 num_gs=[1,2,1,2]`` (0.083002 M,
NNI's NDS example) is reproduced only with that reading. Newer pycls spellings (``bms``, ``gws``
as a group width, three-entry lists with ``stem_w``) are accepted too.

Architecture strings (one line; ``canonical`` is the formatted string, since two different
configurations are different networks):

* ResNet: ``d=1,2,3 w=16,32,64``
* ResNeXt-A: ``d=1,2,4 w=16,32,64 b=0.25,0.5,1 g=1,2,4``
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

N_STAGES = 3
STEM_WIDTH = 16
STRIDES: tuple[int, ...] = (1, 2, 2)
NUM_CLASSES = 10

RESNET_DEPTHS: tuple[int, ...] = (1, 2, 3, 4, 6, 8, 12, 16, 24)
RESNET_WIDTHS: tuple[int, ...] = (16, 24, 32, 40, 48, 64, 80, 96, 128, 160, 192, 256)

RESNEXTA_DEPTHS: tuple[int, ...] = (1, 2, 4, 8, 16)
RESNEXTA_WIDTHS: tuple[int, ...] = (16, 32, 64, 128, 256)
RESNEXTA_BOT_MULS: tuple[float, ...] = (0.25, 0.5, 1.0)
RESNEXTA_GROUPS: tuple[int, ...] = (1, 2, 4)

RESNET_BLOCK = "res_basic_block"
BOTTLENECK_BLOCK = "res_bottleneck_block"


class OutsideSpaceError(ValueError):
    """A well-formed configuration that is not a member of the space (e.g. another block type or
    a depth outside the documented choices). Importers drop such entries; other ValueErrors mean
    the input is malformed."""


def _check_choices(label: str, values: tuple, allowed: tuple, error: type[ValueError] = ValueError) -> None:
    if len(values) != N_STAGES:
        raise error(f"{label} needs {N_STAGES} values (one per stage), got {len(values)}")
    for stage, value in enumerate(values, start=1):
        if value not in allowed:
            shown = ",".join(_fmt_number(a) for a in allowed)
            raise error(f"{label} of stage {stage} is {_fmt_number(value)}; expected one of {shown}")


def _fmt_number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@dataclass(frozen=True, order=True)
class NdsResNetArch:
    """A ResNet of three stages of basic residual blocks: ``depths[i]`` blocks of width ``widths[i]``."""

    depths: tuple[int, ...]
    widths: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "depths", tuple(self.depths))
        object.__setattr__(self, "widths", tuple(self.widths))
        _check_choices("NDS ResNet depth", self.depths, RESNET_DEPTHS)
        _check_choices("NDS ResNet width", self.widths, RESNET_WIDTHS)

    block_type = RESNET_BLOCK

    def __str__(self) -> str:
        return format_arch(self)


@dataclass(frozen=True, order=True)
class NdsResNeXtArch:
    """A ResNeXt-A network: per stage ``depths[i]`` bottleneck blocks of output width ``widths[i]``,
    inner width ``round(widths[i] * bot_muls[i])`` and ``groups[i]`` groups in the 3x3 convolution."""

    depths: tuple[int, ...]
    widths: tuple[int, ...]
    bot_muls: tuple[float, ...]
    groups: tuple[int, ...]

    def __post_init__(self) -> None:
        for name in ("depths", "widths", "groups"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "bot_muls", tuple(float(b) for b in self.bot_muls))
        _check_choices("NDS ResNeXt-A depth", self.depths, RESNEXTA_DEPTHS)
        _check_choices("NDS ResNeXt-A width", self.widths, RESNEXTA_WIDTHS)
        _check_choices("NDS ResNeXt-A bottleneck multiplier", self.bot_muls, RESNEXTA_BOT_MULS)
        _check_choices("NDS ResNeXt-A groups", self.groups, RESNEXTA_GROUPS)
        for stage, (wb, g) in enumerate(zip(self.bottleneck_widths, self.groups), start=1):
            if wb % g:
                raise ValueError(f"NDS ResNeXt-A stage {stage}: {g} groups do not divide the bottleneck "
                                 f"width {wb}")

    block_type = BOTTLENECK_BLOCK

    @property
    def bottleneck_widths(self) -> tuple[int, ...]:
        """Inner width of each stage's blocks, ``int(round(w * b))`` as pycls computes it."""
        return tuple(bottleneck_width(w, b) for w, b in zip(self.widths, self.bot_muls))

    def __str__(self) -> str:
        return format_arch(self)


NdsArch = NdsResNetArch | NdsResNeXtArch


def bottleneck_width(width: int, bot_mul: float) -> int:
    """The bottleneck (inner) width of a block, as pycls: ``int(round(width * bot_mul))``."""
    return int(round(width * bot_mul))


# --- strings ---------------------------------------------------------------------------------

_PART_RE = re.compile(r"^([a-z]+)=(.*)$")
_KEYS_RESNET = ("d", "w")
_KEYS_RESNEXT = ("d", "w", "b", "g")


def format_arch(arch: NdsArch) -> str:
    """The one-line string of ``arch`` (inverse of the space's ``parse``)."""
    parts = [("d", arch.depths), ("w", arch.widths)]
    if isinstance(arch, NdsResNeXtArch):
        parts += [("b", arch.bot_muls), ("g", arch.groups)]
    return " ".join(f"{key}=" + ",".join(_fmt_number(v) for v in values) for key, values in parts)


def _parse_fields(text: str, space_label: str, keys: tuple[str, ...]) -> dict[str, list[str]]:
    if not isinstance(text, str):
        raise ValueError(f"an {space_label} architecture string must be a str, got {type(text).__name__}")
    example = " ".join(f"{k}=..." for k in keys)
    parts = text.split()
    if not parts:
        raise ValueError(f"{space_label} architecture string is empty; expected {example!r}")
    fields: dict[str, list[str]] = {}
    for part in parts:
        match = _PART_RE.match(part)
        if not match:
            raise ValueError(f"{space_label} architecture {text!r}: part {part!r} is not of the form key=v1,v2,v3")
        key, values = match.groups()
        if key not in keys:
            raise ValueError(f"{space_label} architecture {text!r}: unknown key {key!r}; expected {example!r}")
        if key in fields:
            raise ValueError(f"{space_label} architecture {text!r}: key {key!r} appears twice")
        items = values.split(",")
        if len(items) != N_STAGES:
            raise ValueError(f"{space_label} architecture {text!r}: {key}= needs {N_STAGES} comma-separated "
                             f"values (one per stage), got {len(items)}")
        fields[key] = items
    missing = [k for k in keys if k not in fields]
    if missing:
        raise ValueError(f"{space_label} architecture {text!r}: missing {', '.join(k + '=' for k in missing)}; "
                         f"expected {example!r}")
    return fields


def _ints(text: str, key: str, items: list[str], space_label: str) -> tuple[int, ...]:
    out = []
    for item in items:
        if not re.fullmatch(r"[0-9]+", item):
            raise ValueError(f"{space_label} architecture {text!r}: {key}= value {item!r} is not a positive integer")
        out.append(int(item))
    return tuple(out)


def _floats(text: str, key: str, items: list[str], space_label: str) -> tuple[float, ...]:
    out = []
    for item in items:
        if not re.fullmatch(r"[0-9]*\.?[0-9]+", item):
            raise ValueError(f"{space_label} architecture {text!r}: {key}= value {item!r} is not a number")
        out.append(float(item))
    return tuple(out)


def parse_resnet(text: str) -> NdsResNetArch:
    """Parse ``"d=1,2,3 w=16,32,64"``. Raises ValueError naming the bad part."""
    label = "NDS ResNet"
    fields = _parse_fields(text, label, _KEYS_RESNET)
    depths = _ints(text, "d", fields["d"], label)
    widths = _ints(text, "w", fields["w"], label)
    try:
        return NdsResNetArch(depths, widths)
    except ValueError as exc:
        raise ValueError(f"{label} architecture {text!r}: {exc}") from None


def parse_resnexta(text: str) -> NdsResNeXtArch:
    """Parse ``"d=1,2,4 w=16,32,64 b=0.25,0.5,1 g=1,2,4"``. Raises ValueError naming the bad part."""
    label = "NDS ResNeXt-A"
    fields = _parse_fields(text, label, _KEYS_RESNEXT)
    depths = _ints(text, "d", fields["d"], label)
    widths = _ints(text, "w", fields["w"], label)
    bot_muls = _floats(text, "b", fields["b"], label)
    groups = _ints(text, "g", fields["g"], label)
    try:
        return NdsResNeXtArch(depths, widths, bot_muls, groups)
    except ValueError as exc:
        raise ValueError(f"{label} architecture {text!r}: {exc}") from None


# --- the official configuration ----------------------------------------------------------------


def _stage_list(net: Mapping[str, Any], keys: tuple[str, ...], what: str) -> list | None:
    for key in keys:
        if key in net and net[key] is not None:
            value = net[key]
            if not isinstance(value, list):
                raise ValueError(f"net[{key!r}] ({what}) must be a list, got {type(value).__name__}")
            return value
    return None


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return value


def _integer(value: Any, what: str) -> int:
    number = _number(value, what)
    if number != int(number):
        raise ValueError(f"{what} must be an integer, got {value!r}")
    return int(number)


def from_nds_net(net: Mapping[str, Any]) -> NdsArch:
    """The architecture of an official NDS ``net`` configuration (one JSON entry's ``"net"``).

    Accepts the released layout (4-entry lists whose first entry is the stem: ``ds[0] = 1``,
    ``ws[0] = 16``, ``ss = [1, 1, 2, 2]``; ResNeXt ``bot_muls`` / ``num_gs`` = number of groups)
    and the later pycls layout (3-entry lists, ``stem_w``, ``bms``, ``gws`` = group width, which is
    converted to a number of groups).

    Raises:
        OutsideSpaceError: a well-formed configuration outside both spaces (cell-based NDS models,
            vanilla blocks, another stem or strides, a depth/width/... outside the choices).
        ValueError: a malformed configuration (missing keys, wrong types or lengths).
    """
    if not isinstance(net, Mapping):
        raise ValueError(f"'net' must be a JSON object, got {type(net).__name__}")
    if "genotype" in net:
        raise OutsideSpaceError("a cell-based NDS model (it has a 'genotype'), not a ResNet/ResNeXt")
    block_type = net.get("block_type")
    if not isinstance(block_type, str):
        raise ValueError(f"net['block_type'] must be a string, got {block_type!r}")
    if block_type.startswith("res_basic"):
        bottleneck = False
    elif block_type.startswith("res_bottleneck"):
        bottleneck = True
    else:
        raise OutsideSpaceError(f"block type {block_type!r} is neither {RESNET_BLOCK!r} nor {BOTTLENECK_BLOCK!r}")
    stem_type = net.get("stem_type")
    if stem_type is not None and stem_type != "res_stem_cifar":
        raise OutsideSpaceError(f"stem type {stem_type!r} is not the CIFAR stem 'res_stem_cifar'")

    ds = _stage_list(net, ("ds", "depths"), "depths")
    ws = _stage_list(net, ("ws", "widths"), "widths")
    ss = _stage_list(net, ("ss", "strides"), "strides")
    if ds is None or ws is None:
        raise ValueError("net lacks 'ds' (depths) or 'ws' (widths)")
    bms = _stage_list(net, ("bot_muls", "bms"), "bottleneck multipliers") if bottleneck else None
    num_gs = _stage_list(net, ("num_gs",), "numbers of groups") if bottleneck else None
    gws = _stage_list(net, ("gws", "group_ws"), "group widths") if bottleneck and num_gs is None else None
    if bottleneck and (bms is None or (num_gs is None and gws is None)):
        raise ValueError("a bottleneck net needs 'bot_muls' (or 'bms') and 'num_gs' (or 'gws')")

    lengths = {len(v) for v in (ds, ws, ss, bms, num_gs, gws) if v is not None}
    if len(lengths) != 1:
        raise ValueError(f"the per-stage lists have different lengths ({sorted(lengths)})")
    length = lengths.pop()
    if length == N_STAGES + 1:  # released layout: entry 0 is the stem
        stem_w = _integer(ws[0], "ws[0] (stem width)")
        stem_d = _integer(ds[0], "ds[0] (stem depth)")
        if ss is not None and _integer(ss[0], "ss[0] (stem stride)") != 1:
            raise OutsideSpaceError(f"stem stride {ss[0]} is not 1")
        if stem_d != 1:
            raise OutsideSpaceError(f"stem depth {stem_d} is not 1")
        ds, ws = ds[1:], ws[1:]
        ss = ss[1:] if ss is not None else None
        bms = bms[1:] if bms is not None else None
        num_gs = num_gs[1:] if num_gs is not None else None
        gws = gws[1:] if gws is not None else None
    elif length == N_STAGES:
        stem_w = _integer(net.get("stem_w", STEM_WIDTH), "stem_w")
    else:
        raise OutsideSpaceError(f"{length} per-stage entries; expected {N_STAGES} (or {N_STAGES + 1} "
                                f"with the stem first)")
    if stem_w != STEM_WIDTH:
        raise OutsideSpaceError(f"stem width {stem_w} is not {STEM_WIDTH}")
    if ss is not None:
        strides = tuple(_integer(s, "a stride") for s in ss)
        if strides != STRIDES:
            raise OutsideSpaceError(f"strides {list(strides)} are not {list(STRIDES)}")

    depths = tuple(_integer(d, "a depth") for d in ds)
    widths = tuple(_integer(w, "a width") for w in ws)
    if not bottleneck:
        _check_choices("depth", depths, RESNET_DEPTHS, OutsideSpaceError)
        _check_choices("width", widths, RESNET_WIDTHS, OutsideSpaceError)
        return NdsResNetArch(depths, widths)
    bot_muls = tuple(float(_number(b, "a bottleneck multiplier")) for b in bms)
    _check_choices("depth", depths, RESNEXTA_DEPTHS, OutsideSpaceError)
    _check_choices("width", widths, RESNEXTA_WIDTHS, OutsideSpaceError)
    _check_choices("bottleneck multiplier", bot_muls, RESNEXTA_BOT_MULS, OutsideSpaceError)
    if num_gs is not None:
        groups = tuple(_integer(g, "a number of groups") for g in num_gs)
    else:
        groups = []
        for w, b, gw in zip(widths, bot_muls, gws):
            gw = _integer(gw, "a group width")
            wb = bottleneck_width(w, b)
            if gw <= 0 or wb % gw:
                raise OutsideSpaceError(f"group width {gw} does not divide the bottleneck width {wb}")
            groups.append(wb // gw)
        groups = tuple(groups)
    _check_choices("groups", groups, RESNEXTA_GROUPS, OutsideSpaceError)
    try:
        return NdsResNeXtArch(depths, widths, bot_muls, groups)
    except ValueError as exc:
        raise OutsideSpaceError(str(exc)) from None
