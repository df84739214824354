# Two commands that work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test install install-dev system-deps install-check lint typecheck bench-env bench-smoke clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# the product alone: what `crm-hub demo` needs and nothing more
install: $(BIN)/python
	$(BIN)/pip install --quiet -e .

# every extra plus the test tools
install-dev: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'

demo: install
	$(BIN)/crm-hub demo --workdir crm-hub-demo

# the Debian packages the tests need: unixODBC with the PostgreSQL and MariaDB ODBC drivers,
# chromium and a CJK font for the web page's browser test (run as root, or with sudo)
SYSTEM_DEPS = unixodbc odbc-postgresql odbc-mariadb chromium fonts-wqy-microhei
system-deps:
	@missing=$$(for p in $(SYSTEM_DEPS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; fi

# every test; a test README promises that cannot run here fails the run (tests/README.md:
# CRM_HUB_ALLOW_SKIP=odbc,browser,... accepts those skips). FEBRL4 comes from .venv-bench.
test: install-dev bench-env
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy
	$(BIN)/pytest

# each documented install line in a clean venv, and the commands its extra enables
install-check: install-dev
	PATH=$(abspath $(BIN)):$$PATH .ci/install-check

# the peers the benchmarks measure (dlt, connectorx), in an environment of their own
bench-env:
	test -x .venv-bench/bin/python || $(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install --quiet -r bench/peers/requirements.txt

# every benchmark at a small size, so that they cannot rot (CI runs this)
bench-smoke: install-dev bench-env
	BENCH_RESULTS=$${TMPDIR:-/tmp}/crm-hub-bench-smoke $(BIN)/python -m bench extract --rows 20000 --json
	BENCH_RESULTS=$${TMPDIR:-/tmp}/crm-hub-bench-smoke $(BIN)/python -m bench scaling --sizes 2000,20000 --json
	BENCH_RESULTS=$${TMPDIR:-/tmp}/crm-hub-bench-smoke $(BIN)/python -m bench connectors --rows 20000 --json
	BENCH_RESULTS=$${TMPDIR:-/tmp}/crm-hub-bench-smoke $(BIN)/python -m bench matching --sizes 2000,5000 --no-baseline --json
	BENCH_RESULTS=$${TMPDIR:-/tmp}/crm-hub-bench-smoke $(BIN)/python -m bench api --customers 2000 --lines 20000 --seconds 5 --warmup 2 --json
	BENCH_RESULTS=$${TMPDIR:-/tmp}/crm-hub-bench-smoke $(BIN)/python -m bench pushback --changes 200 --concessions 20 --latency-changes 20 --period 5 --cycles 3 --json

lint: install-dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy

# mypy over the product packages ([tool.mypy] in pyproject.toml); `lint` and `test` run it too
typecheck: install-dev
	$(BIN)/mypy

clean:
	rm -rf crm-hub-demo .pytest_cache .mypy_cache .import_linter_cache build *.egg-info
