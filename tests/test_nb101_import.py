"""The NB101 importer, driven by a fake object with the official nasbench API's two methods."""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
import pandas as pd
import pytest

from suite.data_tools.importers.nb101 import import_nb101, load_official_api
from suite.errors import DataError
from suite.spaces import nb101 as m
from suite.spaces.nb101 import NB101, NB101_SPACE3


class FakeNasbench:
    """``hash_iterator`` / ``get_metrics_from_hash`` as ``nasbench.api.NASBench`` returns them."""

    def __init__(self, archs, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.fixed, self.computed = {}, {}
        for arch in archs:
            h = NB101.canonical(arch)
            self.fixed[h] = {"module_adjacency": np.array(arch.matrix, dtype=np.int8),
                             "module_operations": list(arch.ops), "trainable_parameters": 1000 + len(self.fixed)}
            self.computed[h] = {epochs: [{"final_test_accuracy": float(rng.uniform(0.8, 0.95)),
                                          "final_validation_accuracy": float(rng.uniform(0.8, 0.95)),
                                          "final_train_accuracy": 1.0, "final_training_time": 100.0}
                                         for _ in range(3)] for epochs in (4, 12, 36, 108)}

    def hash_iterator(self):
        return self.fixed.keys()

    def get_metrics_from_hash(self, module_hash):
        return self.fixed[module_hash], self.computed[module_hash]


def _distinct(archs):
    seen, out = set(), []
    for arch in archs:
        if NB101.canonical(arch) not in seen:
            seen.add(NB101.canonical(arch))
            out.append(arch)
    return out


@pytest.fixture(scope="module")
def fake():
    rng = np.random.default_rng(11)
    inside = _distinct(NB101_SPACE3.sample(rng, 40))[:30]
    outside = [a for a in _distinct(NB101.sample(rng, 60)) if not m.in_space3(a)][:10]
    assert len(inside) == 30 and len(outside) == 10
    return FakeNasbench(inside + outside), inside, outside


def test_table_values_subset_and_provenance(fake, tmp_path):
    api, inside, outside = fake
    source = tmp_path / "nasbench_only108.tfrecord"
    source.write_bytes(b"not really a tfrecord")
    sidecar = import_nb101(api, tmp_path / "nb101.csv", size=10, sources=[source])
    table = pd.read_csv(tmp_path / "nb101.csv")
    assert list(table.columns) == ["index", "arch", "key", "test_acc_108", "val_acc_108", "hash", "params"]
    assert len(table) == 10 and table["index"].tolist() == list(range(10))
    assert table["key"].tolist() == sorted(table["key"]) and (table["key"] == table["hash"]).all()
    outside_keys = {NB101.canonical(a) for a in outside}
    assert not outside_keys & set(table["key"])
    for row in table.head(2).itertuples():  # GT by hand for two entries
        runs = api.computed[row.hash][108]
        assert row.test_acc_108 == pytest.approx(100 * sum(r["final_test_accuracy"] for r in runs) / 3, abs=1e-8)
        assert row.val_acc_108 == pytest.approx(100 * sum(r["final_validation_accuracy"] for r in runs) / 3,
                                                abs=1e-8)
        assert row.params == api.fixed[row.hash]["trainable_parameters"]
        assert NB101.canonical(NB101_SPACE3.parse(row.arch)) == row.key
    provenance = json.loads(sidecar.read_text())
    assert provenance["sources"] == {source.name: provenance["sources"][source.name]}
    assert len(provenance["sources"][source.name]) == 64
    assert provenance["dropped_outside_space"] == 10 and provenance["pool_size"] == 30
    # the subset rule: the 10 keys with the smallest sha256("0:<key>"), in key order
    pool = [NB101.canonical(a) for a in inside]
    by_hash = sorted(pool, key=lambda k: hashlib.sha256(f"0:{k}".encode()).hexdigest())[:10]
    assert table["key"].tolist() == sorted(by_hash)


def test_same_output_twice_byte_identical(fake, tmp_path):
    api, _, _ = fake
    import_nb101(api, tmp_path / "a.csv", size=10)
    import_nb101(api, tmp_path / "b.csv", size=10)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_isomorphic_duplicates_are_averaged(fake, tmp_path):
    api, inside, _ = fake
    arch = inside[0]
    twin_hash = "f" * 32  # a second entry of the same cell under another hash
    api2 = FakeNasbench(inside)
    h = NB101.canonical(arch)
    api2.fixed[twin_hash] = dict(api2.fixed[h])
    api2.computed[twin_hash] = {108: [dict(r, final_test_accuracy=0.5) for r in api2.computed[h][108]]}
    sidecar = import_nb101(api2, tmp_path / "dup.csv", size=30)
    table = pd.read_csv(tmp_path / "dup.csv").set_index("key")
    expected = (100 * np.mean([r["final_test_accuracy"] for r in api2.computed[h][108]]) + 50.0) / 2
    assert table.loc[h, "test_acc_108"] == pytest.approx(expected)
    assert json.loads(sidecar.read_text())["duplicate_keys_averaged"] == 1


def test_malformed_entries_name_the_entry(fake, tmp_path):
    api, inside, _ = fake
    broken = FakeNasbench(inside[:12])
    bad_hash = NB101.canonical(inside[3])
    broken.fixed[bad_hash]["module_operations"] = ["input", "conv5x5"] + broken.fixed[bad_hash]["module_operations"][2:]
    with pytest.raises(DataError, match=re.escape(bad_hash) + ".*unknown op 'conv5x5'"):
        import_nb101(broken, tmp_path / "x.csv", size=10)
    missing = FakeNasbench(inside[:12])
    h = NB101.canonical(inside[5])
    del missing.computed[h][108]
    with pytest.raises(DataError, match=re.escape(h) + ".*no 108-epoch runs"):
        import_nb101(missing, tmp_path / "y.csv", size=10)
    fields = FakeNasbench(inside[:12])
    fields.computed[h][108][1].pop("final_test_accuracy")
    with pytest.raises(DataError, match=re.escape(h) + ".*final_test_accuracy"):
        import_nb101(fields, tmp_path / "z.csv", size=10)


def test_too_small_a_pool_is_an_error(fake, tmp_path):
    api, _, _ = fake
    with pytest.raises(DataError, match="fewer than the standard subset"):
        import_nb101(api, tmp_path / "n.csv", size=31)


def test_load_official_api_errors(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="no such file"):
        load_official_api(tmp_path / "missing.tfrecord")
    path = tmp_path / "nasbench_only108.tfrecord"
    path.write_bytes(b"")
    import sys

    monkeypatch.setitem(sys.modules, "nasbench", None)  # makes `from nasbench import api` fail
    with pytest.raises(DataError, match="pip install"):
        load_official_api(path)
