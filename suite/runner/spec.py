"""What a run is asked to do: what to score, where, and how it is judged (RunSpec), and how it executes (RunOptions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from suite import protocol


@dataclass(frozen=True)
class RunSpec:
    """Everything that defines a run (the CLI's options, validated)."""

    benchmark: str
    estimator: str
    seed: int = protocol.SEEDS[0]
    config: dict[str, Any] = field(default_factory=dict)
    sample: int | None = None
    gt_column: str | None = None
    nonfinite: str = "worst"
    device: str = "auto"
    data_dir: Path | None = None
    cache_dir: Path | None = None


@dataclass(frozen=True)
class RunOptions:
    """How a run executes; none of these changes a score (threads is recorded and checked).

    Attributes:
        journal_dir: where journals live; None keeps the journal in memory (no resume).
        shard: (index, count): score only run positions ``p`` with ``p % count == index``.
        executor: ``local`` or ``ray``.
        address: Ray address (None: start a local instance).
        workers: Ray actors (default: cluster CPUs / threads, or GPUs).
        ray_cpus: CPUs of a local Ray instance (default: all).
        threads: torch intra-op threads (default: torch's current setting). CPU scores depend on it.
        restart: discard an existing journal of this run instead of resuming it.
        progress: ``auto``, ``bar``, ``log`` or ``none``.
    """

    journal_dir: Path | None = None
    shard: tuple[int, int] | None = None
    executor: str = "local"
    address: str | None = None
    workers: int | None = None
    ray_cpus: int | None = None
    threads: int | None = None
    restart: bool = False
    progress: str = "auto"
