"""Search spaces: architecture types, parse/format, enumeration, canonical forms, networks.

Spaces know nothing about estimators or benchmarks. :func:`get_space` finds one by name, importing
its module only when asked (so ``suite list`` does not import every network definition).
"""

from __future__ import annotations

import importlib
from typing import Any

#: space name -> (module, attribute) of its space object.
SPACE_OBJECTS: dict[str, tuple[str, str]] = {
    "nb201": ("suite.spaces.nb201", "NB201"),
    "nb101": ("suite.spaces.nb101", "NB101"),
    "nb101-1shot1-3": ("suite.spaces.nb101", "NB101_SPACE3"),
    "nb301": ("suite.spaces.nb301", "NB301"),
    "nds-resnet": ("suite.spaces.nds", "NDS_RESNET"),
    "nds-resnexta": ("suite.spaces.nds", "NDS_RESNEXTA"),
}


def get_space(name: str) -> Any:
    """The space object called ``name`` (KeyError listing the known names otherwise)."""
    if name not in SPACE_OBJECTS:
        raise KeyError(f"unknown search space {name!r}; known: {', '.join(SPACE_OBJECTS)}")
    module, attribute = SPACE_OBJECTS[name]
    return getattr(importlib.import_module(module), attribute)
