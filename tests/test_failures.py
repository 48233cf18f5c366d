"""Failures are data: the failing architecture is recorded with its reason and the run goes on."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from suite import registry
from suite.errors import SuiteError
from suite.estimator import Capabilities, Estimator
from suite.runner import RunOptions, RunSpec, execute


class Brittle(Estimator):
    """params, except: ids divisible by 7 raise; ids divisible by 5 run out of memory at full batch."""

    name, family, summary = "test-brittle", "baseline", "fails on some architectures"
    capabilities = Capabilities(splits_batch=True)

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


class Slow(Brittle):
    """Scored one architecture per call, like the expensive estimators (attempt marks are written)."""

    name = "test-slow"
    capabilities = Capabilities(splits_batch=True, chunk_size=1)


class LosesTheDevice(Estimator):
    """params, one architecture per call, until the device fails for good on call ``healthy_calls``+1
    (every later call fails alike, as after a CUDA illegal memory access)."""

    name, family, summary = "test-device-lost", "baseline", "the GPU fails mid-run"
    capabilities = Capabilities(chunk_size=1)
    healthy_calls: int | None = 4
    calls = 0

    def score(self, archs, ctx, snapshot="final"):
        type(self).calls += 1
        if self.healthy_calls is not None and type(self).calls > self.healthy_calls:
            raise RuntimeError("CUDA error: an illegal memory access was encountered\nCompile with "
                               "`TORCH_USE_CUDA_DSA` to enable device-side assertions.")
        return np.array([float(ctx.space.param_count(a)) for a in archs])


_IDS: dict = {}


def _id_of(space, arch) -> int:
    return _IDS[arch]


@pytest.fixture
def registered(monkeypatch, nb201):
    registry._load_all()
    for cls in (Brittle, TooBig, Broken, Slow, LosesTheDevice):
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
    from suite.runner.scoring import failure_reason

    assert failure_reason(ValueError("a\nb")) == "ValueError: a"
    assert len(failure_reason(ValueError("x" * 1000))) == 300
    assert failure_reason(RuntimeError("CUDA error: out of memory")).startswith("out of memory")


def test_an_architecture_that_killed_the_process_twice_becomes_a_failure(registered, nb201, tmp_path):
    from suite.runner.journal import Journal

    ids = nb201.sample_ids(12, 0).tolist()
    victim = next(i for i in ids if i % 5 and i % 7)
    spared = next(i for i in ids if i != victim and i % 7)
    specs = [RunSpec(benchmark="nb201", estimator="test-slow", sample=12)]
    options = RunOptions(journal_dir=tmp_path, progress="none")
    first = execute(specs, options, loaded=nb201)  # a complete run; now replay it with deaths on the victim
    header = json.loads(first.journal.read_bytes().splitlines()[0])
    first.journal.unlink()
    with Journal.open(first.journal, header) as journal:
        journal.append_attempt(victim, "final")  # two sessions that died on the victim
        journal.append_attempt(victim, "final")
        journal.append_attempt(spared, "final")  # ... and one interrupted on purpose, twice
        journal.cancel_attempt(spared, "final")
        journal.append_attempt(spared, "final")
        journal.cancel_attempt(spared, "final")
    [result] = execute(specs, options, loaded=nb201).results
    failures = {f.arch_id: f.reason for f in result.failures}
    assert failures[victim] == "the process died 2 times while scoring it (segfault, out of host memory, or killed)"
    assert spared not in failures


def test_a_resumed_run_that_retries_only_failures_finishes(registered, nb201, tmp_path):
    specs = [RunSpec(benchmark="nb201", estimator="test-too-big", sample=40)]
    options = RunOptions(journal_dir=tmp_path, progress="none")
    first = execute(specs, options, loaded=nb201)
    failed = len(first.results[0].failures)
    assert failed >= 8  # more failures than the systematic-failure stop counts
    again = execute(specs, options, loaded=nb201)  # only the failures are pending; they fail again
    assert len(again.results[0].failures) == failed and again.resumed == 40 - failed


def test_a_lost_device_stops_the_run_and_keeps_the_journal(registered, nb201, tmp_path, monkeypatch):
    """A sticky CUDA error makes every later call fail: the run stops with one line instead of
    journaling a failure for each remaining architecture, and a re-run resumes from what was scored."""
    from suite.runner.journal import read_journal
    from suite.runner.scoring import DeviceLostError

    specs = [RunSpec(benchmark="nb201", estimator=LosesTheDevice.name, sample=12)]
    options = RunOptions(journal_dir=tmp_path, progress="none")
    with pytest.raises(DeviceLostError, match=r"the device failed while scoring architecture \d+ \(RuntimeError: "
                                              r"CUDA error: an illegal memory access was encountered\) .* resume"):
        execute(specs, options, loaded=nb201)
    [path] = tmp_path.glob("*.jsonl")
    state = read_journal(path)
    assert len(state.outcomes) == 4 and all(isinstance(v, np.ndarray) for v in state.outcomes.values())
    assert not any(state.attempts.values())  # the architecture is not blamed for the device
    monkeypatch.setattr(LosesTheDevice, "healthy_calls", None)  # a fresh process on a working GPU
    again = execute(specs, options, loaded=nb201)
    assert again.resumed == 4 and again.failed == 0 and len(again.results[0].arch_ids) == 12


_FOOTER = ("\nCUDA kernel errors might be asynchronously reported at some other API call.\n"
           "Compile with `TORCH_USE_CUDA_DSA` to enable device-side assertions.\n")


@pytest.mark.parametrize(("message", "lost"), [
    ("CUDA error: an illegal memory access was encountered", True),
    ("CUDA error: unspecified launch failure", True),
    ("CUDA error: device-side assert triggered", True),
    ("CUDA error: uncorrectable ECC error encountered", True),
    # torch puts the device-side-assertion hint under every CUDA error: these stay per-architecture
    ("CUDA error: invalid configuration argument", False),
    ("CUDA error: too many resources requested for launch", False),
    ("CUDA error: out of memory", False),
    ("cuDNN error: CUDNN_STATUS_NOT_SUPPORTED. This error may appear if you passed in a non-contiguous input.", False),
])
def test_only_sticky_cuda_errors_count_as_a_lost_device(message, lost):
    from suite.runner.scoring import is_device_lost

    assert is_device_lost(RuntimeError(message + _FOOTER)) is lost
    assert not is_device_lost(ValueError(message))


def test_two_processes_cannot_write_one_journal(tmp_path):
    from suite.runner.journal import Journal, JournalError, identity_key

    identity = {"benchmark": "nb201"}
    header = {"suite_journal": 1, "identity": identity, "identity_sha256": identity_key(identity), "plan": {"n": 1}}
    with Journal.open(tmp_path / "j.jsonl", header), pytest.raises(JournalError, match="in use by another process"):
        Journal.open(tmp_path / "j.jsonl", header)


def test_a_restart_never_wipes_a_journal_another_process_holds(tmp_path):
    """``--restart`` discards the journal only once it holds the lock; before, it unlinked the file
    first, so a second process wiped (and forked) a live run's journal."""
    from suite.runner.journal import Journal, JournalError, identity_key, read_journal

    identity = {"benchmark": "nb201"}
    header = {"suite_journal": 1, "identity": identity, "identity_sha256": identity_key(identity), "plan": {"n": 1}}
    path = tmp_path / "j.jsonl"
    with Journal.open(path, header) as live:
        live.append_attempt(7, "final")
        with pytest.raises(JournalError, match="in use by another process"):
            Journal.open(path, header, restart=True)
        assert path.exists() and read_journal(path).attempts == {("7", "final"): 1}
    with Journal.open(path, header, restart=True) as fresh:  # unlocked now: the restart goes ahead
        assert fresh.state.attempts == {} and len(fresh.state.sessions) == 1
    assert read_journal(path).attempts == {}


def test_a_setup_error_mid_run_is_not_counted_as_a_death_of_the_architecture(registered, nb201, tmp_path,
                                                                             monkeypatch):
    """Only a process that dies counts against an architecture (MAX_DEATHS); one that raises, e.g. a
    full disk while journaling, withdraws its attempt mark so a later run does not blame the architecture."""
    from suite.runner.journal import Journal, read_journal

    def disk_full(self, records):
        if records:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(Journal, "append_many", disk_full)
    specs = [RunSpec(benchmark="nb201", estimator="test-slow", sample=12)]
    with pytest.raises(OSError, match="No space left"):
        execute(specs, RunOptions(journal_dir=tmp_path, progress="none"), loaded=nb201)
    [path] = tmp_path.glob("*.jsonl")
    lines = [json.loads(line) for line in path.read_bytes().splitlines()]
    assert [line.get("cancelled", False) for line in lines if "attempt" in line] == [False, True]
    assert not any(read_journal(path).attempts.values())  # no death counted against the architecture


def test_the_cli_keeps_the_journal_of_a_run_with_failures(registered, data_dir, tmp_path, capsys):
    from suite.cli import main

    args = ["run", "-e", "test-brittle", "-b", "nb201", "--sample", "40", "-q", "--data-dir", str(data_dir),
            "--out-dir", str(tmp_path)]
    assert main(args) == 0
    [journal] = (tmp_path / ".journal").glob("*.jsonl")  # kept: its failures can be retried
    err = capsys.readouterr().err
    assert f"kept the journal {journal}" in err and "failed outcome(s); re-run the same command" in err
    assert main(["run", "-e", "params", "-b", "nb201", "--sample", "40", "-q", "--data-dir", str(data_dir),
                 "--out-dir", str(tmp_path)]) == 0
    assert list((tmp_path / ".journal").glob("*.jsonl")) == [journal]  # a run without failures leaves none
