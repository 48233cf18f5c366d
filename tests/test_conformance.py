"""Every registered estimator passes the contract check (new estimators are covered automatically)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from suite.conformance import check_estimator
from suite.estimator import Estimator
from suite.registry import list_estimators
from suite.spaces import nb201


#: Configs that keep an estimator quick without changing its contract (one-shot: a tiny supernet
#: trained for two epochs on 128 images).
_TINY_SUPERNET = {"epochs": 2, "snapshots": "1,2", "train_images": 128, "batch_size": 64, "init_channels": 4,
                  "cells_per_stage": 1, "score_batches": 1, "score_batch_size": 32}
SMALL = {"oneshot": _TINY_SUPERNET,
         "closenet": {**_TINY_SUPERNET, "curriculum": "1,2", "restart_epoch": 2}}


@pytest.mark.parametrize("cls", list_estimators(), ids=lambda c: c.name)
def test_registered_estimator_conforms(cls, data_dir, cache_dir):
    archs = nb201.sample_archs(np.random.default_rng(1), 4)
    # small batches keep the data-dependent zero-shot estimators quick; the contract is the same
    config = {"batch_size": 4} if "batch_size" in {f.name for f in dataclasses.fields(cls.Config)} else None
    config = SMALL.get(cls.name, config)
    check_estimator(cls, nb201.NB201, archs, config=config, data_dir=data_dir, cache_dir=cache_dir)


def test_the_check_catches_a_broken_estimator():
    class Shuffled(Estimator):
        name, family, summary = "shuffled", "baseline", "order-dependent"

        def score(self, archs, ctx, snapshot="final"):
            return np.arange(len(archs), dtype=np.float64)  # depends on position, not architecture

    with pytest.raises(AssertionError, match="declared deterministic"):
        check_estimator(Shuffled, nb201.NB201, nb201.sample_archs(np.random.default_rng(0), 3))


def test_the_check_catches_components_without_combine():
    class Uncombined(Estimator):
        name, family, summary = "uncombined", "baseline", "names components, never combines them"

        def components(self):
            return ("a", "b")

        def score(self, archs, ctx, snapshot="final"):
            return np.zeros((len(archs), 2))

    with pytest.raises(AssertionError, match="does not override combine"):
        check_estimator(Uncombined, nb201.NB201, nb201.sample_archs(np.random.default_rng(0), 3))
