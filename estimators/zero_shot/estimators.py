"""The zero-shot estimator classes: one per measure, sharing passes when run together."""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from estimators.zero_shot import measures as M
from estimators.zero_shot.engine import Preset, ZeroShotEngine, get_preset
from estimators.zero_shot.vote import VOTE_COMPONENTS, copeland_scores
from suite.config_fields import option
from suite.errors import UsageError
from suite.estimator import Capabilities, Estimator, RunContext

#: Spaces whose networks (and supernet, for the study preset) the estimators can build.
SUPPORTED_SPACES = frozenset({"nb201", "nb101", "nb101-1shot1-3", "nb301", "nds-resnet", "nds-resnexta"})


@dataclass(frozen=True)
class ZeroShotConfig:
    """Options of a data-dependent zero-shot estimator.

    Attributes:
        preset: ``study`` (default) or ``abdelfattah2021`` (see :mod:`estimators.zero_shot.engine`).
        batches: number of batches; one value per batch is stored and the score is their mean.
        batch_size: images per batch; 0 takes the preset's (study 128, abdelfattah2021 64).
    """

    preset: str = "study"
    batches: int = option(1, ge=1, le=10_000)
    batch_size: int = option(0, ge=0, le=10_000)


@dataclass(frozen=True)
class DataFreeConfig:
    """Options of a data-free zero-shot estimator: only the preset (it decides the initialisation)."""

    preset: str = "study"


class ZeroShotEstimator(Estimator):
    """Base of the zero-shot estimators; subclasses set ``name``, ``summary`` and ``measure``."""

    family = "zero-shot"
    Config = ZeroShotConfig
    # One architecture per call: about a second each on a CPU, so each is journaled as it is scored.
    capabilities = Capabilities(fusion=True, reference_gt=True, chunk_size=1)
    measure: ClassVar[str] = ""
    #: Built by ``prepare`` (or by ``score_fused`` for its group).
    _engine: ZeroShotEngine | None = None

    @classmethod
    def resolve_config(cls, config: Mapping[str, Any], space_name: str) -> Any:
        """The config as given, checked against its preset (nothing depends on the space)."""
        resolved = super().resolve_config(config, space_name)
        preset = get_preset(resolved.preset)
        batches = resolved.batches if isinstance(resolved, ZeroShotConfig) else 1
        if batches < 1 or (isinstance(resolved, ZeroShotConfig) and resolved.batch_size < 0):
            raise UsageError(f"{cls.name}: batches must be >= 1 and batch_size >= 0 (0 = the preset's)")
        if preset.max_batches is not None and batches > preset.max_batches:
            raise UsageError(f"{cls.name}: preset {preset.name!r} uses {preset.max_batches} batch; drop batches={batches}")
        return resolved

    @property
    def preset(self) -> Preset:
        """The config's preset."""
        return get_preset(self.config.preset)

    @property
    def batches(self) -> int:
        """Batches per architecture (1 for a data-free estimator)."""
        return self.config.batches if isinstance(self.config, ZeroShotConfig) else 1

    @property
    def batch_size(self) -> int:
        """Images per batch: the config's, or the preset's when the config says 0."""
        given = self.config.batch_size if isinstance(self.config, ZeroShotConfig) else 0
        return given or self.preset.batch_size

    def get_config(self) -> dict[str, Any]:
        """The config with the preset's defaults filled in, as recorded in results."""
        if isinstance(self.config, DataFreeConfig):
            return {"preset": self.preset.name}
        return {"preset": self.preset.name, "batches": self.batches, "batch_size": self.batch_size}

    def supports(self, space_name: str) -> bool:
        # A reproduction preset is defined on the space its paper used (its GT column is that space's).
        return space_name in SUPPORTED_SPACES and (self.preset.reference_gt is None or space_name == "nb201")

    def reference_gt_column(self) -> str | None:
        """The ground-truth column of the preset's published numbers (None: the protocol's)."""
        return self.preset.reference_gt

    def measures(self) -> tuple[str, ...]:
        """The raw measures this estimator needs per architecture."""
        return (self.measure,)

    def prepare(self, ctx: RunContext) -> None:
        self._engine = ZeroShotEngine(self.preset, self.batches, self.batch_size, ctx.seed, ctx.space,
                                      ctx.cifar10, ctx.device)

    def score(self, archs: Sequence[Any], ctx: RunContext, snapshot: str = "final") -> np.ndarray:
        """float64 [n, batches] for data measures, [n] for data-free ones."""
        if self._engine is None:
            self.prepare(ctx)
        return self.collect([self._engine.evaluate(a, self.measures()) for a in archs])

    def collect(self, evaluations: list[dict[str, np.ndarray]]) -> np.ndarray:
        """This estimator's scores from per-architecture engine outputs (which may hold more batches
        or more measures than it asked for: it takes its own measure and its first ``batches``)."""
        values = np.stack([e[self.measure] for e in evaluations]) if evaluations else np.empty((0, 1))
        if self.measure in M.DATA_FREE:
            return values[:, 0].astype(np.float64)
        return values[:, : self.batches].astype(np.float64)

    def fusion_group(self) -> Hashable:
        """Estimators of one preset share networks in one sweep (and passes, for one batch size)."""
        return ("zero-shot", self.preset.name)

    def needs_data(self) -> bool:
        """Whether any measure this estimator needs reads the batches."""
        return any(m not in M.DATA_FREE for m in self.measures())

    @classmethod
    def score_fused(cls, estimators: Sequence[ZeroShotEstimator], archs: Sequence[Any],
                    ctx: RunContext) -> list[np.ndarray]:
        """Scores of several estimators of one preset, computed together.

        Estimators are split by batch size (data-free ones join the first split); in each split
        every network is built once and every pass runs once for the union of the measures, over
        as many batches as the most demanding estimator asks for (the others take a prefix).
        Returns one array per estimator, as its own ``score`` would.
        """
        splits: dict[int | None, list[int]] = {}
        for i, e in enumerate(estimators):
            splits.setdefault(e.batch_size if e.needs_data() else None, []).append(i)
        if None in splits and len(splits) > 1:
            splits[next(k for k in splits if k is not None)].extend(splits.pop(None))
        out: list[np.ndarray] = [np.empty(0)] * len(estimators)
        for members in splits.values():
            group = [estimators[i] for i in members]
            owner = next((e for e in group if e.needs_data()), group[0])
            batches = max(e.batches for e in group)
            if owner._engine is None or owner._engine.n_batches < batches:
                owner._engine = ZeroShotEngine(owner.preset, batches, owner.batch_size, ctx.seed, ctx.space,
                                               ctx.cifar10, ctx.device)
            wanted = sorted({m for e in group for m in e.measures()})
            evaluations = [owner._engine.evaluate(a, wanted) for a in archs]
            for i, e in zip(members, group):
                out[i] = e.collect(evaluations)
        return out


class DataFreeEstimator(ZeroShotEstimator):
    """A zero-shot estimator that reads no data."""

    Config = DataFreeConfig


def _define(name: str, summary: str, base: type = ZeroShotEstimator) -> type:
    return type(name.title().replace("_", ""), (base,), {
        "name": name, "measure": name, "summary": summary,
        "__doc__": f"Zero-shot estimator ``{name}``: {summary}.", "__module__": __name__,
    })


GradNorm = _define("grad_norm", "sum over layers of the L2 norm of the loss gradient")
Plain = _define("plain", "sum of weight x loss gradient")
Snip = _define("snip", "sum of |weight x loss gradient| (SNIP saliency)")
Grasp = _define("grasp", "sum of -weight x Hessian-gradient product (GraSP)")
Fisher = _define("fisher", "sum over channels of the Fisher information of activations")
JacobCov = _define("jacob_cov", "correlation spectrum of per-sample input Jacobians")
ReluLogdet = _define("relu_logdet", "log-determinant of the ReLU binary-code kernel (NASWOT)")
Synflow = _define("synflow", "synaptic flow of |weights| on an all-ones input, BN removed", DataFreeEstimator)
SynflowBn = _define("synflow_bn", "synaptic flow of |weights| on an all-ones input, BN kept", DataFreeEstimator)


class Relu(ZeroShotEstimator):
    """Zero-shot estimator ``relu``: the number of ReLU applications for one sample."""

    name = "relu"
    measure = "relu"
    summary = "number of ReLU applications in one forward pass (data- and seed-free)"
    Config = DataFreeConfig
    # an integer count: equal on every machine
    capabilities = dataclasses.replace(ZeroShotEstimator.capabilities, rerun_tolerance=(0.0, 0.0))


class Vote(ZeroShotEstimator):
    """Majority vote of the space's best three zero-shot measures, scored by Copeland count.

    ``score`` returns the three measures' values (mean over batches) as float64 [n, 3]; ``combine``
    turns them, over all scored architectures, into one score each (see
    :mod:`estimators.zero_shot.vote`).
    """

    name = "vote"
    measure = "vote"
    summary = "pairwise majority of the space's best three zero-shot measures (Copeland score)"
    capabilities = dataclasses.replace(ZeroShotEstimator.capabilities, components=True)
    #: The measures voting, set by ``prepare`` from the run's space.
    _components: tuple[str, ...] = ()

    def supports(self, space_name: str) -> bool:
        return super().supports(space_name) and space_name in VOTE_COMPONENTS

    def components(self, space_name: str) -> tuple[str, ...]:
        # Known from the space alone, so `verify` (which never prepares) can require them.
        return VOTE_COMPONENTS.get(space_name, ())

    def prepare(self, ctx: RunContext) -> None:
        super().prepare(ctx)
        self._components = VOTE_COMPONENTS[ctx.space.name]

    def measures(self) -> tuple[str, ...]:
        return self._components

    def collect(self, evaluations: list[dict[str, np.ndarray]]) -> np.ndarray:
        columns = []
        for name in self._components:
            values = np.stack([e[name] for e in evaluations]).astype(np.float64)
            columns.append(values[:, 0] if name in M.DATA_FREE else values[:, : self.batches].mean(axis=1))
        return np.stack(columns, axis=1) if columns else np.empty((0, 0))

    def combine(self, values: np.ndarray) -> np.ndarray:
        return copeland_scores(values)
