"""A conformance check every registered estimator must pass (third-party plugins can run it too).

    from suite.conformance import check_estimator
    check_estimator(MyEstimator, space, archs)

It checks the contract, not quality: metadata, config round trip, score shape and dtype, and, for
estimators that declare themselves deterministic, bit-identical scores for the same seed whatever
the order of the architectures.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from suite.estimator import FAMILIES, Estimator, RunContext


def check_estimator(cls: type[Estimator], space: Any, archs: Sequence[Any], seed: int = 20,
                    config: dict[str, Any] | None = None, **context: Any) -> None:
    """Raise AssertionError naming the first broken rule of the estimator contract.

    Args:
        cls: the estimator class.
        space: a search space the estimator supports.
        archs: a few architectures of that space (3 or more).
        seed: the run seed.
        config: options to construct the estimator with (default: none, its defaults).
        context: extra RunContext fields (data_dir, cache_dir) for estimators that read data.
    """
    assert issubclass(cls, Estimator), f"{cls!r} is not an Estimator"
    assert cls.name and cls.family in FAMILIES, f"{cls.__name__}: name and a family in {FAMILIES} are required"
    assert cls.summary, f"{cls.name}: a one-line summary is required (it is shown by `suite list`)"
    assert dataclasses.is_dataclass(cls.Config), f"{cls.name}: Config must be a dataclass"
    estimator = cls(**(config or {}))
    estimator.bind_space(space.name)
    config = estimator.get_config()
    assert json.loads(json.dumps(config)) == config, f"{cls.name}: the config must be JSON-serialisable"
    again = cls(**config)
    again.bind_space(space.name)
    assert again.get_config() == config, f"{cls.name}: Config(**get_config()) must round-trip"
    assert len(archs) >= 3, "give at least 3 architectures"

    def scores_of(order: Sequence[Any]) -> tuple[dict[str, np.ndarray], tuple[str, ...]]:
        est = cls(**config)
        est.bind_space(space.name)
        ctx = RunContext(space=space, seed=seed, **context)
        est.prepare(ctx)
        return {label: np.asarray(est.score(list(order), ctx, label)) for label in est.snapshots()}, est.components()

    first, components = scores_of(archs)
    assert first, f"{cls.name}: snapshots() must name at least one snapshot"
    for label, scores in first.items():
        assert scores.ndim in (1, 2) and scores.shape[0] == len(archs), (
            f"{cls.name}[{label}]: {scores.shape} scores for {len(archs)} archs (expected [n] or [n, k])")
        if components:
            assert cls.combine is not Estimator.combine, f"{cls.name}: names components but does not override combine"
            assert scores.shape == (len(archs), len(components)), (
                f"{cls.name}[{label}]: {scores.shape} values for components {components}")
        assert scores.dtype == np.float64, f"{cls.name}[{label}]: scores must be float64, got {scores.dtype}"
    if cls.deterministic:
        again, _ = scores_of(list(archs)[::-1])
        for label, scores in first.items():
            assert again[label][::-1].tobytes() == scores.tobytes(), (
                f"{cls.name}[{label}]: declared deterministic, but scores changed with the order or the call"
            )
