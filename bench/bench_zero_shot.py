"""Fused zero-shot sweep against each measure computed on its own, on the same architectures and batches.

Usage: python bench/bench_zero_shot.py [--archs N] [--preset study|abdelfattah2021] [--batch-size B]
       [--batches K] [--seed S]

Prints, for each measure, the throughput (architectures/s) when computed alone; the throughput of
the fused path computing every measure at once; the speedup of fused over the sum of the separate
runs; and the largest relative difference between the two paths' values, which must stay below
1e-6 (the script exits with status 1 otherwise).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from estimators.zero_shot import measures as M
from estimators.zero_shot.engine import PRESETS, ZeroShotEngine
from suite import paths
from suite.data.cifar10 import load_cifar10_train
from suite.spaces.nb201 import NB201

TOLERANCE = 1e-6


def relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max(|a|, |b|) over entries (0 where both are equal, NaN included)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.abs(a - b) / np.maximum(np.abs(a), np.abs(b))
    rel = np.where(same, 0.0, rel)
    return float(np.nanmax(np.where(np.isnan(rel), np.inf, rel))) if rel.size else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=20)
    parser.add_argument("--preset", default="study", choices=sorted(PRESETS))
    parser.add_argument("--batch-size", type=int, default=0, help="0: the preset's")
    parser.add_argument("--batches", type=int, default=1)
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args()

    preset = PRESETS[args.preset]
    cifar = load_cifar10_train(paths.data_dir(), paths.cache_dir())
    engine = ZeroShotEngine(preset, args.batches, args.batch_size or preset.batch_size, args.seed, NB201,
                            lambda: cifar, torch.device("cpu"))
    archs = NB201.sample(np.random.default_rng(args.seed), args.archs)
    engine.evaluate(archs[0], M.ALL_MEASURES)  # warm-up: batches, supernet, kernels

    start = time.perf_counter()
    fused = [engine.evaluate(a, M.ALL_MEASURES) for a in archs]
    fused_time = time.perf_counter() - start

    print(f"{len(archs)} NB201 architectures, preset {preset.name}, {args.batches} batch(es) of "
          f"{engine.batch_size}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'measure':<12} {'alone archs/s':>14} {'max rel diff':>13}")
    separate_time, worst = 0.0, 0.0
    for name in M.ALL_MEASURES:
        start = time.perf_counter()
        alone = [engine.evaluate(a, [name])[name] for a in archs]
        elapsed = time.perf_counter() - start
        separate_time += elapsed
        diff = relative_difference(np.stack(alone), np.stack([f[name] for f in fused]))
        worst = max(worst, diff)
        print(f"{name:<12} {len(archs) / elapsed:>14.3f} {diff:>13.2e}")
    print(f"{'fused (all)':<12} {len(archs) / fused_time:>14.3f}")
    print(f"separate total {separate_time:.1f} s, fused {fused_time:.1f} s: speedup {separate_time / fused_time:.2f}x")
    print(f"largest relative difference {worst:.2e} ({'within' if worst <= TOLERANCE else 'ABOVE'} {TOLERANCE:g})")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
