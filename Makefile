# Everything a fresh machine with Python 3.11 and make needs: `make run`, `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-stamp

.PHONY: run test lint format bench bench-all clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[embedded,dev]' -c constraints.txt
	touch $(STAMP)

run: $(STAMP)  ## start the service on 127.0.0.1:8000 (embedded PostgreSQL if DATABASE_URL is unset)
	$(BIN)/ops-bridge serve

test: lint  ## lint, type-check and run the whole suite
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

# The benchmarks also need the `bench` extra (the reference app's broadcaster, asyncpg, py-spy).
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[embedded,dev,bench]' -c constraints.txt
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)  ## webhook-to-socket latency beside the reference (see bench/README.md)
	$(BIN)/python -m bench.latency

bench-all: $(BENCH_STAMP)  ## every workload and ceiling, 1 and 2 workers; writes BENCHMARKS.md (takes long)
	$(BIN)/python -m bench.all

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
