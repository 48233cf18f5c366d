"""Signing keys: Ed25519 in OpenSSH format, and the trusted signers of ``submissions/``.

A key made by ``suite keygen`` is an ordinary OpenSSH key pair (``ssh-keygen -t ed25519`` makes
the same kind), so it can double as a GitHub SSH signing key. Its id is OpenSSH's fingerprint,
``SHA256:<base64 of sha256 of the public key blob>``, what ``ssh-keygen -lf key.pub`` prints.
Trusted signers are listed in ``submissions/allowed_signers``, one per line, in the format git
uses for SSH signatures: ``<principal> ssh-ed25519 <base64> [comment]``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from suite.errors import SuiteError, UsageError

KEY_ENV = "SUITE_SIGNING_KEY"
SIGNERS_FILE = "allowed_signers"
_PRINCIPAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")


class KeyFileError(SuiteError):
    """A key or signers file is missing, unreadable, or of the wrong kind."""


def default_key_path() -> Path:
    """``$SUITE_SIGNING_KEY``, else ``$XDG_CONFIG_HOME/nas-suite/signing_key`` (``~/.config/...``)."""
    if os.environ.get(KEY_ENV):
        return Path(os.environ[KEY_ENV]).expanduser()
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return config / "nas-suite" / "signing_key"


def generate_key(path: Path, comment: str = "nas-suite") -> tuple[Path, Path]:
    """Write a new Ed25519 key pair: ``path`` (OpenSSH private key, mode 0600) and ``path.pub``.

    Raises:
        UsageError: ``path`` exists (a key is never overwritten).
    """
    path = Path(path)
    pub_path = path.with_name(path.name + ".pub")
    for existing in (path, pub_path):
        if existing.exists() or existing.is_symlink():
            raise UsageError(f"{existing} exists; keys are never overwritten (pass another --out, or delete it yourself)")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # private from the first byte
    with os.fdopen(fd, "wb") as handle:
        handle.write(private)
    public = public_key_line(key.public_key(), comment)
    fd = os.open(pub_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(public + "\n")
    return path, pub_path


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Read an unencrypted OpenSSH Ed25519 private key that only its owner can read.

    Raises:
        KeyFileError: missing, readable by others, not OpenSSH, not Ed25519 (one line with the fix).
    """
    path = Path(path)
    if not path.is_file():
        raise KeyFileError(f"no signing key at {path}; create one with `suite keygen` (or point --key / {KEY_ENV} at yours)")
    mode = stat.S_IMODE(path.stat().st_mode)
    if os.name == "posix" and mode & 0o077:
        raise KeyFileError(f"{path} is readable by others (mode {mode:04o}); run `chmod 600 {path}`")
    try:
        key = serialization.load_ssh_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        hint = "it is passphrase-protected; use an unencrypted key" if "password" in str(exc).lower() else "not an OpenSSH private key"
        raise KeyFileError(f"{path}: cannot load the signing key ({hint})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} is a {type(key).__name__.removesuffix('PrivateKey')} key; signing needs Ed25519 "
                        "(`suite keygen` or `ssh-keygen -t ed25519`)")
    return key


def public_key_line(key: Ed25519PublicKey, comment: str = "") -> str:
    """``ssh-ed25519 <base64> [comment]``."""
    line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return f"{line} {comment}".strip()


def key_id(key: Ed25519PublicKey) -> str:
    """OpenSSH fingerprint ``SHA256:...`` of the key (no base64 padding)."""
    blob = base64.b64decode(public_key_line(key).split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


@dataclass(frozen=True)
class Signer:
    """A trusted signer: who (``principal``), their public key, and its id."""

    principal: str
    public_key: Ed25519PublicKey
    key_id: str


def parse_public_key(text: str, where: str) -> Ed25519PublicKey:
    """``ssh-ed25519 <base64>`` -> the key; KeyFileError naming ``where`` otherwise."""
    try:
        key = serialization.load_ssh_public_key(text.encode())
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFileError(f"{where}: not an OpenSSH public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{where}: only ssh-ed25519 keys can sign results")
    return key


def load_signers(path: Path) -> list[Signer]:
    """The signers listed in an ``allowed_signers`` file (blank lines and ``#`` comments ignored).

    Raises:
        KeyFileError: missing file, or a malformed line (names the line).
    """
    path = Path(path)
    if not path.is_file():
        raise KeyFileError(f"no trusted signers file at {path}; pass --signers (the repository keeps it in submissions/)")
    signers = []
    for number, raw in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        # git's format: principals[,principal...] [options] keytype base64 [comment]
        if len(parts) >= 4 and not parts[1].startswith("ssh-"):
            parts = [parts[0], *parts[2:]]
        principals = parts[0].split(",") if parts else []
        if len(parts) < 3 or not principals or not all(_PRINCIPAL.match(p) for p in principals):
            raise KeyFileError(f"{path}:{number}: expected `<principal> ssh-ed25519 <base64> [comment]`")
        key = parse_public_key(f"{parts[1]} {parts[2]}", f"{path}:{number}")
        signers.extend(Signer(principal=p, public_key=key, key_id=key_id(key)) for p in principals[:1])
    return signers


def valid_principal(name: str) -> bool:
    return bool(_PRINCIPAL.match(name))
