"""NAS-Bench-201 / NATS-Bench topology release -> the suite's NB201 ground-truth table.

The table (``nb201/nb201_ground_truth.csv``) has one row per benchmark index 0..15624 and the
columns ``index, arch, iso_key`` and the eleven accuracy columns of :data:`COLUMNS` (in %, mean
over the release's seeds, rounded to 6 decimals), written by pandas with its default float format.
Its sha256 is pinned in the manifest: an import whose table matches the pin installs it; any other
build is written beside it as ``nb201_ground_truth.imported.csv`` for inspection and refused.

Sources, read through the official API objects (checked against D-X-Y/NATS-Bench and
D-X-Y/NAS-Bench-201, see docs/data.md):

* the NATS-Bench topology release through ``nats_bench`` (``pip install nats_bench``): the folder
  ``NATS-tss-v1_0-3ffb9-simple`` (fast mode) or the file ``NATS-tss-v1_0-3ffb9.pickle.pbz2``;
* the NAS-Bench-201 file ``NAS-Bench-201-v1_1-096897.pth`` through ``nas_201_api``
  (``pip install nas-bench-201``); v1_0 lacks the 12-epoch runs on CIFAR-100 and ImageNet16-120.

Both are pickles (``pickle.load`` / ``torch.load``) that run code while loading, so the import
needs an explicit ``trust_pickle``; the source's sha256 goes into the provenance sidecar.

``common.write_ground_truth`` does not fit this table: it wants a ``key`` column, numbers the rows
itself and writes ``%.10g``, which would not reproduce the pinned bytes (``17.0`` becomes ``17``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from suite.data.checksums import sha256_file
from suite.data.manifest import NB201_GROUND_TRUTH, unpinned_import_relpath
from suite.errors import DataError, UsageError
from suite.spaces.nb201 import N_ARCHS, canonical_form, format_arch, parse_arch

#: column -> (dataset, hp, key of ``get_more_info``). Datasets and keys are the official API's:
#: 'cifar10' = trained on train+valid, test-accuracy on the original test set ('ori-test');
#: 'cifar10-valid' = trained on train (25k), valid-accuracy on 'x-valid', test-accuracy on 'ori-test';
#: 'cifar100' / 'ImageNet16-120': valid-accuracy on 'x-valid', test-accuracy on 'x-test'.
COLUMNS: dict[str, tuple[str, str, str]] = {
    "cifar10_test_200": ("cifar10", "200", "test-accuracy"),
    "cifar10valid_train_200": ("cifar10-valid", "200", "train-accuracy"),
    "cifar10valid_valid_200": ("cifar10-valid", "200", "valid-accuracy"),
    "cifar10valid_test_200": ("cifar10-valid", "200", "test-accuracy"),
    "cifar100_valid_200": ("cifar100", "200", "valid-accuracy"),
    "cifar100_test_200": ("cifar100", "200", "test-accuracy"),
    "imagenet16_valid_200": ("ImageNet16-120", "200", "valid-accuracy"),
    "imagenet16_test_200": ("ImageNet16-120", "200", "test-accuracy"),
    "cifar10_test_12": ("cifar10", "12", "test-accuracy"),
    "cifar100_test_12": ("cifar100", "12", "test-accuracy"),
    "imagenet16_test_12": ("ImageNet16-120", "12", "test-accuracy"),
}
#: sidecar key -> (dataset, hp) whose 'train-all-time' (seconds, mean over seeds) is summed over all cells.
TRAIN_TIMES: dict[str, tuple[str, str]] = {
    "cifar10valid_200": ("cifar10-valid", "200"),
    "cifar10_12": ("cifar10", "12"),
}
DECIMALS = 6

PICKLE_REFUSAL = ("nb201: the official NATS-Bench / NAS-Bench-201 files are Python pickles, which can run code "
                  "when loaded; pass --trust-pickle if PATH is the official release (its sha256 is recorded)")


def sha256_source(path: str | Path) -> str:
    """sha256 of a release file, or of a release folder: sha256 over ``"<relpath>\\t<sha256>\\n"`` of
    each file below it, relative POSIX paths in byte order (UTF-8)."""
    path = Path(path)
    if path.is_file():
        return sha256_file(path)
    lines = sorted(f"{p.relative_to(path).as_posix()}\t{sha256_file(p)}\n" for p in path.rglob("*") if p.is_file())
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def load_official_api(path: str | Path, trust_pickle: bool = False) -> Any:
    """The official API object of a NATS-Bench topology or NAS-Bench-201 release.

    ``*.pth`` goes to ``nas_201_api.NASBench201API(path, verbose=False)``; anything else to
    ``nats_bench.create(path, 'tss', fast_mode=<path is a folder>, verbose=False)`` (the API takes
    the ``-simple`` folder in fast mode and the ``.pickle.pbz2`` file otherwise).

    Raises:
        UsageError: ``trust_pickle`` not given. DataError: package missing, or the API cannot read it.
    """
    if not trust_pickle:
        raise UsageError(PICKLE_REFUSAL)
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: not found; give the NATS-tss-v1_0-3ffb9-simple folder, "
                        "NATS-tss-v1_0-3ffb9.pickle.pbz2 or NAS-Bench-201-v1_1-096897.pth")
    if path.suffix == ".pth":
        try:
            import nas_201_api  # noqa: PLC0415  # deferred: optional nas_201_api
        except ImportError:
            raise DataError(f"{path}: reading a NAS-Bench-201 .pth needs the nas_201_api package "
                            "(`pip install nas-bench-201`), or give the NATS-Bench release with nats_bench") from None
        make, package = (lambda: nas_201_api.NASBench201API(str(path), verbose=False)), "nas_201_api"
    else:
        try:
            import nats_bench  # noqa: PLC0415  # deferred: optional nats_bench
        except ImportError:
            raise DataError(f"{path}: reading the NATS-Bench topology release needs the nats_bench package "
                            "(`pip install nats_bench`)") from None
        make, package = (lambda: nats_bench.create(str(path), "tss", fast_mode=path.is_dir(), verbose=False)), "nats_bench"
    try:
        return make()
    except Exception as exc:  # noqa: BLE001 - the official loaders raise ValueError, AssertionError, pickle errors...
        raise DataError(f"{path}: {package} cannot read it ({type(exc).__name__}: {_first_line(exc)}); give the "
                        "NATS-tss-v1_0-3ffb9-simple folder, NATS-tss-v1_0-3ffb9.pickle.pbz2 or "
                        "NAS-Bench-201-v1_1-096897.pth") from None


def build_table(api: Any) -> tuple[pd.DataFrame, dict[str, float]]:
    """The NB201 table from an API object, and the summed training times.

    Args:
        api: an object with ``len(api)``, ``api.arch(i)`` (the cell string of index i) and
            ``api.get_more_info(i, dataset, hp=hp, is_random=False)`` (a dict of metrics, the mean
            over seeds), as the official NATS-Bench and NAS-Bench-201 APIs have. When it also has
            ``get_unique_str(i)`` (NATS-Bench), that string must equal the suite's canonical form.
    Returns:
        The table (``index, arch, iso_key`` then :data:`COLUMNS`, values rounded to 6 decimals), and
        ``{key: seconds}`` for each :data:`TRAIN_TIMES` setting whose ``train-all-time`` every cell
        has (the sum over all cells of the per-cell mean over seeds).
    Raises:
        DataError: a wrong architecture count, an unparsable cell, a missing / non-finite / out of
            [0, 100] value, or an ``iso_key`` the suite disagrees with; each names the index.
    """
    try:
        n = len(api)
    except TypeError:
        raise DataError("the API object has no len(); pass the official NATS-Bench / NAS-Bench-201 API") from None
    if n != N_ARCHS:
        raise DataError(f"the release holds {n} architectures, NB201 has {N_ARCHS}; is it the topology (tss) "
                        "release, not the size (sss) one?")
    unique_str = getattr(api, "get_unique_str", None)
    settings = sorted({(d, hp) for d, hp, _ in COLUMNS.values()} | set(TRAIN_TIMES.values()))
    archs, keys = [], []
    values = {column: np.empty(n, dtype=np.float64) for column in COLUMNS}
    times: dict[str, float | None] = dict.fromkeys(TRAIN_TIMES, 0.0)
    for i in range(n):
        text = api.arch(i)
        try:
            arch = parse_arch(str(text))
        except ValueError as exc:
            raise DataError(f"architecture {i}: {exc}") from None
        key = canonical_form(arch)
        if unique_str is not None and unique_str(i) != key:
            raise DataError(f"architecture {i}: the API's get_unique_str is {unique_str(i)!r}, the suite's canonical "
                            f"form {key!r}; report this (suite/spaces/nb201.py canonical_form)")
        archs.append(format_arch(arch))
        keys.append(key)
        infos = {}
        for dataset, hp in settings:
            try:
                infos[dataset, hp] = api.get_more_info(i, dataset, hp=hp, is_random=False)
            except Exception as exc:  # noqa: BLE001 - the official API raises KeyError / ValueError for absent runs
                raise DataError(f"architecture {i}: get_more_info({i}, {dataset!r}, hp={hp!r}) failed "
                                f"({type(exc).__name__}: {_first_line(exc)}); the 12-epoch runs on every dataset "
                                "need NATS-tss-v1_0-3ffb9 or NAS-Bench-201-v1_1, and hp= needs nats_bench or "
                                "nas_201_api 2.0") from None
        for column, (dataset, hp, metric) in COLUMNS.items():
            value = infos[dataset, hp].get(metric)
            if not isinstance(value, (int, float, np.floating, np.integer)) or not 0.0 <= float(value) <= 100.0:
                raise DataError(f"architecture {i}: get_more_info({i}, {dataset!r}, hp={hp!r})[{metric!r}] is "
                                f"{value!r}, not an accuracy in [0, 100] %; is the release complete?")
            values[column][i] = round(float(value), DECIMALS)
        for name, setting in TRAIN_TIMES.items():
            seconds = infos[setting].get("train-all-time")
            if times[name] is None or seconds is None or not math.isfinite(float(seconds)):
                times[name] = None
            else:
                times[name] += float(seconds)
    table = pd.DataFrame({"index": np.arange(n, dtype=np.int64), "arch": archs, "iso_key": keys,
                          **{column: values[column] for column in COLUMNS}})
    return table, {name: seconds for name, seconds in times.items() if seconds is not None}


def table_bytes(table: pd.DataFrame) -> bytes:
    """The CSV bytes of the suite's NB201 table: pandas' default float format (shortest round trip),
    no row index, ``\\n`` line ends, UTF-8."""
    return table.to_csv(index=False, lineterminator="\n").encode("utf-8")


def import_nb201(api: Any, data_dir: str | Path, sources: Sequence[str | Path] = (), release: str | None = None
                 ) -> Path:
    """Build the NB201 table from the official API and install it when it matches the protocol's pin.

    Args:
        api: the official API object (:func:`load_official_api`) or one that behaves like it.
        data_dir: the data directory; the table goes to ``nb201/nb201_ground_truth.csv`` in it.
        sources: the release file(s) or folder read (their sha256 goes into the sidecar).
        release: the release's name for the sidecar (default: the API's ``filename`` or the source's name).
    Returns:
        The installed table's path (its sidecar ``nb201_ground_truth.json`` is next to it).
    Raises:
        DataError: see :func:`build_table`; and when the built table's sha256 differs from the pin:
            the build is then written to ``nb201/nb201_ground_truth.imported.csv`` (+ ``.json``) and
            the standard path is left alone.
    """
    table, train_times = build_table(api)
    data = table_bytes(table)
    digest = hashlib.sha256(data).hexdigest()
    pinned = digest == NB201_GROUND_TRUTH.sha256
    relpath = NB201_GROUND_TRUTH.relpath if pinned else unpinned_import_relpath(NB201_GROUND_TRUTH)
    out_path = Path(data_dir) / relpath
    names = [Path(p).name for p in sources]
    provenance: dict[str, Any] = {
        "benchmark": "nb201",
        "table": out_path.name,
        "table_sha256": digest,
        "rows": len(table),
        "pinned_sha256": NB201_GROUND_TRUTH.sha256,
        "matches_pin": pinned,
        "release": release or getattr(api, "filename", None) or (names[0] if names else None),
        "api": type(api).__module__ + "." + type(api).__qualname__,
        "sources": {Path(p).name: sha256_source(p) for p in sources},
        "trust_pickle": True,
        "columns": {column: {"dataset": d, "hp": hp, "metric": m, "mean_over_seeds": True}
                    for column, (d, hp, m) in COLUMNS.items()},
        "rounding": f"round(value, {DECIMALS}), written by pandas' default float format",
        "iso_key": "NATS-Bench's get_unique_str (to_unique_str(consider_zero=True)), computed by "
                   "suite.spaces.nb201.canonical_form",
    }
    if train_times:
        provenance["train_time_s"] = train_times
        provenance["train_time_note"] = ("sum over all 15,625 cells of get_more_info(i, dataset, hp, "
                                         "is_random=False)['train-all-time'] (seconds, mean over seeds)")
    _write_atomic(out_path, data)
    _write_atomic(out_path.with_suffix(".json"), (json.dumps(provenance, indent=2, sort_keys=True) + "\n").encode())
    if not pinned:
        raise DataError(f"the built NB201 table (sha256 {digest[:12]}...) differs from the protocol's pinned table "
                        f"({NB201_GROUND_TRUTH.sha256[:12]}...): results against it would not compare, so it was "
                        f"written to {out_path} for inspection, not installed")
    stale = Path(data_dir) / unpinned_import_relpath(NB201_GROUND_TRUTH)
    for leftover in (stale, stale.with_suffix(".json")):  # an earlier, mismatching build's output
        leftover.unlink(missing_ok=True)
    return out_path


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
