"""Fuzzing `suite verify`: mutated and re-signed result files always end in a verdict.

A seeded generator mutates a genuine signed file (a field deleted, replaced by a value of another
type, a number nudged, list items dropped, duplicated or swapped, bytes of the file flipped) and
re-signs half of the mutations with a trusted key, so that the deeper checks (protocol, coverage,
recomputed criteria) see them too. Every file goes through the command's own code path; each must
end in a verdict whose failures are the suite's one-line errors, never an unexpected exception
(which the verifier would report as ``cannot check (SomeError: ...)``).
"""

from __future__ import annotations

import base64
import copy
import json
import random

import pytest
import rfc8785

from suite.cli import main
from suite.keys import key_id, load_private_key
from suite.signing import PAYLOAD_TYPE, SignatureError, canonical_digest, pae

STRINGS = ["", "x", "NaN", "Infinity", "-Infinity", "nb201", "params", "final", "1.0", "\x1b[31mred", "a\rb",
           "\u202eevil", "é", "0" * 64, "SHA256:abc", "cifar10valid_test_200", "worst", "drop"]
NUMBERS = [0, 1, -1, 20, 2020, 2 ** 53 + 1, 10 ** 30, -(10 ** 30), 0.0, -0.0, 0.5, 1e308, -1e308, 5e-324, 1.5,
           True, False]


def _value(rng: random.Random, depth: int = 0):
    """A random JSON value (of every type, sometimes nested)."""
    kind = rng.randrange(7 if depth < 3 else 4)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice(NUMBERS)
    if kind == 2:
        return rng.choice(STRINGS)
    if kind == 3:
        return rng.uniform(-1e3, 1e3)
    if kind == 4:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 5:
        return {rng.choice(STRINGS + ["n", "values", "KD", "label", "scores"]): _value(rng, depth + 1)
                for _ in range(rng.randrange(4))}
    return [[]] * rng.randrange(1, 3)


def _nodes(obj, path=()):
    """(path, value) of every node below the root, lists sampled (long score vectors stay cheap)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield (*path, key), value
            yield from _nodes(value, (*path, key))
    elif isinstance(obj, list):
        for i in sorted({0, len(obj) - 1, len(obj) // 2} & set(range(len(obj)))):
            yield (*path, i), obj[i]
            yield from _nodes(obj[i], (*path, i))


def _mutate_tree(rng: random.Random, result: dict) -> None:
    """One to three random edits of the parsed result, in place."""
    for _ in range(rng.randint(1, 3)):
        where, value = rng.choice(list(_nodes(result)))
        parent = result
        for key in where[:-1]:
            parent = parent[key]
        key = where[-1]
        op = rng.randrange(6)
        if op == 0:  # delete
            del parent[key]
        elif op == 1:  # another value, of any type
            parent[key] = _value(rng)
        elif op == 2 and isinstance(value, (int, float)) and not isinstance(value, bool):  # a nudged number
            parent[key] = rng.choice([value + 1, value * 1.000001, -value, float(value), str(value), int(value)])
        elif op == 3 and isinstance(value, list) and value:  # list surgery
            i, j = rng.randrange(len(value)), rng.randrange(len(value))
            surgery = rng.randrange(3)
            if surgery == 0:
                value.pop(i)
            elif surgery == 1:
                value.append(copy.deepcopy(value[i]))
            else:
                value[i], value[j] = value[j], value[i]
        elif op == 4 and isinstance(value, dict):  # an extra field
            value[rng.choice(STRINGS + ["extra"])] = _value(rng)
        else:
            parent[key] = copy.deepcopy(rng.choice([v for _, v in _nodes(result)] or [None]))  # a value from elsewhere


def _resign(genuine: dict, result, key) -> dict | None:
    """A correctly signed file around the raw (mutated) result; None if it cannot be canonicalised."""
    try:
        digest = canonical_digest(result)
    except SignatureError:
        return None
    statement = json.loads(base64.b64decode(genuine["dsseEnvelope"]["payload"]))
    statement["subject"][0]["digest"]["sha256"] = digest
    payload = rfc8785.dumps(statement)
    return {**genuine, "result": result, "dsseEnvelope": {
        "payloadType": PAYLOAD_TYPE, "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": key_id(key.public_key()),
                        "sig": base64.b64encode(key.sign(pae(PAYLOAD_TYPE, payload))).decode()}]}}


def _mutant(rng: random.Random, genuine: dict, key) -> tuple[bytes, bool]:
    """(file bytes, re-signed?)."""
    signed = copy.deepcopy(genuine)
    resigned = False
    if rng.random() < 0.85:
        _mutate_tree(rng, signed["result"])
        if rng.random() < 0.5:
            again = _resign(genuine, signed["result"], key)
            if again is not None:
                signed, resigned = again, True
    else:
        _mutate_tree(rng, signed)  # the envelope and the top level too
    data = bytearray(json.dumps(signed, indent=rng.choice([None, 1])).encode())
    if not resigned and rng.random() < 0.15:  # bytes of the file itself
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(data))
            rng.choice([lambda: data.__setitem__(i, data[i] ^ (1 << rng.randrange(8))),
                        lambda: data.__delitem__(i), lambda: data.insert(i, rng.choice(b'{}[]",:0e-\\\x00\xff'))])()
    return bytes(data), resigned


def _fuzz(n: int, seed: int, genuine: dict, signing_key, signers_file, data_dir, tmp_path, capsys) -> None:
    rng = random.Random(seed)
    key = load_private_key(signing_key)
    resigned = {}
    for i in range(n):
        data, resigned[f"m{i:05d}.json"] = _mutant(rng, genuine, key)
        (tmp_path / f"m{i:05d}.json").write_bytes(data)
    capsys.readouterr()
    code = main(["verify", str(tmp_path), "--signers", str(signers_file), "--data-dir", str(data_dir), "--json"])
    out = capsys.readouterr()
    assert code in (0, 3) and "Traceback" not in out.err, out.err[-2000:]
    report = json.loads(out.out)
    assert len(report["files"]) == n  # every file got a verdict
    genuine_digest = canonical_digest(genuine["result"])
    for entry in report["files"]:
        name = entry["path"].rsplit("/", 1)[-1]
        checks = entry["checks"]
        assert checks and checks[0]["name"] == "file", name
        for check in checks:
            message = check["message"]
            assert message.isprintable() and len(message) <= 400, (name, check)  # one line, no escape sequences
            assert not message.startswith("cannot check ("), (name, check)  # an exception the suite did not expect
        if entry["ok"] and not resigned[name]:  # changed after signing, yet passed: only if the result is the same
            raw = json.loads((tmp_path / name).read_bytes())
            assert canonical_digest(raw["result"]) == genuine_digest, name


@pytest.fixture(scope="module")
def genuine(signed_file) -> dict:
    return json.loads(signed_file.read_text())


def test_fuzz_a_hundred_mutated_and_re_signed_files_end_in_verdicts(genuine, signing_key, signers_file, data_dir,
                                                                     tmp_path, capsys):
    _fuzz(100, 22, genuine, signing_key, signers_file, data_dir, tmp_path, capsys)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_fuzz_a_thousand_mutated_and_re_signed_files_end_in_verdicts(genuine, signing_key, signers_file, data_dir,
                                                                     tmp_path, capsys, seed):
    _fuzz(1000, seed, genuine, signing_key, signers_file, data_dir, tmp_path, capsys)
