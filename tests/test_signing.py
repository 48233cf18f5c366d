"""Keys, the DSSE envelope and its interoperability with an independent implementation."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given, settings
from hypothesis import strategies as st

from suite.cli import main
from suite.keys import (
    KeyFileError,
    generate_key,
    key_id,
    load_private_key,
    load_signers,
)
from suite.signing import PAYLOAD_TYPE, canonical_digest, pae


def test_keygen_writes_a_private_openssh_ed25519_pair(tmp_path, capsys):
    path = tmp_path / "conf" / "key"
    assert main(["keygen", "--out", str(path), "--comment", "alice@lab"]) == 0
    out = capsys.readouterr()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----")
    public = (tmp_path / "conf" / "key.pub").read_text().strip()
    assert public.startswith("ssh-ed25519 ") and public.endswith(" alice@lab") and out.out.strip() == public
    assert "private" not in out.out.lower()  # the private key is never printed
    # never overwritten; --if-missing is a no-op
    assert main(["keygen", "--out", str(path)]) == 2
    assert main(["keygen", "--out", str(path), "--if-missing"]) == 0


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="OpenSSH not installed")
def test_key_id_is_the_openssh_fingerprint_and_ssh_keygen_reads_our_keys(tmp_path):
    private, public = generate_key(tmp_path / "k")
    listed = subprocess.run(["ssh-keygen", "-lf", str(public)], capture_output=True, text=True, check=True).stdout
    assert listed.split()[1] == key_id(load_private_key(private).public_key())
    # OpenSSH derives the same public key from our private key file
    derived = subprocess.run(["ssh-keygen", "-y", "-f", str(private)], capture_output=True, text=True, check=True).stdout
    assert derived.split()[:2] == public.read_text().split()[:2]


def test_bad_keys_are_refused_with_one_line(tmp_path):
    private, _ = generate_key(tmp_path / "k")
    os.chmod(private, 0o644)
    with pytest.raises(KeyFileError, match=r"readable by others \(mode 0644\); run `chmod 600"):
        load_private_key(private)
    rsa_path = tmp_path / "rsa"
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rsa_path.write_bytes(rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                               serialization.NoEncryption()))
    os.chmod(rsa_path, 0o600)
    with pytest.raises(KeyFileError, match="RSA key; signing needs Ed25519"):
        load_private_key(rsa_path)
    garbage = tmp_path / "garbage"
    garbage.write_text("not a key")
    os.chmod(garbage, 0o600)
    with pytest.raises(KeyFileError, match="not an OpenSSH private key"):
        load_private_key(garbage)
    with pytest.raises(KeyFileError, match="suite keygen"):
        load_private_key(tmp_path / "absent")


def test_signers_file_errors_name_the_line(tmp_path):
    path = tmp_path / "allowed_signers"
    _, public = generate_key(tmp_path / "k")
    path.write_text(f"# trusted\nalice {public.read_text().strip()}\nbob ssh-ed25519 AAAAnotakey\n")
    with pytest.raises(KeyFileError, match=r"allowed_signers:3: not an OpenSSH public key"):
        load_signers(path)
    path.write_text(f"alice {public.read_text()}")
    [alice] = load_signers(path)
    assert alice.principal == "alice" and alice.key_id.startswith("SHA256:")


def test_pae_matches_the_dsse_specification_vector():
    # DSSE protocol.md test vector
    assert pae("http://example.com/HelloWorld", b"hello world") == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=8), st.one_of(st.integers(-(2**53) + 1, 2**53 - 1), st.floats(allow_nan=False,
       allow_infinity=False), st.text(max_size=8), st.booleans(), st.none()), max_size=8))
def test_the_digest_is_over_rfc8785_canonical_json(value):
    shuffled = dict(reversed(list(value.items())))
    assert canonical_digest(value) == canonical_digest(shuffled)
    assert canonical_digest(value) == canonical_digest(json.loads(json.dumps(value, indent=3)))


def test_numbers_outside_json_doubles_cannot_be_signed():
    from suite.signing import SignatureError

    with pytest.raises(SignatureError, match="cannot be canonicalised"):
        canonical_digest({"n": 2**53})


def test_securesystemslib_verifies_our_envelope(signed_file, signing_key):
    """An independent DSSE implementation accepts our envelope, and rejects it once altered."""
    from securesystemslib.dsse import Envelope
    from securesystemslib.exceptions import VerificationError
    from securesystemslib.signer import SSlibKey

    private = load_private_key(signing_key)
    raw_public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    keyid = key_id(private.public_key())
    key = SSlibKey(keyid=keyid, keytype="ed25519", scheme="ed25519", keyval={"public": raw_public.hex()})
    raw = json.loads(signed_file.read_text())["dsseEnvelope"]
    envelope = Envelope.from_dict(json.loads(json.dumps(raw)))  # from_dict alters its argument
    assert envelope.payload_type == PAYLOAD_TYPE
    accepted = envelope.verify([key], 1)
    assert keyid in accepted
    statement = json.loads(envelope.pae().split(b" ", 4)[4])
    assert statement["_type"] == "https://in-toto.io/Statement/v1"

    payload = bytearray(base64.b64decode(raw["payload"]))
    payload[10] ^= 1
    altered = Envelope.from_dict({**raw, "payload": base64.b64encode(bytes(payload)).decode()})
    with pytest.raises(VerificationError):
        altered.verify([key], 1)


def _public(tmp_path, name: str) -> str:
    _, public = generate_key(tmp_path / name)
    return " ".join(public.read_text().split()[:2])  # ssh-ed25519 <base64>


def test_one_key_under_two_principals_is_refused(tmp_path):
    """Public keys are public: a line `mallory <alice's key>` must not take alice's results (the
    attribution used to go to whichever line came last)."""
    alice = _public(tmp_path, "alice")
    path = tmp_path / "allowed_signers"
    path.write_text(f"# trusted\nalice {alice} alice@lab\n\nmallory {alice}\n")
    with pytest.raises(KeyFileError) as caught:
        load_signers(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}:4: key SHA256:")
    assert "for mallory (line 4) and for alice (line 2)" in message and "remove the wrong line" in message
    path.write_text(f"alice,mallory {alice}\n")  # git's principal list: the same key for two names, on one line
    with pytest.raises(KeyFileError, match=r"allowed_signers:1: one key under several principals \(alice, mallory\)"):
        load_signers(path)
    # the same line twice is one signer; one principal with two keys (rotation) is two
    other = _public(tmp_path, "alice2")
    path.write_text(f"alice {alice}\nalice {alice} again\nalice {other}\n")
    signers = load_signers(path)
    assert [s.principal for s in signers] == ["alice", "alice"] and len({s.key_id for s in signers}) == 2


@pytest.mark.parametrize("options", ['valid-before="20300101"', 'valid-after="20240101",namespaces="git"',
                                     "cert-authority", 'namespaces="file"'])
def test_key_options_are_refused_not_ignored(tmp_path, options):
    """git's allowed_signers options (expiry, namespaces, CAs) are not enforced here, so a line that
    carries one is refused: an expired key must not verify as if it never expired."""
    alice = _public(tmp_path, "alice")
    path = tmp_path / "allowed_signers"
    path.write_text(f"# trusted\nalice {options} {alice} comment\n")
    with pytest.raises(KeyFileError) as caught:
        load_signers(path)
    message = str(caught.value)
    first = options.split("=")[0].split(",")[0]
    assert "\n" not in message and message.startswith(f"{path}:2: option {first}")
    assert "is not supported" in message and "remove it" in message


def test_the_repository_signers_load():
    """submissions/allowed_signers (one principal, two keys, no options) still loads."""
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "submissions" / "allowed_signers"
    signers = load_signers(path)
    assert len(signers) == 2 and {s.principal for s in signers} == {"nas-estimator-suite"}
    assert len({s.key_id for s in signers}) == 2


def test_a_signature_is_never_attributed_by_list_order(signed_file, signing_key):
    """verify_envelope refuses a signer list that names one key for two principals, whatever its
    source (load_signers refuses it in a file; this guards other callers)."""
    from suite.keys import Signer
    from suite.signing import SignatureError, parse_envelope, verify_envelope

    envelope = parse_envelope(json.loads(signed_file.read_text())["dsseEnvelope"])
    public = load_private_key(signing_key).public_key()
    tester = Signer("tester", public, key_id(public))
    assert verify_envelope(envelope, [tester]) == tester
    mallory = Signer("mallory", public, key_id(public))
    for signers in ([tester, mallory], [mallory, tester]):
        with pytest.raises(SignatureError, match=r"is listed for both (tester and mallory|mallory and tester); a key "
                                                 r"belongs to one principal"):
            verify_envelope(envelope, signers)


def test_a_line_without_key_type_is_a_format_error_not_an_option(tmp_path):
    alice = _public(tmp_path, "alice")
    path = tmp_path / "allowed_signers"
    path.write_text(f"alice {alice.split()[1]} comment\n")
    with pytest.raises(KeyFileError, match=r"allowed_signers:1: not an OpenSSH public key"):
        load_signers(path)
