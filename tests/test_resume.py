"""A run survives Ctrl-C and SIGKILL: re-running the same command finishes it with bit-identical scores."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from suite.cli import main
from suite.results import read_result
from conftest import result_path

ESTIMATORS = ["params", "grad_norm", "vote"]


def _args(data_dir, cache_dir, out_dir):
    # vote needs jacob_cov, snip and synflow: every zero-shot pass, and components recombined at the end
    return ["run", "-e", ",".join(ESTIMATORS), "-b", "nb201", "--sample", "10", "--batches", "1", "-c", "batch_size=16",
            "--threads", "1", "--progress", "none", "--data-dir", str(data_dir), "--cache-dir", str(cache_dir),
            "--out-dir", str(out_dir)]


def _records(journal_dir: Path) -> int:
    return sum(line.startswith(b'{"arch"') for path in journal_dir.glob("*.jsonl") for line in path.read_bytes().splitlines())


def _start_and_stop(args, journal_dir: Path, at_records: int, sig: int) -> subprocess.CompletedProcess:
    """Start ``suite`` in a subprocess, send ``sig`` once the journal holds ``at_records`` records."""
    proc = subprocess.Popen([sys.executable, "-m", "suite.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if journal_dir.exists() and _records(journal_dir) >= at_records:
            proc.send_signal(sig)
            break
        time.sleep(0.05)
    out, err = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out.decode(), err.decode())


def _scores(out_dir: Path) -> dict[str, str]:
    """Each estimator's snapshots (scores, per-batch values, components, criteria) as canonical text."""
    texts = {}
    for name in ESTIMATORS:
        result = read_result(result_path(out_dir / "nb201" / name))
        texts[name] = json.dumps([s.model_dump(mode="json") for s in result.snapshots], sort_keys=True)
        assert result.arch_ids and not result.failures
    return texts


def test_interrupt_then_kill_then_rerun_gives_bit_identical_results(data_dir, cache_dir, tmp_path):
    reference = tmp_path / "reference"
    assert main(_args(data_dir, cache_dir, reference)) == 0

    resumed = tmp_path / "resumed"
    journal_dir = resumed / ".journal"
    args = _args(data_dir, cache_dir, resumed)
    # params journals its 10 architectures at once, then the zero-shot sweep one by one
    first = _start_and_stop(args, journal_dir, 10 + 2, signal.SIGINT)
    assert first.returncode == 130, first.stderr
    assert "interrupted;" in first.stderr and "re-run the same command to continue" in first.stderr
    assert "Traceback" not in first.stderr
    after_interrupt = _records(journal_dir)
    assert 12 <= after_interrupt < 20

    second = _start_and_stop(args, journal_dir, after_interrupt + 3, signal.SIGKILL)
    assert second.returncode == -signal.SIGKILL
    after_kill = _records(journal_dir)
    assert after_interrupt < after_kill < 20, "the kill should land midway"
    assert not (resumed / "nb201").exists(), "no result before the run is complete"

    assert main(args) == 0
    assert _scores(resumed) == _scores(reference)
    assert not list(journal_dir.glob("*.jsonl")), "the journal is removed once the results are written"
    result = read_result(result_path(resumed / "nb201" / "vote"))
    assert result.provenance["sessions"] == 3


def test_a_finished_run_kept_journal_rebuilds_results_without_scoring(data_dir, cache_dir, tmp_path, capsys):
    args = ["run", "-e", "params", "-b", "nb201", "--sample", "50", "-q", "--data-dir", str(data_dir),
            "--out-dir", str(tmp_path), "--keep-journal"]
    assert main(args) == 0
    [journal] = (tmp_path / ".journal").glob("*.jsonl")
    size = journal.stat().st_size
    assert main([*args, "--overwrite"]) == 0
    lines = journal.read_bytes().splitlines()
    assert sum(line.startswith(b'{"arch"') for line in lines) == 50, "nothing was scored twice"
    assert journal.stat().st_size > size and json.loads(lines[-1])["session"]  # only a session line was added
    capsys.readouterr()
    assert main([*args, "--overwrite", "--seed", "2020", "--journal-dir", str(journal.parent)]) == 0  # another run, another journal
    assert len(list(journal.parent.glob("*.jsonl"))) == 2


def test_resuming_with_another_thread_count_is_refused_naming_it(data_dir, tmp_path, capsys):
    """CPU scores depend on the thread count: a run is never continued with another one."""
    args = ["run", "-e", "params", "-b", "nb201", "--sample", "20", "-q", "--data-dir", str(data_dir),
            "--out-dir", str(tmp_path), "--keep-journal"]
    assert main([*args, "--threads", "1"]) == 0
    capsys.readouterr()
    assert main([*args, "--threads", "2", "--overwrite"]) == 1
    err = capsys.readouterr().err
    assert "belongs to a different run (threads: journal has 1, this run 2)" in err and "--restart" in err
    assert main([*args, "--threads", "2", "--overwrite", "--restart"]) == 0
    assert len(list((tmp_path / ".journal").glob("*.jsonl"))) == 1


@pytest.mark.parametrize("bad", ["3/3", "1/0", "x/2", "1"])
def test_bad_shard_is_a_usage_error(data_dir, tmp_path, capsys, bad):
    assert main(["run", "-e", "params", "-b", "nb201", "--shard", bad, "-q", "--data-dir", str(data_dir),
                 "--out-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: --shard")


def test_a_bad_gt_column_fails_before_any_work(data_dir, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["run", "-e", "params", "-b", "nb201", "--gt", "acc", "-q", "--data-dir", str(data_dir),
                 "--out", str(out)]) == 2
    assert "unknown ground-truth column 'acc'" in capsys.readouterr().err
    assert not (tmp_path / ".journal").exists() or not list((tmp_path / ".journal").iterdir())


def test_the_command_that_finishes_a_run_sets_its_criteria(data_dir, tmp_path):
    args = ["run", "-e", "params", "-b", "nb201", "--sample", "30", "-q", "--data-dir", str(data_dir),
            "--out-dir", str(tmp_path), "--keep-journal"]
    assert main(args) == 0
    assert main([*args, "--overwrite", "--gt", "cifar10valid_test_200", "--nonfinite", "drop"]) == 0
    result = read_result(result_path(tmp_path / "nb201" / "params"))
    assert result.benchmark.ground_truth == "cifar10valid_test_200"
    assert result.snapshots[0].criteria.nonfinite_policy == "drop"
