"""Ground-truth tables: loaded from the data directory and checked against shipped checksums."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from suite.data.checksums import sha256_file
from suite.data.manifest import DataFile
from suite.errors import DataError


def load_ground_truth_table(
    data_dir: Path, datafile: DataFile, required_columns: tuple[str, ...], numeric_columns: tuple[str, ...]
) -> tuple[pd.DataFrame, str]:
    """Read a ground-truth CSV after checking its sha256.

    Args:
        data_dir: the suite's data directory.
        datafile: the manifest entry (path, checksum, how to get it).
        required_columns: columns that must be present.
        numeric_columns: columns that must parse as finite floats.
    Returns:
        The table, and the file's sha256.
    Raises:
        DataError: missing file, checksum mismatch, missing columns or non-numeric values.
    """
    path = Path(data_dir) / datafile.relpath
    if not path.is_file():
        raise DataError(f"{datafile.name} ground truth not found at {path}: {datafile.how_to_get}")
    digest = sha256_file(path)
    if datafile.sha256 is not None and digest != datafile.sha256:
        raise DataError(
            f"{path} is corrupt or a different version (sha256 {digest[:12]}..., expected "
            f"{datafile.sha256[:12]}...): {datafile.how_to_get}"
        )
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"cannot parse {path} as CSV: {exc}") from exc
    missing = [c for c in required_columns if c not in table.columns]
    if missing:
        raise DataError(f"{path} lacks column(s) {', '.join(missing)}: {datafile.how_to_get}")
    for column in numeric_columns:
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=np.float64)
        if not np.all(np.isfinite(values)):
            row = int(np.flatnonzero(~np.isfinite(values))[0])
            raise DataError(f"{path}: column {column!r} has a missing or non-numeric value in data row {row + 1}")
    return table, digest
