# Two commands do all the set-up on a fresh machine:
#   make run    # installs into .venv, then real `suite run`s on NB201 (baselines and relu on all 15,625, synflow on 500)
#   make test   # installs into .venv, then the default test suite
# DATA points at the data directory (default: ../shared/data beside this checkout).

PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
DATA    ?= $(abspath ../shared/data)
export SUITE_DATA_DIR ?= $(DATA)

.PHONY: install run test test-all bench

$(BIN)/suite: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, pinned to the CPU build on local disk, so nothing pulls a CUDA build
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	touch $(BIN)/suite

install: $(BIN)/suite

run: install
	# results are signed: make a key on first use (~/.config/nas-suite/signing_key, never in the repository)
	$(BIN)/suite keygen --if-missing
	$(BIN)/suite run --estimator flops --benchmark nb201 --seed 20 --overwrite --out results/nb201/flops/seed20.json
	$(BIN)/suite run --estimator params --benchmark nb201 --seed 20 --overwrite --out results/nb201/params/seed20.json
	$(BIN)/suite run --estimator relu --benchmark nb201 --seed 20 --overwrite --out results/nb201/relu/seed20.json
	$(BIN)/suite run --estimator synflow --benchmark nb201 --seed 20 --sample 500 --overwrite --out results/nb201/synflow/seed20-sample500.json

test: install
	$(BIN)/python -m pytest -q

test-all: install
	$(BIN)/python -m pytest -q -m ''

bench: install
	$(BIN)/python bench/bench_metrics.py
	$(BIN)/python bench/bench_zero_shot.py --archs 10
	$(BIN)/python bench/bench_zero_shot_memory.py --archs 500
	$(BIN)/python bench/bench_journal.py
	$(BIN)/python bench/bench_site.py --files 200 --bootstrap 0 20
	$(BIN)/python bench/bench_oneshot.py --batch 128 --steps 3 --archs 3 --score-batch 128 --score-batches 1 --score-archs 8
