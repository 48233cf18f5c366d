"""What earlier checks of one file found, for the later ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from suite.results import ResultFile
from suite.signing import Envelope


@dataclass
class FileState:
    """What earlier checks of one file found, for the later ones."""

    data: bytes | None = None
    raw: Any = None
    envelope: Envelope | None = None
    statement: dict[str, Any] | None = None
    result: ResultFile | None = None
    digest: str | None = None
    benchmark: Any = None
    estimator: Any = None  # the installed estimator, bound to the benchmark's space (once looked up)
    estimator_looked_up: bool = False  # whether ``estimator`` was looked up (None then: not installed)
    estimator_ok: bool | None = None  # the estimator check: passed, failed (False) or skipped (None)
