"""Trained weights beside a result file: safetensors files whose content the result signs.

A result of an estimator that trains (a one-shot supernet) names the weights its scores came from:
its provenance ``data`` holds ``<estimator>_weights:seed<S>:<label>`` -> sha256 for every trained
supernet and snapshot (journaled by the runner, so signed with the result). ``suite run`` writes
those weights beside the result, one safetensors file per key::

    seed20.json
    seed20.weights/seed20-epoch-200.safetensors

and ``suite verify --rerun`` re-scores architectures from them. The sha256 is over the weights'
content (each tensor's name, dtype, shape and raw bytes, in name order; see :func:`state_sha256`),
not the file's bytes, so it is the hash the training computed; :func:`content_sha256` computes the
same from a file's bytes without torch (the leaderboard checks weights without importing it).
Files are read with safetensors only, never pickle: a hostile file can be wrong, not run code.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from pathlib import Path
from typing import Any

from suite.errors import SuiteError

#: Directory beside ``<name>.json`` that holds its weights.
WEIGHTS_SUFFIX = ".weights"
FILE_SUFFIX = ".safetensors"
#: A weights file above this is refused unread (a supernet's snapshot is tens of MB).
MAX_FILE_BYTES = 2 * 1024**3
#: safetensors' own limit on the JSON header.
MAX_HEADER_BYTES = 100_000_000
_SHA256 = re.compile(r"[0-9a-f]{64}")
_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: safetensors dtype -> (torch's name for it, bytes per element).
_DTYPES = {
    "F64": ("torch.float64", 8), "F32": ("torch.float32", 4), "F16": ("torch.float16", 2),
    "BF16": ("torch.bfloat16", 2), "I64": ("torch.int64", 8), "I32": ("torch.int32", 4),
    "I16": ("torch.int16", 2), "I8": ("torch.int8", 1), "U8": ("torch.uint8", 1), "BOOL": ("torch.bool", 1),
}


class WeightsError(SuiteError):
    """A weights file is missing, malformed, or not the one the result signs."""


def weights_dir(result_path: str | Path) -> Path:
    """``<dir>/<name>.weights`` for the result ``<dir>/<name>.json``."""
    path = Path(result_path)
    return path.with_name(path.stem + WEIGHTS_SUFFIX)


def weights_key(estimator: str, seed: int, label: str) -> str:
    """The provenance key of one trained supernet's snapshot: ``<estimator>_weights:seed<S>:<label>``."""
    return f"{estimator}_weights:seed{seed}:{label}"


def file_name(key: str, estimator: str) -> str:
    """The file of ``key`` (``<estimator>_weights:seed20:epoch-200`` -> ``seed20-epoch-200.safetensors``).

    Raises:
        WeightsError: the key is not of that form, or its parts are not plain names.
    """
    prefix = f"{estimator}_weights:"
    parts = key[len(prefix):].split(":") if key.startswith(prefix) else []
    if len(parts) != 2 or not all(_PART.fullmatch(p) for p in parts):
        raise WeightsError(f"weights key {key[:80]!r} is not {prefix}seed<S>:<label> with plain names")
    return f"{parts[0]}-{parts[1]}{FILE_SUFFIX}"


def signed_weights(provenance: Any, estimator: str) -> dict[str, str]:
    """``{key: sha256}`` of the trained weights a result's provenance names (``data`` entries
    ``<estimator>_weights:...`` holding a sha256 hex); {} when it names none."""
    data = provenance.get("data") if isinstance(provenance, dict) else None
    if not isinstance(data, dict):
        return {}
    prefix = f"{estimator}_weights:"
    return {k: v for k, v in sorted(data.items())
            if isinstance(k, str) and k.startswith(prefix) and isinstance(v, str) and _SHA256.fullmatch(v)}


def state_sha256(state: dict[str, Any]) -> str:
    """sha256 hex of a state dict's content: each entry's name, dtype, shape and raw bytes, in name
    order (how the tensors are stored or serialised does not enter it)."""
    import torch  # deferred: torch, so that the leaderboard can check weights files without it

    digest = hashlib.sha256()
    for name, tensor in sorted(state.items()):
        flat = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}|{flat.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def content_sha256(data: bytes, where: str) -> str:
    """:func:`state_sha256` of the tensors in safetensors ``data``, from its header and bytes alone.

    Raises:
        WeightsError: not a well-formed safetensors file (names ``where`` and what is wrong).
    """
    view = memoryview(data)
    if len(view) < 8:
        raise WeightsError(f"{where}: not a safetensors file (shorter than its header length)")
    size = int.from_bytes(view[:8], "little")
    if size > MAX_HEADER_BYTES or 8 + size > len(view):
        raise WeightsError(f"{where}: not a safetensors file (header length {size} does not fit the file)")
    try:
        header = json.loads(bytes(view[8:8 + size]))
    except (ValueError, UnicodeDecodeError):
        raise WeightsError(f"{where}: not a safetensors file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise WeightsError(f"{where}: not a safetensors file (its header is not a JSON object)")
    body = view[8 + size:]
    digest = hashlib.sha256()
    for name in sorted(k for k in header if k != "__metadata__"):
        dtype, shape, begin, end = _entry(header[name], name, where)
        torch_name, width = _DTYPES[dtype]
        if not 0 <= begin <= end <= len(body) or end - begin != math.prod(shape) * width:
            raise WeightsError(f"{where}: tensor {name[:60]!r} has offsets [{begin}, {end}) that do not hold its "
                               f"{dtype} {shape}")
        digest.update(f"{name}|{torch_name}|{tuple(shape)}|".encode())
        digest.update(body[begin:end])
    return digest.hexdigest()


def _entry(info: Any, name: str, where: str) -> tuple[str, list[int], int, int]:
    """(dtype, shape, begin, end) of one header entry, checked."""
    ok = (isinstance(info, dict) and info.get("dtype") in _DTYPES and isinstance(info.get("shape"), list)
          and all(type(d) is int and d >= 0 for d in info["shape"]) and isinstance(info.get("data_offsets"), list)
          and len(info["data_offsets"]) == 2 and all(type(o) is int for o in info["data_offsets"]))
    if not ok:
        raise WeightsError(f"{where}: tensor {name[:60]!r} is not described by dtype, shape and data_offsets")
    return info["dtype"], info["shape"], info["data_offsets"][0], info["data_offsets"][1]


def read_file(path: Path) -> bytes:
    """A weights file's bytes (a regular file within the size limit).

    Raises:
        WeightsError: missing, a link, or too large.
    """
    if path.is_symlink() or not path.is_file():
        raise WeightsError(f"{path} is missing (or not a regular file)")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise WeightsError(f"{path} is larger than {MAX_FILE_BYTES} bytes")
    return path.read_bytes()


def check_file(path: Path, sha256: str) -> bytes:
    """The bytes of ``path`` once their content hash is ``sha256`` (the one the result signs).

    Raises:
        WeightsError: missing, malformed, or other weights than the signed ones.
    """
    data = read_file(path)
    found = content_sha256(data, str(path))
    if found != sha256:
        raise WeightsError(f"{path} holds weights of sha256 {found[:16]}..., the result signs {sha256[:16]}...: "
                           "not the weights that were scored")
    return data


def load_weights(path: Path, sha256: str) -> dict[str, Any]:
    """The state dict in ``path`` (CPU tensors), after its content hash was checked against ``sha256``;
    read with safetensors only."""
    from safetensors.torch import load  # deferred: torch

    data = check_file(path, sha256)
    try:
        return load(data)
    except Exception as exc:  # noqa: BLE001 - safetensors' own errors for a file that passed the checks above
        raise WeightsError(f"{path}: safetensors cannot read it ({type(exc).__name__})") from None


def save_weights(state: dict[str, Any], path: Path) -> str:
    """Write ``state`` to ``path`` as safetensors (atomically); returns its :func:`state_sha256`."""
    from safetensors.torch import save  # deferred: torch

    tensors = {name: t.detach().cpu().contiguous().clone() for name, t in state.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(save(tensors, metadata={"format": "pt"}))
    os.replace(tmp, path)
    return state_sha256(tensors)
