#!/usr/bin/env bash
# The full one-shot protocol on NB201 for one seed, on a GPU: 1000 epochs on images [0, 40000),
# snapshots at 200/400/600/800/1000, every snapshot scored on all 15,625 cells with all 10,000
# scoring images. Hours on one GPU (bench/gpu_oneshot.sh measures how many in a few minutes).
# Interrupt it at will: the same command resumes training, then scoring, where it stopped.
#
#   scripts/oneshot_protocol.sh [SEED] [extra suite run options, e.g. -c sampling=fairnas]
set -euo pipefail
SEED="${1:-20}"
shift || true
exec suite run --estimator oneshot --benchmark nb201 --seed "$SEED" --device cuda --progress log \
    --out-dir results "$@"
