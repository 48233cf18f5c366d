"""The one-shot estimator (``oneshot``): a weight-sharing supernet trained under the protocol.

The estimator (:mod:`.estimator`) trains through :mod:`.trainer` (options in :mod:`.settings`,
snapshots in :mod:`.snapshots`, multi-model forgetting in :mod:`.forgetting`, an optional
:mod:`.curriculum` hook), draws architectures with :mod:`.sampling` and scores with :mod:`.scoring`.
"""

from estimators.one_shot.curriculum import Curriculum
from estimators.one_shot.estimator import SCORES, TRAINED_MEASURES, OneShotConfig, OneShotEstimator
from estimators.one_shot.settings import SupernetBuilder, TrainOptions, TrainSettings, vanilla_supernet
from estimators.one_shot.snapshots import average_weights, snapshot_label
from estimators.one_shot.trainer import SupernetTrainer
