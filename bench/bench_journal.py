"""Cost of journaling: architectures/s of real runs with the journal (one fsync'd line per
architecture) and without it (in memory), measured in the same process, alternating.

    python bench/bench_journal.py [--repeats 3] [--zero-shot-archs 20]

Cases: params on all 15,625 NB201 cells (the cheapest estimator: the worst case for the
journal's relative cost), synflow (data-free) and grad_norm (one batch of 128) on a sample.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from suite import paths
from suite.benchmarks import get_benchmark
from suite.runner import RunOptions, RunSpec, execute


def _rate(specs, loaded, journal_dir: Path | None) -> float:
    started = time.perf_counter()
    outcome = execute(specs, RunOptions(journal_dir=journal_dir, progress="none", restart=True), loaded=loaded)
    elapsed = time.perf_counter() - started
    return len(outcome.results[0].arch_ids) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--zero-shot-archs", type=int, default=20)
    args = parser.parse_args()
    data_dir, cache_dir = paths.data_dir(), paths.cache_dir()
    loaded = get_benchmark("nb201").load(data_dir)
    cases = {
        "params, all 15625": [RunSpec("nb201", "params", data_dir=data_dir, cache_dir=cache_dir)],
        f"synflow, {args.zero_shot_archs} archs": [
            RunSpec("nb201", "synflow", sample=args.zero_shot_archs, data_dir=data_dir, cache_dir=cache_dir)],
        f"grad_norm (1 batch of 128), {args.zero_shot_archs} archs": [
            RunSpec("nb201", "grad_norm", sample=args.zero_shot_archs, config={"batches": 1}, data_dir=data_dir,
                    cache_dir=cache_dir)],
    }
    print(f"{'case':<42} {'no journal':>14} {'journal':>14} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, specs in cases.items():
            _rate(specs, loaded, None)  # warm up: caches, first network builds
            plain, journaled = [], []
            for _ in range(args.repeats):
                plain.append(_rate(specs, loaded, None))
                journaled.append(_rate(specs, loaded, Path(tmp)))
            a, b = statistics.median(plain), statistics.median(journaled)
            print(f"{name:<42} {a:>9.1f} a/s {b:>9.1f} a/s {b / a:>7.3f}")


if __name__ == "__main__":
    main()
