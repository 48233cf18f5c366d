"""The type of each journal record, checked before it is folded: a damaged or edited line is named,
never read as something else (``true`` as the score 1.0, a nested list as a vector)."""

from __future__ import annotations

import math
from typing import Any


def record_problem(obj: Any) -> str | None:
    """What is wrong with the type of a journal record (None: nothing). Every field a record has is
    checked, so that ``true`` is never read as the score 1.0 nor a nested list as a vector."""
    if not isinstance(obj, dict):
        return "not a JSON object"
    if "session" in obj:
        return None if isinstance(obj["session"], dict) else "session is not an object"
    if "meta" in obj:
        meta = obj["meta"]
        if not isinstance(meta, dict):
            return "meta is not an object"
        data = meta.get("data", {})
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            return "meta.data is not an object of strings"
        return None
    if "attempt" in obj:
        if not _is_id(obj["attempt"]) or not isinstance(obj.get("label"), str):
            return "an attempt needs an integer or string id and a string label"
        return None if isinstance(obj.get("cancelled", False), bool) else "cancelled is not true or false"
    if not _is_id(obj.get("arch")) or not isinstance(obj.get("label"), str):
        return "a record needs arch (an integer or string id) and label (a string)"
    scores = obj.get("scores", {})
    if not isinstance(scores, dict):
        return "scores is not an object"
    for name, value in scores.items():
        if not (_is_score(value) or (isinstance(value, list) and value and all(map(_is_score, value)))):
            return (f"the score of {name[:40]!r} is not a number, one of 'NaN', 'Infinity', '-Infinity', "
                    "nor a non-empty flat list of them")
    for key in ("failed", "retried"):
        value = obj.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            return f"{key} is not an object of strings"
    return None


def _is_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _is_score(value: Any) -> bool:
    """A journaled score: a finite float (written with a point or an exponent), or a non-finite one as its string."""
    return (isinstance(value, float) and math.isfinite(value)) or value in ("NaN", "Infinity", "-Infinity")
