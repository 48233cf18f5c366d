"""Compare zero-shot result files with the published numbers and print the study-protocol table.

Usage:
    python bench/zero_shot_reference.py abdelfattah DIR...   # |Spearman| vs Abdelfattah et al. 2021
    python bench/zero_shot_reference.py criteria DIR...      # KD, SpearmanR, P@top5%, P@bottom5%

Each DIR holds ``<benchmark>/<estimator>/seed<seed>.json`` as ``suite run --out-dir`` writes them.
The criteria are recomputed from the stored scores against the suite's ground truth (never read
from the file), with the file's non-finite policy, on the architectures that every result scored
(so a full-space run and a sample run are compared on the sample).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from tabulate import tabulate

from suite import paths
from suite.benchmarks import get_benchmark
from suite.metrics import compute_criteria
from suite.results import read_result

#: |Spearman rho| on NB201 CIFAR-10 (GT cifar10valid_test_200), Abdelfattah et al., ICLR 2021, Table 2.
PUBLISHED_SPEARMAN = {"grad_norm": 0.594, "snip": 0.596, "grasp": 0.514, "fisher": 0.360,
                      "synflow": 0.737, "jacob_cov": 0.731}
ORDER = ["grad_norm", "plain", "snip", "grasp", "fisher", "synflow", "synflow_bn", "jacob_cov", "relu_logdet",
         "relu", "vote", "params", "flops"]


#: Share of GT-ordered pairs on which the majority of synflow, jacob_cov, snip agrees with the GT
#: (Abdelfattah et al. 2021, NB201 CIFAR-10).
PUBLISHED_VOTE_AGREEMENT = 0.817


def pairwise_majority_agreement(components: np.ndarray, gt: np.ndarray) -> float:
    """Share of pairs with different GT on which the majority of the component measures orders the
    pair as the GT does. components: float [n, m] (NaN = worst); gt: float [n]."""
    clean = np.where(np.isnan(components), -np.inf, components)
    votes = sum(np.greater.outer(clean[:, k], clean[:, k]).astype(int) - np.less.outer(clean[:, k], clean[:, k])
                for k in range(clean.shape[1]))
    truth = np.sign(np.subtract.outer(gt, gt))
    upper = np.triu(np.ones_like(truth, dtype=bool), k=1) & (truth != 0)
    return float((np.sign(votes)[upper] == truth[upper]).mean())


def _recomputed(roots: list[Path]):
    results = [read_result(p) for root in roots for p in sorted(root.glob("*/*/seed*.json"))]
    common = set.intersection(*(set(r.arch_ids) for r in results)) if results else set()
    loaded = {}
    for result in results:
        if result.benchmark.name not in loaded:
            loaded[result.benchmark.name] = get_benchmark(result.benchmark.name).load(paths.data_dir())
        bench = loaded[result.benchmark.name]
        keep = np.array([i in common for i in result.arch_ids])
        ids = np.asarray(result.arch_ids)[keep]
        gt = bench.ground_truth(result.benchmark.ground_truth)[bench.positions(ids)]
        snap = result.snapshots[-1]
        criteria = compute_criteria(result.scores()[keep], gt, nonfinite=snap.criteria.nonfinite_policy)
        yield result, criteria, gt, keep


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("abdelfattah", "criteria"):
        print(__doc__, file=sys.stderr)
        return 2
    mode, roots = argv[0], [Path(a) for a in argv[1:]]
    rows = []
    agreement = None
    for result, criteria, gt, keep in _recomputed(roots):
        name = result.estimator.name
        rho = criteria.values["SpearmanR"]
        if mode == "abdelfattah" and result.snapshots[-1].components:
            from suite.results import decode_scores

            components = np.stack([decode_scores(v) for v in result.snapshots[-1].components.values()], axis=1)[keep]
            agreement = pairwise_majority_agreement(components, gt)
        if mode == "abdelfattah":
            published = PUBLISHED_SPEARMAN.get(name)
            rows.append([name, criteria.n, criteria.n_nonfinite, abs(rho),
                         "-" if published is None else published,
                         "-" if published is None else f"{abs(rho) - published:+.3f}"])
        else:
            v = criteria.values
            rows.append([name, criteria.n, criteria.n_nonfinite, v["KD"], rho, v["P@top5%"], v["P@bottom5%"]])
    rows.sort(key=lambda r: ORDER.index(r[0]) if r[0] in ORDER else len(ORDER))
    if mode == "abdelfattah":
        headers = ["measure", "n", "non-finite", "|SpearmanR| here", "published", "difference"]
    else:
        headers = ["measure", "n", "non-finite", "KD", "SpearmanR", "P@top5%", "P@bottom5%"]
    print(tabulate(rows, headers=headers, tablefmt="github", floatfmt=".3f"))
    if agreement is not None:
        print(f"vote: majority agrees with the GT order on {agreement:.3f} of pairs "
              f"(published {PUBLISHED_VOTE_AGREEMENT})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
