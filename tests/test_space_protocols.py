"""Every registered space satisfies the typed interfaces of suite.spaces.base, and importing the
spaces' torch-free parts imports no torch."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from suite.spaces import SPACE_OBJECTS, OpSlotSpace, SearchSpace, get_space

#: The spaces whose architectures are operations in slots (the op-level analyses run on them).
OP_SLOT_SPACES = {"nb201", "nb101", "nb101-1shot1-3", "nb301"}


def _members(protocol: type) -> list[str]:
    return [name for name, value in vars(protocol).items() if inspect.isfunction(value) and not name.startswith("_")]


def _same_parameters(space, protocol: type) -> None:
    """Each method of ``protocol`` takes at least the protocol's named parameters."""
    for name in _members(protocol):
        wanted = [p for p in inspect.signature(getattr(protocol, name)).parameters.values()
                  if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        have = inspect.signature(getattr(space, name)).parameters
        for p in wanted:
            assert p.name in have, f"{space.name}.{name} lacks the parameter {p.name!r}"


@pytest.mark.parametrize("name", sorted(SPACE_OBJECTS))
def test_every_space_is_a_search_space(name):
    space = get_space(name)
    assert isinstance(space, SearchSpace) and space.name == name
    _same_parameters(space, SearchSpace)
    arch = space.sample(np.random.default_rng(0), 1)[0]
    assert space.parse(space.format(arch)) == arch and isinstance(space.canonical(arch), str)
    assert space.param_count(arch) > 0 and space.flop_count(arch) > 0


@pytest.mark.parametrize("name", sorted(SPACE_OBJECTS))
def test_the_op_slot_spaces_are_exactly_those_with_operation_slots(name):
    space = get_space(name)
    assert isinstance(space, OpSlotSpace) == (name in OP_SLOT_SPACES)
    if name in OP_SLOT_SPACES:
        _same_parameters(space, OpSlotSpace)
        arch = space.sample(np.random.default_rng(1), 1)[0]
        slots = space.op_slots(arch)
        assert len(space.slot_names(arch)) == len(slots) and set(slots) <= set(space.candidate_ops())


def test_the_torch_free_parts_import_no_torch():
    code = ("import sys\n"
            "import suite.spaces, suite.spaces.nb201, suite.spaces.nb101, suite.spaces.nb301, suite.spaces.nds\n"
            "from suite.spaces import SPACE_OBJECTS, get_space\n"
            "[get_space(name) for name in SPACE_OBJECTS]\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
