# Two commands do all set-up on a fresh machine: `make test` and `make demo`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: test check demo fuzz bench lint sandbox snapshots manifest bundle clean
# The fast lane: lint, types and the in-process suites (no server processes, Redis, load or benchmark runs).
FAST_TESTS := tests/guard tests/server tests/adversarial/test_redactor_corpus.py tests/test_config.py

# The sandbox (packages/kyc-sandbox) is a distribution of its own, installed beside the server for tests and the demo.
$(STAMP): pyproject.toml packages/kyc-sandbox/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e packages/kyc-sandbox -e '.[test,demo,hosted]'
	touch $@

test: $(STAMP)
	$(BIN)/python -m pytest

check: lint
	$(BIN)/python -m pytest -q -n 2 $(FAST_TESTS)

demo: $(STAMP)
	$(BIN)/kyc-mcp demo

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e packages/kyc-sandbox -e '.[test,demo,hosted,bench]'
	touch $@

# The HTTP benchmark's load generator is Debian's wrk (a process of its own); without it, a Python fallback.
bench: $(BENCH_STAMP)
	@command -v wrk >/dev/null || { sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get install -y -q wrk >/dev/null || { $$sudo apt-get update -q >/dev/null && $$sudo apt-get install -y -q wrk >/dev/null; } \
	  || echo "wrk not installed: the HTTP benchmark uses its Python fallback"; }
	$(BIN)/python -m benchmarks --record

fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q tests/reliability/test_fuzz.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

sandbox: $(STAMP)
	$(BIN)/kyc-mcp sandbox --host 127.0.0.1 --port 8080

snapshots: $(STAMP)
	UPDATE_SNAPSHOTS=1 $(BIN)/python -m pytest -q tests/server/test_schema.py

manifest: $(STAMP)
	$(BIN)/python -m kyc_mcp.bundle

# dist/kyc-mcp-<version>.mcpb: a `uv` bundle (sources and pyproject.toml; the host resolves the dependencies).
bundle: $(STAMP)
	$(BIN)/python -m kyc_mcp.bundle --pack dist

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
