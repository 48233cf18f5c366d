"""The NDS importers on small fixtures in the official layout (a JSON list of pycls job summaries)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from suite.data_tools.importers.common import select_subset
from suite.data_tools.importers.nds import import_nds_resnet, import_nds_resnexta
from suite.errors import DataError
from suite.spaces.nds import NDS_RESNET, NDS_RESNEXTA


def _resnet_net(arch):
    return {"block_type": "res_basic_block", "ds": [1, *arch.depths], "ws": [16, *arch.widths],
            "ss": [1, 1, 2, 2], "bot_muls": [], "num_gs": []}


def _resnexta_net(arch):
    return {"block_type": "res_bottleneck_block", "ds": [1, *arch.depths], "ws": [16, *arch.widths],
            "ss": [1, 1, 2, 2], "bot_muls": [0.0, *arch.bot_muls], "num_gs": [1, *arch.groups]}


def _entry(net, error, seed, job):
    """One job summary as the NDS files hold it (the fields the importer reads, and some it ignores)."""
    return {"job_id": job, "rng_seed": seed, "net": net, "optim": {"base_lr": 0.1, "wd": 5e-4, "max_ep": 100},
            "params": 1000 + job, "flops": 20000 + job, "exp_mem": 1.0, "act_mem": 1.0, "prec_time": 0.1,
            "iter_time": 0.05, "min_test_top1": error, "test_ep_top1": [error + 1.0, error],
            "train_ep_top1": [50.0, 20.0], "train_ep_loss": [1.0, 0.5]}


def _distinct(space, n, seed):
    out, seen = [], set()
    for arch in space.sample(np.random.default_rng(seed), 10 * n):
        if arch not in seen:
            seen.add(arch)
            out.append(arch)
    return out[:n]


@pytest.fixture
def resnet_files(tmp_path):
    """Three seed files of the same 30 architectures, each file in its own order, plus one vanilla
    (outside the space) entry; architecture 0 appears twice in rng2."""
    archs = _distinct(NDS_RESNET, 30, 0)
    paths = []
    for seed in (1, 2, 3):
        order = np.random.default_rng(seed).permutation(len(archs))
        entries = [_entry(_resnet_net(archs[i]), 5.0 + i * 0.1 + seed, seed, int(i)) for i in order]
        if seed == 2:
            entries.append(_entry(_resnet_net(archs[0]), 9.0, seed, 0))  # a repeat of architecture 0
        entries.insert(3, _entry({**_resnet_net(archs[1]), "block_type": "double_plain_block"}, 50.0, seed, 99))
        path = tmp_path / f"ResNet_rng{seed}.json"
        path.write_text(json.dumps(entries))
        paths.append(path)
    return archs, paths


def test_resnet_ground_truth_and_subset(resnet_files, tmp_path):
    archs, paths = resnet_files
    sidecar = import_nds_resnet(list(reversed(paths)), tmp_path / "out" / "nds_resnet.csv", size=10)
    table = pd.read_csv(tmp_path / "out" / "nds_resnet.csv")
    assert list(table.columns) == ["index", "arch", "key", "test_acc", "params", "flops"]
    assert table["index"].tolist() == list(range(10))
    # The subset rule: sorted keys, positions drawn with the protocol's seed.
    keys = sorted((NDS_RESNET.format(a) for a in archs), key=str.encode)
    assert table["key"].tolist() == [keys[i] for i in select_subset(keys, 10)]
    assert (table["arch"] == table["key"]).all()
    by_arch = dict(zip(table["arch"], table["test_acc"]))
    gt_all = {NDS_RESNET.format(a): i for i, a in enumerate(archs)}
    for text, acc in by_arch.items():
        i = gt_all[text]
        if i == 0:  # rng2 holds it twice (errors 7.0 and 9.0): that file contributes 100 - 8.0
            assert acc == pytest.approx(((100 - 6.0) + (100 - 8.0) + (100 - 8.0)) / 3)
        else:  # errors 5 + 0.1 i + seed for seeds 1, 2, 3
            assert acc == pytest.approx(100 - (5.0 + 0.1 * i + 2))
    provenance = json.loads(sidecar.read_text())
    assert provenance["pool"] == 30 and provenance["rows"] == 10
    assert provenance["files"]["ResNet_rng1.json"] == {"entries": 31, "dropped_outside_space": 1,
                                                       "duplicates_averaged": 0}
    assert provenance["files"]["ResNet_rng2.json"]["duplicates_averaged"] == 1
    assert provenance["sources"] == {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_resnet_hand_computed_entries(resnet_files, tmp_path):
    archs, paths = resnet_files
    import_nds_resnet(paths, tmp_path / "all.csv", size=30)
    table = pd.read_csv(tmp_path / "all.csv").set_index("arch")
    five = NDS_RESNET.format(archs[5])  # errors 6.5, 7.5, 8.5 -> accuracies 93.5, 92.5, 91.5
    assert table.loc[five, "test_acc"] == pytest.approx(92.5)
    assert table.loc[five, "params"] == 1005 and table.loc[five, "flops"] == 20005
    zero = NDS_RESNET.format(archs[0])  # 6.0; mean(7.0, 9.0) = 8.0; 8.0
    assert table.loc[zero, "test_acc"] == pytest.approx(100 - 22.0 / 3)


def test_resnet_import_is_deterministic(resnet_files, tmp_path):
    _, paths = resnet_files
    import_nds_resnet(paths, tmp_path / "a.csv", size=10)
    import_nds_resnet(paths, tmp_path / "b.csv", size=10)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_resnet_architecture_missing_from_one_file(resnet_files, tmp_path):
    archs, paths = resnet_files
    entries = json.loads(paths[2].read_text())
    gone = NDS_RESNET.format(archs[7])
    entries = [e for e in entries if e["net"]["block_type"] != "res_basic_block"
               or NDS_RESNET.from_nds_net(e["net"]) != archs[7]]
    paths[2].write_text(json.dumps(entries))
    with pytest.raises(DataError, match=rf"ResNet_rng3.json lacks the architecture '{gone}' of ResNet_rng1.json entry"):
        import_nds_resnet(paths, tmp_path / "x.csv", size=10)


@pytest.mark.parametrize("corrupt, fragment", [
    (lambda e: e[4].pop("min_test_top1"), "entry 4: 'min_test_top1'"),
    (lambda e: e[5].update(min_test_top1="7.1"), "entry 5: 'min_test_top1'"),
    (lambda e: e[6]["net"].update(ds="1,2,3,4"), "entry 6: malformed 'net'"),
    (lambda e: e[7].pop("net"), "entry 7: not a model entry"),
])
def test_malformed_entries_name_the_entry(resnet_files, tmp_path, corrupt, fragment):
    _, paths = resnet_files
    entries = json.loads(paths[1].read_text())
    corrupt(entries)
    paths[1].write_text(json.dumps(entries))
    with pytest.raises(DataError, match="ResNet_rng2.json " + fragment.replace("(", r"\(")) as info:
        import_nds_resnet(paths, tmp_path / "x.csv", size=10)
    assert "\n" not in str(info.value)


def test_unreadable_files(tmp_path, resnet_files):
    _, paths = resnet_files
    paths[0].write_text('{"top": []}')
    with pytest.raises(DataError, match="expected a JSON list"):
        import_nds_resnet(paths, tmp_path / "x.csv", size=10)
    paths[0].write_text("[{")
    with pytest.raises(DataError, match="not readable JSON"):
        import_nds_resnet(paths, tmp_path / "x.csv", size=10)
    with pytest.raises(DataError, match="three seed files"):
        import_nds_resnet(paths[:2], tmp_path / "x.csv", size=10)
    with pytest.raises(DataError, match="file not found"):
        import_nds_resnexta(tmp_path / "ResNeXt-A.json", tmp_path / "x.csv", size=10)


@pytest.fixture
def resnexta_file(tmp_path):
    """30 distinct ResNeXt-A models, one twice, and one ResNet entry (outside the space)."""
    archs = _distinct(NDS_RESNEXTA, 30, 1)
    entries = [_entry(_resnexta_net(a), 4.0 + 0.2 * i, 1, i) for i, a in enumerate(archs)]
    entries.append(_entry(_resnexta_net(archs[3]), 10.0, 1, 3))
    entries.insert(0, _entry(_resnet_net(NDS_RESNET.parse("d=1,1,1 w=16,16,16")), 8.0, 1, 77))
    path = tmp_path / "ResNeXt-A.json"
    path.write_text(json.dumps(entries))
    return archs, path


def test_resnexta_ground_truth_subset_and_provenance(resnexta_file, tmp_path):
    archs, path = resnexta_file
    sidecar = import_nds_resnexta(path, tmp_path / "nds_resnexta.csv", size=10)
    table = pd.read_csv(tmp_path / "nds_resnexta.csv")
    keys = sorted((NDS_RESNEXTA.format(a) for a in archs), key=str.encode)
    assert table["key"].tolist() == [keys[i] for i in select_subset(keys, 10)]
    assert all(NDS_RESNEXTA.parse(s) in archs for s in table["arch"])
    provenance = json.loads(sidecar.read_text())
    assert provenance["files"]["ResNeXt-A.json"] == {"entries": 32, "dropped_outside_space": 1,
                                                     "duplicates_averaged": 1}
    assert provenance["pool"] == 30 and provenance["space"] == "nds-resnexta"
    assert provenance["sources"] == {"ResNeXt-A.json": hashlib.sha256(path.read_bytes()).hexdigest()}
    import_nds_resnexta(path, tmp_path / "again.csv", size=10)
    assert (tmp_path / "again.csv").read_bytes() == (tmp_path / "nds_resnexta.csv").read_bytes()
    import_nds_resnexta(path, tmp_path / "all.csv", size=30)
    full = pd.read_csv(tmp_path / "all.csv").set_index("arch")
    assert full.loc[NDS_RESNEXTA.format(archs[10]), "test_acc"] == pytest.approx(100 - 6.0)
    assert full.loc[NDS_RESNEXTA.format(archs[3]), "test_acc"] == pytest.approx(100 - (4.6 + 10.0) / 2)
    with pytest.raises(DataError, match="fewer than the standard subset's 31"):
        import_nds_resnexta(path, tmp_path / "x.csv", size=31)
