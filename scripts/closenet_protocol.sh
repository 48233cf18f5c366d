#!/usr/bin/env bash
# CLOSENet against the vanilla supernet under the full protocol, on a GPU, for one seed and one
# benchmark: 1000 epochs, snapshots at 200/400/600/800/1000 scored on the whole subset. Each
# training is resumable (interrupt at will; the same command resumes) and kept in the cache, so
# the second estimator's run never waits on the first's scoring.
#
#   scripts/closenet_protocol.sh [SEED] [BENCHMARK] [extra suite run options]
# e.g. scripts/closenet_protocol.sh 20 nb201; scripts/closenet_protocol.sh 2020 nds-resnet
set -euo pipefail
SEED="${1:-20}"
BENCH="${2:-nb201}"
shift 2 || true
for ESTIMATOR in closenet oneshot; do
  suite run --estimator "$ESTIMATOR" --benchmark "$BENCH" --seed "$SEED" --device cuda --progress log \
      --out-dir results "$@"
done
suite leaderboard table results
