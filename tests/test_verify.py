"""`suite verify`: genuine files pass; tampered, re-signed lies and hostile inputs fail with one line."""

from __future__ import annotations

import base64
import json
import shutil
import uuid

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from suite.cli import main
from suite.keys import generate_key, load_private_key
from suite.results import ResultFile
from suite.signing import sign_result
from suite.verify import Verifier

SUPPRESS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@pytest.fixture(scope="module")
def keys(tmp_path_factory, signing_key):
    """The trusted session key, a second trusted key, and an untrusted one."""
    root = tmp_path_factory.mktemp("verify-keys")
    other, other_pub = generate_key(root / "other", "other")
    stranger, _ = generate_key(root / "stranger", "stranger")
    signers = root / "allowed_signers"
    signers.write_text(f"tester {(signing_key.parent / (signing_key.name + '.pub')).read_text().strip()}\n"
                       f"other {other_pub.read_text().strip()}\n")
    return {"trusted": load_private_key(signing_key), "other": load_private_key(other),
            "stranger": load_private_key(stranger), "signers": signers, "dir": root}


@pytest.fixture(scope="module")
def verifier(keys, data_dir, cache_dir):
    return Verifier(keys["signers"], data_dir, cache_dir)


@pytest.fixture(scope="module")
def genuine(signed_file):
    return json.loads(signed_file.read_text())


def _write(keys, obj) -> str:
    path = keys["dir"] / f"{uuid.uuid4().hex}.json"
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return path


def _resign(raw_result: dict, key) -> dict:
    return sign_result(ResultFile.model_validate(raw_result), key)


def _failed(report) -> list[str]:
    return [f"{c.name}: {c.message}" for c in report.checks if c.status == "fail"]


def test_a_genuine_file_passes_every_check(verifier, signed_file):
    report = verifier.verify(signed_file)
    assert report.ok and report.signer == "tester"
    assert [c.name for c in report.checks] == ["file", "envelope", "schema", "digest", "signature", "protocol",
                                               "estimator", "coverage", "metrics", "rescorable"]
    assert all(c.status == "pass" for c in report.checks)
    assert report.scores == "re-scored" and report.to_json()["scores"] == "re-scored"


def _mutations(genuine, keys, data):
    """(name, mutated file content) pairs; hypothesis picks the positions."""
    result = json.loads(json.dumps(genuine["result"]))
    n = len(result["arch_ids"])
    kind = data.draw(st.sampled_from([
        "payload-byte", "signature-byte", "score", "metric", "swap-signer", "untrusted-resign", "protocol-replay",
        "protocol-replay-resigned", "truncate", "metric-resigned", "drop-arch-resigned", "swap-scores-resigned",
        "subject-digest", "gt-column-resigned",
    ]))
    signed = json.loads(json.dumps(genuine))
    envelope = signed["dsseEnvelope"]
    if kind == "payload-byte":
        payload = bytearray(base64.b64decode(envelope["payload"]))
        i = data.draw(st.integers(0, len(payload) - 1))
        payload[i] ^= 1 << data.draw(st.integers(0, 7))
        envelope["payload"] = base64.b64encode(bytes(payload)).decode()
    elif kind == "signature-byte":
        sig = bytearray(base64.b64decode(envelope["signatures"][0]["sig"]))
        sig[data.draw(st.integers(0, len(sig) - 1))] ^= 1 << data.draw(st.integers(0, 7))
        envelope["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    elif kind == "score":
        i = data.draw(st.integers(0, n - 1))
        signed["result"]["snapshots"][0]["scores"][i] = result["snapshots"][0]["scores"][i] * 1.5 + 1
    elif kind == "metric":
        signed["result"]["snapshots"][0]["criteria"]["values"]["KD"] += 0.01
    elif kind == "swap-signer":
        from suite.keys import key_id

        envelope["signatures"][0]["keyid"] = key_id(keys["other"].public_key())
    elif kind == "untrusted-resign":
        signed = _resign(result, keys["stranger"])
    elif kind == "protocol-replay":
        signed["result"]["protocol"]["version"] = "0.9"
    elif kind == "protocol-replay-resigned":
        result["protocol"]["version"] = "0.9"
        signed = _resign(result, keys["trusted"])
    elif kind == "truncate":
        text = json.dumps(genuine)
        return kind, text[: data.draw(st.integers(0, len(text) - 1))]
    elif kind == "metric-resigned":
        result["snapshots"][0]["criteria"]["values"]["SpearmanR"] = 0.99
        signed = _resign(result, keys["trusted"])
    elif kind == "drop-arch-resigned":  # cherry-picking: leave out an architecture
        i = data.draw(st.integers(0, n - 1))
        del result["arch_ids"][i]
        del result["snapshots"][0]["scores"][i]
        signed = _resign(result, keys["trusted"])
    elif kind == "swap-scores-resigned":
        scores = result["snapshots"][0]["scores"]
        i, j = int(np.argmin(scores)), int(np.argmax(scores))
        scores[i], scores[j] = scores[j], scores[i]
        signed = _resign(result, keys["trusted"])
    elif kind == "subject-digest":
        statement = json.loads(base64.b64decode(envelope["payload"]))
        statement["subject"][0]["digest"]["sha256"] = "0" * 64
        envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    elif kind == "gt-column-resigned":  # judged against an easier ground truth
        result["benchmark"]["ground_truth"] = "cifar10valid_test_200"
        signed = _resign(result, keys["trusted"])
    return kind, signed


@settings(max_examples=120, deadline=None, suppress_health_check=SUPPRESS)
@given(data=st.data())
def test_tampering_never_passes(verifier, genuine, keys, data):
    kind, content = _mutations(genuine, keys, data)
    report = verifier.verify(_write(keys, content))  # must not raise
    failures = _failed(report)
    assert not report.ok and failures, kind
    assert all("\n" not in f and len(f) < 600 for f in failures)


@pytest.mark.parametrize("kind, check, fragment", [
    ("score", "digest", "the result was changed after signing"),
    ("untrusted-resign", "signature", "not a trusted signer"),
    ("swap-signer", "signature", "does not verify"),
    ("protocol-replay-resigned", "protocol", "protocol version '0.9' is not this suite's"),
    ("metric-resigned", "metrics", "SpearmanR is 0.99 in the file"),
    ("drop-arch-resigned", "coverage", "1 architectures of the sample are missing"),
    ("gt-column-resigned", "protocol", "'cifar10valid_test_200' is not accepted"),  # only the protocol's column
])
def test_each_lie_is_caught_by_its_check(verifier, genuine, keys, kind, check, fragment):
    class Fixed:
        def draw(self, strategy):
            return 0 if "integers" in repr(strategy) else kind

    _, content = _mutations(genuine, keys, Fixed())
    report = verifier.verify(_write(keys, content))
    failed = {c.name: c.message for c in report.checks if c.status == "fail"}
    assert check in failed and fragment in failed[check], failed


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=500, deadline=None, suppress_health_check=SUPPRESS)
@given(value=json_values)
def test_fuzz_arbitrary_json_never_crashes(verifier, keys, value):
    report = verifier.verify(_write(keys, json.dumps(value)))
    assert not report.ok and _failed(report)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:3]):
            yield from _paths(v, (*prefix, i))


@settings(max_examples=500, deadline=None, suppress_health_check=SUPPRESS)
@given(data=st.data(), value=json_values)
def test_fuzz_a_signed_file_with_one_part_replaced_never_crashes(verifier, genuine, keys, data, value):
    content = json.loads(json.dumps(genuine))
    where = data.draw(st.sampled_from([p for p in _paths(content) if p]))
    parent = content
    for key in where[:-1]:
        parent = parent[key]
    if parent[where[-1]] == value:
        return
    parent[where[-1]] = value
    report = verifier.verify(_write(keys, content))
    assert not report.ok, where


def test_hostile_files_get_one_line_errors_from_the_cli(keys, data_dir, capsys, monkeypatch):
    import suite.results

    cases = {
        "deep.json": "[" * 100_000 + "]" * 100_000,
        "nan.json": '{"a": NaN}',
        "binary.json": "\udcff",
        "huge.json": json.dumps({"mediaType": "x", "result": {"arch_ids": list(range(200_000))}, "dsseEnvelope": {}}),
    }
    for name, text in cases.items():
        path = keys["dir"] / name
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
        code = main(["verify", str(path), "--signers", str(keys["signers"]), "--data-dir", str(data_dir)])
        out = capsys.readouterr()
        assert code == 3 and "Traceback" not in out.err + out.out, name
        assert out.out.startswith(f"FAIL {path}: ") and out.out.count("\n") == 1, out.out
    monkeypatch.setattr(suite.results, "MAX_FILE_BYTES", 100)
    code = main(["verify", str(keys["dir"] / "huge.json"), "--signers", str(keys["signers"])])
    assert code == 3 and "larger than the 100-byte limit" in capsys.readouterr().out


def test_verify_cli_exit_status_and_json(signed_file, keys, data_dir, tmp_path, capsys):
    args = ["--signers", str(keys["signers"]), "--data-dir", str(data_dir)]
    assert main(["verify", str(signed_file), *args]) == 0
    assert capsys.readouterr().out.startswith(f"PASS {signed_file} (signed by tester)")
    shutil.copy(signed_file, tmp_path / "good.json")
    (tmp_path / "bad.json").write_text("{}")
    assert main(["verify", str(tmp_path), *args, "--json"]) == 3
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and [f["ok"] for f in report["files"]] == [False, True]
    assert main(["verify", str(tmp_path / "absent.json"), *args]) == 2


@pytest.mark.parametrize("edit, fragment", [
    (lambda r: r.update(seed="20"), "wrong JSON type"),  # a string for a number: verified as one, used as the other
    (lambda r: r["arch_ids"].__setitem__(0, "\u0665"), "field arch_ids.0"),  # an Arabic-Indic digit
    (lambda r: r["snapshots"][0]["criteria"].update(nonfinite_policy="drop"), "ranks non-finite scores last"),
])
def test_ambiguous_or_off_protocol_results_fail_even_when_signed(verifier, genuine, keys, edit, fragment):
    result = json.loads(json.dumps(genuine["result"]))
    edit(result)
    signed = _sign_raw(genuine, result, keys["trusted"])  # signed exactly as edited, by a trusted key
    report = verifier.verify(_write(keys, signed))
    assert not report.ok and any(fragment in f for f in _failed(report)), _failed(report)


def _sign_raw(genuine: dict, result: dict, key) -> dict:
    """A correctly signed file around a raw result dict (no model round trip that would normalise it)."""
    import rfc8785

    from suite.keys import key_id
    from suite.signing import PAYLOAD_TYPE, canonical_digest, pae

    statement = json.loads(base64.b64decode(genuine["dsseEnvelope"]["payload"]))
    statement["subject"][0]["digest"]["sha256"] = canonical_digest(result)
    payload = rfc8785.dumps(statement)
    sig = key.sign(pae(PAYLOAD_TYPE, payload))
    return {**genuine, "result": result, "dsseEnvelope": {
        "payloadType": PAYLOAD_TYPE, "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": key_id(key.public_key()), "sig": base64.b64encode(sig).decode()}]}}


def test_duplicate_keys_and_url_safe_base64(verifier, genuine, keys):
    text = json.dumps(genuine)
    duplicated = text.replace('"seed": 20', '"seed": 20, "seed": 2020', 1)
    report = verifier.verify(_write(keys, duplicated))
    assert "duplicate key 'seed'" in _failed(report)[0]
    urlsafe = json.loads(text)
    envelope = urlsafe["dsseEnvelope"]
    envelope["payload"] = envelope["payload"].replace("+", "-").replace("/", "_").rstrip("=")
    assert verifier.verify(_write(keys, urlsafe)).ok  # DSSE: verifiers accept URL-safe, unpadded base64


def test_rerun_rescores_and_catches_a_re_signed_fake(signed_file, keys, data_dir, cache_dir, genuine):
    verifier = Verifier(keys["signers"], data_dir, cache_dir, rerun=5, rerun_seed=11)
    report = verifier.verify(signed_file)
    # params counts are exact: every architecture is re-scored, whatever K
    assert report.ok and report.checks[-1].message == "all 40 architectures re-scored (exact scores; rerun seed 11): identical"
    # a fabricated score (with criteria recomputed to match, signed by a trusted key) passes every
    # check on the file itself; only re-scoring finds it
    from suite.metrics import compute_criteria
    from suite.results import decode_scores

    result = json.loads(json.dumps(genuine["result"]))
    snap = result["snapshots"][0]
    scores = decode_scores(snap["scores"])
    scores = scores[::-1].copy()  # a different ranking
    snap["scores"] = scores.tolist()
    loaded = verifier._load_benchmark("nb201")
    gt = loaded.ground_truth()[np.array(result["arch_ids"])]
    snap["criteria"]["values"] = compute_criteria(scores, gt).values
    fake = _write(keys, _resign(result, keys["trusted"]))
    report = Verifier(keys["signers"], data_dir, cache_dir, rerun=40).verify(fake)
    failed = {c.name: c.message for c in report.checks if c.status == "fail"}
    assert list(failed) == ["rerun"] and "the file says" in failed["rerun"]


def test_a_hidden_architecture_listed_as_failed_is_caught_by_rerun(genuine, keys, data_dir, cache_dir):
    """Calling the architectures one ranks badly 'failed' drops them from the criteria; re-scoring
    the listed failures finds that they score fine."""
    from suite.metrics import compute_criteria
    from suite.results import decode_scores

    result = json.loads(json.dumps(genuine["result"]))
    snap = result["snapshots"][0]
    scores = decode_scores(snap["scores"])
    worst = int(np.argmin(scores))
    hidden = result["arch_ids"].pop(worst)
    snap["scores"].pop(worst)
    result["failures"] = [{"arch_id": hidden, "reason": "RuntimeError: diverged"}]
    verifier = Verifier(keys["signers"], data_dir, cache_dir, rerun=3)
    gt = verifier._load_benchmark("nb201").ground_truth()[np.array(result["arch_ids"])]
    criteria = compute_criteria(decode_scores(snap["scores"]), gt)
    snap["criteria"].update(n=criteria.n, n_failed=1, values=criteria.values)
    report = verifier.verify(_write(keys, _sign_raw(genuine, result, keys["trusted"])))
    failed = {c.name: c.message for c in report.checks if c.status == "fail"}
    assert list(failed) == ["rerun"] and f"architecture {hidden} is listed as failed, but scores here" in failed["rerun"]


@settings(max_examples=300, deadline=None)
@given(a=json_values, b=json_values)
def test_same_json_value_agrees_with_rfc8785(a, b):
    import rfc8785

    from suite.verify import same_json_value

    try:
        canonical_equal = rfc8785.dumps(a) == rfc8785.dumps(b)
    except (rfc8785.CanonicalizationError, ValueError, OverflowError):
        return
    assert same_json_value(a, b) == canonical_equal
    assert same_json_value(a, a)


@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_a_path_that_is_not_a_file_or_directory_is_an_error_not_nothing_to_verify(keys, tmp_path, capsys, kind):
    import os
    from pathlib import Path

    path = Path("/dev/null") if kind == "device" else tmp_path / "r.json"
    if kind == "fifo":
        os.mkfifo(path)
    assert main(["verify", str(path), "--signers", str(keys["signers"])]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {path} is not a regular file or a directory") and "\n" not in err


def test_file_names_with_control_characters_are_escaped_on_the_terminal(keys, tmp_path, capsys):
    (tmp_path / "a\x1b[2Jb\r.json").write_text("{}")
    assert main(["verify", str(tmp_path), "--signers", str(keys["signers"])]) == 3
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out and "a\\x1b[2Jb\\r.json" in out
