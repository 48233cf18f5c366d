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

from suite.atomic import TargetExistsError, WriteError, write_atomically
from suite.errors import SuiteError, UsageError

KEY_ENV = "SUITE_SIGNING_KEY"
SIGNERS_FILE = "allowed_signers"
_PRINCIPAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}", re.ASCII)
# OpenSSH key types (ssh-ed25519, ssh-rsa, ecdsa-sha2-*, sk-*); anything else after the principal is options
_KEY_TYPE = re.compile(r"^(ssh-|ecdsa-|sk-)")
_OPTION = re.compile(r'(?:[^,"]|"[^"]*")+')
_FLAGS = {"cert-authority"}  # git's one option without a value


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

    Each half is written whole or not at all (:func:`suite.atomic.write_atomically`), and a pair
    is never left half-made: if the public half cannot be written, the private one is removed. A
    zero-byte private key (left by a keygen of an older suite killed mid-write) holds no key and
    is replaced.

    Raises:
        UsageError: ``path`` exists (a key is never overwritten).
        WriteError: the key cannot be written (full disk, no permission); nothing is left behind.
    """
    path = Path(path)
    pub_path = path.with_name(path.name + ".pub")
    _remove_empty_leftover(path, pub_path)
    for existing in (path, pub_path):
        if existing.exists() or existing.is_symlink():
            raise UsageError(_exists(existing))
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise WriteError(f"cannot create the directory {path.parent} ({exc.strerror}); pass --out elsewhere") from None
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    try:
        write_atomically(path, private, mode=0o600)  # private from the first byte
    except TargetExistsError:
        raise UsageError(_exists(path)) from None
    try:
        write_atomically(pub_path, public_key_line(key.public_key(), comment) + "\n", mode=0o644)
    except TargetExistsError:
        path.unlink(missing_ok=True)  # just made, never used: no half pair
        raise UsageError(_exists(pub_path)) from None
    except WriteError:
        path.unlink(missing_ok=True)
        raise
    return path, pub_path


def _exists(path: Path) -> str:
    return f"{path} exists; keys are never overwritten (pass another --out, or delete it yourself)"


def _remove_empty_leftover(path: Path, pub_path: Path) -> None:
    """An empty private key file with no public half: what a killed keygen of an older suite left."""
    try:
        if path.is_file() and not path.is_symlink() and path.stat().st_size == 0 and not pub_path.exists():
            path.unlink()
    except OSError:
        pass


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Read an unencrypted OpenSSH Ed25519 private key that only its owner can read.

    Raises:
        KeyFileError: missing, readable by others, not OpenSSH, not Ed25519 (one line with the fix).
    """
    path = Path(path)
    if not path.is_file():
        raise KeyFileError(f"no signing key at {path}; create one with `suite keygen` (or point --key / {KEY_ENV} at yours)")
    info = path.stat()
    if info.st_size == 0:
        raise KeyFileError(f"{path} is empty (a keygen that did not finish?); delete it and run `suite keygen` again")
    mode = stat.S_IMODE(info.st_mode)
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

    One line is ``<principal> ssh-ed25519 <base64> [comment]``. A key belongs to exactly one
    principal: a signature is attributed to the principal of the key that made it, so the same key
    under two principals (on two lines, or ``alice,bob`` on one) is refused, not resolved by order.
    git's per-key options (``valid-after``, ``valid-before``, ``namespaces``, ``cert-authority``)
    are refused rather than ignored: the suite enforces none of them, and a line that says a key
    expires must not be read as a key that never does. A principal may list several keys (rotation).

    Raises:
        KeyFileError: missing file, a malformed line, an option, or a key listed under a second
            principal (one line naming the file, the line(s) and the fix).
    """
    path = Path(path)
    if not path.is_file():
        raise KeyFileError(f"no trusted signers file at {path}; pass --signers (the repository keeps it in submissions/)")
    signers: list[Signer] = []
    first_seen: dict[str, tuple[str, int]] = {}  # key id -> (principal, line number)
    for number, raw in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        # git's format: principals[,principal...] [options] keytype base64 [comment]; one principal, no options here
        if len(parts) >= 2 and not _KEY_TYPE.match(parts[1]) and ("=" in parts[1] or parts[1].split(",")[0] in _FLAGS):
            names = ", ".join(dict.fromkeys(o.split("=", 1)[0] for o in _OPTION.findall(parts[1])) or [parts[1]])
            raise KeyFileError(f"{path}:{number}: option {names[:80]} is not supported (the suite enforces no key options: "
                               "not expiry, namespaces nor certificate authorities); remove it, or remove the line to "
                               "stop trusting the key")
        principals = parts[0].split(",") if parts else []
        if len(parts) < 3 or not principals or not all(_PRINCIPAL.fullmatch(p) for p in principals):
            raise KeyFileError(f"{path}:{number}: expected `<principal> ssh-ed25519 <base64> [comment]`")
        if len(principals) > 1:
            raise KeyFileError(f"{path}:{number}: one key under several principals ({', '.join(principals)[:120]}); a key "
                               "belongs to one principal: keep one name")
        principal = principals[0]
        key = parse_public_key(f"{parts[1]} {parts[2]}", f"{path}:{number}")
        kid = key_id(key)
        if kid in first_seen:
            owner, line_no = first_seen[kid]
            if owner != principal:
                raise KeyFileError(f"{path}:{number}: key {kid} is listed for {principal} (line {number}) and for {owner} "
                                   f"(line {line_no}); a key belongs to one principal: remove the wrong line")
            continue  # the same line twice: one signer
        first_seen[kid] = (principal, number)
        signers.append(Signer(principal=principal, public_key=key, key_id=kid))
    return signers


def valid_principal(name: str) -> bool:
    """An ASCII principal: a letter or digit, then letters, digits and ``._@+-`` (at most 128)."""
    return bool(_PRINCIPAL.fullmatch(name))


#: ASCII look-alikes read as one (after case folding): digits for letters, ``rn`` for ``m``, separators.
_CONFUSABLE = (("rn", "m"), ("vv", "w"), ("cl", "d"), ("0", "o"), ("1", "l"), ("i", "l"), ("|", "l"), ("5", "s"),
               ("$", "s"), ("_", "-"), (".", "-"))


def fold_confusables(name: str) -> str:
    """``name`` as a reader may see it: case folded, and ASCII look-alikes made one (``0``/``o``,
    ``1``/``l``/``I``, ``5``/``s``, ``rn``/``m``, ``vv``/``w``, ``_``/``.``/``-``)."""
    folded = name.casefold()
    for seen, read in _CONFUSABLE:
        folded = folded.replace(seen, read)
    return folded


def too_close(name: str, other: str) -> bool:
    """Whether ``name`` could pass for ``other`` (a different name): equal once look-alikes are
    folded (:func:`fold_confusables`), or one edit (insertion, deletion, substitution) apart,
    ignoring case."""
    if name == other:
        return False
    a, b = name.casefold(), other.casefold()
    return fold_confusables(name) == fold_confusables(other) or _within_one_edit(a, b)


def _within_one_edit(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) == len(b):
        return a[i + 1:] == b[i + 1:]
    return a[i:] == b[i + 1:]
