#!/usr/bin/env bash
# One-shot GPU check, a few minutes on one GPU: the weight-sharing overhead and scoring throughput
# at protocol size, then two full-size training epochs and a scoring pass with extrapolations to
# the protocol. Run from the repository root on the device machine (the environment installed).
set -euo pipefail
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python bench/bench_oneshot.py --device cuda --batch 512 --steps 10 --archs 4 --score-batches 20 --score-archs 64
python bench/gpu_oneshot.py --device cuda --epochs 2 --archs 200
