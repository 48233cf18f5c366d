"""The estimator registry: every estimator, built-in or third-party, is an entry point.

A package declares its estimators in ``[project.entry-points."nas_suite.estimators"]`` as
``name = "module:Class"`` (this project's own are declared the same way in its pyproject.toml),
and is found once installed (``pip install -e .`` for a checkout). Entry points are imported when
an estimator is asked for by name or the list is needed; a plugin that fails to import, or whose
class breaks the contract's metadata rules, is reported as a warning and skipped, never a crashed run.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Mapping
from importlib import metadata
from typing import Any

from suite.errors import UsageError
from suite.estimator import FAMILIES, Estimator, capability_errors

ENTRY_POINT_GROUP = "nas_suite.estimators"

_REGISTRY: dict[str, type] = {}
_loaded = False


def register_estimator(cls: type, entry_point: str | None = None) -> type:
    """Validate ``cls`` and add it under ``cls.name``; refuses duplicates, bad metadata and
    capabilities that disagree with the methods it overrides.

    Args:
        entry_point: the entry point's name, which must equal ``cls.name`` (None: not from one).
    """
    if not (isinstance(cls, type) and issubclass(cls, Estimator)):
        raise TypeError(f"{cls!r} is not an Estimator subclass")
    if not cls.name or cls.family not in FAMILIES:
        raise ValueError(f"{cls.__name__}: set a name and a family in {FAMILIES}")
    if entry_point is not None and entry_point != cls.name:
        raise ValueError(f"entry point {entry_point!r} names {cls.__name__}, whose name is {cls.name!r}; make them equal")
    errors = capability_errors(cls)
    if errors:
        raise ValueError(f"{cls.__name__}: {errors[0]}")
    existing = _REGISTRY.get(cls.name)
    if existing is not None and existing is not cls:
        raise ValueError(f"estimator name {cls.name!r} is already registered by {existing.__module__}.{existing.__name__}")
    _REGISTRY[cls.name] = cls
    return cls


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            register_estimator(ep.load(), ep.name)
        except Exception as exc:  # a broken plugin must not take the suite down
            warnings.warn(f"estimator plugin {ep.name!r} ({ep.value}) failed to load: {exc}", stacklevel=2)
    if not _REGISTRY:
        raise UsageError("no estimator is installed (none in the nas_suite.estimators entry points): install the "
                         "suite with `pip install -e .` in its checkout, not only on sys.path")
    _loaded = True


def list_estimators() -> list[type]:
    """Registered estimator classes, sorted by family then name."""
    _load_all()
    return sorted(_REGISTRY.values(), key=lambda c: (c.family, c.name))


def get_estimator_class(name: str) -> type:
    """The class registered as ``name``; UsageError suggesting the nearest name otherwise."""
    _load_all()
    if name not in _REGISTRY:
        near = difflib.get_close_matches(name, _REGISTRY, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise UsageError(f"unknown estimator {name!r}{hint}; `suite list` shows the registered ones")
    return _REGISTRY[name]


def build_estimator(name: str, config: Mapping[str, Any] | None, space_name: str, *,
                    require_support: bool = True) -> Estimator:
    """The registered estimator ``name`` built for the space ``space_name`` from ``config``.

    The one place an estimator instance is made: a run, its Ray workers, ``suite merge``,
    ``verify`` and ``rerun`` all build here, so an estimator rebuilt from a recorded config is the
    one that was run (the config is resolved against the space, see ``Estimator.resolve_config``).

    Args:
        require_support: refuse (UsageError) an estimator that does not support the space;
            False leaves that check to the caller (``verify`` words it for a file).

    Raises:
        UsageError: unknown name, or (``require_support``) a space the estimator does not support;
            whatever the estimator raises for a config it refuses.
    """
    cls = get_estimator_class(name)
    estimator = cls.for_space(space_name, config)
    if require_support and not estimator.supports(space_name):
        raise UsageError(f"estimator {name!r} does not support the {space_name} space")
    return estimator
