"""The data layer on the real files: CIFAR-10, the splits, ground truth checks, hub pulls."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from suite.benchmarks import get_benchmark
from suite.data import cifar10
from suite.data_tools.hub import pull
from suite.data.manifest import NB201_GROUND_TRUTH
from suite.errors import DataError, UsageError


def test_cifar10_decodes_bit_exact(cifar):
    assert cifar.images.shape == (50000, 32, 32, 3) and cifar.images.dtype == np.uint8
    assert cifar.images[0, 0, 0].tolist() == [59, 62, 63]
    assert cifar.labels[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    x = cifar.images.reshape(-1, 3).astype(np.float64) / 255
    np.testing.assert_allclose(x.mean(0), cifar10.NORMALIZATIONS["exact"][0], atol=1e-4)
    np.testing.assert_allclose(x.std(0), cifar10.NORMALIZATIONS["exact"][1], atol=1e-4)


def test_protocol_splits(cifar):
    train_x, train_y = cifar.split("train")
    score_x, score_y = cifar.split("score")
    assert len(train_x) == 40000 and len(score_x) == 10000
    assert np.array_equal(score_x[0], cifar.images[40000]) and score_y[-1] == cifar.labels[-1]
    with pytest.raises(ValueError, match="unknown split"):
        cifar.split("test")


def test_cache_is_reused_and_a_damaged_cache_is_rebuilt(data_dir, cifar, cache_dir, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(cache_dir / "cifar10", cache / "cifar10")  # the session fixture decoded once already
    first = cifar10.load_cifar10_train(data_dir, cache)
    images_file = next((cache / "cifar10").glob("*-images.npy"))
    again = cifar10.load_cifar10_train(data_dir, cache)
    assert again.content_sha256 == first.content_sha256 == cifar.content_sha256
    raw = bytearray(images_file.read_bytes())
    raw[-1] ^= 0xFF
    images_file.write_bytes(bytes(raw))
    rebuilt = cifar10.load_cifar10_train(data_dir, cache)
    assert rebuilt.content_sha256 == cifar.content_sha256


def test_normalize_and_augment(cifar):
    batch = cifar.images[:8]
    x = cifar10.normalize(batch)
    assert x.shape == (8, 3, 32, 32) and x.dtype == torch.float32
    mean, std = cifar10.NORMALIZATIONS["exact"]
    assert x[0, 0, 0, 0].item() == pytest.approx((59 / 255 - mean[0]) / std[0], rel=1e-6)
    a = cifar10.augment_uint8(batch, torch.Generator().manual_seed(20))
    b = cifar10.augment_uint8(batch, torch.Generator().manual_seed(20))
    assert np.array_equal(a, b) and a.shape == batch.shape
    # every augmented image is a shifted, possibly flipped crop of the zero-padded original
    padded = np.zeros((40, 40, 3), np.uint8)
    padded[4:36, 4:36] = batch[0]
    crops = [padded[dy:dy + 32, dx:dx + 32] for dy in range(9) for dx in range(9)]
    assert any(np.array_equal(a[0], c) or np.array_equal(a[0], c[:, ::-1]) for c in crops)


def test_missing_cifar_gives_one_line_with_the_fix(tmp_path):
    with pytest.raises(DataError) as err:
        cifar10.load_cifar10_train(tmp_path, None)
    message = str(err.value)
    assert "\n" not in message and "suite data pull cifar10" in message


def test_missing_ground_truth_says_how_to_get_it(tmp_path):
    with pytest.raises(DataError, match="suite data pull nb201"):
        get_benchmark("nb201").load(tmp_path)


def test_corrupt_ground_truth_is_refused(data_dir, tmp_path):
    target = tmp_path / NB201_GROUND_TRUTH.relpath
    target.parent.mkdir(parents=True)
    text = (data_dir / NB201_GROUND_TRUTH.relpath).read_text().replace("85.863333", "95.863333", 1)
    target.write_text(text)
    with pytest.raises(DataError, match="corrupt or a different version"):
        get_benchmark("nb201").load(tmp_path)


def _fake_hub_cache(cache: Path, repo: str, revision: str, relpath: str, source: Path) -> None:
    """The huggingface_hub cache layout for one dataset file at one revision."""
    commit = "0" * 40
    root = cache / f"datasets--{repo.replace('/', '--')}"
    (root / "refs").mkdir(parents=True)
    (root / "refs" / revision).write_text(commit)
    target = root / "snapshots" / commit / relpath
    target.parent.mkdir(parents=True)
    shutil.copyfile(source, target)


def test_pull_installs_a_verified_file_through_huggingface_hub(data_dir, tmp_path):
    hub_cache, dest = tmp_path / "hub", tmp_path / "data"
    _fake_hub_cache(hub_cache, "me/suite-data", "v1", NB201_GROUND_TRUTH.relpath, data_dir / NB201_GROUND_TRUTH.relpath)
    installed = pull("nb201", dest, repo_id="me/suite-data", revision="v1", offline=True, hub_cache_dir=hub_cache)
    assert installed == dest / NB201_GROUND_TRUTH.relpath
    assert get_benchmark("nb201").load(dest).gt_sha256 == NB201_GROUND_TRUTH.sha256


def test_pull_refuses_a_file_with_the_wrong_checksum(tmp_path):
    hub_cache, bad = tmp_path / "hub", tmp_path / "bad.csv"
    bad.write_text("index,arch\n")
    _fake_hub_cache(hub_cache, "me/suite-data", "v1", NB201_GROUND_TRUTH.relpath, bad)
    with pytest.raises(DataError, match="not installed"):
        pull("nb201", tmp_path / "data", repo_id="me/suite-data", revision="v1", offline=True, hub_cache_dir=hub_cache)
    assert not (tmp_path / "data" / NB201_GROUND_TRUTH.relpath).exists()


def test_pull_offline_without_cache_is_one_clear_line(tmp_path):
    with pytest.raises(DataError, match="offline and not in the local hub cache"):
        pull("cifar10", tmp_path, offline=True, hub_cache_dir=tmp_path / "empty")
    with pytest.raises(UsageError, match="unknown data file"):
        pull("imagenet", tmp_path, offline=True)


def test_unwritable_cache_warns_and_still_loads(data_dir, cifar, tmp_path, monkeypatch):
    monkeypatch.setattr(cifar10, "_decode", lambda files: (cifar.images, cifar.labels))
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.warns(UserWarning, match="cannot cache decoded CIFAR-10"):
        loaded = cifar10.load_cifar10_train(data_dir, blocker)
    assert loaded.content_sha256 == cifar.content_sha256


def test_wrong_images_are_refused(data_dir, cifar, monkeypatch):
    altered = cifar.images.copy()
    altered[0, 0, 0, 0] ^= 1
    monkeypatch.setattr(cifar10, "_decode", lambda files: (altered, cifar.labels))
    with pytest.raises(DataError, match="does not hold the expected images"):
        cifar10.load_cifar10_train(data_dir, None)


def test_pull_of_an_imported_table_checks_it_against_its_sidecar(tmp_path):
    import pandas as pd

    from suite.data_tools.importers.common import write_ground_truth
    from suite.data.manifest import NDS_RESNEXTA_GROUND_TRUTH as nds

    made = tmp_path / "made" / nds.relpath
    table = pd.DataFrame({"arch": ["d=1,1,1 w=16,16,16 b=1,1,1 g=1,1,1"], "key": ["k"], "test_acc": [91.5]})
    write_ground_truth(table, made, ["test_acc"], sources=[])
    _fake_hub_cache(tmp_path / "hub", "me/suite-data", "v1", nds.relpath, made)
    sidecar_rel = str(Path(nds.relpath).with_suffix(".json"))
    snapshot = tmp_path / "hub" / "datasets--me--suite-data" / "snapshots" / ("0" * 40)
    shutil.copyfile(made.with_suffix(".json"), snapshot / sidecar_rel)
    dest = tmp_path / "data"
    pull("nds-resnexta", dest, repo_id="me/suite-data", revision="v1", offline=True, hub_cache_dir=tmp_path / "hub")
    assert (dest / nds.relpath).read_bytes() == made.read_bytes()
    assert (dest / sidecar_rel).read_bytes() == made.with_suffix(".json").read_bytes()
    # a table that does not match its sidecar is not installed
    (snapshot / nds.relpath).write_text(made.read_text().replace("91.5", "99.5"))
    with pytest.raises(DataError, match="does not match the sha256"):
        pull("nds-resnexta", tmp_path / "other", repo_id="me/suite-data", revision="v1", offline=True,
             hub_cache_dir=tmp_path / "hub")
    assert not (tmp_path / "other" / nds.relpath).exists()
