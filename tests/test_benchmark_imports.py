"""Each standard benchmark end to end: official-format sources at full size -> `suite data import`
-> the benchmark loads -> `suite run` with baselines, a zero-shot measure and the one-shot estimator.

The official NB101 API and NB301 surrogate are replaced by the fakes of their importer tests (the
packages are not installed here); the NDS files are written in the release's JSON layout.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from test_nb101_import import FakeNasbench
from test_nb301_import import FakeSurrogate
from test_nds_import import _entry, _resnet_net, _resnexta_net

from suite.benchmarks import get_benchmark
from suite.cli import main
from suite.results import read_result
from suite.spaces.nb101 import NB101_SPACE3
from suite.spaces.nb301 import NB301
from suite.spaces.nds import NDS_RESNET, NDS_RESNEXTA
from conftest import result_path


def _distinct(space, n: int, seed: int) -> list:
    seen, out = set(), []
    rng = np.random.default_rng(seed)
    while len(out) < n:
        for arch in space.sample(rng, n):
            key = space.canonical(arch)
            if key not in seen and len(out) < n:
                seen.add(key)
                out.append(arch)
    return out


def _sources(name: str, tmp_path, monkeypatch) -> list[str]:
    """Official-format sources with a few more architectures than the subset needs."""
    if name == "nb101":
        api = FakeNasbench(_distinct(NB101_SPACE3, 5_100, 0))
        monkeypatch.setattr("suite.data_tools.importers.nb101.load_official_api", lambda path: api)
        path = tmp_path / "nasbench_only108.tfrecord"
        path.write_bytes(b"stand-in")
        return ["--from", str(path)]
    if name == "nb301":
        monkeypatch.setattr("suite.data_tools.importers.nb301.load_official_predictor", lambda path: FakeSurrogate())
        path = tmp_path / "genotypes.txt"
        path.write_text("\n".join(NB301.format(a) for a in _distinct(NB301, 6_000, 0)) + "\n")
        (tmp_path / "xgb_v1.0" / "gnn").mkdir(parents=True, exist_ok=True)
        (tmp_path / "xgb_v1.0" / "gnn" / "surrogate_model.model").write_bytes(b"stand-in weights")
        return ["--from", str(path), "--surrogate", str(tmp_path / "xgb_v1.0")]
    space, net = (NDS_RESNET, _resnet_net) if name == "nds-resnet" else (NDS_RESNEXTA, _resnexta_net)
    archs = _distinct(space, 5_000 if name == "nds-resnet" else 5_200, 0)
    files = ["ResNet_rng1.json", "ResNet_rng2.json", "ResNet_rng3.json"] if name == "nds-resnet" else ["ResNeXt-A.json"]
    args = []
    for seed, file in enumerate(files, start=1):
        errors = np.random.default_rng(seed).uniform(4.0, 30.0, len(archs))
        entries = [_entry(net(a), float(e), seed, i) for i, (a, e) in enumerate(zip(archs, errors))]
        (tmp_path / file).write_text(json.dumps(entries))
        args += ["--from", str(tmp_path / file)]
    return args


# NDS networks reach 24 blocks of width 256 per stage and their bank holds 84.5M parameters: a
# zero-shot pass and a one-shot step on them take minutes on 2 CPU cores, so they run with -m slow.
CASES = [
    pytest.param("nb101", True), pytest.param("nb301", True),
    pytest.param("nds-resnet", False), pytest.param("nds-resnexta", False),
    pytest.param("nds-resnet", True, marks=pytest.mark.slow), pytest.param("nds-resnexta", True, marks=pytest.mark.slow),
]


@pytest.mark.parametrize("name, with_networks", CASES)
def test_import_then_run(name, with_networks, tmp_path, monkeypatch, capsys, data_dir):
    data = tmp_path / "data"
    # CIFAR-10 from the real data directory (zero-shot and one-shot read it)
    data.mkdir()
    (data / "cifar10").symlink_to(data_dir / "cifar10", target_is_directory=True)
    assert main(["data", "import", name, *_sources(name, tmp_path, monkeypatch), "--data-dir", str(data)]) == 0
    spec = get_benchmark(name)
    bench = spec.load(data)
    assert len(bench.archs) == spec.subset_size and bench.spec.space.name == spec.space_name
    sidecar = json.loads((data / spec.gt_file.relpath).with_suffix(".json").read_text())
    keys = "\n".join(bench.table["key"]).encode()
    assert sidecar["subset_keys_sha256"] == hashlib.sha256(keys).hexdigest() and sidecar["rows"] == spec.subset_size
    assert [spec.space.canonical(a) for a in bench.archs] == list(bench.table["key"])
    if name == "nb301":  # the GT is the ensemble's: its files are recorded
        assert list(sidecar["surrogate_files"]) == ["gnn/surrogate_model.model"]
    # importing again needs --overwrite
    assert main(["data", "import", name, *_sources(name, tmp_path, monkeypatch), "--data-dir", str(data)]) == 2
    assert "--overwrite" in capsys.readouterr().err

    out = tmp_path / "runs"
    estimators = "params,random,snip" if with_networks else "params,flops,random"
    assert main(["run", "-e", estimators, "-b", name, "--sample", "6", "--data-dir", str(data),
                 "--out-dir", str(out), "-q"]) == 0
    params = read_result(result_path(out / name / "params"))
    ids = np.array(params.arch_ids)
    assert list(params.snapshots[0].scores) == [float(spec.space.param_count(bench.arch(i))) for i in ids]
    if not with_networks:
        return
    snip = read_result(result_path(out / name / "snip"))
    assert all(np.isfinite(snip.snapshots[0].scores)) and len(set(snip.snapshots[0].scores)) == 6

    # the one-shot estimator trains the space's supernet with its recipe (tiny budget)
    proxy = ["-c", "cells_per_stage=1"] if name in ("nb101", "nb301") else []
    assert main(["run", "-e", "oneshot", "-b", name, "--sample", "3", "--data-dir", str(data), "--out-dir", str(out),
                 "-c", "epochs=1", "-c", "snapshots=1", "-c", "train_images=16", "-c", "batch_size=8",
                 "-c", "init_channels=4", *proxy, "-c", "score=loss", "-c", "score_batches=1",
                 "-c", "score_batch_size=8", "-q"]) == 0
    oneshot = read_result(result_path(out / name / "oneshot"))
    assert oneshot.estimator.config["sampling"] == "uniform" and oneshot.estimator.config["lr"] in (0.025, 0.05)
    assert all(np.isfinite(oneshot.snapshots[0].scores))


def test_the_same_seed_file_three_times_is_refused(tmp_path, capsys):
    path = tmp_path / "ResNet_rng1.json"
    path.write_text("[]")
    assert main(["data", "import", "nds-resnet", *["--from", str(path)] * 3, "--data-dir", str(tmp_path)]) == 2
    assert "same content" in capsys.readouterr().err
