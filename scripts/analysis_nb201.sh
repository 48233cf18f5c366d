#!/usr/bin/env bash
# Issue 10's end-to-end check: the study's analyses on the NB201 results in submissions/, plus a
# reduced one-shot run that records multi-model forgetting and two scoring batches per snapshot
# (for intra-level KD): 6 epochs on 10,000 training images at init_channels=8 (a CPU budget, not
# the protocol's), snapshots after epochs 2, 4, 6, OS accuracy on 2 batches of 128, a seeded
# 300-cell sample, forgetting measured on the first 16 steps of epochs 2, 4 and 6.
#
#   scripts/analysis_nb201.sh [OUT]        (default OUT: analysis-nb201)
set -euo pipefail
OUT="${1:-analysis-nb201}"
suite run -e oneshot -b nb201 --seed 20 --sample 300 --progress log --out-dir results/reduced-analysis \
  -c epochs=6 -c snapshots=2,4,6 -c train_images=10000 -c batch_size=512 -c score=acc -c score_batches=2 \
  -c score_batch_size=128 -c init_channels=8 -c forgetting_epochs=2,4,6 -c forgetting_archs=16 --overwrite
suite analyze submissions/nb201 results/reduced-analysis/nb201 --out "$OUT" --progress log
