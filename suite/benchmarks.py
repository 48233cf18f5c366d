"""The benchmarks: a search space, a ground-truth table, the standard architecture subset.

Standard benchmarks read the suite's own table (``index, arch, key, <GT columns>``), built from the
official release by ``suite data import`` (:mod:`suite.data_tools.importers`), or NB201's shipped one.
Partial benchmarks (``nb101-partial``, ``nb301-partial``) read real data at hand as it is; they are
marked partial everywhere a number from them appears (results' provenance, tables, site), because
their criteria are not comparable with the standard subsets'.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from suite.data import manifest
from suite.data.ground_truth import load_ground_truth_table
from suite.data.manifest import DataFile
from suite.errors import DataError, UsageError
from suite.spaces import get_space
from suite.spaces.nb101 import from_matrix_ops


@dataclass(frozen=True)
class BenchmarkSpec:
    """What defines a benchmark before any data is read.

    Attributes:
        name: short name (``nb201``).
        title: one line for ``suite list``.
        space_name: the search space's name (:func:`suite.spaces.get_space`).
        gt_file: the ground-truth table in the data directory.
        gt_columns: the GT columns a run may choose (higher = better, in %).
        default_gt_column: the protocol's GT.
        subset_size: size of the standard architecture subset.
        arch_column: the table column holding each architecture's string.
        id_column: the table column holding each architecture's id (0..n-1).
        source_columns: the columns the file must have (default: id, arch and GT columns).
        reader: turns the file's table into one with ``id_column`` and ``arch_column`` (partial sets,
            read as they come); None for the suite's own tables.
        partial: None for a standard subset; else one line saying what the set is and why its
            numbers are not the benchmark's.
    """

    name: str
    title: str
    space_name: str
    gt_file: DataFile
    gt_columns: tuple[str, ...]
    default_gt_column: str
    subset_size: int
    arch_column: str = "arch"
    id_column: str = "index"
    source_columns: tuple[str, ...] | None = None
    reader: Callable[[pd.DataFrame, Any], pd.DataFrame] | None = field(default=None, repr=False)
    partial: str | None = None

    @property
    def space(self) -> Any:
        """The search space object."""
        return get_space(self.space_name)

    def load(self, data_dir: Path) -> LoadedBenchmark:
        """Read and check the ground truth; build the architectures of the standard subset."""
        required = self.source_columns or (self.id_column, self.arch_column, *self.gt_columns)
        table, digest = load_ground_truth_table(data_dir, self.gt_file, required, self.gt_columns)
        path = Path(data_dir) / self.gt_file.relpath
        sidecar = _check_sidecar(path, digest, self.gt_file) if self.gt_file.sha256 is None else None
        if self.reader is not None:
            try:
                table = self.reader(table, self.space)
            except ValueError as exc:
                raise DataError(f"{path}: {exc}") from exc
        if len(table) != self.subset_size:
            raise DataError(f"{path}: expected {self.subset_size} architectures, found {len(table)}")
        ids = table[self.id_column].to_numpy()
        if not np.array_equal(np.sort(ids), np.arange(self.subset_size)):
            raise DataError(f"{path}: column {self.id_column!r} must hold each id 0..{self.subset_size - 1} once")
        table = table.set_index(self.id_column).sort_index()
        space = self.space
        archs = []
        for arch_id, text in zip(table.index, table[self.arch_column]):
            try:
                archs.append(space.parse(text))
            except ValueError as exc:
                raise DataError(f"{path}: row with {self.id_column} {arch_id}: {exc}") from exc
        if len(set(archs)) != len(archs):
            raise DataError(f"{path}: some architecture appears twice")
        if sidecar is not None:
            _check_imported(path, table, archs, space, sidecar, self)
        return LoadedBenchmark(self, table.index.to_numpy(dtype=np.int64), archs, table, digest)


def _check_sidecar(path: Path, digest: str, datafile: DataFile) -> dict:
    """An imported table must match the sha256 its import recorded (``<table>.json``); returns the record."""
    sidecar = path.with_suffix(".json")
    if not sidecar.is_file():
        raise DataError(f"{path} has no provenance file {sidecar.name} (written by `suite data import`): "
                        f"{datafile.how_to_get}")
    try:
        record = json.loads(sidecar.read_text())
        recorded = record["table_sha256"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{sidecar}: not a provenance file of `suite data import` ({exc}); {datafile.how_to_get}") from exc
    if recorded != digest:
        raise DataError(f"{path} changed after its import (sha256 {digest[:12]}..., {sidecar.name} records "
                        f"{str(recorded)[:12]}...): {datafile.how_to_get}")
    return record


def _check_imported(path: Path, table: pd.DataFrame, archs: list, space: Any, record: dict, spec: BenchmarkSpec) -> None:
    """An imported table is what the subset rule makes: keys = canonical forms, ascending by byte order,
    the key list's sha256 and the row count as its import recorded them."""
    if "key" not in table.columns:
        raise DataError(f"{path} lacks the column 'key' (written by `suite data import`): {spec.gt_file.how_to_get}")
    keys = [str(k) for k in table["key"]]
    for arch_id, arch, key in zip(table.index, archs, keys):
        if space.canonical(arch) != key:
            raise DataError(f"{path}: row with index {arch_id}: key {key[:40]!r} is not the canonical form of its arch; "
                            f"{spec.gt_file.how_to_get}")
    if any(a.encode() >= b.encode() for a, b in zip(keys, keys[1:])):
        raise DataError(f"{path}: keys are not in ascending byte order, as the subset rule writes them; "
                        f"{spec.gt_file.how_to_get}")
    if record.get("rows") != spec.subset_size or \
            record.get("subset_keys_sha256") != hashlib.sha256("\n".join(keys).encode()).hexdigest():
        raise DataError(f"{path}: its rows or key list differ from what {path.with_suffix('.json').name} records; "
                        f"{spec.gt_file.how_to_get}")


@dataclass(frozen=True)
class LoadedBenchmark:
    """A benchmark with its ground truth in memory.

    Attributes:
        arch_ids: int64 [n], the benchmark's architecture ids of the standard subset, ascending.
        archs: the architectures, aligned with ``arch_ids``.
        table: the ground-truth table indexed by id.
        gt_sha256: sha256 of the ground-truth file.
    """

    spec: BenchmarkSpec
    arch_ids: np.ndarray
    archs: list
    table: pd.DataFrame = field(repr=False)
    gt_sha256: str

    @property
    def name(self) -> str:
        return self.spec.name

    def ground_truth(self, column: str | None = None, ids: np.ndarray | None = None) -> np.ndarray:
        """GT values (float64) of ``ids`` (default: the whole subset) in ``column`` (default: the protocol's)."""
        column = column or self.spec.default_gt_column
        if column not in self.spec.gt_columns:
            raise UsageError(
                f"unknown ground-truth column {column!r} for {self.name}; choose from {', '.join(self.spec.gt_columns)}"
            )
        values = self.table[column].to_numpy(dtype=np.float64)
        return values if ids is None else values[self.positions(ids)]

    def arch(self, arch_id: int):
        """The architecture with benchmark id ``arch_id``."""
        return self.archs[int(self.positions(np.array([arch_id]))[0])]

    def index_of(self, arch) -> int:
        """The benchmark id of ``arch`` (UsageError when it is not in the subset)."""
        if arch not in self._id_by_arch:
            raise UsageError(f"{arch} is not in the {self.name} subset")
        return self._id_by_arch[arch]

    @cached_property
    def _id_by_arch(self) -> dict:
        return {a: int(i) for a, i in zip(self.archs, self.arch_ids)}

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """Row positions of architecture ids (ids are 0..n-1 for the registered benchmarks)."""
        ids = np.asarray(ids, dtype=np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.arch_ids)):
            raise UsageError(f"architecture id out of range for {self.name}: 0..{len(self.arch_ids) - 1}")
        return ids

    def sample_ids(self, n: int, seed: int) -> np.ndarray:
        """A seeded sample of ``n`` distinct ids of the subset, ascending (the same for every estimator)."""
        if not 1 <= n <= len(self.arch_ids):
            raise UsageError(f"--sample must be between 1 and {len(self.arch_ids)} for {self.name}, got {n}")
        rng = np.random.default_rng(seed)
        return np.sort(rng.choice(self.arch_ids, size=n, replace=False))


def _read_nb101_partial(table: pd.DataFrame, space: Any) -> pd.DataFrame:
    """``matrix`` (JSON 7x7, unpruned), ``ops`` (JSON list) -> the pruned cell's string.

    The file repeats cells: its 500 rows prune to 292 isomorphism classes (equal NAS-Bench-101
    hashes), whose rows look like the class's separate training runs. One architecture per class
    (the first row's), GT = the mean of the class's rows (as the protocol averages NB101's runs);
    ids in order of first appearance; ``runs`` = the rows averaged.
    """
    archs, keys = [], []
    for row, (matrix, ops) in enumerate(zip(table["matrix"], table["ops"])):
        try:
            arch = from_matrix_ops(json.loads(matrix), json.loads(ops))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"data row {row + 1}: {exc}") from None
        archs.append(space.format(arch))
        keys.append(space.canonical(arch))
    frame = table.assign(arch=archs, key=keys)
    grouped = frame.groupby("key", sort=False)
    merged = grouped.agg(arch=("arch", "first"), val_acc_108=("val_acc_108", "mean"), runs=("arch", "size"))
    return merged.reset_index().assign(index=np.arange(len(merged)))


def _read_nb301_partial(table: pd.DataFrame, space: Any) -> pd.DataFrame:
    """``genotype`` (DARTS Genotype string) -> the canonical genotype string; id = row."""
    archs = []
    for row, text in enumerate(table["genotype"]):
        try:
            archs.append(space.format(space.parse(text)))
        except ValueError as exc:
            raise ValueError(f"data row {row + 1}: {exc}") from None
    return table.assign(index=np.arange(len(table)), arch=archs)


NB201_BENCHMARK = BenchmarkSpec(
    name="nb201",
    title="NAS-Bench-201 (CIFAR-10), all 15,625 cells, GT = test accuracy after 200 epochs",
    space_name="nb201",
    gt_file=manifest.NB201_GROUND_TRUTH,
    gt_columns=(
        "cifar10_test_200", "cifar10valid_train_200", "cifar10valid_valid_200", "cifar10valid_test_200",
        "cifar100_valid_200", "cifar100_test_200", "imagenet16_valid_200", "imagenet16_test_200",
        "cifar10_test_12", "cifar100_test_12", "imagenet16_test_12",
    ),
    default_gt_column="cifar10_test_200",
    subset_size=15_625,
)
NB101_BENCHMARK = BenchmarkSpec(
    name="nb101",
    title="NAS-Bench-1shot1 space 3 (NB101 cells, CIFAR-10), 5,000 cells, GT = mean test accuracy of the "
    "three 108-epoch runs",
    space_name="nb101-1shot1-3",
    gt_file=manifest.NB101_GROUND_TRUTH,
    gt_columns=("test_acc_108", "val_acc_108"),
    default_gt_column="test_acc_108",
    subset_size=5_000,
)
NB301_BENCHMARK = BenchmarkSpec(
    name="nb301",
    title="NAS-Bench-301 (DARTS space, CIFAR-10), 5,896 genotypes, GT = v1.0 surrogate ensemble without noise",
    space_name="nb301",
    gt_file=manifest.NB301_GROUND_TRUTH,
    gt_columns=("val_acc_surrogate",),
    default_gt_column="val_acc_surrogate",
    subset_size=5_896,
)
NDS_RESNET_BENCHMARK = BenchmarkSpec(
    name="nds-resnet",
    title="NDS ResNet (CIFAR-10), 5,000 networks, GT = 100 - min test top-1 error, mean of 3 seeds",
    space_name="nds-resnet",
    gt_file=manifest.NDS_RESNET_GROUND_TRUTH,
    gt_columns=("test_acc",),
    default_gt_column="test_acc",
    subset_size=5_000,
)
NDS_RESNEXTA_BENCHMARK = BenchmarkSpec(
    name="nds-resnexta",
    title="NDS ResNeXt-A (CIFAR-10), 5,000 of 25,000 networks, GT = 100 - min test top-1 error",
    space_name="nds-resnexta",
    gt_file=manifest.NDS_RESNEXTA_GROUND_TRUTH,
    gt_columns=("test_acc",),
    default_gt_column="test_acc",
    subset_size=5_000,
)
NB101_PARTIAL_BENCHMARK = BenchmarkSpec(
    name="nb101-partial",
    title="PARTIAL: 292 NAS-Bench-101 cells (500 rows of random cells, not restricted to 1shot1 space 3), "
    "GT = mean validation accuracy at 108 epochs over a cell's rows",
    space_name="nb101",
    gt_file=manifest.NB101_PARTIAL,
    gt_columns=("val_acc_108",),
    default_gt_column="val_acc_108",
    subset_size=292,
    source_columns=("matrix", "ops", "val_acc_108"),
    reader=_read_nb101_partial,
    partial="partial set: 292 NAS-Bench-101 cells (NASLib's 500-row sample of the whole NB101 space, "
    "repeated cells averaged; GT validation accuracy), not the 5,000-cell NAS-Bench-1shot1 space-3 subset; "
    "its numbers do not rank on nb101",
)
NB301_PARTIAL_BENCHMARK = BenchmarkSpec(
    name="nb301-partial",
    title="PARTIAL: 1,218 DARTS genotypes, GT = NAS-Bench-301 surrogate prediction WITH noise",
    space_name="nb301",
    gt_file=manifest.NB301_PARTIAL,
    gt_columns=("val_acc",),
    default_gt_column="val_acc",
    subset_size=1_218,
    source_columns=("genotype", "val_acc"),
    reader=_read_nb301_partial,
    partial="partial set: 1,218 DARTS genotypes (NASLib files) with a noisy surrogate GT, not the "
    "5,896-genotype subset with the noise-free ensemble; its numbers do not rank on nb301",
)

BENCHMARKS: dict[str, BenchmarkSpec] = {b.name: b for b in (
    NB201_BENCHMARK, NB101_BENCHMARK, NB301_BENCHMARK, NDS_RESNET_BENCHMARK, NDS_RESNEXTA_BENCHMARK,
    NB101_PARTIAL_BENCHMARK, NB301_PARTIAL_BENCHMARK,
)}


def get_benchmark(name: str) -> BenchmarkSpec:
    """The benchmark called ``name``; UsageError with the known names otherwise."""
    if name not in BENCHMARKS:
        near = difflib.get_close_matches(name, BENCHMARKS, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise UsageError(f"unknown benchmark {name!r}{hint}; known: {', '.join(BENCHMARKS)}")
    return BENCHMARKS[name]


