"""Multi-model forgetting (study A3, Fig 13): the trainer's measurement changes no weight, survives
a crash, is found again with a reused training, and its analysis computes the statistics."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import torch
from test_one_shot import TINY, FakeCifar, _run
from test_one_shot import _train as train_or_crash

import estimators.one_shot.forgetting as forgetting_module
from estimators.one_shot import OneShotEstimator
from estimators.one_shot.sampling import Sampler
from estimators.one_shot.forgetting import FORGETTING_FILE
from estimators.one_shot.trainer import SupernetTrainer
from suite.analysis.forgetting import STAT_COLUMNS, forgetting_analysis
from suite.errors import UsageError
from suite.estimator import RunContext
from suite.spaces.nb201 import NB201

# 3 epochs of 3 steps (48 images, batch 16), checkpoints every 2 steps; epochs 1 and 3 measured at
# all 3 steps (so a checkpoint falls inside a measured epoch), on the first 32 "scoring" images
MEASURED = dataclasses.replace(TINY, forgetting_epochs=(1, 3), forgetting_archs=3, forgetting_batch=32)


def _same_weights(a: SupernetTrainer, b: SupernetTrainer) -> bool:
    for label in ("epoch-2", "epoch-3"):
        x, y = a.snapshot_weights(label), b.snapshot_weights(label)
        if x.keys() != y.keys() or not all(torch.equal(x[k], y[k]) for k in x):
            return False
    return True


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The plain and the measured TINY trainings (uninterrupted), and the architectures drawn."""
    root = tmp_path_factory.mktemp("forgetting")
    plain = train_or_crash(root, name="plain")
    drawn, original = [], Sampler.draw

    def spy(self, generator):
        drawn.append(original(self, generator))
        return drawn[-1]

    Sampler.draw = spy
    try:
        measured = train_or_crash(root, MEASURED, name="measured")
    finally:
        Sampler.draw = original
    return plain, measured, drawn


def test_the_measurement_changes_no_weight_and_the_test_can_tell(trained, tmp_path, monkeypatch):
    plain, measured, drawn = trained
    assert _same_weights(plain, measured)  # parameters and BN running statistics, bit for bit
    assert plain.work_dir != measured.work_dir and '"forgetting"' not in plain.fingerprint
    record = measured.forgetting_record()
    assert sorted(record["epochs"]) == ["1", "3"] and record["eval_batch"] == 32 and record["steps"] == 3
    for entry in record["epochs"].values():
        assert entry["step"] == [0, 1, 2] and len(entry["arch"]) == 3  # one architecture per step (S = 1)
        assert entry["fv"] == [a - b for a, b in zip(entry["acc_after_step"], entry["acc_epoch_end"])]
        assert all(abs(v * 32 - round(v * 32)) < 1e-9 for v in entry["acc_after_step"] + entry["acc_epoch_end"])
    # the architectures are those the training drew at those steps (3 steps per epoch)
    assert [NB201.format(a) for step in (*drawn[0:3], *drawn[6:9]) for a in step] == \
        record["epochs"]["1"]["arch"] + record["epochs"]["3"]["arch"]

    # a measurement that evaluated in training mode (BN statistics updated) would show
    def careless(model, archs, batches, kind, bn="train"):
        with torch.no_grad():
            return np.array([[float((model(x, a).argmax(1) == y).double().mean()) for x, y in batches] for a in archs])

    monkeypatch.setattr(forgetting_module, "os_values", careless)
    spoiled = train_or_crash(tmp_path, MEASURED, name="careless")
    assert not _same_weights(plain, spoiled)


def _crash_at_epoch_end(tmp_path, settings, name):
    """Kill the training inside the first epoch's end, after the forgetting record is written and
    before the epoch's checkpoint; then run it again."""
    trainer = SupernetTrainer(settings, seed=2020, cifar=FakeCifar, device=torch.device("cpu"),
                              work_root=tmp_path / name, checkpoint_every=2)
    original = SupernetTrainer._keep

    def crashing(self, finished, model):
        if finished == 1:
            assert (self.work_dir / FORGETTING_FILE).exists()
            raise KeyboardInterrupt("killed")
        return original(self, finished, model)

    SupernetTrainer._keep = crashing
    try:
        with pytest.raises(KeyboardInterrupt):
            trainer.train()
    finally:
        SupernetTrainer._keep = original
    trainer.train()
    return trainer


@pytest.mark.parametrize("fail_at", [3, "epoch-end"])  # epoch 1 step 3: after the checkpoint at step 2
def test_the_record_survives_a_crash_and_a_reused_training(trained, tmp_path, fail_at, monkeypatch):
    reference = trained[1]
    if fail_at == "epoch-end":
        resumed = _crash_at_epoch_end(tmp_path, MEASURED, "resumed")
    else:
        resumed = train_or_crash(tmp_path, MEASURED, fail_at=fail_at, name="resumed")
    assert _same_weights(reference, resumed)
    assert resumed.forgetting_record() == reference.forgetting_record()
    # a second trainer on the same directory reuses the training (no step runs) and finds the record
    monkeypatch.setattr(Sampler, "draw", lambda self, generator: pytest.fail("trained again"))
    again = SupernetTrainer(MEASURED, seed=2020, cifar=FakeCifar, device=torch.device("cpu"),
                            work_root=tmp_path / "resumed")
    again.train()
    assert again.forgetting_record() == reference.forgetting_record()


def test_config_checks_and_the_run_record_when_off():
    for bad, match in [({"forgetting_epochs": "3,1"}, "ascending"), ({"forgetting_epochs": "x"}, "comma-separated"),
                       ({"forgetting_epochs": "1001"}, "ascending"), ({"forgetting_archs": 0}, "forgetting_archs")]:
        with pytest.raises(UsageError, match=match):
            OneShotEstimator.resolve_config(bad, "nb201")
    estimator = OneShotEstimator(forgetting_epochs="1,5", score_batch_size=250, score_bn="eval")
    settings = estimator.train_settings("nb201")
    assert settings.forgetting_epochs == (1, 5)
    assert (settings.forgetting_batch, settings.forgetting_bn) == (250, "eval")
    assert OneShotEstimator().run_record(RunContext(space=None, seed=20)) == {}
    # off: the training's fingerprint is the one it had before the option existed
    plain = SupernetTrainer(TINY, 20, FakeCifar, torch.device("cpu"), None)
    assert "forgetting" not in plain.fingerprint
    assert SupernetTrainer(dataclasses.replace(TINY, forgetting_archs=3, forgetting_batch=7), 20, FakeCifar,
                           torch.device("cpu"), None).fingerprint == plain.fingerprint


# --- the analysis -----------------------------------------------------------------------------------

def _result(epochs):
    return {"estimator": {"name": "oneshot"}, "benchmark": {"name": "nb201"}, "seed": 20,
            "provenance": {"estimator_record": {"forgetting": {"epochs": epochs, "eval_batch": 500, "bn": "train"}}}}


def test_statistics_of_a_hand_made_record(tmp_path):
    after = [0.5, 0.25, 0.75, 0.5]
    end = [0.375, 0.375, 0.5, 0.5]  # FV 0.125, -0.125, 0.25, 0
    result = _result({
        "1": {"arch": list("abcd"), "step": [0, 1, 2, 3], "acc_after_step": after, "acc_epoch_end": end,
              "fv": [a - b for a, b in zip(after, end)]},
        "10": {"arch": ["e"], "step": [0], "acc_after_step": [0.5], "acc_epoch_end": [0.25], "fv": [0.25]},
    })
    summary = forgetting_analysis(result, tmp_path, "run")
    assert summary["epochs"] == [1, 10] and summary["n"] == 5 and summary["eval_batch"] == 500
    assert summary["mean_fv"] == {"1": 0.0625, "10": 0.25} and summary["std_fv"]["10"] is None
    assert summary["files"] == ["run-forgetting.csv", "run-forgetting-values.csv", "run-forgetting.svg",
                                "run-forgetting.json"]
    table = pd.read_csv(tmp_path / "run-forgetting.csv")
    assert tuple(table.columns) == STAT_COLUMNS and table["epoch"].tolist() == [1, 10]
    first = table.iloc[0]
    fv = np.array([0.125, -0.125, 0.25, 0.0])
    assert first["std"] == pytest.approx(fv.std(ddof=1)) and first["median"] == 0.0625
    assert (first["min"], first["max"], first["q25"], first["q75"]) == (-0.125, 0.25, np.quantile(fv, 0.25), np.quantile(fv, 0.75))
    assert (first["frac_forgotten"], first["mean_acc_after_step"], first["mean_acc_epoch_end"]) == (0.5, 0.5, 0.4375)
    values = pd.read_csv(tmp_path / "run-forgetting-values.csv")
    assert len(values) == 5 and values["fv"].tolist() == [0.125, -0.125, 0.25, 0.0, 0.25]
    stored = json.loads((tmp_path / "run-forgetting.json").read_text())
    assert stored["statistics"][1]["n"] == 1 and stored["settings"]["bn"] == "train"
    assert (tmp_path / "run-forgetting.svg").read_text().startswith("<?xml")
    forgetting_analysis(result, tmp_path / "again", "run")
    for name in summary["files"]:  # byte-identical for identical input
        assert (tmp_path / name).read_bytes() == (tmp_path / "again" / name).read_bytes()
    assert forgetting_analysis({"provenance": {}}, tmp_path, "none") is None
    assert forgetting_analysis(_result({}), tmp_path, "none") is None
    assert not list(tmp_path.glob("none-*"))


def test_a_tiny_real_training_records_forgetting_in_the_result(data_dir, cache_dir, cifar, tmp_path, monkeypatch):
    """CIFAR-10, the runner, the result's provenance; the measured run scores like the plain one."""
    extra = ("-c", "forgetting_epochs=1,2", "-c", "forgetting_archs=3")
    measured = _run(data_dir, cache_dir, tmp_path / "on", *extra)
    plain = _run(data_dir, cache_dir, tmp_path / "off")
    assert [s.model_dump(mode="json") for s in measured.snapshots] == [s.model_dump(mode="json") for s in plain.snapshots]
    record = measured.provenance["estimator_record"]["forgetting"]
    assert "estimator_record" not in plain.provenance
    assert record["eval_batch"] == 50 and record["seed"] == 20 and sorted(record["epochs"]) == ["1", "2"]
    for entry in record["epochs"].values():
        assert entry["step"] == [0, 1, 2] and len(entry["fv"]) == 3
        assert all(0 <= v <= 1 and abs(v * 50 - round(v * 50)) < 1e-9 for v in entry["acc_after_step"] + entry["acc_epoch_end"])
    assert list((cache_dir / "oneshot").glob(f"seed20-*/{FORGETTING_FILE}"))
    # the same command again reuses the training from the cache and records the same values
    monkeypatch.setattr(Sampler, "draw", lambda self, generator: pytest.fail("trained again"))
    again = _run(data_dir, cache_dir, tmp_path / "again", *extra)
    assert again.provenance["estimator_record"] == measured.provenance["estimator_record"]
    summary = forgetting_analysis(measured, tmp_path / "analysis", "oneshot")
    assert summary["epochs"] == [1, 2] and summary["n"] == 6
    print("\ntiny CIFAR-10 training, forgetting:", json.dumps(
        {e: {k: v[k] for k in ("acc_after_step", "acc_epoch_end", "fv")} for e, v in record["epochs"].items()}))
