"""The benchmarks beyond NB201: the partial real-data sets, the standard ones built by import,
and the runner on each (criteria checked against a hand computation on the real ground truth)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from suite.benchmarks import BENCHMARKS, get_benchmark
from suite.cli import main
from suite.errors import DataError
from suite.results import read_result


@pytest.fixture(scope="module")
def nb301_partial(data_dir):
    return get_benchmark("nb301-partial").load(data_dir)


@pytest.fixture(scope="module")
def nb101_partial(data_dir):
    return get_benchmark("nb101-partial").load(data_dir)


def test_nb301_partial_is_read_as_it_is(nb301_partial, data_dir):
    raw = pd.read_csv(data_dir / "nb301" / "nb301_partial_surrogate.csv")
    assert len(nb301_partial.archs) == 1218 == len(raw)
    np.testing.assert_array_equal(nb301_partial.ground_truth(), raw["val_acc"].to_numpy())
    space = nb301_partial.spec.space
    # the compact column names the same architecture as the genotype string
    from suite.spaces.nb301 import from_compact

    for i in (0, 1, 617, 1217):
        assert nb301_partial.archs[i] == space.parse(raw["genotype"][i]) == from_compact(raw["compact"][i])


def test_nb101_partial_merges_repeated_cells(nb101_partial, data_dir):
    from suite.spaces.nb101 import canonical_form, from_matrix_ops

    raw = pd.read_csv(data_dir / "nb101" / "nb101_partial.csv")
    cells = [from_matrix_ops(json.loads(m), json.loads(o)) for m, o in zip(raw["matrix"], raw["ops"])]
    keys = [canonical_form(c) for c in cells]
    assert len(nb101_partial.archs) == 292 == len(set(keys))
    # GT of a class = the mean of its rows, by hand for the class of row 0 and of the last new class
    for row in (0, keys.index(list(dict.fromkeys(keys))[-1])):
        arch_id = list(dict.fromkeys(keys)).index(keys[row])
        rows = [i for i, k in enumerate(keys) if k == keys[row]]
        assert nb101_partial.ground_truth()[arch_id] == pytest.approx(raw["val_acc_108"][rows].mean(), abs=1e-12)
        assert nb101_partial.table["runs"].iloc[arch_id] == len(rows)
        assert canonical_form(nb101_partial.archs[arch_id]) == keys[row]
    assert nb101_partial.table["runs"].sum() == 500


@pytest.mark.parametrize("name", ["nb101-partial", "nb301-partial"])
def test_partial_sets_say_so(name):
    spec = BENCHMARKS[name]
    assert spec.partial and "partial" in spec.partial and spec.title.startswith("PARTIAL")


@pytest.mark.parametrize("name, estimator", [("nb301-partial", "params"), ("nb101-partial", "flops")])
def test_run_on_a_partial_set_matches_a_hand_computation(name, estimator, data_dir, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["run", "-e", estimator, "-b", name, "--data-dir", str(data_dir), "--out", str(out), "-q"]) == 0
    assert f"note: {name} is a partial set" in capsys.readouterr().out  # under the printed criteria
    result = read_result(out)
    bench = get_benchmark(name).load(data_dir)
    cost = getattr(bench.spec.space, "param_count" if estimator == "params" else "flop_count")
    scores = np.array([cost(a) for a in bench.archs], dtype=np.float64)
    np.testing.assert_array_equal(result.snapshots[0].scores, scores)
    expected = stats.kendalltau(scores, bench.ground_truth()).statistic
    assert result.snapshots[0].criteria.values["KD"] == pytest.approx(expected, abs=1e-12)
    assert "partial set" in result.provenance["partial_benchmark"]
    assert main(["leaderboard", "table", str(tmp_path)]) == 0
    assert f"note: {name} is a partial set" in capsys.readouterr().out
    assert main(["leaderboard", "table", str(tmp_path), "--json"]) == 0
    assert [row["partial"] for row in json.loads(capsys.readouterr().out)] == [True]


@pytest.mark.parametrize("name, hint", [("nb101", "suite data import nb101"), ("nb301", "suite data import nb301"),
                                        ("nds-resnet", "suite data import nds-resnet"),
                                        ("nds-resnexta", "suite data import nds-resnexta")])
def test_missing_ground_truth_is_one_clear_line(name, hint, tmp_path, capsys):
    code = main(["run", "-e", "params", "-b", name, "--data-dir", str(tmp_path), "--out", str(tmp_path / "r.json"), "-q"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and hint in err and "\n" not in err and "Traceback" not in err


def test_an_imported_table_edited_afterwards_is_refused(tmp_path):
    from suite.data_tools.importers.common import write_ground_truth

    spec = get_benchmark("nds-resnet")
    path = tmp_path / spec.gt_file.relpath
    archs = spec.space.sample(np.random.default_rng(0), 5)
    table = pd.DataFrame({"arch": [spec.space.format(a) for a in archs],
                          "key": [spec.space.canonical(a) for a in archs], "test_acc": [90.0, 91, 92, 93, 94]})
    write_ground_truth(table, path, ["test_acc"], sources=[])
    path.write_text(path.read_text().replace("94", "95"))
    with pytest.raises(DataError, match="changed after its import"):
        spec.load(tmp_path)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=40, unique=True), st.data())
def test_the_subset_rule_depends_only_on_the_keys(keys, data):
    import hashlib

    from suite.data_tools.importers.common import select_subset

    size = data.draw(st.integers(1, len(keys)))
    picked = [keys[i] for i in select_subset(keys, size)]
    shuffled = data.draw(st.permutations(keys))
    assert [shuffled[i] for i in select_subset(shuffled, size)] == picked  # order of the source: irrelevant
    assert picked == sorted(picked, key=str.encode) and len(set(picked)) == size
    by_hand = sorted(keys, key=lambda k: hashlib.sha256(f"0:{k}".encode()).hexdigest())[:size]
    assert sorted(picked) == sorted(by_hand)


def test_a_hand_made_table_with_a_matching_sidecar_is_still_checked(tmp_path):
    from suite.data.checksums import sha256_file
    from suite.data_tools.importers.common import write_ground_truth

    spec = get_benchmark("nds-resnet")
    space = spec.space
    archs, seen, rng = [], set(), np.random.default_rng(0)
    while len(archs) < spec.subset_size:
        for arch in space.sample(rng, 1000):
            if space.canonical(arch) not in seen and len(archs) < spec.subset_size:
                seen.add(space.canonical(arch))
                archs.append(arch)
    archs.sort(key=lambda a: space.canonical(a).encode())
    table = pd.DataFrame({"arch": [space.format(a) for a in archs], "key": [space.canonical(a) for a in archs],
                          "test_acc": np.linspace(80, 95, len(archs))})
    path = tmp_path / spec.gt_file.relpath
    write_ground_truth(table, path, ["test_acc"], sources=[])
    assert len(spec.load(tmp_path).archs) == 5000

    def forge(edit):  # rewrite the table and a sidecar that matches its bytes
        frame = pd.read_csv(path)
        edit(frame)
        frame.to_csv(path, index=False, lineterminator="\n")
        record = json.loads(path.with_suffix(".json").read_text())
        record["table_sha256"] = sha256_file(path)
        path.with_suffix(".json").write_text(json.dumps(record))

    frame = pd.read_csv(path)  # rows 0 and 1 swapped
    frame.loc[[0, 1], ["arch", "key"]] = frame.loc[[1, 0], ["arch", "key"]].to_numpy()
    forge(lambda f: f.__setitem__(["arch", "key"], frame[["arch", "key"]].to_numpy()))
    with pytest.raises(DataError, match="ascending byte order"):
        spec.load(tmp_path)
    forge(lambda f: f.__setitem__("key", [*f["key"][:-1], "zzz"]))
    with pytest.raises(DataError, match="not the canonical form"):
        spec.load(tmp_path)
