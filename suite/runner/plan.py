"""The resolved plan of a run: one frozen, picklable object every part of the run reads, Ray workers included.

The journal's identity, the executors, result building and merge all read the plan instead of
each rebuilding the run's identity from the specs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class EstimatorPlan:
    """One estimator of the run.

    Attributes:
        name: the registered name.
        config: the config as the estimator, bound to the benchmark's space, resolves it
            (``get_config()``): what the journal records and workers rebuild it from.
        gt_column: the ground-truth column its criteria are computed on (resolved: the asked
            column, else the estimator's reference column, else the benchmark's default).
    """

    name: str
    config: dict[str, Any]
    gt_column: str


@dataclass(frozen=True)
class RunPlan:
    """A run, resolved once from its specs, options and loaded benchmark.

    Attributes:
        benchmark: the benchmark's name; ``space``: its search space's name.
        archs_sha256: hash of the benchmark's architectures (see :func:`suite.runner.identity.archs_hash`).
        seed: the run's seed (a protocol seed); ``sample``: the sample size (None: the whole subset).
        shard: (index, count) of a shard, None for a whole run.
        run_ids: the architecture ids this run (or shard) scores, in run order.
        estimators: the estimators, in run order.
        gt_column: the ground-truth column as asked (None: each estimator's default), journaled
            as the criteria setting; ``nonfinite``: how non-finite scores enter the criteria.
        device: the resolved torch device (``cpu``, ``cuda``, ``cuda:1``).
        threads: torch intra-op threads (None only in a plan rebuilt from CUDA shards' journals).
        data_dir, cache_dir: where data lives and where decoded data is cached.
        journal_dir: where the journal lives (None: in memory).
        executor: ``local``, ``ray`` (or ``merge`` for a plan rebuilt from shards' journals).
        address, workers, ray_cpus: Ray settings (see :class:`suite.runner.spec.RunOptions`).
        progress: the progress mode; ``restart``: discard an existing journal of this run.
    """

    benchmark: str
    space: str
    archs_sha256: str
    seed: int
    sample: int | None
    shard: tuple[int, int] | None
    run_ids: tuple[int, ...]
    estimators: tuple[EstimatorPlan, ...]
    gt_column: str | None
    nonfinite: str
    device: str
    threads: int | None
    data_dir: Path | None = None
    cache_dir: Path | None = None
    journal_dir: Path | None = None
    executor: str = "local"
    address: str | None = None
    workers: int | None = None
    ray_cpus: int | None = None
    progress: str = "auto"
    restart: bool = False

    @property
    def ids(self) -> np.ndarray:
        """int64 [n]: ``run_ids`` as an array."""
        return np.asarray(self.run_ids, dtype=np.int64)

    @property
    def device_type(self) -> str:
        """``cpu``, ``cuda``, ... (the device without its index)."""
        return self.device.partition(":")[0]

    @property
    def scoring_threads(self) -> int | None:
        """The thread count the scores depend on: ``threads`` on CPU, None on an accelerator."""
        return self.threads if self.device_type == "cpu" else None

    @property
    def estimator_names(self) -> list[str]:
        return [e.name for e in self.estimators]
