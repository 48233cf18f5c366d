"""The run journal: durable records, exact round trips, partial lines, runs that do not match."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from suite.runner.journal import ArchRecord, Journal, JournalError, identity_key, read_journal


def _header(**identity):
    identity = {"benchmark": "nb201", "seed": 20, **identity}
    return {"suite_journal": 1, "identity": identity, "identity_sha256": identity_key(identity),
            "plan": {"n": 3, "ids_sha256": "0" * 64}}


floats = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=200, deadline=None)
@given(scalar=floats, vector=st.lists(floats, min_size=1, max_size=6))
def test_records_round_trip_bit_exactly(scalar, vector):
    record = ArchRecord(arch_id=7, label="final", scores={"a": np.float64(scalar), "b": np.array(vector)},
                        failed={"c": "ValueError: x"})
    back = ArchRecord.from_json(json.loads(json.dumps(record.to_json(), allow_nan=False)))
    assert back.scores["a"].shape == () and back.scores["b"].shape == (len(vector),)
    assert back.scores["a"].tobytes() == np.float64(scalar).tobytes() or (np.isnan(scalar) and np.isnan(back.scores["a"]))
    np.testing.assert_array_equal(back.scores["b"], np.array(vector, dtype=np.float64))
    assert back.failed == {"c": "ValueError: x"}


def test_append_then_reopen_resumes_what_was_written(tmp_path):
    path = tmp_path / "run.jsonl"
    with Journal.open(path, _header()) as journal:
        journal.append(ArchRecord(arch_id=0, label="final", scores={"params": np.float64(1.5)}))
        journal.append(ArchRecord(arch_id=1, label="final", failed={"params": "boom"}))
    with Journal.open(path, _header()) as journal:
        assert journal.state.scored(0, "final", "params")
        assert not journal.state.scored(1, "final", "params")  # a failure is retried on resume
        journal.append(ArchRecord(arch_id=1, label="final", scores={"params": np.float64(2.0)}))
    state = read_journal(path)
    assert state.scored(1, "final", "params") and float(state.outcomes[("1", "final", "params")]) == 2.0
    assert len(state.sessions) == 2


def test_a_partial_last_line_is_cut_off_and_writing_continues(tmp_path):
    path = tmp_path / "run.jsonl"
    with Journal.open(path, _header()) as journal:
        journal.append(ArchRecord(arch_id=0, label="final", scores={"params": np.float64(1.0)}))
    with open(path, "ab") as handle:  # what a process killed mid-write leaves
        handle.write(b'{"arch": 1, "label": "final", "sco')
    with Journal.open(path, _header()) as journal:
        assert journal.state.scored(0, "final", "params") and not journal.state.scored(1, "final", "params")
        journal.append(ArchRecord(arch_id=1, label="final", scores={"params": np.float64(3.0)}))
    lines = path.read_bytes().splitlines()
    assert all(json.loads(line) for line in lines)  # every line is whole again
    assert read_journal(path).scored(1, "final", "params")


def test_a_corrupt_line_in_the_middle_is_named(tmp_path):
    path = tmp_path / "run.jsonl"
    with Journal.open(path, _header()) as journal:
        journal.append(ArchRecord(arch_id=0, label="final", scores={"params": np.float64(1.0)}))
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(2, b"garbage\n")
    path.write_bytes(b"".join(lines))
    with pytest.raises(JournalError, match=r"run\.jsonl:3: corrupt journal line"):
        read_journal(path)


def test_a_journal_of_another_run_is_refused_naming_the_field(tmp_path):
    path = tmp_path / "run.jsonl"
    Journal.open(path, _header(seed=20)).close()
    with pytest.raises(JournalError, match=r"different run \(seed: journal has 20, this run 2020\).*--restart"):
        Journal.open(path, _header(seed=2020))


def test_a_file_that_is_not_a_journal_is_refused(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"hello": 1}\n')
    with pytest.raises(JournalError, match="not a suite journal"):
        read_journal(path)


def test_data_that_changed_between_sessions_is_refused(tmp_path):
    path = tmp_path / "run.jsonl"
    with Journal.open(path, _header()) as journal:
        journal.append_meta({"data": {"cifar10_content": "a" * 64}, "environment": {"device": "cpu"}})
    with Journal.open(path, _header()) as journal:
        journal.append_meta({"environment": {"device": "cuda"}})  # resumed elsewhere: both recorded
        assert journal.state.environments == [{"device": "cpu"}, {"device": "cuda"}]
        with pytest.raises(JournalError, match=r"cifar10_content differs from what this run already read or trained"):
            journal.append_meta({"data": {"cifar10_content": "b" * 64}})


def test_a_later_failure_never_replaces_a_journaled_score(tmp_path):
    path = tmp_path / "run.jsonl"
    with Journal.open(path, _header()) as journal:
        journal.append(ArchRecord(arch_id=0, label="final", scores={"a": np.float64(1.0), "b": np.float64(2.0)}))
        journal.append(ArchRecord(arch_id=0, label="final", failed={"a": "the process died 2 times", "c": "boom"}))
    state = read_journal(path)
    assert state.scored(0, "final", "a") and float(state.outcomes[("0", "final", "a")]) == 1.0
    assert state.outcomes[("0", "final", "c")] == "boom"  # an estimator without a score still records it


def _journal_with(tmp_path, line: bytes):
    path = tmp_path / "run.jsonl"
    Journal.open(path, _header()).close()
    with open(path, "ab") as handle:
        handle.write(line + b"\n")
    return path


def test_a_line_nested_too_deeply_is_a_corrupt_line_not_a_traceback(tmp_path):
    path = _journal_with(tmp_path, b"[" * 200_000)
    with pytest.raises(JournalError, match=r"run\.jsonl:3: corrupt journal line"):
        read_journal(path)
    with pytest.raises(JournalError, match=r"run\.jsonl:3: corrupt journal line"):
        Journal.open(path, _header())


@pytest.mark.parametrize("record, fragment", [
    ({"arch": 1, "label": "final", "scores": {"params": True}}, "the score of 'params'"),  # never the score 1.0
    ({"arch": 1, "label": "final", "scores": {"params": [[1.0, 2.0], [3.0, 4.0]]}}, "the score of 'params'"),
    ({"arch": 1, "label": "final", "scores": {"params": []}}, "the score of 'params'"),
    ({"arch": 1, "label": "final", "scores": {"params": [1.0, False]}}, "the score of 'params'"),
    ({"arch": 1, "label": "final", "scores": {"params": 7}}, "the score of 'params'"),
    ({"arch": True, "label": "final", "scores": {"params": 1.0}}, "arch (an integer or string id)"),
    ({"arch": 1, "label": 5, "scores": {"params": 1.0}}, "label (a string)"),
    ({"arch": 1, "label": "final", "failed": {"params": 3}}, "failed is not an object of strings"),
    ({"attempt": [1], "label": "final"}, "an attempt needs"),
    ({"meta": {"data": {"cifar10_content": 5}}}, "meta.data"),
    (["session"], "not a JSON object"),
])
def test_every_record_is_type_checked(tmp_path, record, fragment):
    path = _journal_with(tmp_path, json.dumps(record).encode())
    with pytest.raises(JournalError, match=r"run\.jsonl:3: malformed journal record") as caught:
        read_journal(path)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_a_journal_path_that_is_a_directory_is_one_line(tmp_path):
    (tmp_path / "run.jsonl").mkdir()
    with pytest.raises(JournalError, match=r"cannot open the journal .*run\.jsonl \(Is a directory\)"):
        Journal.open(tmp_path / "run.jsonl", _header())


def test_a_changed_identity_is_said_in_words(tmp_path):
    path = tmp_path / "run.jsonl"
    Journal.open(path, _header()).close()
    with pytest.raises(JournalError) as caught:  # a field the journal's identity does not have, equal to None
        Journal.open(path, _header(shard=None))
    message = str(caught.value)
    assert "journal has None, this run None" not in message
    assert "the journal's identity has no 'shard'; this run's is None" in message
    header = json.loads(path.read_bytes().splitlines()[0])
    header["identity_sha256"] = "0" * 64
    path.write_bytes(json.dumps(header).encode() + b"\n")
    with pytest.raises(JournalError, match="its header was edited or damaged"):
        Journal.open(path, _header())
