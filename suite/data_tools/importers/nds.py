"""NDS ResNet and ResNeXt-A (facebookresearch/nds, CIFAR-10) -> the suite's ground-truth tables.

The official release is one JSON file per sweep: a list of entries, one per trained model, each
with the pycls config under ``"net"`` (see :func:`suite.spaces.nds.from_nds_net`), the test error
curve and ``min_test_top1`` (best test top-1 error, %), plus ``params`` and ``flops``.

* ``import_nds_resnet([ResNet_rng1.json, ResNet_rng2.json, ResNet_rng3.json], out)``:
  ``test_acc`` = mean over the three seed files of ``100 - min_test_top1``. Entries are matched by
  architecture, not by position. Every architecture must be in all three files: one missing from a
  file is an error naming both files and the entry (the study's own conversion asserts the same,
  and the subset of 5000 is the whole pool, so dropping would change the benchmark silently).
* ``import_nds_resnexta(ResNeXt-A.json, out)``: ``test_acc`` = ``100 - min_test_top1``; the
  standard subset rule picks 5000 of the file's 25,000 models.

Entries outside the space (another block type, a choice outside the documented ranges) are
dropped and counted in the provenance sidecar. An architecture present more than once in one file
(independent samples of the same configuration) gets the mean of its entries' errors in that file;
the number of such merges is recorded as well. Extra columns: ``params`` and ``flops`` as the file
states them (pycls counts; the file's ``flops`` also counts 5 operations per BatchNorm output
element, so it exceeds the suite's ``flop_count``), present when every kept entry has both.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from suite.data_tools.importers.common import select_subset, write_ground_truth
from suite.errors import DataError
from suite.spaces.nds import NDS_RESNET, NDS_RESNEXTA, OutsideSpaceError

STANDARD_SIZE = 5000
GT_COLUMN = "test_acc"


class _Pooled:
    """Per-architecture accumulation of one file's entries."""

    def __init__(self, arch: Any, index: int, entry: dict) -> None:
        self.arch = arch
        self.first_index = index
        self.errors: list[float] = []
        self.params = entry.get("params")
        self.flops = entry.get("flops")

    @property
    def error(self) -> float:
        return sum(self.errors) / len(self.errors)


def _load_entries(path: Path) -> list:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found; download the NDS data (facebookresearch/nds) and pass its path")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not readable JSON ({exc}); re-download the official NDS file") from None
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON list of model entries, got {type(data).__name__}; "
                        f"is it the official NDS sweep file?")
    return data


def _read_file(path: Path, space: Any) -> tuple[dict[str, _Pooled], dict[str, int]]:
    """``key -> pooled entries`` of the models of ``space`` in one file, and counts for provenance."""
    entries = _load_entries(path)
    pooled: dict[str, _Pooled] = {}
    dropped = merged = 0
    for index, entry in enumerate(entries):
        where = f"{Path(path).name} entry {index}"
        if not isinstance(entry, dict) or "net" not in entry:
            raise DataError(f"{where}: not a model entry (a JSON object with 'net'); re-download the official file")
        try:
            arch = space.from_nds_net(entry["net"])
        except OutsideSpaceError:
            dropped += 1
            continue
        except ValueError as exc:
            raise DataError(f"{where}: malformed 'net' ({exc}); re-download the official file") from None
        error = entry.get("min_test_top1")
        if isinstance(error, bool) or not isinstance(error, (int, float)) or not math.isfinite(error) \
                or not 0 <= error <= 100:
            raise DataError(f"{where}: 'min_test_top1' must be a test error in [0, 100], got {error!r}; "
                            f"re-download the official file")
        key = space.canonical(arch)
        if key in pooled:
            merged += 1
        else:
            pooled[key] = _Pooled(arch, index, entry)
        pooled[key].errors.append(float(error))
    return pooled, {"entries": len(entries), "dropped_outside_space": dropped, "duplicates_averaged": merged}


def _cost_columns(rows: list[_Pooled]) -> dict[str, list]:
    """``params`` / ``flops`` columns when every row has both as numbers, else none."""
    columns = {}
    for name in ("params", "flops"):
        values = [getattr(r, name) for r in rows]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
            columns[name] = [int(v) if float(v).is_integer() else float(v) for v in values]
    return columns


def _write(space: Any, pool: dict[str, tuple[_Pooled, float]], size: int, out_path: Path,
           sources: Sequence[Path], extra: dict) -> Path:
    keys = sorted(pool, key=str.encode)
    picked = select_subset(keys, size)
    rows = [pool[keys[i]] for i in picked]
    table = pd.DataFrame({
        "arch": [space.format(r[0].arch) for r in rows],
        "key": [keys[i] for i in picked],
        GT_COLUMN: [r[1] for r in rows],
        **_cost_columns([r[0] for r in rows]),
    })
    return write_ground_truth(table, Path(out_path), [GT_COLUMN], list(sources),
                              {"space": space.name, "pool": len(keys), **extra})


def import_nds_resnet(paths: Sequence[Path], out_path: Path, size: int = STANDARD_SIZE) -> Path:
    """Build the NDS ResNet table from the three seed files ``ResNet_rng1..3.json``.

    Args:
        paths: the three official seed files (any order: they are read sorted by file name).
        out_path: the CSV to write (``<out_path>.json`` gets the provenance).
        size: the standard subset size (5000: the whole pool of the release).
    Returns:
        The provenance sidecar's path.
    Raises:
        DataError: a file missing, unreadable or malformed (naming file and entry), or an
            architecture missing from one of the files.
    """
    paths = sorted((Path(p) for p in paths), key=lambda p: p.name)  # rng1, rng2, rng3: a fixed order
    if len(paths) != 3:
        raise DataError(f"NDS ResNet needs the three seed files ResNet_rng1.json, ResNet_rng2.json, "
                        f"ResNet_rng3.json; got {len(paths)} path(s)")
    per_file = [_read_file(p, NDS_RESNET) for p in paths]
    reference_keys = set(per_file[0][0])
    for path, (pooled, _) in zip(paths, per_file):
        for other_path, (other, _) in zip(paths, per_file):
            for key in other.keys() - pooled.keys():
                raise DataError(f"{path.name} lacks the architecture {key!r} of {other_path.name} entry "
                                f"{other[key].first_index}; the three seed files must hold the same "
                                f"models (re-download ResNet_rng1..3.json)")
    pool = {}
    for key in reference_keys:
        first = per_file[0][0][key]
        gt = sum(100.0 - pooled[key].error for pooled, _ in per_file) / len(per_file)
        pool[key] = (first, gt)
    extra = {
        "benchmark": "nds-resnet",
        "ground_truth": f"{GT_COLUMN} = mean over the three seed files of (100 - min_test_top1); an "
                        "architecture repeated within a file contributes its mean error in that file; "
                        "params/flops from the first file",
        "files": {p.name: counts for p, (_, counts) in zip(paths, per_file)},
    }
    return _write(NDS_RESNET, pool, size, out_path, paths, extra)


def import_nds_resnexta(path: Path, out_path: Path, size: int = STANDARD_SIZE) -> Path:
    """Build the NDS ResNeXt-A table from ``ResNeXt-A.json`` (25,000 models; the subset keeps 5000).

    Args:
        path: the official file.
        out_path: the CSV to write (``<out_path>.json`` gets the provenance).
        size: the standard subset size.
    Returns:
        The provenance sidecar's path.
    Raises:
        DataError: the file missing, unreadable or malformed (naming the entry), or fewer models of
            the space than ``size``.
    """
    path = Path(path)
    pooled, counts = _read_file(path, NDS_RESNEXTA)
    pool = {key: (p, 100.0 - p.error) for key, p in pooled.items()}
    extra = {
        "benchmark": "nds-resnexta",
        "ground_truth": f"{GT_COLUMN} = 100 - min_test_top1 (the mean over an architecture's entries when "
                        "it appears more than once)",
        "files": {path.name: counts},
    }
    return _write(NDS_RESNEXTA, pool, size, out_path, [path], extra)
