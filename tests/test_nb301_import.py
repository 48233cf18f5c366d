"""NB301 importer: genotype lists in their formats + a fake surrogate -> the suite's ground-truth table."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from suite import paths
from suite.data.checksums import sha256_file
from suite.data_tools.importers.common import select_subset
from suite.data_tools.importers.nb301 import (
    GT_COLUMN,
    import_nb301,
    load_official_predictor,
    read_genotype_list,
    to_genotype,
)
from suite.errors import DataError
from suite.spaces.nb301 import NB301, OPS, format_arch, sample_archs, to_compact


class FakeSurrogate:
    """Stands in for nasbench301's SurrogateAPI: a deterministic function of the genotype.

    value = 50 + 0.5 * (sum of op indices over both cells) + 0.1 * (sum of the normal cell's inputs)
    (+ ``drift`` per call, to see how duplicates are merged). Refuses anything but the noise-free query.
    """

    def __init__(self, drift: float = 0.0) -> None:
        self.calls: list[dict] = []
        self.drift = drift

    def predict(self, config, representation, with_noise=True):
        self.calls.append({"representation": representation, "with_noise": with_noise})
        assert with_noise is False and representation == "genotype"
        assert config._fields == ("normal", "normal_concat", "reduce", "reduce_concat")
        assert list(config.normal_concat) == [2, 3, 4, 5] == list(config.reduce_concat)
        ops = sum(OPS.index(op) for op, _ in list(config.normal) + list(config.reduce))
        return 50 + 0.5 * ops + 0.1 * sum(src for _, src in config.normal) + self.drift * len(self.calls)


FIRST = ("Genotype(normal=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('sep_conv_5x5', 2), "
         "('skip_connect', 1), ('dil_conv_5x5', 3), ('avg_pool_3x3', 3), ('dil_conv_3x3', 4)], "
         "normal_concat=[2, 3, 4, 5], reduce=[('skip_connect', 1), ('dil_conv_5x5', 0), ('avg_pool_3x3', 1), "
         "('max_pool_3x3', 2), ('avg_pool_3x3', 3), ('dil_conv_3x3', 2), ('sep_conv_3x3', 1), ('dil_conv_5x5', 4)], "
         "reduce_concat=[2, 3, 4, 5])")
# ops normal 0+0+0+4+2+6+1+5 = 18, reduce 2+6+1+0+1+5+3+6 = 24 -> 42; normal inputs 0+1+0+2+1+3+3+4 = 14
SECOND = FIRST.replace("('dil_conv_3x3', 4)", "('sep_conv_3x3', 4)").replace("('dil_conv_5x5', 4)", "('skip_connect', 4)")
# normal ops 18 - 5 + 3 = 16, reduce 24 - 6 + 2 = 20 -> 36; inputs unchanged (14)
OUTSIDE = [
    FIRST.replace("('max_pool_3x3', 0)", "('none', 0)", 1),  # DARTS' zero op
    FIRST.replace("('max_pool_3x3', 1)", "('max_pool_3x3', 0)", 1),  # node 2 reads node 0 twice
    FIRST.replace("('sep_conv_5x5', 2)", "('sep_conv_7x7', 2)"),  # not a DARTS/NB301 op
    FIRST.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[3, 4, 5]"),
]


def _genotypes(n: int = 30, seed: int = 0) -> list[str]:
    """n distinct sampled genotypes + FIRST, SECOND, a reordered duplicate of FIRST and 4 outside the space."""
    archs = sample_archs(np.random.default_rng(seed), n)
    reordered = FIRST.replace("('max_pool_3x3', 0), ('max_pool_3x3', 1)",
                              "('max_pool_3x3', 1), ('max_pool_3x3', 0)", 1)
    assert reordered != FIRST
    return [FIRST, SECOND] + [format_arch(a) for a in archs] + [reordered] + OUTSIDE


def _write_sources(tmp_path, genotypes):
    txt = tmp_path / "genotypes.txt"
    txt.write_text("# NB301 genotypes\n" + "\n".join(genotypes) + "\n\n")
    js = tmp_path / "genotypes.json"
    js.write_text(json.dumps([{"genotype": g} if i % 2 else g for i, g in enumerate(genotypes)]))
    csv = tmp_path / "genotypes.csv"
    pd.DataFrame({"genotype": genotypes, "val_acc": np.arange(len(genotypes))}).to_csv(csv, index=False)
    return txt, js, csv


def test_ground_truth_values_subset_and_provenance(tmp_path):
    genotypes = _genotypes()
    txt, _, _ = _write_sources(tmp_path, genotypes)
    fake = FakeSurrogate()
    sidecar = import_nb301(read_genotype_list(txt), fake, tmp_path / "out" / "nb301.csv", size=10, sources=[txt])
    # every in-space entry was queried once, noise-free
    assert len(fake.calls) == len(genotypes) - len(OUTSIDE)
    assert all(call["with_noise"] is False for call in fake.calls)
    table = pd.read_csv(tmp_path / "out" / "nb301.csv")
    assert list(table.columns) == ["index", "arch", "key", GT_COLUMN]
    assert table["index"].tolist() == list(range(10))
    # the subset rule: the pool's keys sorted bytewise, positions from select_subset
    pool = sorted({NB301.canonical(NB301.parse(g)) for g in genotypes[:-len(OUTSIDE)]}, key=str.encode)
    assert len(pool) == 32
    assert table["key"].tolist() == [pool[i] for i in select_subset(pool, 10)]
    assert all(NB301.format(NB301.parse(a)) == a and NB301.canonical(NB301.parse(a)) == k
               for a, k in zip(table["arch"], table["key"]))
    provenance = json.loads(sidecar.read_text())
    assert provenance["sources"] == {"genotypes.txt": sha256_file(txt)}
    assert provenance["with_noise"] is False and provenance["benchmark"] == "nb301"
    assert (provenance["entries"], provenance["dropped_outside_space"], provenance["pool"],
            provenance["duplicates_merged"]) == (len(genotypes), 4, 32, 1)
    assert provenance["table_sha256"] == sha256_file(tmp_path / "out" / "nb301.csv")


def test_hand_computed_values(tmp_path):
    out = tmp_path / "gt.csv"
    import_nb301([FIRST, SECOND, FIRST], FakeSurrogate(), out, size=2)
    table = pd.read_csv(out).set_index("key")
    first, second = (NB301.canonical(NB301.parse(g)) for g in (FIRST, SECOND))
    assert table.loc[first, GT_COLUMN] == pytest.approx(50 + 0.5 * 42 + 0.1 * 14)
    assert table.loc[second, GT_COLUMN] == pytest.approx(50 + 0.5 * 36 + 0.1 * 14)


def test_duplicates_are_averaged(tmp_path):
    out = tmp_path / "gt.csv"
    import_nb301([SECOND, FIRST, SECOND.replace("('skip_connect', 1), ('dil_conv_5x5', 3)",
                                                "('dil_conv_5x5', 3), ('skip_connect', 1)")],
                 FakeSurrogate(drift=0.01), out, size=2)
    table = pd.read_csv(out).set_index("key")
    second = NB301.canonical(NB301.parse(SECOND))
    assert table.loc[second, GT_COLUMN] == pytest.approx(50 + 0.5 * 36 + 0.1 * 14 + (0.01 + 0.03) / 2)


def test_same_input_same_bytes(tmp_path):
    genotypes = _genotypes(seed=3)
    txt, js, csv = _write_sources(tmp_path, genotypes)
    assert read_genotype_list(txt) == read_genotype_list(js) == read_genotype_list(csv) == genotypes
    outs = []
    for i, source in enumerate((txt, js, txt)):
        out = tmp_path / f"run{i}" / "nb301.csv"
        import_nb301(read_genotype_list(source), FakeSurrogate(), out, size=12)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]


def test_compact_csv_is_read_as_genotypes(tmp_path):
    archs = sample_archs(np.random.default_rng(4), 5)
    csv = tmp_path / "compact.csv"
    pd.DataFrame({"compact": [str(to_compact(a)) for a in archs]}).to_csv(csv, index=False)
    assert read_genotype_list(csv) == [format_arch(a) for a in archs]


def test_malformed_entries_name_the_entry(tmp_path):
    genotypes = _genotypes(n=5)
    genotypes[4] = "Genotype(normal=[('sep_conv_3x3', 0)"
    with pytest.raises(DataError, match=re.escape("genotype entry 4: NB301 genotype")):
        import_nb301(genotypes, FakeSurrogate(), tmp_path / "gt.csv", size=3)
    genotypes[4] = FIRST.replace("('dil_conv_3x3', 4)", "('dil_conv_3x3', 7)")  # reads a later node
    with pytest.raises(DataError, match=re.escape("genotype entry 4: NB301 normal pair 7 reads node 7")):
        import_nb301(genotypes, FakeSurrogate(), tmp_path / "gt.csv", size=3)
    assert not (tmp_path / "gt.csv").exists()


def test_bad_predictions_and_small_pools_are_refused(tmp_path):
    class Broken:
        def __init__(self, value):
            self.value = value

        def predict(self, config, representation, with_noise=True):
            if isinstance(self.value, Exception):
                raise self.value
            return self.value

    for value, fragment in ((float("nan"), "predicted nan"), (940.0, "not an accuracy"),
                            (KeyError("edge"), "the surrogate failed (KeyError")):
        with pytest.raises(DataError, match=re.escape(fragment)):
            import_nb301([FIRST], Broken(value), tmp_path / "gt.csv", size=1)
    with pytest.raises(DataError, match="fewer than the standard subset"):
        import_nb301([FIRST, SECOND], FakeSurrogate(), tmp_path / "gt.csv", size=3)


def test_genotype_list_errors(tmp_path):
    with pytest.raises(DataError, match="genotype list not found"):
        read_genotype_list(tmp_path / "missing.txt")
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("arch,acc\nx,1\n")
    with pytest.raises(DataError, match="no 'genotype' or 'compact' column"):
        read_genotype_list(bad_csv)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text(json.dumps(["ok", 3]))
    with pytest.raises(DataError, match="entry 1 is neither"):
        read_genotype_list(bad_json)


def test_namedtuple_has_the_genotype_fields():
    genotype = to_genotype(NB301.parse(FIRST))
    assert genotype._fields == ("normal", "normal_concat", "reduce", "reduce_concat")
    assert genotype.normal[0] == ("max_pool_3x3", 0) and genotype.reduce_concat == [2, 3, 4, 5]


def test_official_predictor_needs_the_package(tmp_path):
    import importlib.util

    missing = importlib.util.find_spec("nasbench301") is None
    fragment = "pip install nasbench301" if missing else "no NB301 surrogate ensemble here"
    with pytest.raises(DataError, match=fragment):
        load_official_predictor(tmp_path)


def test_the_partial_data_set_imports(tmp_path):
    path = paths.data_dir() / "nb301" / "nb301_partial_surrogate.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found; set {paths.DATA_DIR_ENV}")
    genotypes = read_genotype_list(path)
    assert len(genotypes) == 1218
    sidecar = import_nb301(genotypes, FakeSurrogate(), tmp_path / "gt.csv", size=1000, sources=[path])
    provenance = json.loads(sidecar.read_text())
    assert (provenance["pool"], provenance["dropped_outside_space"], provenance["rows"]) == (1218, 0, 1000)
