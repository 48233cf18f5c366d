"""Failures are data: the failing architecture is recorded with its reason and the run goes on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from suite import registry
from suite.errors import SuiteError
from suite.estimator import Estimator
from suite.runner import RunOptions, RunSpec, execute


class Brittle(Estimator):
    """params, except: ids divisible by 7 raise; ids divisible by 5 run out of memory at full batch."""

    name, family, summary = "test-brittle", "baseline", "fails on some architectures"

    def __init__(self, **config):
        super().__init__(**config)
        self.batch = 64

    def score(self, archs, ctx, snapshot="final"):
        out = []
        for arch in archs:
            arch_id = _id_of(ctx.space, arch)
            if arch_id % 7 == 0:
                raise FloatingPointError(f"loss diverged on {arch_id}\nsecond line")
            if arch_id % 5 == 0 and self.batch > 16:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            out.append(float(ctx.space.param_count(arch)))
        return np.array(out)

    def split_batch(self):
        self.batch //= 2
        return f"micro-batch {self.batch}"

    def restore_batch(self):
        self.batch = 64


class TooBig(Brittle):
    """Ids divisible by 3 run out of memory at every batch size."""

    name = "test-too-big"

    def score(self, archs, ctx, snapshot="final"):
        if any(_id_of(ctx.space, a) % 3 == 0 for a in archs):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 80.00 GiB")
        return np.array([float(ctx.space.param_count(a)) for a in archs])

    def split_batch(self):
        if self.batch <= 8:
            return None
        return super().split_batch()


class Broken(Estimator):
    name, family, summary = "test-broken", "baseline", "a bug: fails everywhere"

    def score(self, archs, ctx, snapshot="final"):
        raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")


_IDS: dict = {}


def _id_of(space, arch) -> int:
    return _IDS[arch]


@pytest.fixture
def registered(monkeypatch, nb201):
    registry._load_all()
    for cls in (Brittle, TooBig, Broken):
        monkeypatch.setitem(registry._REGISTRY, cls.name, cls)
    _IDS.update({a: int(i) for a, i in zip(nb201.archs, nb201.arch_ids)})


def _run(nb201, *names, sample=40):
    specs = [RunSpec(benchmark="nb201", estimator=n, sample=sample) for n in names]
    return execute(specs, RunOptions(progress="none"), loaded=nb201)


def test_failures_are_recorded_and_the_run_goes_on(registered, nb201):
    outcome = _run(nb201, "test-brittle", "params")
    brittle, params = outcome.results
    ids = nb201.sample_ids(40, 0).tolist()
    sevens = [i for i in ids if i % 7 == 0]
    assert sevens, "the sample should contain ids divisible by 7"
    assert sorted(f.arch_id for f in brittle.failures) == sevens
    assert all(f.reason.startswith("FloatingPointError: loss diverged on") and "\n" not in f.reason for f in brittle.failures)
    criteria = brittle.snapshots[0].criteria
    assert criteria.n == 40 - len(sevens) and criteria.n_failed == len(sevens)
    assert len(brittle.arch_ids) == 40 - len(sevens)
    # the other estimator of the run lost nothing
    assert params.failures == [] and params.snapshots[0].criteria.n == 40
    # out of memory at full batch, scored after splitting it: kept, and said so
    fives = [i for i in ids if i % 5 == 0 and i % 7 != 0]
    retried = brittle.provenance["retried"]
    assert sorted(int(r["arch_id"]) for r in retried) == fives
    # 64 -> 32 (still too big) -> 16
    assert all(r["how"] == "out of memory; scored with micro-batch 16" for r in retried)
    np.testing.assert_array_equal(brittle.scores(), params.scores()[np.isin(params.arch_ids, brittle.arch_ids)])


def test_out_of_memory_after_every_split_is_a_failure(registered, nb201):
    [result] = _run(nb201, "test-too-big").results
    threes = [i for i in nb201.sample_ids(40, 0).tolist() if i % 3 == 0]
    assert sorted(f.arch_id for f in result.failures) == threes
    assert {f.reason for f in result.failures} == {
        "out of memory: CUDA out of memory. Tried to allocate 80.00 GiB (after retrying with micro-batch 8)"}
    assert result.snapshots[0].criteria.n == 40 - len(threes)


def test_a_systematic_failure_stops_the_run_with_one_line(registered, nb201):
    with pytest.raises(SuiteError, match=r"first 40 architectures all failed \(TypeError: unsupported operand") as info:
        _run(nb201, "test-broken")
    assert "\n" not in str(info.value)


def test_failure_reasons_are_one_line_and_bounded():
    from suite.scoring import failure_reason

    assert failure_reason(ValueError("a\nb")) == "ValueError: a"
    assert len(failure_reason(ValueError("x" * 1000))) == 300
    assert failure_reason(RuntimeError("CUDA error: out of memory")).startswith("out of memory")
