#!/usr/bin/env bash
# Same scores before and after a refactor: runs a fixed set of small `suite run`s into OUT_DIR.
# Compare two such directories with `python bench/compare_results.py A B` (scores and criteria
# must be bit-identical). Usage: bench/equivalence_runs.sh OUT_DIR  (about 6 min on 2 CPU cores)
set -euo pipefail
out="$1"; mkdir -p "$out"
suite="${SUITE:-suite}"

run() { $suite run "$@" --seed 20 --threads 1 -q --out-dir "$out" --overwrite; }
run -e flops,params,relu -b nb201
run -e synflow,snip,grad_norm,fisher,jacob_cov,relu_logdet,plain,grasp,vote -b nb201 --sample 12
run -e synflow,snip,fisher -b nb101-partial --sample 6
run -e synflow,jacob_cov -b nb301-partial --sample 4
run -e oneshot -b nb201 --sample 6 -c epochs=2 -c snapshots=1,2 -c train_images=256 -c batch_size=64 \
    -c init_channels=4 -c cells_per_stage=1 -c score_batches=2 -c score_batch_size=50
run -e closenet -b nb201 --sample 5 -c epochs=2 -c snapshots=1,2 -c curriculum=1,2 -c restart_epoch=2 \
    -c train_images=128 -c batch_size=64 -c init_channels=4 -c cells_per_stage=1 -c score=loss \
    -c score_batches=1 -c score_batch_size=50
