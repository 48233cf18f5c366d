"""What every importer shares: the standard-subset rule and the suite's table format.

The suite's ground-truth table (CSV, UTF-8, ``\\n`` line ends) has the columns ``index`` (0..n-1,
the suite's architecture id), ``arch`` (the space's architecture string), ``key`` (the canonical
form the subset rule sorted on), the ground-truth columns (accuracy in %, higher = better) and any
extra columns the importer keeps. Next to it, ``<table>.json`` records where it came from: the
sha256 of every source file, the subset rule, the pool size, and the table's own sha256.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from suite.data.checksums import sha256_file
from suite.errors import DataError

#: Seed of the standard-subset draw (part of the protocol: changing it is a new protocol version).
SUBSET_SEED = 0
SUBSET_RULE = (
    "pool = the source's architectures in the space, one per canonical key; when the pool is larger "
    "than the subset size n, keep the n keys with the smallest sha256(f'{seed}:{key}') (seed 0, UTF-8, "
    "hex digests compared as strings); the subset is sorted by key (byte order) and index = rank"
)


def select_subset(keys: Sequence[str], size: int, seed: int = SUBSET_SEED) -> np.ndarray:
    """Positions (into ``keys``) of the standard subset, in ascending key order.

    The draw ranks each key by ``sha256(f"{seed}:{key}")``: a seeded uniform choice of ``size`` keys
    that depends on nothing but the keys (not their order, not a numpy version's generator stream).

    Args:
        keys: canonical key of every pool member (distinct).
        size: the subset size n (the whole pool when it has exactly n members).
        seed: the subset seed (the protocol's :data:`SUBSET_SEED`).
    Returns:
        int64 [n]: positions into ``keys``; ``keys[positions]`` is sorted ascending.
    Raises:
        DataError: duplicate keys, or a pool smaller than ``size``.
    """
    keys = list(keys)
    if len(set(keys)) != len(keys):
        raise DataError("the pool has duplicate canonical keys; deduplicate before selecting the subset")
    if len(keys) < size:
        raise DataError(f"the source holds {len(keys)} architectures of the space, fewer than the "
                        f"standard subset's {size}; is it the complete official release?")
    chosen = sorted(range(len(keys)), key=lambda i: hashlib.sha256(f"{seed}:{keys[i]}".encode()).hexdigest())[:size]
    return np.array(sorted(chosen, key=lambda i: keys[i].encode()), dtype=np.int64)


def write_ground_truth(table: pd.DataFrame, out_path: Path, gt_columns: Sequence[str],
                       sources: Sequence[Path], extra: dict[str, Any] | None = None) -> Path:
    """Write the suite's table (rows already in subset order) and its provenance sidecar.

    Args:
        table: columns ``arch``, ``key``, the GT columns and extras; row i gets ``index`` i.
        out_path: the CSV to write (its folder is created).
        gt_columns: the ground-truth columns (checked finite).
        sources: the official files read (their sha256 is recorded).
        extra: more provenance (e.g. the API object's description).
    Returns:
        The sidecar's path.
    """
    for column in ("arch", "key", *gt_columns):
        if column not in table.columns:
            raise DataError(f"importer bug: the table lacks column {column!r}")
    for column in gt_columns:
        values = table[column].to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(values)):
            raise DataError(f"ground-truth column {column!r} has a non-finite value in row "
                            f"{int(np.flatnonzero(~np.isfinite(values))[0])}")
    out = table.reset_index(drop=True)
    out.insert(0, "index", np.arange(len(out), dtype=np.int64))
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    out.to_csv(tmp, index=False, lineterminator="\n", float_format="%.10g")
    tmp.replace(out_path)
    sidecar = out_path.with_suffix(".json")
    provenance = {
        "table": out_path.name,
        "table_sha256": sha256_file(out_path),
        "rows": len(out),
        # the subset as an id list: sha256 of the keys in id order, one per line ("\n"-joined, UTF-8)
        "subset_keys_sha256": hashlib.sha256("\n".join(map(str, out["key"])).encode()).hexdigest(),
        "subset_rule": SUBSET_RULE,
        "subset_seed": SUBSET_SEED,
        "sources": {Path(p).name: sha256_file(p) for p in sources if Path(p).is_file()},
        **(extra or {}),
    }
    sidecar.write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n")
    return sidecar
