"""NAS-Bench-101 (official ``nasbench`` API) -> the suite's NB101 table (NAS-Bench-1shot1 space 3).

Reads the object the official API builds from ``nasbench_full.tfrecord`` (or
``nasbench_only108.tfrecord``): ``api.hash_iterator()`` yields every module hash and
``api.get_metrics_from_hash(h)`` returns ``(fixed_stat, computed_stat)`` with ``fixed_stat`` =
{``module_adjacency`` (pruned numpy matrix), ``module_operations`` (list of labels),
``trainable_parameters``} and ``computed_stat`` = {epochs: [one dict per repeat with
``final_test_accuracy``, ``final_validation_accuracy``, ``final_train_accuracy``,
``final_training_time``, and the ``halfway_*`` values]}, accuracies as fractions in 0..1.

Kept: the cells of NAS-Bench-1shot1 search space 3 (:func:`suite.spaces.nb101.in_space3`).
Ground truth: ``test_acc_108`` = mean over the 108-epoch repeats of ``final_test_accuracy`` x 100
(the protocol's GT: the official ``query`` returns a random repeat instead), ``val_acc_108`` likewise
for ``final_validation_accuracy``. Extra columns: ``hash`` (the dataset's module hash) and
``params`` (its ``trainable_parameters``, official C = 128 network). The pool is keyed by the
official hash recomputed from the cell (:func:`suite.spaces.nb101.canonical_form`); two entries with
one key (not expected in the official release) are averaged and counted in the provenance.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from suite.data_tools.importers.common import select_subset, write_ground_truth
from suite.errors import DataError
from suite.spaces.nb101 import NB101_SPACE3, from_matrix_ops, in_space3

GT_COLUMNS = ("test_acc_108", "val_acc_108")
EPOCHS = 108
API_HINT = ("install the official API: pip install git+https://github.com/google-research/nasbench "
            "(it needs TensorFlow 1.x, e.g. pip install 'tensorflow<2')")


def load_official_api(path: str | Path) -> Any:
    """The official ``nasbench.api.NASBench`` object of a ``.tfrecord`` release (minutes to load).

    Raises:
        DataError: the file is missing, or the ``nasbench`` package is not installed.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file; download nasbench_full.tfrecord or nasbench_only108.tfrecord "
                        "(https://storage.googleapis.com/nasbench/)")
    try:
        from nasbench import api  # type: ignore[import-not-found]  # deferred: optional nasbench (TensorFlow)
    except ImportError:
        raise DataError(f"reading {path.name} needs the `nasbench` package: {API_HINT}") from None
    try:
        return api.NASBench(str(path))
    except Exception as exc:  # the official loader raises whatever TF raises on a damaged file
        raise DataError(f"{path}: the nasbench API cannot read it ({type(exc).__name__}: {exc}); "
                        "is it the official .tfrecord, downloaded completely?") from None


def _mean_accuracy(runs: Sequence[dict], field: str, where: str) -> float:
    try:
        values = [float(run[field]) for run in runs]
    except (KeyError, TypeError, ValueError):
        raise DataError(f"{where}: a {EPOCHS}-epoch run lacks a numeric {field!r}; is this the official "
                        "NAS-Bench-101 API object?") from None
    if not all(0.0 <= v <= 1.0 for v in values):
        raise DataError(f"{where}: {field} values {values} are not fractions in 0..1")
    return float(np.mean(values)) * 100.0


def import_nb101(api: Any, out_path: Path, size: int = 5000, sources: Sequence[Path] = ()) -> Path:
    """Write the NB101 (1shot1 space 3) ground-truth table from the official API object.

    Args:
        api: an object with the official ``hash_iterator()`` and ``get_metrics_from_hash(h)``.
        out_path: the CSV to write.
        size: the subset size (the protocol's 5,000).
        sources: the release files read (their sha256 goes into the sidecar).
    Returns:
        The provenance sidecar's path.
    Raises:
        DataError: a malformed entry (named by its hash), or fewer space-3 cells than ``size``.
    """
    pool: dict[str, list[dict[str, Any]]] = {}
    seen = dropped = mismatched = 0
    for module_hash in sorted(api.hash_iterator()):
        where = f"NAS-Bench-101 entry {module_hash}"
        seen += 1
        try:
            fixed, computed = api.get_metrics_from_hash(module_hash)
            matrix, ops = fixed["module_adjacency"], fixed["module_operations"]
        except (KeyError, TypeError, ValueError):
            raise DataError(f"{where}: expected (fixed_stat, computed_stat) with module_adjacency and "
                            "module_operations; is this the official NAS-Bench-101 API object?") from None
        try:
            arch = from_matrix_ops(matrix, list(ops))
        except ValueError as exc:
            raise DataError(f"{where}: {exc}; the release file may be corrupt (re-download it)") from None
        if not in_space3(arch):
            dropped += 1
            continue
        runs = computed.get(EPOCHS) if isinstance(computed, dict) else None
        if not runs:
            raise DataError(f"{where}: no {EPOCHS}-epoch runs; read nasbench_full.tfrecord or "
                            "nasbench_only108.tfrecord")
        key = NB101_SPACE3.canonical(arch)
        mismatched += key != module_hash
        pool.setdefault(key, []).append({
            "arch": NB101_SPACE3.format(arch),
            "hash": str(module_hash),
            "params": int(fixed.get("trainable_parameters", -1)),
            "test_acc_108": _mean_accuracy(runs, "final_test_accuracy", where),
            "val_acc_108": _mean_accuracy(runs, "final_validation_accuracy", where),
        })
    keys = list(pool)
    positions = select_subset(keys, size)
    rows, duplicates = [], 0
    for position in positions:
        key = keys[position]
        entries = pool[key]  # in hash order; the first names the row
        duplicates += len(entries) - 1
        rows.append({"arch": entries[0]["arch"], "key": key,
                     **{c: float(np.mean([e[c] for e in entries])) for c in GT_COLUMNS},
                     "hash": entries[0]["hash"], "params": entries[0]["params"]})
    table = pd.DataFrame(rows, columns=["arch", "key", *GT_COLUMNS, "hash", "params"])
    extra = {
        "importer": "nb101",
        "space": NB101_SPACE3.name,
        "ground_truth": "test_acc_108 / val_acc_108 = 100 x mean over the 108-epoch repeats of "
                        "final_test_accuracy / final_validation_accuracy",
        "entries_read": seen,
        "dropped_outside_space": dropped,
        "pool_size": len(keys),
        "duplicate_keys_averaged": sum(len(v) - 1 for v in pool.values()),
        "duplicate_keys_averaged_in_subset": duplicates,
        "recomputed_hash_differs": int(mismatched),
    }
    return write_ground_truth(table, out_path, GT_COLUMNS, sources, extra)
