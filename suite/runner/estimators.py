"""A plan's estimator instances, built through :func:`suite.registry.build_estimator` (the one place)."""

from __future__ import annotations

from suite.estimator import Estimator
from suite.registry import build_estimator
from suite.runner.plan import RunPlan


def build_estimators(plan: RunPlan) -> list[Estimator]:
    """The plan's estimators, rebuilt from their recorded configs (Ray workers, merge)."""
    return [build_estimator(e.name, e.config, plan.space) for e in plan.estimators]
