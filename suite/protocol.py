"""The versioned protocol: the rules every run follows, and their fingerprint.

A result's protocol fingerprint is the sha256 of the canonical JSON of: the rules below, the
benchmark's name, the ids of its standard subset, and the ground-truth column with its values.
Two results with the same fingerprint were judged by the same rules against the same numbers.
Changing any rule is a new protocol version.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from suite.data.cifar10 import NORMALIZATIONS, SCORE_SPLIT, TRAIN_SPLIT
from suite.metrics import PRECISION_KS, RANKING_KS

PROTOCOL_VERSION = "1.0"
SEEDS: tuple[int, ...] = (20, 2020, 202020)
#: Seed of ``--sample N`` subsets: fixed, so every estimator sees the same sample.
SAMPLE_SEED = 0

RULES: dict[str, Any] = {
    "version": PROTOCOL_VERSION,
    "dataset": "cifar10-train-50k",
    "splits": {"train": list(TRAIN_SPLIT), "score": list(SCORE_SPLIT)},
    "normalization": {"name": "exact", "mean": list(NORMALIZATIONS["exact"][0]), "std": list(NORMALIZATIONS["exact"][1])},
    "train_transform": "random-crop-32-pad-4-zero, horizontal-flip-0.5, normalize",
    "score_transform": "normalize",
    "seeds": list(SEEDS),
    "criteria": {
        "precision_ks": list(PRECISION_KS),
        "ranking_ks": list(RANKING_KS),
        "k": "floor(n*K)",
        "true_rank": "number of strictly better GT",
        "score_ties": "resolved against the estimator",
        "kd": "kendall-tau-b",
        "spearman": "average-ranks",
        "lc": "pearson-over-finite",
    },
    "gpu": {"cudnn_deterministic": True, "cudnn_benchmark": False, "tf32": False, "deterministic_algorithms": True},
}


def canonical_json(obj: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8, NaN refused: the bytes that get hashed."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def fingerprint(benchmark_name: str, subset_ids: list[int], gt_column: str, gt_values: list[float]) -> str:
    """sha256 hex of the protocol rules + benchmark + subset ids + ground truth."""
    payload = {
        "rules": RULES,
        "benchmark": benchmark_name,
        "subset_ids": [int(i) for i in subset_ids],
        "ground_truth": {"column": gt_column, "values": [float(v) for v in gt_values]},
    }
    return hashlib.sha256(canonical_json(payload)).hexdigest()
