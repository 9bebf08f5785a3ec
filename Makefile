# Two commands on a fresh machine (Python 3.11 + make): `make run` and `make test`.
# Both create .venv and install the pinned dependencies (constraints.txt) on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run demo test lint bench bench-ingest bench-check bench-chase bench-flows bench-mailbox clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/grants serve

# The whole 2024/25 year of the example programme, simulated in data/demo/ (about half a minute).
demo: $(STAMP)
	$(BIN)/grants demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Parallel: 3 workers suit the 2-core machine (tests wait on subprocesses, servers and disk as much as on CPU).
test: lint
	$(BIN)/pytest -n 3 --dist worksteal

# Every benchmark of the engine's goals in turn (ingest, check, chase, flows: 3 minutes on the quiet 2-core machine),
# then one summary of every `goal <job>: <figure> <unit> (goal <target> <unit>): met|missed` line they printed
# (benchmarks/goals.py; it fails if a script fails or prints a goal line in another form).
bench: $(STAMP)
	$(BIN)/python benchmarks/goals.py --ingest-args "$(BENCH_ARGS)"

# Ingest benchmark (not part of the tests): 1,000 and 3,000 files, side by side with main at 1,000; BENCH_ARGS="--large" (10,000 files).
bench-ingest: $(STAMP)
	$(BIN)/python benchmarks/bench_ingest.py $(BENCH_ARGS)

bench-check: $(STAMP)
	$(BIN)/python benchmarks/bench_check.py 1000

bench-chase: $(STAMP)
	$(BIN)/python benchmarks/bench_chase.py

bench-flows: $(STAMP)
	$(BIN)/python benchmarks/bench_flows.py

# Returns by email against the inbox folder (starts its own Dovecot; bash .ci/start-dovecot installs it).
bench-mailbox: $(STAMP)
	$(BIN)/python benchmarks/bench_mailbox.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
