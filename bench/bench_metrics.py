"""Time every criterion on n = 15,625 (all of NB201), against scipy's correlations alone as the baseline.

Usage: python bench/bench_metrics.py [--repeats R]
Prints the median wall time of each part and the ratio of the full criteria set to the baseline
(Kendall + Spearman + Pearson from scipy) measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from scipy import stats

from suite import metrics


def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n = 15_625
    gt = np.round(rng.normal(85, 8, n), 2)  # 2-decimal accuracies: realistic GT ties
    scores = gt + rng.normal(0, 4, n)
    tied_scores = np.round(scores)  # a coarse estimator with many ties

    baseline = _median_time(lambda: (stats.kendalltau(scores, gt), stats.spearmanr(scores, gt),
                                     stats.pearsonr(scores, gt)), args.repeats)
    full = _median_time(lambda: metrics.compute_criteria(scores, gt), args.repeats)
    tied = _median_time(lambda: metrics.compute_criteria(tied_scores, gt), args.repeats)
    print(f"n = {n}, median of {args.repeats} runs")
    print(f"  scipy KD + SpearmanR + LC (baseline)      {baseline * 1e3:8.2f} ms")
    print(f"  all {len(metrics.compute_criteria(scores, gt).values)} criteria (distinct scores)        {full * 1e3:8.2f} ms"
          f"   ratio to baseline {full / baseline:.2f}x")
    print(f"  all criteria (scores rounded: many ties)  {tied * 1e3:8.2f} ms")


if __name__ == "__main__":
    main()
