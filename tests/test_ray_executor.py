"""The Ray executor on a local 2-CPU Ray instance gives the local executor's results, bit for bit."""

from __future__ import annotations

import json
import subprocess
import sys

from suite.runner import RunOptions, RunSpec, execute

# vote is scored by components journaled per architecture and combined once all are in
# oneshot: the driver trains (into the run's work directory) and the workers only load and score
ESTIMATORS = {"params": {}, "synflow": {}, "grad_norm": {"batches": 1, "batch_size": 16},
              "vote": {"batches": 1, "batch_size": 16},
              "oneshot": {"epochs": 2, "snapshots": "1,2", "train_images": 128, "batch_size": 64, "init_channels": 4,
                          "cells_per_stage": 1, "score_batches": 1, "score_batch_size": 32}}


def _specs(data_dir, cache_dir):
    return [RunSpec(benchmark="nb201", estimator=name, config=config, sample=6, data_dir=data_dir, cache_dir=cache_dir)
            for name, config in ESTIMATORS.items()]


def _text(result):
    return json.dumps([s.model_dump(mode="json") for s in result.snapshots], sort_keys=True), result.arch_ids


def test_ray_results_equal_the_local_executors(data_dir, cache_dir, nb201, tmp_path):
    import ray  # noqa: F401  (the test extra installs it; CI must not skip this test)

    local = execute(_specs(data_dir, cache_dir), RunOptions(threads=1, progress="none"), loaded=nb201)
    remote = execute(_specs(data_dir, cache_dir),
                     RunOptions(executor="ray", ray_cpus=2, workers=2, threads=1, progress="none",
                                journal_dir=tmp_path), loaded=nb201)
    assert [_text(r) for r in remote.results] == [_text(r) for r in local.results]
    assert remote.results[0].provenance["executor"] == "ray"
    # the driver journaled what the workers scored, with the workers' record of what they read
    lines = [json.loads(line) for line in remote.journal.read_text().splitlines()]
    # params alone, the zero-shot group together, oneshot per snapshot
    assert sum("arch" in line for line in lines) == 6 + 6 + 2 * 6
    meta = {k: v for line in lines if "meta" in line for k, v in line["meta"].items()}
    assert meta["components"] == {"vote": ["jacob_cov", "snip", "synflow"]} and "cifar10_content" in meta["data"]
    assert meta["determinism"]["torch_threads"] == 1 and meta["determinism"]["deterministic_algorithms"]


def test_the_local_executor_does_not_import_ray(data_dir, tmp_path):
    code = (
        "import sys; from suite.cli import main; "
        f"code = main(['run', '-e', 'params', '-b', 'nb201', '--sample', '5', '-q', '--data-dir', {str(data_dir)!r}, "
        f"'--out-dir', {str(tmp_path)!r}]); print(code, 'ray' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.stdout.split()[-2:] == ["0", "False"], out.stderr
