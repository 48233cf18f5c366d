"""The result file: schema, codec round trip, atomic writes, clear errors on bad files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from suite.errors import ResultFileError
from suite.provenance_schema import Environment, parse_provenance
from suite.results import decode_scores, dumps, encode_scores, read_result, result_file_name, write_result


@pytest.fixture(scope="module")
def result(nb201):
    from suite.runner import RunSpec, run

    return run(RunSpec(benchmark="nb201", estimator="random", sample=200), progress=False, loaded=nb201)


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=50))
def test_score_codec_round_trips_bit_exact(values):
    scores = np.array(values, dtype=np.float64)
    back = decode_scores(json.loads(json.dumps(encode_scores(scores), allow_nan=False)))
    assert back.tobytes() == scores.tobytes() or np.array_equal(back, scores, equal_nan=True)


def test_write_read_round_trip(result, tmp_path):
    path = write_result(result, tmp_path / "r.json")
    back = read_result(path)
    assert back == result
    assert back.scores().tobytes() == result.scores().tobytes()
    assert dumps(back) == path.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left behind


def test_result_records_what_can_change_a_number(result):
    assert result.schema_version == 1 and len(result.protocol.fingerprint) == 64
    assert result.benchmark.complete is False and result.benchmark.sample == {"n": 200, "seed": 0}
    det = result.provenance["determinism"]
    assert det["deterministic_algorithms"] and det["cudnn_deterministic"] and not det["cudnn_benchmark"]
    env = result.provenance["environment"]
    assert {"torch", "numpy", "python", "device", "dtype"} <= set(env)
    assert result.provenance["data"]["ground_truth"] == result.benchmark.ground_truth_sha256


def _mutate(result, tmp_path, change):
    raw = json.loads(dumps(result))
    change(raw)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(raw))
    return path


@pytest.mark.parametrize("change, fragment", [
    (lambda r: r.update(schema_version=2), "schema_version 2 is not supported"),
    (lambda r: r.update(extra_field=1), "extra_field"),
    (lambda r: r["snapshots"][0]["scores"].pop(), "scores has 199 values for 200 arch_ids"),
    (lambda r: r["snapshots"][0].update(per_batch=[[0.5] * 200, [0.5] * 3]), "per_batch[1] has 3 values"),
    (lambda r: r["snapshots"][0].update(components={"snip": [1.0]}), "components.snip has 1 values"),
    (lambda r: r["snapshots"][0]["scores"].__setitem__(0, "big"), "snapshots.0.scores.0"),
    (lambda r: r["protocol"].update(fingerprint="abc"), "protocol.fingerprint"),
    (lambda r: r.pop("seed"), "field seed"),
])
def test_bad_files_give_one_line_naming_the_field(result, tmp_path, change, fragment):
    with pytest.raises(ResultFileError) as err:
        read_result(_mutate(result, tmp_path, change))
    assert fragment in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("text, fragment", [
    ("{", "not valid JSON"),
    ("[1, 2]", "is a JSON object"),
    ('{"schema_version": NaN}', "not valid JSON"),
    ("\xff\xfe", "not valid JSON"),
])
def test_unreadable_files(tmp_path, text, fragment):
    path = tmp_path / "x.json"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ResultFileError, match=fragment):
        read_result(path)
    with pytest.raises(ResultFileError, match="cannot read"):
        read_result(tmp_path / "missing.json")


def test_provenance_reads_typed_and_is_written_as_it_was(result, tmp_path):
    typed = read_result(write_result(result, tmp_path / "r.json")).provenance_model
    assert isinstance(typed.environment, Environment) and typed.threads == result.provenance["threads"]
    assert typed.seeds.sample == 0 and typed.data.ground_truth == result.benchmark.ground_truth_sha256
    assert typed.determinism.deterministic_algorithms and typed.journal.identity_sha256
    # the file keeps the object as written: extra keys stay, nothing is added
    assert parse_provenance({**result.provenance, "nonce": 7}).model_extra == {"nonce": 7}
    assert json.loads(dumps(result))["provenance"] == result.provenance


@pytest.mark.parametrize("change, fragment", [
    ({"threads": "4"}, "field provenance.threads: "),
    ({"threads": True}, "field provenance.threads: "),
    ({"wall_time_s": "soon"}, "field provenance.wall_time_s: "),
    ({"started_at": {"at": 1}}, "field provenance.started_at: "),
    ({"environment": {"sessions": {"device": "cuda"}}}, "field provenance.environment.sessions: "),
    ({"seeds": {"run": 20}}, "field provenance.seeds.sample: "),
    ({"data": {"ground_truth": "x", "cifar10_content": 3}}, "field provenance.data.cifar10_content: "),
])
def test_provenance_of_the_wrong_type_is_one_line_naming_the_field(result, change, fragment):
    with pytest.raises(ResultFileError) as err:
        parse_provenance({**result.provenance, **change})
    assert str(err.value).startswith(fragment) and "\n" not in str(err.value)


def test_one_rule_names_result_files():
    assert result_file_name(20) == "seed20.json"
    assert result_file_name(2020, sample=500) == "seed2020-sample500.json"
    # the config as the result records it, by the sha256 of its RFC 8785 form: 64 and 64.0 are one config
    named = result_file_name(20, sample=1000, config={"batches": 64})
    assert named == result_file_name(20, sample=1000, config={"batches": 64.0}) != result_file_name(20, 1000, {})
    assert named.startswith("seed20-sample1000-") and len(named) == len("seed20-sample1000-12345678.json")
