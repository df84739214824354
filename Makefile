# Two commands that work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test install install-dev system-deps install-check lint typecheck bench-env bench-smoke fuzz-api clean

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

# the peers the benchmarks measure (dlt, connectorx, Sling), in an environment of their own
bench-env:
	test -x .venv-bench/bin/python || $(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install --quiet -r bench/peers/requirements.txt

# every benchmark at a small size, so that they cannot rot (CI runs this)
bench-smoke: install-dev bench-env
	BENCH_RESULTS=$${TMPDIR:-/tmp}/crm-hub-bench-smoke $(BIN)/python -m bench extract --rows 20000 --json
	BENCH_RESULTS=$${TMPDIR:-/tmp}/crm-hub-bench-smoke $(BIN)/python -m bench scaling --sizes 2000,20000 --json
	BENCH_RESULTS=$${TMPDIR:-/tmp}/crm-hub-bench-smoke $(BIN)/python -m bench connectors --rows 20000 --json
	BENCH_RESULTS=$${TMPDIR:-/tmp}/crm-hub-bench-smoke $(BIN)/python -m bench matching --sizes 2000,5000 --no-baseline --unseen-size 300 --json
	BENCH_RESULTS=$${TMPDIR:-/tmp}/crm-hub-bench-smoke $(BIN)/python -m bench api --customers 2000 --lines 20000 --seconds 5 --warmup 2 --json
	BENCH_RESULTS=$${TMPDIR:-/tmp}/crm-hub-bench-smoke $(BIN)/python -m bench pushback --changes 200 --concessions 20 --latency-changes 20 --period 5 --cycles 3 --json
	BENCH_RESULTS=$${TMPDIR:-/tmp}/crm-hub-bench-smoke $(BIN)/python -m bench deletes --rows 20000 --json
	BENCH_RESULTS=$${TMPDIR:-/tmp}/crm-hub-bench-smoke $(BIN)/python -m bench kills --rows 20000 --trials 2 --changes 200 --json

# schemathesis over the whole OpenAPI document, 50 examples per operation, with an editor
# and with an admin key, against `crm-hub serve` of a small demo (its store: SQLite, or
# $$CRM_HUB_DATABASE_URL, e.g. an empty PostgreSQL database); fails on any server error
FUZZ_DIR  ?= $${TMPDIR:-/tmp}/crm-hub-fuzz
FUZZ_PORT ?= 18765
fuzz-api: install-dev
	rm -rf $(FUZZ_DIR) && $(BIN)/crm-hub demo --workdir $(FUZZ_DIR) --customers 300 --rest-port 0 -q
	cd $(FUZZ_DIR) && \
	editor=$$($(abspath $(BIN))/crm-hub apikey create --role editor --name fuzz-editor | tail -1) && \
	admin=$$($(abspath $(BIN))/crm-hub apikey create --role admin --name fuzz-admin | tail -1) && \
	{ $(abspath $(BIN))/crm-hub serve --port $(FUZZ_PORT) --log-level warning & server=$$!; } && \
	trap "kill $$server" EXIT && \
	for i in $$(seq 60); do curl -sf http://127.0.0.1:$(FUZZ_PORT)/health >/dev/null && break; sleep 1; done && \
	for key in $$editor $$admin; do \
	  $(abspath $(BIN))/schemathesis run http://127.0.0.1:$(FUZZ_PORT)/openapi.json \
	    -H "Authorization: Bearer $$key" --checks not_a_server_error --max-examples 50 \
	    --seed 1 -w 1 --generation-database none --no-color || exit 1; \
	done

lint: install-dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy

# mypy over the product packages ([tool.mypy] in pyproject.toml); `lint` and `test` run it too
typecheck: install-dev
	$(BIN)/mypy

clean:
	rm -rf crm-hub-demo .pytest_cache .mypy_cache .import_linter_cache build *.egg-info
