# One entry point. `make test` and `make demo` work on a fresh machine: they build .venv themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export PG_TEST_URL
# pytest-xdist workers; each gets its own PostgreSQL database (PG_TEST_URL + _gwN)
TEST_WORKERS ?= auto

.PHONY: install lint test test-fast demo bench bench-scale bench-workers clean postgres browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check billing tests bench alembic
	$(BIN)/mypy

postgres:
	@bash scripts/ensure-postgres.sh "$(PG_TEST_URL)"

browser:
	@bash scripts/ensure-chromium.sh

test: lint postgres browser
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist worksteal

test-fast: install
	$(BIN)/pytest -q -x -m "not slow"

demo: install
	$(BIN)/billing demo

bench: install
	$(BIN)/python bench/sandbox_throughput.py
	$(BIN)/python bench/throughput.py
	$(BIN)/python bench/startup.py

# Not part of `make test` (it seeds 1M members): PG_BENCH_URL names a scratch database whose
# public schema is dropped. SCALE_SIZES=100000 runs the small size only.
SCALE_SIZES ?= 100000,1000000
PG_BENCH_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/bench
bench-scale: install postgres
	@bash scripts/ensure-postgres.sh "$(PG_BENCH_URL)"
	PG_BENCH_URL="$(PG_BENCH_URL)" $(BIN)/python bench/scale.py --sizes $(SCALE_SIZES)

# Not part of `make test`: 1 and 3 `billing run` workers on PostgreSQL at Toast's limits, where
# the limits bind (10 locations) and where they allow more (40 locations, 100 ms latency).
# PG_WORKERS_URL names a scratch database (created if missing) whose public schema is dropped.
PG_WORKERS_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/bench_workers
bench-workers: install postgres
	PG_BENCH_URL="$(PG_WORKERS_URL)" $(BIN)/python bench/workers.py
	PG_BENCH_URL="$(PG_WORKERS_URL)" $(BIN)/python bench/workers.py --locations 40 --latency-ms 100

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis billing.db*
