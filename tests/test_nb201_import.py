"""`suite data import nb201`: the official APIs (faked here as `nats_bench` / `nas_201_api` modules)
-> the suite's NB201 table, byte for byte the pinned one when fed the real values."""

from __future__ import annotations

import hashlib
import io
import json
import math
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suite.cli import main
from suite.data_tools.importers import nb201 as importer
from suite.data_tools.importers.dispatch import run_import
from suite.data.manifest import NB201_GROUND_TRUTH, unpinned_import_relpath
from suite.errors import DataError, UsageError
from suite.spaces.nb201 import canonical_form, enumerate_archs, format_arch

HEADER = ("index,arch,iso_key,cifar10_test_200,cifar10valid_train_200,cifar10valid_valid_200,cifar10valid_test_200,"
          "cifar100_valid_200,cifar100_test_200,imagenet16_valid_200,imagenet16_test_200,cifar10_test_12,"
          "cifar100_test_12,imagenet16_test_12")
#: the (dataset, hp) -> {metric: [per-seed values]} an official API object holds for one architecture
SETTINGS = [("cifar10", "200"), ("cifar10-valid", "200"), ("cifar100", "200"), ("ImageNet16-120", "200"),
            ("cifar10", "12"), ("cifar100", "12"), ("ImageNet16-120", "12")]


class FakeTopologyAPI:
    """Behaves like the official API objects where the importer touches them: len, arch(i),
    get_more_info(i, dataset, iepoch, hp, is_random) with the mean over seeds when is_random=False."""

    def __init__(self, archs, runs, filename="NATS-tss-v1_0-3ffb9-simple", unique=None):
        self.meta_archs, self.runs, self.filename, self._unique = list(archs), runs, filename, unique
        self.calls = 0

    def __len__(self):
        return len(self.meta_archs)

    def arch(self, index):
        return self.meta_archs[index]

    def get_more_info(self, index, dataset, iepoch=None, hp="12", is_random=True):
        if is_random is not False:
            raise AssertionError("the importer must ask for the mean over seeds (is_random=False)")
        self.calls += 1
        seeds = self.runs(index, dataset, str(hp))
        return {metric: (sum(v) / len(v) if v and v[0] is not None else None) for metric, v in seeds.items()}


class FakeNatsTopology(FakeTopologyAPI):
    """NATS-Bench's API also answers get_unique_str (its iso_key)."""

    def get_unique_str(self, index):
        return self._unique(index) if self._unique else canonical_form(_ARCHS[index])


_ARCHS = list(enumerate_archs())
_ARCH_STRINGS = [format_arch(a) for a in _ARCHS]


def synthetic_runs(index, dataset, hp):
    """Three seeds per setting whose means have long decimals: base, base + 1, base + 1.5 (mean base + 5/6)."""
    offset = SETTINGS.index((dataset, hp))
    base = 10.0 + (index % 53) * 1.25 + offset
    out = {"train-accuracy": [base + 2, base + 3, base + 3.5], "train-all-time": [100.0 + index, 101.0 + index, 102.0 + index]}
    if dataset in ("cifar10-valid", "cifar100", "ImageNet16-120"):
        out["valid-accuracy"] = [base + 0.1, base + 1.1, base + 1.6]
    out["test-accuracy"] = [base, base + 1, base + 1.5]
    return out


def install_fake_modules(monkeypatch, api):
    """`nats_bench.create` and `nas_201_api.NASBench201API` returning ``api``; the calls are recorded."""
    calls = []

    def create(path, space, fast_mode=False, verbose=True):
        calls.append(("nats_bench.create", path, space, fast_mode, verbose))
        return api

    def nasbench201(path, verbose=True):
        calls.append(("nas_201_api.NASBench201API", path, verbose))
        return api

    monkeypatch.setitem(sys.modules, "nats_bench", types.SimpleNamespace(create=create))
    monkeypatch.setitem(sys.modules, "nas_201_api", types.SimpleNamespace(NASBench201API=nasbench201))
    return calls


@pytest.fixture
def release(tmp_path) -> Path:
    """A stand-in for the NATS-tss-v1_0-3ffb9-simple folder (the fake API never reads it)."""
    folder = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    folder.mkdir()
    (folder / "meta.pickle.pbz2").write_bytes(b"not read by the fake API")
    (folder / "000000.pickle.pbz2").write_bytes(b"x")
    return folder


def test_nb201_without_trust_pickle_is_refused_before_reading_anything(monkeypatch, release, tmp_path, capsys):
    calls = install_fake_modules(monkeypatch, FakeNatsTopology(_ARCH_STRINGS, synthetic_runs))
    with pytest.raises(UsageError, match="--trust-pickle") as err:
        run_import("nb201", [release], tmp_path / "data")
    assert "\n" not in str(err.value) and "pickle" in str(err.value)
    assert main(["data", "import", "nb201", "--from", str(release), "--data-dir", str(tmp_path / "data")]) == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith("error: nb201: the official") and "\n" not in line
    assert calls == [] and not (tmp_path / "data").exists()
    with pytest.raises(UsageError, match="no --trust-pickle"):
        run_import("nds-resnexta", [release / "meta.pickle.pbz2"], tmp_path / "data", trust_pickle=True)


def test_synthetic_release_hand_computed_values_and_the_mismatch_path(monkeypatch, release, tmp_path, capsys):
    api = FakeNatsTopology(_ARCH_STRINGS, synthetic_runs)
    calls = install_fake_modules(monkeypatch, api)
    data = tmp_path / "data"
    code = main(["data", "import", "nb201", "--from", str(release), "--trust-pickle", "--data-dir", str(data)])
    err = capsys.readouterr().err.strip()
    assert code == 1 and "\n" not in err and "differs from the protocol's pinned table" in err
    assert calls == [("nats_bench.create", str(release), "tss", True, False)]  # a folder: fast mode
    assert not (data / NB201_GROUND_TRUTH.relpath).exists()  # never installed
    built = data / unpinned_import_relpath(NB201_GROUND_TRUTH)
    text = built.read_text()
    assert text.splitlines()[0] == HEADER and text.endswith("\n") and "\r" not in text
    table = pd.read_csv(built)
    assert len(table) == 15_625 and table["index"].tolist() == list(range(15_625))
    # architecture 0 = all `none`: base 10.0; seeds (b, b+1, b+1.5) -> mean b + 0.833333
    row = table.iloc[0]
    assert row["arch"] == "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|" and row["iso_key"] == "#+#+#"  # zero terms are kept
    assert row["cifar10_test_200"] == 10.833333                     # setting 0: 10 + 5/6
    assert row["cifar10valid_train_200"] == 13.833333               # setting 1: 11 + 2 + 5/6
    assert row["cifar10valid_valid_200"] == 11.933333               # 11 + 0.1 + 5/6
    assert row["cifar10valid_test_200"] == 11.833333
    assert row["imagenet16_valid_200"] == 13.933333                 # setting 3: 13 + 0.1 + 5/6
    assert row["imagenet16_test_12"] == 16.833333                   # setting 6: 16 + 5/6
    # architecture 1000: base 10 + (1000 % 53) * 1.25 = 10 + 46 * 1.25 = 67.5
    row = table.iloc[1000]
    assert row["arch"] == _ARCH_STRINGS[1000] and row["iso_key"] == canonical_form(_ARCHS[1000])
    assert row["cifar100_test_200"] == 70.333333 and row["cifar100_valid_200"] == 70.433333
    assert row["cifar10_test_12"] == 72.333333
    sidecar = json.loads(built.with_suffix(".json").read_text())
    assert sidecar["table_sha256"] == hashlib.sha256(built.read_bytes()).hexdigest() and not sidecar["matches_pin"]
    assert sidecar["release"] == "NATS-tss-v1_0-3ffb9-simple" and sidecar["trust_pickle"] is True
    # the folder's digest: sha256 over "relpath<TAB>sha256<LF>" lines in byte order
    lines = sorted(f"{p.name}\t{hashlib.sha256(p.read_bytes()).hexdigest()}\n" for p in release.iterdir())
    assert sidecar["sources"] == {release.name: hashlib.sha256("".join(lines).encode()).hexdigest()}
    # train-all-time: seeds (101 + i) on average, summed over 15,625 cells, for both settings
    expected = 15_625 * 101.0 + sum(range(15_625))
    assert sidecar["train_time_s"] == {"cifar10valid_200": expected, "cifar10_12": expected}


def test_nas_201_api_file_and_nats_pickle_file(monkeypatch, tmp_path):
    api = FakeTopologyAPI(_ARCH_STRINGS, synthetic_runs, filename="NAS-Bench-201-v1_1-096897.pth")
    calls = install_fake_modules(monkeypatch, api)
    pth = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    pth.write_bytes(b"torch pickle")
    with pytest.raises(DataError, match="differs from the protocol's pinned table"):
        run_import("nb201", [pth], tmp_path / "data", trust_pickle=True)
    assert calls == [("nas_201_api.NASBench201API", str(pth), False)]
    sidecar = json.loads((tmp_path / "data" / "nb201" / "nb201_ground_truth.imported.json").read_text())
    assert sidecar["sources"] == {pth.name: hashlib.sha256(b"torch pickle").hexdigest()}
    assert sidecar["release"] == "NAS-Bench-201-v1_1-096897.pth"
    pbz2 = tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2"
    pbz2.write_bytes(b"bz2 pickle")
    importer.load_official_api(pbz2, trust_pickle=True)
    assert calls[-1] == ("nats_bench.create", str(pbz2), "tss", False, False)  # a file: not fast mode


def test_missing_package_and_unreadable_release_are_one_line(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "nats_bench", None)  # import fails
    with pytest.raises(DataError, match="pip install nats_bench"):
        importer.load_official_api(tmp_path, trust_pickle=True)

    def broken(path, space, fast_mode=False, verbose=True):
        raise ValueError(f"{path} is neither a file or a dir.\nsecond line")

    monkeypatch.setitem(sys.modules, "nats_bench", types.SimpleNamespace(create=broken))
    with pytest.raises(DataError) as err:
        importer.load_official_api(tmp_path, trust_pickle=True)
    assert "\n" not in str(err.value) and "nats_bench cannot read it (ValueError" in str(err.value)


def test_incomplete_or_wrong_releases_name_the_architecture(tmp_path):
    def no_cifar100_12(index, dataset, hp):
        runs = synthetic_runs(index, dataset, hp)
        if (dataset, hp) == ("cifar100", "12") and index == 7:
            del runs["test-accuracy"]
        return runs

    with pytest.raises(DataError, match=r"architecture 7: get_more_info\(7, 'cifar100', hp='12'\)\['test-accuracy'\]"):
        importer.build_table(FakeTopologyAPI(_ARCH_STRINGS, no_cifar100_12))
    with pytest.raises(DataError, match="holds 3 architectures"):
        importer.build_table(FakeTopologyAPI(_ARCH_STRINGS[:3], synthetic_runs))
    with pytest.raises(DataError, match="architecture 2: the API's get_unique_str"):
        importer.build_table(FakeNatsTopology(_ARCH_STRINGS, synthetic_runs,
                                              unique=lambda i: "?" if i == 2 else canonical_form(_ARCHS[i])))

    class OldApi(FakeTopologyAPI):  # nas_201_api before 2.0: get_more_info(..., use_12epochs_result=...)
        def get_more_info(self, index, dataset, iepoch=None, use_12epochs_result=False, is_random=True):
            raise AssertionError("never reached")

    with pytest.raises(DataError) as err:
        importer.build_table(OldApi(_ARCH_STRINGS, synthetic_runs))
    assert "architecture 0: get_more_info(0, " in str(err.value) and "TypeError" in str(err.value)
    assert "nas_201_api 2.0" in str(err.value) and "\n" not in str(err.value)

    def no_times(index, dataset, hp):
        runs = synthetic_runs(index, dataset, hp)
        runs["train-all-time"] = [None]
        return runs

    _, times = importer.build_table(FakeTopologyAPI(_ARCH_STRINGS, no_times))
    assert times == {}  # not provided by the API: not recorded


def _api_from_table(path: Path) -> FakeNatsTopology:
    """A fake API serving the real table's values (one 'seed' per setting, iso_key as get_unique_str)."""
    table = pd.read_csv(path)
    columns = {column: table[column].tolist() for column in importer.COLUMNS}
    keys = table["iso_key"].tolist()
    by_setting: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for column, (dataset, hp, metric) in importer.COLUMNS.items():
        by_setting.setdefault((dataset, hp), []).append((metric, column))

    def runs(index, dataset, hp):
        out = {metric: [columns[column][index]] for metric, column in by_setting[dataset, hp]}
        out.setdefault("train-accuracy", [100.0])
        out["train-all-time"] = [2.5]
        return out

    return FakeNatsTopology(table["arch"].tolist(), runs, unique=lambda i: keys[i])


def test_real_values_reproduce_the_pinned_table_byte_for_byte(data_dir, monkeypatch, release, tmp_path, capsys):
    real = data_dir / NB201_GROUND_TRUTH.relpath
    install_fake_modules(monkeypatch, _api_from_table(real))
    data = tmp_path / "data"
    stale = data / unpinned_import_relpath(NB201_GROUND_TRUTH)
    stale.parent.mkdir(parents=True)
    stale.write_text("an earlier, mismatching build\n")
    assert main(["data", "import", "nb201", "--from", str(release), "--trust-pickle", "--data-dir", str(data)]) == 0
    assert "matches the protocol's pinned sha256" in capsys.readouterr().out
    installed = data / NB201_GROUND_TRUTH.relpath
    assert installed.read_bytes() == real.read_bytes()
    assert hashlib.sha256(installed.read_bytes()).hexdigest() == NB201_GROUND_TRUTH.sha256
    assert len(installed.read_text().splitlines()) == 15_626 and not stale.exists()
    sidecar = json.loads(installed.with_suffix(".json").read_text())
    assert sidecar["matches_pin"] and sidecar["rows"] == 15_625
    assert sidecar["train_time_s"] == {"cifar10valid_200": 2.5 * 15_625, "cifar10_12": 2.5 * 15_625}
    # an existing table is not rebuilt without --overwrite
    with pytest.raises(UsageError, match="pass --overwrite"):
        run_import("nb201", [release], data, trust_pickle=True)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=100.0, allow_nan=False), min_size=1, max_size=20))
def test_written_values_read_back_as_the_rounded_floats(values):
    """What the table writes (round(v, 6), pandas' float format) parses back to the same float64."""
    rounded = [round(v, importer.DECIMALS) for v in values]
    table = pd.DataFrame({"index": np.arange(len(values)), "v": rounded})
    back = pd.read_csv(io.BytesIO(importer.table_bytes(table)))["v"].tolist()
    assert back == rounded and all(math.isfinite(v) for v in back)
