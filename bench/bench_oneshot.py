"""Weight-sharing overhead and one-shot scoring throughput on NB201.

    python bench/bench_oneshot.py [--batch 512] [--steps 5] [--archs 8] [--score-batch 500]
                                  [--score-batches 2] [--device cpu|cuda] [--threads N]

1. Training step (forward, backward, clip, SGD step) of the supernet on a sampled architecture
   against the standalone NB201 network of the same architecture, on the same batch: median
   seconds over ``--steps`` steps per architecture, and their ratio (the weight-sharing overhead).
2. Scoring: archs/s of the OS accuracy with the supernet's weights, with the number of scoring
   batches and their size.

Both run on random weights and random images (the times do not depend on them).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from estimators.one_shot.sampling import Sampler
from estimators.one_shot.scoring import os_values
from suite.spaces.nb201.network import Nb201Network
from suite.spaces.nb201.supernet import Nb201Supernet


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _step_time(model, forward, x, y, steps: int, device: torch.device) -> float:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    times = []
    for _ in range(steps + 1):  # the first is a warm-up
        _sync(device)
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=False)
        F.cross_entropy(forward(x), y).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--archs", type=int, default=4)
    parser.add_argument("--score-batch", type=int, default=500)
    parser.add_argument("--score-batches", type=int, default=2)
    parser.add_argument("--score-archs", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"device {device}, torch threads {torch.get_num_threads()}, batch {args.batch}")
    torch.manual_seed(0)
    supernet = Nb201Supernet(dropout=0.1).to(device).train()
    x = torch.randn(args.batch, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (args.batch,), device=device)
    generator = torch.Generator().manual_seed(0)
    archs = Sampler("deiso", samples=args.archs).draw(generator)
    ratios = []
    print(f"{'architecture':<90} {'supernet s':>10} {'standalone s':>12} {'ratio':>6}")
    for arch in archs:
        standalone = Nb201Network(arch, cell_bn_affine=False).to(device).train()
        shared = _step_time(supernet, lambda inp: supernet(inp, arch), x, y, args.steps, device)
        alone = _step_time(standalone, standalone, x, y, args.steps, device)
        ratios.append(shared / alone)
        print(f"{str(arch):<90} {shared:>10.4f} {alone:>12.4f} {shared / alone:>6.2f}")
    print(f"weight-sharing overhead (supernet / standalone step time): median ratio {statistics.median(ratios):.2f} "
          f"over {len(archs)} architectures")

    batches = [(torch.randn(args.score_batch, 3, 32, 32, device=device),
                torch.randint(0, 10, (args.score_batch,), device=device)) for _ in range(args.score_batches)]
    score_archs = Sampler("uniform", samples=args.score_archs).draw(generator)
    os_values(supernet, score_archs[:1], batches, "acc")  # warm-up
    _sync(device)
    start = time.perf_counter()
    values = os_values(supernet, score_archs, batches, "acc")
    _sync(device)
    elapsed = time.perf_counter() - start
    assert np.isfinite(values).all()
    print(f"scoring (OS accuracy, BN batch statistics): {len(score_archs) / elapsed:.2f} archs/s with "
          f"{args.score_batches} batches of {args.score_batch} images ({elapsed / len(score_archs):.3f} s/arch); "
          f"all 15,625 cells x 1 snapshot: {15625 * elapsed / len(score_archs) / 3600:.2f} h")


if __name__ == "__main__":
    main()
