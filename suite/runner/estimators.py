"""Building estimator instances: the one place an estimator is made from (name, config, space)."""

from __future__ import annotations

from typing import Any

from suite.errors import UsageError
from suite.estimator import Estimator
from suite.registry import get_estimator_class
from suite.runner.plan import RunPlan


def build_estimator(name: str, config: dict[str, Any], space_name: str, *, require_support: bool = True) -> Estimator:
    """The registered estimator ``name`` built from ``config`` and bound to the space ``space_name``.

    A run, its Ray workers, ``suite merge``, ``verify`` and ``rerun`` all build estimators here, so
    an estimator rebuilt from a recorded config is the one that was run.

    Args:
        require_support: refuse (UsageError) an estimator that does not support the space;
            False leaves that check to the caller (``verify`` words it for a file).

    Raises:
        UsageError: unknown name, or (``require_support``) a space the estimator does not support;
            whatever the estimator raises for a config it refuses.
    """
    estimator = get_estimator_class(name)(**config)
    if require_support and not estimator.supports(space_name):
        raise UsageError(f"estimator {name!r} does not support the {space_name} space")
    estimator.bind_space(space_name)
    return estimator


def build_estimators(plan: RunPlan) -> list[Estimator]:
    """The plan's estimators, rebuilt from their recorded configs (Ray workers, merge)."""
    return [build_estimator(e.name, e.config, plan.space) for e in plan.estimators]
