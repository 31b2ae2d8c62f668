# Everything a fresh machine with Python 3.11 and make needs: `make run`, `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --disable-pip-version-check --progress-bar on
# What running needs (the service and the embedded PostgreSQL's binaries), then what testing adds
# (pytest, ruff, mypy, playwright, ...): `make run` installs only the first.
RUN_STAMP := $(VENV)/.run-stamp
TEST_STAMP := $(VENV)/.test-stamp
BENCH_STAMP := $(VENV)/.bench-stamp

.PHONY: run test lint format bench bench-all clean

$(BIN)/python:
	@echo "==> creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml constraints.txt | $(BIN)/python
	@echo "==> installing what running needs into $(VENV) (the first time takes a minute or two)"
	$(PIP) -e '.[embedded]' -c constraints.txt
	touch $@

$(TEST_STAMP): $(RUN_STAMP)
	@echo "==> installing the test and lint tools into $(VENV)"
	$(PIP) -e '.[embedded,dev]' -c constraints.txt
	touch $@

run: $(RUN_STAMP)  ## start the service on 127.0.0.1:8000 (embedded PostgreSQL if DATABASE_URL is unset)
	$(BIN)/ops-bridge serve

test: lint  ## lint, type-check and run the whole suite
	$(BIN)/pytest

lint: $(TEST_STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

# The benchmarks also need the `bench` extra (the reference app's broadcaster, asyncpg, py-spy).
$(BENCH_STAMP): $(TEST_STAMP)
	@echo "==> installing the benchmarks' extras into $(VENV)"
	$(PIP) -e '.[embedded,dev,bench]' -c constraints.txt
	touch $@

bench: $(BENCH_STAMP)  ## webhook-to-socket latency beside the reference (see bench/README.md)
	$(BIN)/python -m bench.latency

bench-all: $(BENCH_STAMP)  ## every workload and ceiling, 1 and 2 workers; writes BENCHMARKS.md (takes long)
	$(BIN)/python -m bench.all

format: $(TEST_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
