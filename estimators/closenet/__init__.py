"""CLOSENet (``closenet``): the one-shot estimator with a curriculum on the sharing extent.

The estimator (:mod:`.estimator`) trains through the one-shot trainer with its own supernets
(:mod:`.supernets`: :mod:`.nb201`, :mod:`.nb301`, :mod:`.nds`, sharing the gate pieces of
:mod:`.gates`) and its curriculum hook (:mod:`.curriculum`).
"""

from estimators.closenet.curriculum import CloseCurriculum
from estimators.closenet.estimator import CLOSE_RECIPES, CloseConfig, CloseNetEstimator
from estimators.closenet.supernets import BUILDERS, build_close_supernet, close_supernet
