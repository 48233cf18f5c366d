"""A row of a benchmark's table: the key that groups a run's seeds, its cells, cost, device and wall time."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import defaultdict

import numpy as np
import rfc8785

from leaderboard.collect import Accepted
from suite.metrics import HEADLINE

#: The reference line of an independent training's KD (estimators/reference.py): no estimator can beat the
#: ground truth's own noise, so a row above it is flagged for review instead of ranked.
NOISE_CEILING = "gt_noise_ceiling"


def _group(accepted: list[Accepted]) -> dict[tuple, list[Accepted]]:
    """(benchmark, estimator, canonical config, sample, ground-truth column) -> its seeds' results, by seed.

    A run on a sample of the subset is its own row, never a seed of the full run's; so is a run judged
    against another ground-truth column."""
    groups: dict[tuple, list[Accepted]] = defaultdict(list)
    for item in accepted:
        r = item.result
        key = (r.benchmark.name, r.estimator.name, rfc8785.dumps(r.estimator.config).decode(), _sample(r),
               r.benchmark.ground_truth)
        groups[key].append(item)
    return {k: sorted(v, key=lambda a: a.result.seed) for k, v in groups.items()}


def _sample(result) -> str:
    """'' for the whole subset, else 'sample of <n> (seed <s>)'."""
    sample = result.benchmark.sample
    return "" if not sample else f"sample of {sample.get('n')} (seed {sample.get('seed')})"


def _slug(key: tuple) -> str:
    """A file name for a row's key (:func:`_group`): readable, safe whatever the estimator is called."""
    name = re.sub(r"[^a-z0-9_.-]", "_", key[1].lower())[:40].strip(".") or "estimator"
    digest = hashlib.sha256("\x00".join(key).encode()).hexdigest()[:8]
    return f"{key[0]}-{name}-{digest}"


def _aligned(item: Accepted) -> tuple[np.ndarray, np.ndarray]:
    """(ids int64 [n], scores float64 [n]) of a result's last snapshot."""
    return np.array(item.result.arch_ids, dtype=np.int64), item.result.scores()


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def _seconds(value) -> float | None:
    """A duration from the free-form provenance: a finite number >= 0, else None (unknown)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        seconds = float(value)
    except OverflowError:  # an integer beyond float64
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _row(key: tuple, items: list[Accepted]) -> dict:
    """A table row: mean ± std over the seeds of each headline criterion, cost, device, what it was judged on,
    and whether its scores were re-scored by the suite or are self-reported."""
    last = [i.result.snapshots[-1].criteria for i in items]
    cells = []
    for name in HEADLINE:
        values = np.array([np.nan if c.values.get(name) is None else c.values[name] for c in last])
        mean = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
        std = float(np.nanstd(values, ddof=1)) if np.isfinite(values).sum() > 1 else float("nan")
        text = _fmt(mean) + (f" ± {_fmt(std)}" if np.isfinite(std) else "")
        cells.append({"text": text, "sort": _fmt(mean, 6) if np.isfinite(mean) else ""})
    hours, cost_source = _cost_hours(items)
    config = json.loads(key[2])
    return {
        "key": key, "estimator": key[1], "family": items[0].result.estimator.family, "slug": _slug(key),
        "config_note": ", ".join(f"{k}={v}" for k, v in sorted(config.items())),  # the sample has its own column
        "sample": key[3], "gt_column": key[4],
        "seeds": len(items), "n": min(c.n for c in last), "cells": cells, "kd": cells[0]["sort"],
        "hours": "" if hours is None else f"{hours:.6f}", "hours_text": _hours_text(hours), "cost_source": cost_source,
        "device": _device(items[0]),
        # every seed's scores re-scored by the suite (from the code, or from the weights beside the file)
        "scores": "re-scored" if all(i.scores == "re-scored" for i in items) else "self-reported",
        "flag": "",  # set by the benchmark table: e.g. above the noise ceiling, flagged for review
    }


def _cost_hours(items: list[Accepted]) -> tuple[float | None, str]:
    """Mean device-hours of one run over the seeds (None: unknown), and where the figure comes from.

    A result whose estimator recorded the cost of what it stands for (a reference line's training,
    ``provenance.estimator_record.cost.seconds_per_arch``) is charged that for each architecture it
    scored; any other is charged its run's wall time (``provenance.wall_time_s``). Provenance is free
    form: a seed whose figure is not a finite number >= 0 makes the row's cost unknown.
    """
    hours, sources = [], set()
    for item in items:
        result = item.result
        record = result.provenance.get("estimator_record")
        cost = record.get("cost") if isinstance(record, dict) else None
        per_arch = _seconds(cost.get("seconds_per_arch")) if isinstance(cost, dict) else None
        if result.estimator.family != "reference":  # an estimator's own cost is its run's wall time
            per_arch = None
        if per_arch is not None:
            hours.append(per_arch * len(result.arch_ids) / 3600)
            sources.add(str(cost.get("source", "recorded by the estimator")))
        else:
            wall = _seconds(result.provenance.get("wall_time_s"))
            hours.append(None if wall is None else wall / 3600)
            sources.add("wall time of the run" if wall is not None else "wall time of the run: not recorded (?)")
    mean = None if None in hours else float(np.mean(hours))
    return mean, "; ".join(sorted(sources))


def _hours_text(hours: float | None) -> str:
    if hours is None:
        return "?"
    return f"{hours:,.0f}" if hours >= 100 else f"{hours:.4f}"


def _device(item: Accepted) -> str:
    """'<device> (<device name>)' from the provenance (a resumed or fused run: its first session's or
    shard's); '?' for what is not there in the expected shape (free form: a list of dicts of strings)."""
    env = item.result.provenance.get("environment", {})
    if isinstance(env, dict) and ("sessions" in env or "shards" in env):
        runs = env.get("sessions") or env.get("shards") or [{}]
        env = runs[0] if isinstance(runs, list) else None
    if not isinstance(env, dict):
        return "?"
    return f"{_text(env.get('device'))} ({_text(env.get('device_name'))})"


def _text(value) -> str:
    """A provenance string as it is; '?' for anything else (missing, a number, a dict...)."""
    return value if isinstance(value, str) and value else "?"


def _wall_text(value) -> str:
    """A run's wall time in seconds for the provenance table; '?' when it is not a finite number >= 0."""
    seconds = _seconds(value)
    return "?" if seconds is None else _fmt(seconds, 1)
