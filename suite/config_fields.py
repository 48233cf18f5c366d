"""Typed, bounded estimator options: a config field says its range, and one check enforces it.

    @dataclass(frozen=True)
    class MyConfig:
        lr: float = option(0.05, gt=0, le=10)
        epochs: int = option(1000, ge=1, le=100_000)

Every float option must be finite (``nan``, ``inf`` and ``1e999`` are never a setting), whether or
not it declares a range; an option's range is its field's ``metadata["bounds"]``.
:meth:`suite.estimator.Estimator.make_config` runs :func:`check_values` on every config it makes,
so ``-c lr=-1`` from the CLI, a recorded config and a plugin's call all meet the same check.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from suite.errors import UsageError


@dataclass(frozen=True)
class Bounds:
    """An interval: ``ge``/``gt`` below, ``le``/``lt`` above (None: open on that side)."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    def violation(self, value: float) -> str | None:
        """Why ``value`` is outside, in words ("must be > 0"), or None."""
        for bound, holds, word in ((self.ge, lambda b: value >= b, ">="), (self.gt, lambda b: value > b, ">"),
                                   (self.le, lambda b: value <= b, "<="), (self.lt, lambda b: value < b, "<")):
            if bound is not None and not holds(bound):
                return f"must be {word} {bound:g}"
        return None


def option(default: Any, *, ge: float | None = None, gt: float | None = None, le: float | None = None,
           lt: float | None = None) -> Any:
    """A dataclass field with ``default`` and a range (for ``int``/``float`` options)."""
    return dataclasses.field(default=default, metadata={"bounds": Bounds(ge=ge, gt=gt, le=le, lt=lt)})


def check_values(estimator: str, config: Any) -> None:
    """UsageError (one line, naming the option and its range) for the first value out of range.

    Args:
        estimator: the estimator's name, for the message.
        config: a Config dataclass instance.
    """
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if isinstance(value, float) and not math.isfinite(value):
            raise UsageError(f"option {field.name!r} of {estimator!r} must be a finite number, got {value!r}")
        bounds = field.metadata.get("bounds")
        why = bounds.violation(value) if bounds is not None else None
        if why:
            raise UsageError(f"option {field.name!r} of {estimator!r} {why}, got {value!r}")
