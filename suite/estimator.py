"""The estimator contract.

An estimator is a small class registered by name. Its keyword arguments are its config (a
dataclass, recorded in every result, part of the result's identity); ``__init__`` only stores
them. ``prepare(ctx)`` does one-off work (train a supernet; nothing for zero-shot), and
``score(archs, ctx, snapshot)`` returns one float per architecture, higher = predicted better.
Estimators choose no device, set no global flags and do no I/O: the runner owns all three.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from suite.errors import UsageError

FAMILIES: tuple[str, ...] = ("baseline", "zero-shot", "one-shot", "reference")


@dataclass(frozen=True)
class NoConfig:
    """For estimators without options."""


@dataclass
class RunContext:
    """What the runner hands an estimator.

    Estimators see the search space and the data, never the ground truth.

    Attributes:
        space: the benchmark's search space.
        seed: the run's seed (one of the protocol's).
        device: the torch device the runner chose.
        data_dir, cache_dir: where data lives and where decoded data is cached.
        work_dir: this run's private directory for resumable state (a one-shot estimator's
            training checkpoints, see :mod:`suite.training`); None when the run keeps no journal.
        progress: how long work in ``prepare`` (training) reports progress: a mode of
            :mod:`suite.progress` (the run's; ``none`` in Ray workers and tests).
    """

    space: Any
    seed: int
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    data_dir: Path | None = None
    cache_dir: Path | None = None
    work_dir: Path | None = None
    progress: str = "none"
    _cifar: Any = field(default=None, repr=False)

    def cifar10(self):
        """The decoded CIFAR-10 training set (loaded on first use)."""
        if self._cifar is None:
            from suite.data.cifar10 import load_cifar10_train

            self._cifar = load_cifar10_train(self.data_dir, self.cache_dir)
        return self._cifar

    def data_hashes(self) -> dict[str, str]:
        """Content hashes of the data the estimator read (recorded in the result's provenance)."""
        return {} if self._cifar is None else {"cifar10_content": self._cifar.content_sha256}


class Estimator(abc.ABC):
    """Base class of every estimator. Subclasses set the class attributes and implement ``score``."""

    name: ClassVar[str] = ""
    family: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    #: Same inputs and seed give bit-identical scores on CPU.
    deterministic: ClassVar[bool] = True
    #: (relative, absolute) difference a re-score on another machine may show (``suite verify
    #: --rerun``; the verifier caps both). (0, 0) declares the scores exact (integer counts, equal on
    #: every machine): every architecture is then re-scored and compared exactly.
    rerun_tolerance: ClassVar[tuple[float, float]] = (1e-3, 0.0)
    Config: ClassVar[type] = NoConfig
    #: ``prepare`` leaves its work (a trained supernet) in ``ctx.work_dir``, where a second call
    #: finds it and returns at once: the runner calls it in the driver before Ray workers start.
    prepares_in_work_dir: ClassVar[bool] = False

    def __init__(self, **config: Any) -> None:
        try:
            self.config = self.Config(**config)
        except TypeError as exc:
            names = [f.name for f in dataclasses.fields(self.Config)]
            raise UsageError(
                f"estimator {self.name!r} does not take {sorted(config)}; its options: {names or 'none'}"
            ) from exc

    def get_config(self) -> dict[str, Any]:
        """The config as a JSON-ready dict (recorded in results)."""
        return dataclasses.asdict(self.config)

    def supports(self, space_name: str) -> bool:
        """Whether this estimator can score architectures of the space."""
        return True

    def bind_space(self, space_name: str) -> None:
        """Fill in options whose protocol value depends on the space (e.g. a training recipe), for
        options the user left unset; called once the benchmark is known, before ``get_config``
        is recorded (default: nothing depends on the space)."""

    def prepare(self, ctx: RunContext) -> None:
        """One-off work before scoring (default: none)."""

    def run_record(self, ctx: RunContext) -> dict[str, Any]:
        """JSON-ready facts about this run that are not scores, known once ``prepare`` ran (e.g. a
        one-shot training's forgetting values, a reference line's cost); the runner journals them
        and writes them into each result's ``provenance["estimator_record"]``. Default: none."""
        return {}

    def state_hashes(self) -> dict[str, str]:
        """Content hashes (sha256 hex) of what ``prepare`` built that decides the scores, e.g. a
        one-shot estimator's trained weights per seed and snapshot; keys name the estimator. The
        runner journals them with the data hashes, so a resumed session, a Ray worker or a shard
        whose state differs (retrained elsewhere) is refused rather than mixed into one result.
        Default: none."""
        return {}

    def trained_weights(self) -> Iterator[tuple[str, dict[str, torch.Tensor]]]:
        """(key, state dict) of each set of weights ``prepare`` trained, keyed and hashed as in
        :meth:`state_hashes` (:func:`suite.weights.state_sha256`); the runner writes them beside the
        result so that ``suite verify --rerun`` can re-score from them. Default: none."""
        return iter(())

    def load_trained_weights(self, weights: dict[str, dict[str, torch.Tensor]], ctx: RunContext) -> None:
        """Instead of ``prepare``: take the weights :meth:`trained_weights` gave (keyed alike, hashes
        checked by the caller), so that ``score`` scores with them. Estimators that train override
        both (:func:`trains`); raises UsageError when a key it needs is missing."""
        raise UsageError(f"estimator {self.name!r} trains nothing; it has no weights to load")

    def snapshots(self) -> list[str]:
        """Labels of the score vectors this estimator yields (one-shot: one per training budget)."""
        return ["final"]

    @abc.abstractmethod
    def score(self, archs: Sequence[Any], ctx: RunContext, snapshot: str = "final") -> np.ndarray:
        """Scores of ``archs``, higher = predicted better, as float64:

        - [n]: one score per architecture;
        - [n, b]: one value per scoring batch; the runner stores them and scores by their mean;
        - [n, m] when :meth:`components` names m columns: inputs of :meth:`combine`.
        """

    def components(self) -> tuple[str, ...]:
        """Names of the columns ``score`` returns when the final score combines them over all scored
        architectures (e.g. a vote); empty (the default) when ``score`` gives the scores itself."""
        return ()

    def combine(self, values: np.ndarray) -> np.ndarray:
        """float64 [N, m] component values of all scored architectures -> float64 [N] scores.

        Only called when :meth:`components` is non-empty; an estimator naming components must
        override it (``check_estimator`` asserts so), so this default is a contract error. It must
        not depend on :meth:`prepare` (``suite merge`` combines journaled components without it).
        """
        raise NotImplementedError(f"{type(self).__name__} names components but does not combine them")

    def split_batch(self) -> str | None:
        """Lower peak memory by processing the scoring batch in smaller pieces, after an
        out-of-memory error; returns the new setting in words ("micro-batch 32"), or None when the
        batch cannot be split (further). The default cannot: scores that depend on the whole batch
        (batch-norm statistics in train mode, as in every zero-shot measure) would change."""
        return None

    def restore_batch(self) -> None:
        """Undo :meth:`split_batch` (called after the architecture that needed it)."""

    def reference_gt_column(self) -> str | None:
        """The ground-truth column a reproduction preset was published against (None: the protocol's).
        Used only when the user names no column."""
        return None

    def fusion_group(self) -> Hashable | None:
        """Estimators of one class returning equal groups can be scored together by
        ``type(self).score_fused`` (sharing work per architecture); None: never fused."""
        return None

    @classmethod
    def score_fused(cls, estimators: Sequence[Estimator], archs: Sequence[Any], ctx: RunContext) -> list[np.ndarray]:
        """Scores of several estimators of one fusion group: one array per estimator, as ``score``."""
        return [e.score(archs, ctx) for e in estimators]


def trains(estimator: Estimator) -> bool:
    """Whether ``estimator``'s scores come from weights it trains (it can load exported ones)."""
    return type(estimator).load_trained_weights is not Estimator.load_trained_weights


def parse_config_items(estimator_cls: type[Estimator], items: Sequence[str]) -> dict[str, Any]:
    """``["key=value", ...]`` from the CLI -> kwargs typed after the estimator's Config fields."""
    fields = {f.name: f for f in dataclasses.fields(estimator_cls.Config)}
    config: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep:
            raise UsageError(f"--config expects key=value, got {item!r}")
        if key not in fields:
            raise UsageError(f"estimator {estimator_cls.name!r} has no option {key!r}; its options: {sorted(fields) or 'none'}")
        default = fields[key].default
        kind = type(default) if default is not dataclasses.MISSING and default is not None else str
        try:
            if kind is bool:
                if raw.lower() not in ("true", "false", "1", "0"):
                    raise ValueError(raw)
                config[key] = raw.lower() in ("true", "1")
            else:
                config[key] = kind(raw)
        except ValueError:
            raise UsageError(f"option {key!r} of {estimator_cls.name!r} expects {kind.__name__}, got {raw!r}") from None
    return config
