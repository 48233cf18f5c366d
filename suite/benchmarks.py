"""The benchmarks: a search space, a ground-truth table, the standard architecture subset.

Only benchmarks whose data layer is complete are registered; NB101 (NAS-Bench-1shot1 space 3),
NB301 and the NDS spaces join as their importers land.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from suite.data.ground_truth import load_ground_truth_table
from suite.data.manifest import NB201_GROUND_TRUTH, DataFile
from suite.errors import DataError, UsageError
from suite.spaces import nb201


@dataclass(frozen=True)
class BenchmarkSpec:
    """What defines a benchmark before any data is read.

    Attributes:
        name: short name (``nb201``).
        title: one line for ``suite list``.
        space: the search space object.
        gt_file: the ground-truth table in the data directory.
        gt_columns: the GT columns a run may choose (higher = better, in %).
        default_gt_column: the protocol's GT.
        subset_size: size of the standard architecture subset.
        arch_column: the table column holding each architecture's string.
    """

    name: str
    title: str
    space: Any
    gt_file: DataFile
    gt_columns: tuple[str, ...]
    default_gt_column: str
    subset_size: int
    arch_column: str = "arch"
    id_column: str = "index"

    def load(self, data_dir: Path) -> LoadedBenchmark:
        """Read and check the ground truth; build the architectures of the standard subset."""
        table, digest = load_ground_truth_table(
            data_dir, self.gt_file, (self.id_column, self.arch_column, *self.gt_columns), self.gt_columns
        )
        path = Path(data_dir) / self.gt_file.relpath
        if len(table) != self.subset_size:
            raise DataError(f"{path}: expected {self.subset_size} architectures, found {len(table)}")
        ids = table[self.id_column].to_numpy()
        if not np.array_equal(np.sort(ids), np.arange(self.subset_size)):
            raise DataError(f"{path}: column {self.id_column!r} must hold each id 0..{self.subset_size - 1} once")
        table = table.set_index(self.id_column).sort_index()
        archs = []
        for arch_id, text in zip(table.index, table[self.arch_column]):
            try:
                archs.append(self.space.parse(text))
            except ValueError as exc:
                raise DataError(f"{path}: row with {self.id_column} {arch_id}: {exc}") from exc
        if len(set(archs)) != len(archs):
            raise DataError(f"{path}: some architecture appears twice")
        return LoadedBenchmark(self, table.index.to_numpy(dtype=np.int64), archs, table, digest)


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


NB201_BENCHMARK = BenchmarkSpec(
    name="nb201",
    title="NAS-Bench-201 (CIFAR-10), all 15,625 cells, GT = test accuracy after 200 epochs",
    space=nb201.NB201,
    gt_file=NB201_GROUND_TRUTH,
    gt_columns=(
        "cifar10_test_200", "cifar10valid_train_200", "cifar10valid_valid_200", "cifar10valid_test_200",
        "cifar100_valid_200", "cifar100_test_200", "imagenet16_valid_200", "imagenet16_test_200",
        "cifar10_test_12", "cifar100_test_12", "imagenet16_test_12",
    ),
    default_gt_column="cifar10_test_200",
    subset_size=nb201.N_ARCHS,
)

BENCHMARKS: dict[str, BenchmarkSpec] = {b.name: b for b in (NB201_BENCHMARK,)}


def get_benchmark(name: str) -> BenchmarkSpec:
    """The benchmark called ``name``; UsageError with the known names otherwise."""
    if name not in BENCHMARKS:
        import difflib

        near = difflib.get_close_matches(name, BENCHMARKS, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise UsageError(f"unknown benchmark {name!r}{hint}; known: {', '.join(BENCHMARKS)}")
    return BENCHMARKS[name]


