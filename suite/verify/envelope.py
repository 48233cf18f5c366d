"""The checks of a file's form and trust: readable JSON, the DSSE envelope, the digest, the signature."""

from __future__ import annotations

from pathlib import Path

from suite.errors import SuiteError
from suite.keys import Signer
from suite.results import is_signed, load_json_file, parse_json_bytes
from suite.signing import MEDIA_TYPE, canonical_digest, parse_envelope, parse_statement, verify_envelope
from suite.verify.state import FileState


def check_file(path: Path, state: FileState) -> str:
    """``file``: readable JSON within the size limit (``state.data`` if given, else the file)."""
    if state.data is not None:
        state.raw = parse_json_bytes(state.data, path)
    elif path.is_symlink():
        raise SuiteError("is a symbolic link; a result must be a regular file")
    else:
        state.raw = load_json_file(path)
    return "readable JSON"


def check_envelope(state: FileState) -> str:
    """``envelope``: a signed result file: media type, DSSE envelope, in-toto Statement v1 payload."""
    raw = state.raw
    if not is_signed(raw):
        raise SuiteError("not a signed result file (no dsseEnvelope beside the result); sign it by writing it with `suite run`")
    if raw.get("mediaType") != MEDIA_TYPE:
        raise SuiteError(f"mediaType is {str(raw.get('mediaType'))[:80]!r}, expected {MEDIA_TYPE!r}")
    extra = sorted(set(raw) - {"mediaType", "result", "dsseEnvelope"})
    if extra:
        raise SuiteError(f"unexpected top-level field {str(extra[0])[:40]!r} in a signed result file")
    state.envelope = parse_envelope(raw["dsseEnvelope"])
    state.statement = parse_statement(state.envelope)
    return "DSSE envelope with an in-toto Statement v1"


def check_digest(state: FileState) -> str:
    """``digest``: the statement's subject is the sha256 of the result's RFC 8785 canonical JSON, and
    its predicate names the same benchmark, estimator, config, seed and protocol."""
    state.digest = canonical_digest(state.raw["result"])
    subject = state.statement["subject"][0]["digest"]["sha256"]
    if subject != state.digest:
        raise SuiteError(f"the result's sha256 {state.digest[:16]}... is not the signed subject {subject[:16]}...: "
                         "the result was changed after signing")
    predicate, result = state.statement["predicate"], state.result
    expected = {
        "benchmark": result.benchmark.name, "seed": result.seed,
        "estimator": {"name": result.estimator.name, "family": result.estimator.family, "config": result.estimator.config},
        "protocol": {"version": result.protocol.version, "fingerprint": result.protocol.fingerprint},
    }
    for key, value in expected.items():
        if predicate.get(key) != value:
            raise SuiteError(f"the signed statement's {key} differs from the result's")
    return f"subject sha256 {state.digest[:16]}... matches the canonical result"


def check_signature(state: FileState, trusted: list[Signer], extra: list[Signer]) -> tuple[str, bool]:
    """``signature``: an Ed25519 signature over the envelope verifies under a ``trusted`` signer's key,
    or under one of the ``extra`` keys (accepted, but reported as not yet trusted).

    Returns:
        The verdict, and whether the signer is one of ``extra``.
    """
    signer = verify_envelope(state.envelope, trusted + extra)
    if signer in extra:
        return f"signed by {signer.principal} ({signer.key_id}), a key not yet in allowed_signers", True
    return f"signed by {signer.principal} ({signer.key_id})", False
