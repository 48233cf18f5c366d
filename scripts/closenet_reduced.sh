#!/usr/bin/env bash
# CLOSENet against the vanilla supernet on NB201 at a budget a CPU can afford, with the same
# seed, sample, steps and scoring for both: 6 epochs on the first 10,000 training images
# (batch 512), snapshots after epochs 2, 4 and 6, each scored by the negated loss on one batch
# of 128 scoring images, on the seeded 1,000-cell sample. The curriculum is the study's scaled
# to 6 epochs (blocks at the start of epochs 1, 2, 3, 5, 6; restart at 3).
#
#   scripts/closenet_reduced.sh [SEED] [THREADS] [extra options for both supernets, e.g. -c init_channels=8]
set -euo pipefail
SEED="${1:-20}"
THREADS="${2:-2}"
shift 2 || true
COMMON=(--benchmark nb201 --seed "$SEED" --sample 1000 --threads "$THREADS" --progress log --out-dir results/reduced
        -c epochs=6 -c snapshots=2,4,6 -c train_images=10000 -c batch_size=512 -c score=loss
        -c score_batches=1 -c score_batch_size=128)
suite run --estimator oneshot "${COMMON[@]}" "$@" --overwrite
suite run --estimator closenet "${COMMON[@]}" -c curriculum=1,2,3,5,6 -c restart_epoch=3 "$@" --overwrite
suite run --estimator params,flops "${COMMON[@]:0:12}" --overwrite
suite leaderboard table results/reduced
