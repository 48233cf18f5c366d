"""The estimator contract.

An estimator is a small class found by name (see :mod:`suite.registry`). The core is six things:
``name``, ``family``, ``summary``, a ``Config`` dataclass (its keyword arguments: recorded in
every result, part of the result's identity), ``prepare(ctx)`` (one-off work: train a supernet;
nothing for zero-shot) and ``score(archs, ctx, snapshot)`` (one float per architecture, higher =
predicted better). ``__init__`` only stores the config; :meth:`Estimator.resolve_config` turns the
options a user gave into the full config of a run on one space, as a pure function.

What only some estimators do (snapshots, components, fusion, state hashes, ...) is declared in one
place, the class's :class:`Capabilities`; the runner calls an optional method only when its
capability is declared, and :func:`suite.conformance.check_estimator` (and the registry) refuse a
class whose overridden methods and declared capabilities disagree.
Estimators choose no device, set no global flags and do no I/O: the runner owns all three.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from suite.data.cifar10 import load_cifar10_train
from suite.config_fields import check_values
from suite.errors import UsageError

if TYPE_CHECKING:
    import torch


def _cpu() -> torch.device:
    import torch  # deferred: torch, so that verify and the leaderboard can read the contract without it

    return torch.device("cpu")

FAMILIES: tuple[str, ...] = ("baseline", "zero-shot", "one-shot", "reference")


@dataclass(frozen=True)
class NoConfig:
    """For estimators without options."""


@dataclass(frozen=True)
class Capabilities:
    """What an estimator does beyond the core contract. Every field is off by default.

    Attributes:
        snapshots: ``snapshots()`` labels several score vectors per run (one per training budget);
            otherwise the one label is ``final``.
        components: ``score`` returns the columns ``components(space_name)`` names, and
            ``combine`` turns them, over all scored architectures, into the scores (e.g. a vote).
        fusion: estimators of one class with equal ``fusion_group()`` are scored together by the
            class's ``score_fused`` (sharing work per architecture).
        state_hashes: ``state_hashes()`` hashes what ``prepare`` built that decides the scores.
        run_record: ``run_record(ctx)`` reports facts about the run that are not scores.
        reference_gt: ``reference_gt_column()`` may name the ground-truth column a preset was
            published against.
        splits_batch: ``split_batch()`` (and ``restore_batch()``) lower peak memory after an
            out-of-memory error.
        prepares_in_work_dir: ``prepare`` leaves its work in ``ctx.work_dir``, where a second call
            finds it and returns at once: the runner calls it in the driver before Ray workers start.
        chunk_size: architectures per ``score`` call (None: the runner's default, 256); slow
            estimators take few, so that the journal and the progress bar move often.
        trained_weights: ``trained_weights()`` yields the weights ``prepare`` trained (written
            beside the result) and ``load_trained_weights`` takes them back instead of ``prepare``,
            so that ``suite verify --rerun`` re-scores from published weights.
        rerun_tolerance: (relative, absolute) difference a re-score on another machine may show
            (``suite verify --rerun``; the verifier caps both, and never reads it from the file).
            (0, 0) declares the scores exact (integer counts): every architecture is then re-scored
            and compared exactly.
    """

    snapshots: bool = False
    components: bool = False
    fusion: bool = False
    state_hashes: bool = False
    run_record: bool = False
    reference_gt: bool = False
    splits_batch: bool = False
    prepares_in_work_dir: bool = False
    chunk_size: int | None = None
    trained_weights: bool = False
    rerun_tolerance: tuple[float, float] = (1e-3, 0.0)


#: Per capability: the methods a class declaring it must override, and the methods whose override
#: means the capability is used (so it must be declared).
REQUIRED_METHODS: dict[str, tuple[str, ...]] = {
    "snapshots": ("snapshots",), "components": ("components", "combine"), "fusion": ("fusion_group",),
    "state_hashes": ("state_hashes",), "run_record": ("run_record",), "reference_gt": ("reference_gt_column",),
    "splits_batch": ("split_batch",), "prepares_in_work_dir": ("prepare",),
    "trained_weights": ("trained_weights", "load_trained_weights"),
}
CAPABILITY_METHODS: dict[str, tuple[str, ...]] = {
    "snapshots": ("snapshots",), "components": ("components", "combine"), "fusion": ("fusion_group", "score_fused"),
    "state_hashes": ("state_hashes",), "run_record": ("run_record",), "reference_gt": ("reference_gt_column",),
    "splits_batch": ("split_batch", "restore_batch"), "trained_weights": ("trained_weights", "load_trained_weights"),
}


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
    device: torch.device = field(default_factory=_cpu)
    data_dir: Path | None = None
    cache_dir: Path | None = None
    work_dir: Path | None = None
    progress: str = "none"
    _cifar: Any = field(default=None, repr=False)

    def cifar10(self):
        """The decoded CIFAR-10 training set (loaded on first use)."""
        if self._cifar is None:
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
    Config: ClassVar[type] = NoConfig
    #: What this estimator does beyond the core (see :class:`Capabilities`).
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, **config: Any) -> None:
        self.config = self.make_config(config)

    @classmethod
    def make_config(cls, config: Mapping[str, Any]) -> Any:
        """``Config(**config)``; UsageError naming the option when one is unknown, or when a value
        is not finite or outside the range its field declares (:mod:`suite.config_fields`)."""
        try:
            made = cls.Config(**config)
        except TypeError as exc:
            names = [f.name for f in dataclasses.fields(cls.Config)]
            raise UsageError(
                f"estimator {cls.name!r} does not take {sorted(config)}; its options: {names or 'none'}"
            ) from exc
        check_values(cls.name, made)
        return made

    @classmethod
    def resolve_config(cls, config: Mapping[str, Any], space_name: str) -> Any:
        """The full config of a run on ``space_name`` from the options given (a pure function:
        ``config`` is left as it is, and equal inputs give equal configs).

        Override to fill in the options whose protocol value depends on the space (e.g. a training
        recipe) for those the user left unset, and to refuse invalid options with UsageError.
        Default: ``Config(**config)``, nothing depends on the space."""
        return cls.make_config(config)

    @classmethod
    def for_space(cls, space_name: str, config: Mapping[str, Any] | None = None) -> Estimator:
        """An estimator for a run on ``space_name``, built from its resolved config."""
        return cls(**dataclasses.asdict(cls.resolve_config(dict(config or {}), space_name)))

    def get_config(self) -> dict[str, Any]:
        """The config as a JSON-ready dict (recorded in results)."""
        return dataclasses.asdict(self.config)

    def supports(self, space_name: str) -> bool:
        """Whether this estimator can score architectures of the space."""
        return True

    def prepare(self, ctx: RunContext) -> None:
        """One-off work before scoring (default: none)."""

    @abc.abstractmethod
    def score(self, archs: Sequence[Any], ctx: RunContext, snapshot: str = "final") -> np.ndarray:
        """Scores of ``archs``, higher = predicted better, as float64:

        - [n]: one score per architecture;
        - [n, b]: one value per scoring batch; the runner stores them and scores by their mean;
        - [n, m] when the estimator has components: the m columns ``components`` names.
        """

    # Optional behaviour: called only when ``capabilities`` declares it. The defaults are harmless.

    def snapshots(self) -> list[str]:
        """(``snapshots``) Labels of the score vectors this estimator yields (one-shot: one per training budget)."""
        return ["final"]

    def components(self, space_name: str) -> tuple[str, ...]:
        """(``components``) Names of the columns ``score`` returns on ``space_name``, known before
        ``prepare`` (``suite verify`` checks them without preparing)."""
        return ()

    def combine(self, values: np.ndarray) -> np.ndarray:
        """(``components``) float64 [N, m] component values of all scored architectures -> float64 [N] scores.

        It must not depend on :meth:`prepare` (``suite merge`` combines journaled components without it)."""
        raise NotImplementedError(f"{type(self).__name__} names components but does not combine them")

    def fusion_group(self) -> Hashable | None:
        """(``fusion``) Estimators of one class returning equal groups can be scored together by
        ``type(self).score_fused`` (sharing work per architecture); None: never fused."""
        return None

    @classmethod
    def score_fused(cls, estimators: Sequence[Estimator], archs: Sequence[Any], ctx: RunContext) -> list[np.ndarray]:
        """(``fusion``) Scores of several estimators of one fusion group: one array per estimator, as ``score``."""
        return [e.score(archs, ctx) for e in estimators]

    def state_hashes(self) -> dict[str, str]:
        """(``state_hashes``) Content hashes (sha256 hex) of what ``prepare`` built that decides the
        scores, e.g. a one-shot estimator's trained weights per seed and snapshot; keys name the
        estimator. The runner journals them with the data hashes, so a resumed session, a Ray
        worker or a shard whose state differs (retrained elsewhere) is refused rather than mixed
        into one result."""
        return {}

    def run_record(self, ctx: RunContext) -> dict[str, Any]:
        """(``run_record``) JSON-ready facts about this run that are not scores, known once
        ``prepare`` ran (e.g. a one-shot training's forgetting values, a reference line's cost);
        the runner journals them and writes them into each result's
        ``provenance["estimator_record"]``."""
        return {}

    def trained_weights(self) -> Iterator[tuple[str, dict[str, torch.Tensor]]]:
        """(``trained_weights``) (key, state dict) of each set of weights ``prepare`` trained, keyed
        and hashed as in :meth:`state_hashes` (:func:`suite.weights.state_sha256`); the runner writes
        them beside the result so that ``suite verify --rerun`` can re-score from them."""
        return iter(())

    def load_trained_weights(self, weights: dict[str, dict[str, torch.Tensor]], ctx: RunContext) -> None:
        """(``trained_weights``) Instead of ``prepare``: take the weights :meth:`trained_weights` gave
        (keyed alike, hashes checked by the caller), so that ``score`` scores with them; raises
        UsageError when a key it needs is missing."""
        raise UsageError(f"estimator {self.name!r} trains nothing; it has no weights to load")

    def reference_gt_column(self) -> str | None:
        """(``reference_gt``) The ground-truth column a reproduction preset was published against
        (None: the protocol's). Used only when the user names no column."""
        return None

    def split_batch(self) -> str | None:
        """(``splits_batch``) Lower peak memory by processing the scoring batch in smaller pieces,
        after an out-of-memory error; returns the new setting in words ("micro-batch 32"), or None
        when the batch cannot be split (further). Scores that depend on the whole batch (batch-norm
        statistics in train mode, as in every zero-shot measure) would change: those cannot."""
        return None

    def restore_batch(self) -> None:
        """(``splits_batch``) Undo :meth:`split_batch` (called after the architecture that needed it)."""


def trains(estimator: Estimator) -> bool:
    """Whether ``estimator``'s scores come from weights it trains (it can load exported ones)."""
    return estimator.capabilities.trained_weights


def snapshot_labels(estimator: Estimator) -> list[str]:
    """The labels of the score vectors ``estimator`` yields: its snapshots, or ``["final"]``."""
    return list(estimator.snapshots()) if estimator.capabilities.snapshots else ["final"]


def component_names(estimator: Estimator, space_name: str) -> tuple[str, ...]:
    """The components ``estimator`` combines on ``space_name``; () when its scores are the score."""
    return tuple(estimator.components(space_name)) if estimator.capabilities.components else ()


def reference_gt_column(estimator: Estimator) -> str | None:
    """The ground-truth column ``estimator``'s config was published against; None: the protocol's."""
    return estimator.reference_gt_column() if estimator.capabilities.reference_gt else None


def overrides(cls: type, method: str) -> bool:
    """Whether ``cls`` (or a base below :class:`Estimator`) defines ``method``."""
    owner = next((k for k in cls.__mro__ if method in vars(k)), None)
    return owner is not None and owner is not Estimator


def capability_errors(cls: type[Estimator]) -> list[str]:
    """How ``cls``'s declared capabilities disagree with the methods it overrides (empty: they agree)."""
    caps = getattr(cls, "capabilities", None)  # a class from outside may set anything
    if not isinstance(caps, Capabilities):
        return [f"capabilities must be a suite.estimator.Capabilities, got {caps!r}"]
    errors = []
    for capability, methods in REQUIRED_METHODS.items():
        missing = [m for m in methods if not overrides(cls, m)]
        if getattr(caps, capability) and missing:
            errors.append(f"declares {capability} but does not override {' or '.join(missing)}")
    for capability, methods in CAPABILITY_METHODS.items():
        used = [m for m in methods if overrides(cls, m)]
        if used and not getattr(caps, capability):
            errors.append(f"overrides {', '.join(used)} but does not declare Capabilities({capability}=True)")
    size = caps.chunk_size
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 1):
        errors.append(f"chunk_size must be None or an int >= 1, got {size!r}")
    tolerance = caps.rerun_tolerance
    if not (isinstance(tolerance, tuple) and len(tolerance) == 2
            and all(isinstance(t, (int, float)) and not isinstance(t, bool) and 0 <= t < 1 for t in tolerance)):
        errors.append(f"rerun_tolerance must be (relative, absolute), each in [0, 1), got {tolerance!r}")
    return errors


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
