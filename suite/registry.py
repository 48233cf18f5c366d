"""The estimator registry: a decorator in-tree, an entry-point group for third-party packages.

Third-party packages declare ``[project.entry-points."nas_suite.estimators"] name = "module:Class"``.
Entry points are imported only when an estimator is asked for by name or the list is needed; a
plugin that fails to import is reported as a warning and skipped, never a crashed run.
"""

from __future__ import annotations

import difflib
import importlib
import warnings
from importlib.metadata import entry_points

from suite.errors import UsageError

ENTRY_POINT_GROUP = "nas_suite.estimators"
#: Modules of the in-tree estimators; importing them runs their ``@register_estimator`` decorators.
BUILTIN_MODULES: tuple[str, ...] = (
    "estimators.baselines", "estimators.reference", "estimators.zero_shot", "estimators.one_shot", "estimators.closenet",
)

_REGISTRY: dict[str, type] = {}
_loaded = False


def register_estimator(cls: type) -> type:
    """Class decorator: register ``cls`` under ``cls.name``; refuses duplicates and bad metadata."""
    from suite.estimator import FAMILIES, Estimator

    if not (isinstance(cls, type) and issubclass(cls, Estimator)):
        raise TypeError(f"{cls!r} is not an Estimator subclass")
    if not cls.name or cls.family not in FAMILIES:
        raise ValueError(f"{cls.__name__}: set a name and a family in {FAMILIES}")
    existing = _REGISTRY.get(cls.name)
    if existing is not None and existing is not cls:
        raise ValueError(f"estimator name {cls.name!r} is already registered by {existing.__module__}.{existing.__name__}")
    _REGISTRY[cls.name] = cls
    return cls


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _REGISTRY:
            continue
        try:
            register_estimator(ep.load())
        except Exception as exc:  # a broken plugin must not take the suite down
            warnings.warn(f"estimator plugin {ep.name!r} ({ep.value}) failed to load: {exc}", stacklevel=2)


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
