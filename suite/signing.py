"""Signed result files: a DSSE envelope over an in-toto Statement v1 naming the result by digest.

Why these formats: DSSE (Dead Simple Signing Envelope) signs the payload bytes exactly as sent,
with their type bound into the signature (PAE), so nothing is re-serialised before checking; the
in-toto Statement v1 is what SLSA provenance and Sigstore attestations use, so existing tools
(securesystemslib, in-toto, cosign's verifier) read our envelopes. The subject is the result's
sha256 over its RFC 8785 (JCS) canonical JSON, so whitespace or key order in the file do not
matter, and every number in it does.

A signed result file (``mediaType`` below) holds, side by side, as a Sigstore bundle holds its
``dsseEnvelope``:

- ``result``: the result (schema of :mod:`suite.results`);
- ``dsseEnvelope``: ``{payloadType: "application/vnd.in-toto+json", payload: base64(Statement),
  signatures: [{keyid: "SHA256:...", sig: base64(Ed25519 over PAE)}]}``.

The Statement's predicate repeats the run's identity (benchmark, estimator, config, seed,
protocol version and fingerprint, suite version, when it was signed), so the envelope alone says
what was signed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from suite import canonical
from suite.atomic import write_atomically
from suite.errors import SuiteError
from suite.keys import Signer, key_id
from suite.provenance import utc_now
from suite.results import ResultFile

MEDIA_TYPE = "application/vnd.nas-estimator-suite.signed-result+json;version=1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://nas-estimator-suite.github.io/attestations/result/v1"
#: A statement names one result by digest: a few hundred bytes. Bigger payloads are refused
#: before they are parsed.
MAX_PAYLOAD_BYTES = 64 * 1024


class SignatureError(SuiteError):
    """An envelope is malformed or its signature does not hold."""

    exit_code = 3


def canonical_digest(result_json: Any) -> str:
    """sha256 hex of the RFC 8785 canonical JSON of a result (as parsed JSON, not a model).

    Raises:
        SignatureError: the value cannot be canonicalised (a number outside IEEE-754 doubles, ...).
    """
    try:
        data = canonical.dumps(result_json)  # rfc8785.dumps, byte for byte, 2-4x faster on results
    except (rfc8785.CanonicalizationError, TypeError, ValueError, OverflowError) as exc:
        raise SignatureError(f"the result cannot be canonicalised (RFC 8785): {exc}") from None
    return hashlib.sha256(data).hexdigest()


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: ``DSSEv1 SP len(type) SP type SP len(body) SP body``."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def subject_name(result: ResultFile) -> str:
    return f"{result.benchmark.name}/{result.estimator.name}/seed{result.seed}"


def statement(result: ResultFile) -> dict[str, Any]:
    """The in-toto Statement v1 for a result: subject = its canonical digest, predicate = its identity."""
    result_json = result.model_dump(mode="json")
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": subject_name(result), "digest": {"sha256": canonical_digest(result_json)}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "benchmark": result.benchmark.name,
            "estimator": {"name": result.estimator.name, "family": result.estimator.family,
                          "config": result.estimator.config},
            "seed": result.seed,
            "protocol": {"version": result.protocol.version, "fingerprint": result.protocol.fingerprint},
            "suite": {"version": result.suite.version, "git_commit": result.suite.git_commit},
            "architectures": len(result.arch_ids),
            "signed_at": utc_now(),
        },
    }


def sign_result(result: ResultFile, key: Ed25519PrivateKey) -> dict[str, Any]:
    """The signed result file's content (a JSON-ready dict)."""
    result.check_alignment()
    payload = rfc8785.dumps(statement(result))
    signature = key.sign(pae(PAYLOAD_TYPE, payload))
    return {
        "mediaType": MEDIA_TYPE,
        "result": result.model_dump(mode="json"),
        "dsseEnvelope": {
            "payloadType": PAYLOAD_TYPE,
            "payload": base64.b64encode(payload).decode(),
            "signatures": [{"keyid": key_id(key.public_key()), "sig": base64.b64encode(signature).decode()}],
        },
    }


def write_signed_result(result: ResultFile, path: str | Path, key: Ed25519PrivateKey, *,
                        overwrite: bool = False) -> Path:
    """Sign ``result`` with the Ed25519 ``key`` and write the signed file atomically.

    Raises:
        suite.atomic.TargetExistsError: ``path`` exists and ``overwrite`` is False (decided by the write itself).
        suite.atomic.WriteError: it cannot be written (full disk, ...); nothing is left under its name.
    """
    signed = sign_result(result, key)
    return write_atomically(path, json.dumps(signed, sort_keys=True, indent=1, allow_nan=False) + "\n",
                            overwrite=overwrite)


@dataclass(frozen=True)
class Envelope:
    """A parsed DSSE envelope: payload bytes, their type, and (keyid, signature bytes) pairs."""

    payload_type: str
    payload: bytes
    signatures: tuple[tuple[str, bytes], ...]


def parse_envelope(raw: Any) -> Envelope:
    """Check the DSSE envelope's shape and decode it.

    Raises:
        SignatureError: one line naming the field that is wrong.
    """
    if not isinstance(raw, dict):
        raise SignatureError("dsseEnvelope is not a JSON object")
    if raw.get("payloadType") != PAYLOAD_TYPE:
        raise SignatureError(f"dsseEnvelope.payloadType is {str(raw.get('payloadType'))[:80]!r}, expected {PAYLOAD_TYPE!r}")
    if isinstance(raw.get("payload"), str) and len(raw["payload"]) > MAX_PAYLOAD_BYTES * 4 // 3 + 4:
        raise SignatureError(f"dsseEnvelope.payload is larger than {MAX_PAYLOAD_BYTES} bytes; a statement is far smaller")
    payload = _b64(raw.get("payload"), "dsseEnvelope.payload")
    signatures = raw.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        raise SignatureError("dsseEnvelope.signatures must be a non-empty list")
    if len(signatures) > 16:
        raise SignatureError(f"dsseEnvelope.signatures holds {len(signatures)} entries; at most 16 are read")
    pairs = []
    for i, entry in enumerate(signatures):
        if not isinstance(entry, dict) or not isinstance(entry.get("keyid", ""), str):
            raise SignatureError(f"dsseEnvelope.signatures[{i}] must be an object with a string keyid")
        pairs.append((entry.get("keyid", ""), _b64(entry.get("sig"), f"dsseEnvelope.signatures[{i}].sig")))
    return Envelope(PAYLOAD_TYPE, payload, tuple(pairs))


def _b64(value: Any, where: str) -> bytes:
    """Standard or URL-safe base64, padded or not (DSSE asks verifiers to accept all four)."""
    if not isinstance(value, str):
        raise SignatureError(f"{where} must be a base64 string")
    text = value.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(f"{where} is not valid base64") from None


def parse_statement(envelope: Envelope) -> dict[str, Any]:
    """The envelope's payload as an in-toto Statement v1 of this suite, with exactly one sha256 subject.

    Raises:
        SignatureError: not JSON, not a Statement v1, another predicate type, no usable subject.
    """
    try:
        value = json.loads(envelope.payload)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise SignatureError("the envelope's payload is not JSON") from None
    if not isinstance(value, dict) or value.get("_type") != STATEMENT_TYPE:
        raise SignatureError(f"the payload is not an in-toto Statement v1 (_type must be {STATEMENT_TYPE!r})")
    if value.get("predicateType") != PREDICATE_TYPE:
        raise SignatureError(f"the statement's predicateType is not {PREDICATE_TYPE!r}")
    subjects = value.get("subject")
    if (not isinstance(subjects, list) or len(subjects) != 1 or not isinstance(subjects[0], dict)
            or not isinstance(subjects[0].get("digest"), dict)
            or not isinstance(subjects[0]["digest"].get("sha256"), str)):
        raise SignatureError("the statement must have exactly one subject with a sha256 digest")
    if not isinstance(value.get("predicate"), dict):
        raise SignatureError("the statement's predicate must be an object")
    return value


def verify_envelope(envelope: Envelope, signers: list[Signer]) -> Signer:
    """The trusted signer whose Ed25519 signature over PAE(payload) holds.

    Raises:
        SignatureError: no signature by a trusted key verifies (says whose key signed, if known), or
            one key is listed under two principals (the signature could not be attributed).
    """
    message = pae(envelope.payload_type, envelope.payload)
    by_id: dict[str, Signer] = {}
    for signer in signers:
        known = by_id.setdefault(signer.key_id, signer)
        if known.principal != signer.principal:
            # never attribute by list order: whoever lists a public key under a second name would take its results
            raise SignatureError(f"key {signer.key_id} is listed for both {known.principal} and {signer.principal}; a key "
                                 "belongs to one principal: remove one of them from allowed_signers")
    for keyid, sig in envelope.signatures:
        candidates = [by_id[keyid]] if keyid in by_id else ([] if keyid else signers)
        for signer in candidates:
            try:
                signer.public_key.verify(sig, message)
            except InvalidSignature:
                continue
            return signer
    ids = ", ".join(k or "(no keyid)" for k, _ in envelope.signatures)
    if not any(k in by_id for k, _ in envelope.signatures):
        raise SignatureError(f"signed by {ids[:200]}, which is not a trusted signer (add its public key to allowed_signers)")
    raise SignatureError(f"the signature by {ids[:200]} does not verify: the payload or the signature was altered")
