"""Reference lines: what no estimator can beat, and what brute force buys (NB201).

These are not estimators a NAS method could use: each one's score is another *trained* measurement
of the same architectures, read from the NB201 ground-truth table. They run through the same
``suite run`` path (family ``reference``), so they are signed, verified and recomputed like any
result, and leaderboard tables show them as reference lines that are never ranked.

- ``gt_noise_ceiling``: an independent full training (the NB201 ``cifar10-valid`` setting, 200
  epochs on 25,000 images) scored against the protocol's GT (the ``cifar10`` setting, 200 epochs on
  50,000 images). The two differ only by training noise and data split, so an estimator that beats
  this line on KD is fitting the noise of the GT.
- ``train_12_epochs``: NATS-Bench's 12-epoch schedule (``cifar10_test_12``), the usual low-fidelity
  brute-force estimate.

Unlike every other estimator, these read ground-truth columns; the column a run is scored against
must be another one (the runner's default is the protocol's ``cifar10_test_200``).

Cost. A reference line's cost is the training it stands for, not the seconds spent reading a column:
``run_record`` reports it as seconds per architecture. When the NB201 table was built here by
``suite data import nb201`` from the official release, the import recorded the release's own summed
training times (``train_time_s`` in ``nb201_ground_truth.json``) and those are used. Otherwise the
cost is an estimate: NATS-Bench's mean recorded training time per epoch on the cifar10-valid split
(25,000 images), 9.14 s, as computed over the first 15,000 topologies with the NATS-Bench API
(``get_more_info(i, 'cifar10-valid')['train-per-time']``) in the public repository
Mirofil/SOTL_NAS (nasbench.py), scaled by the number of training images of the setting (x2 for the
50,000-image ``cifar10`` setting). The record says which of the two it is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from suite import paths
from suite.benchmarks import get_benchmark
from suite.errors import UsageError
from suite.estimator import Capabilities, Estimator, RunContext

#: Mean NATS-Bench training seconds per epoch on the 25,000-image cifar10-valid split (see the module doc).
SECONDS_PER_EPOCH_25K = 9.14
ESTIMATE_SOURCE = ("estimate: 9.14 s per epoch on 25,000 images = the mean NATS-Bench train-per-time of "
                   "cifar10-valid over topologies 0..14999 (computed with the NATS-Bench API in the public "
                   "repository Mirofil/SOTL_NAS, nasbench.py), scaled by the setting's training images")


class _GroundTruthColumn(Estimator):
    """A score read from another column of the NB201 ground-truth table (higher = better)."""

    family = "reference"
    capabilities = Capabilities(reference_gt=True, run_record=True)
    #: The table column whose values are the scores.
    column: ClassVar[str] = ""
    #: The training it stands for: epochs, and training images per epoch.
    epochs: ClassVar[int] = 0
    images: ClassVar[int] = 0
    #: Key of this column's summed training time in the import's ``train_time_s`` record.
    train_time_key: ClassVar[str] = ""
    #: Scores by architecture text, read from the table on first use.
    _by_arch: dict[str, float] | None = None

    def supports(self, space_name: str) -> bool:
        return space_name == "nb201"

    def reference_gt_column(self) -> str | None:
        return "cifar10_test_200"

    def score(self, archs: Sequence[Any], ctx: RunContext, snapshot: str = "final") -> np.ndarray:
        values = self._values(ctx)
        out = np.empty(len(archs), dtype=np.float64)
        for i, arch in enumerate(archs):
            key = ctx.space.format(arch)
            if key not in values:
                raise UsageError(f"{self.name}: architecture {key} is not in the NB201 ground-truth table")
            out[i] = values[key]
        return out

    def _values(self, ctx: RunContext) -> dict[str, float]:
        if self._by_arch is None:
            benchmark = get_benchmark("nb201").load(paths.data_dir(ctx.data_dir))
            values = benchmark.ground_truth(self.column)
            self._by_arch = {ctx.space.format(a): float(v) for a, v in zip(benchmark.archs, values.tolist())}
        return self._by_arch

    def run_record(self, ctx: RunContext) -> dict[str, Any]:
        return {"cost": self.cost(paths.data_dir(ctx.data_dir))}

    def cost(self, data_dir: Path | None) -> dict[str, Any]:
        """The training this line stands for: ``seconds_per_arch`` (device seconds), ``source``, ``kind``."""
        recorded = _recorded_train_times(data_dir).get(self.train_time_key)
        if recorded is not None:
            return {"seconds_per_arch": round(float(recorded) / 15_625, 3), "kind": "recorded",
                    "source": f"the NB201 release's summed train-all-time ({self.train_time_key}), recorded by "
                              "`suite data import nb201` in nb201_ground_truth.json"}
        per_epoch = SECONDS_PER_EPOCH_25K * self.images / 25_000
        return {"seconds_per_arch": round(per_epoch * self.epochs, 3), "kind": "estimate",
                "source": f"{self.epochs} epochs x {per_epoch:.2f} s; {ESTIMATE_SOURCE}"}


def _recorded_train_times(data_dir: Path | None) -> dict[str, float]:
    """``train_time_s`` of the NB201 table's import record, or {} (no import record, or none recorded)."""
    if data_dir is None:
        return {}
    sidecar = Path(data_dir) / "nb201" / "nb201_ground_truth.json"
    try:
        record = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        return {}
    times = record.get("train_time_s") if isinstance(record, dict) else None
    return {k: v for k, v in times.items() if isinstance(v, (int, float))} if isinstance(times, dict) else {}


class GroundTruthNoiseCeiling(_GroundTruthColumn):
    """An independent full training (cifar10-valid setting, 200 epochs) as the score."""

    name = "gt_noise_ceiling"
    summary = ("reference: an independent 200-epoch training (NB201 cifar10valid_test_200) as the score; "
               "the ceiling GT noise sets")
    column = "cifar10valid_test_200"
    epochs, images = 200, 25_000
    train_time_key = "cifar10valid_200"


class TwelveEpochTraining(_GroundTruthColumn):
    """NATS-Bench's 12-epoch schedule (cifar10 setting) as the score."""

    name = "train_12_epochs"
    summary = "reference: test accuracy after NATS-Bench's 12-epoch training (NB201 cifar10_test_12)"
    column = "cifar10_test_12"
    epochs, images = 12, 50_000
    train_time_key = "cifar10_12"
