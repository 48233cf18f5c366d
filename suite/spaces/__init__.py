"""Search spaces: architecture types, parse/format, enumeration, canonical forms, networks.

Spaces know nothing about estimators or benchmarks. One package per space (``nb201``, ``nb101``,
``nb301``, ``nds``), each with ``arch`` (the torch-free architecture type and its counts),
``network`` (the standalone network), ``supernet`` (the weight bank) and ``space`` (the space
object). :mod:`suite.spaces.base` states the interfaces; :func:`get_space` finds a space by name.
"""

from suite.spaces.base import OpSlotSpace, SearchSpace
from suite.spaces.registry import SPACE_OBJECTS, get_space
