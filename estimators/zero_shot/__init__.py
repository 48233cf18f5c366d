"""The zero-shot estimators: one estimator per measure, sharing passes when run together.

Each estimator scores an architecture by one measure of its freshly initialised network (see
:mod:`estimators.zero_shot.measures` for the formulas and :mod:`estimators.zero_shot.engine` for
the presets; the classes are in :mod:`estimators.zero_shot.estimators`). Data measures give one
value per batch (``score`` returns float64 [n, batches]; the runner stores them and uses their
mean); data-free ones give one value. Run together (``suite run -e zero-shot-all`` or a
comma-separated list), estimators of the same preset and batch size are computed in one sweep over
the architectures, each network built once and each pass shared.
"""

from estimators.zero_shot.engine import PRESETS
from estimators.zero_shot.estimators import (
    SUPPORTED_SPACES,
    DataFreeConfig,
    DataFreeEstimator,
    Fisher,
    GradNorm,
    Grasp,
    JacobCov,
    Plain,
    Relu,
    ReluLogdet,
    Snip,
    Synflow,
    SynflowBn,
    Vote,
    ZeroShotConfig,
    ZeroShotEstimator,
)

__all__ = ["PRESETS", "SUPPORTED_SPACES", "DataFreeConfig", "DataFreeEstimator", "Fisher", "GradNorm", "Grasp",
           "JacobCov", "Plain", "Relu", "ReluLogdet", "Snip", "Synflow", "SynflowBn", "Vote", "ZeroShotConfig",
           "ZeroShotEstimator"]
