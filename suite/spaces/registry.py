"""The registry of search spaces: every space's name and where its space object lives.

:func:`get_space` imports a space's package only when asked (so ``suite list`` does not import
every space).
"""

from __future__ import annotations

import importlib

from suite.spaces.base import SearchSpace

#: space name -> (module, attribute) of its space object.
SPACE_OBJECTS: dict[str, tuple[str, str]] = {
    "nb201": ("suite.spaces.nb201.space", "NB201"),
    "nb101": ("suite.spaces.nb101.space", "NB101"),
    "nb101-1shot1-3": ("suite.spaces.nb101.space", "NB101_SPACE3"),
    "nb301": ("suite.spaces.nb301.space", "NB301"),
    "nds-resnet": ("suite.spaces.nds.space", "NDS_RESNET"),
    "nds-resnexta": ("suite.spaces.nds.space", "NDS_RESNEXTA"),
}


def get_space(name: str) -> SearchSpace:
    """The space object called ``name`` (KeyError listing the known names otherwise)."""
    if name not in SPACE_OBJECTS:
        raise KeyError(f"unknown search space {name!r}; known: {', '.join(SPACE_OBJECTS)}")
    module, attribute = SPACE_OBJECTS[name]
    return getattr(importlib.import_module(module), attribute)
