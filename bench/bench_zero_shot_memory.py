"""Resident memory over a long zero-shot sweep: it must stay flat from one architecture to the next.

Usage: python bench/bench_zero_shot_memory.py [--archs 500] [--batch-size 8] [--preset study]

Runs every measure on each architecture (the fused path) and prints the process's resident set
size (RSS, MiB) after the first 50 architectures (warm: batches, supernet, allocator pools) and
every 100 after; the growth from warm to the end is the figure to watch. A small batch keeps the
sweep short; what could leak (hooks, graphs, networks) is per architecture, not per image.
"""

from __future__ import annotations

import argparse
import gc
import os

import numpy as np
import torch

from estimators.zero_shot import measures as M
from estimators.zero_shot.engine import PRESETS, ZeroShotEngine
from suite import paths
from suite.data.cifar10 import load_cifar10_train
from suite.spaces.nb201 import NB201


def rss_mib() -> float:
    """Current resident set size of this process, MiB (Linux /proc)."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--preset", default="study", choices=sorted(PRESETS))
    args = parser.parse_args()
    cifar = load_cifar10_train(paths.data_dir(), paths.cache_dir())
    engine = ZeroShotEngine(PRESETS[args.preset], 1, args.batch_size, 20, NB201, lambda: cifar, torch.device("cpu"))
    archs = NB201.sample(np.random.default_rng(0), args.archs)
    warm = None
    print(f"{'archs':>6} {'RSS MiB':>9}")
    for i, arch in enumerate(archs, start=1):
        engine.evaluate(arch, M.ALL_MEASURES)
        if i == min(50, args.archs) or i % 100 == 0 or i == args.archs:
            gc.collect()
            rss = rss_mib()
            warm = rss if warm is None else warm
            print(f"{i:>6} {rss:>9.1f}")
    print(f"RSS growth from architecture 50 to {args.archs}: {rss - warm:+.1f} MiB "
          f"({(rss - warm) / max(args.archs - 50, 1) * 1024:+.1f} KiB per architecture)")


if __name__ == "__main__":
    main()
