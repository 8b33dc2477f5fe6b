# One entry point per job; CI calls `make test` unchanged.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
NPM_DIR := tests/interop

.PHONY: setup setup-node test test-fast lint demo bench autobahn clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

$(NPM_DIR)/node_modules/.installed: $(NPM_DIR)/package.json
	cd $(NPM_DIR) && npm ci --no-audit --no-fund --silent || npm install --no-audit --no-fund --silent
	touch $@

setup: $(VENV)/.installed $(NPM_DIR)/node_modules/.installed

setup-node: $(NPM_DIR)/node_modules/.installed

## Everything CI checks: lint, types, import layering, the whole test suite (interop and Autobahn included).
test: setup lint
	$(PY) -m pytest -q -p no:cacheprovider --cov --cov-report=
	$(PY) -m coverage report --skip-covered --include='src/tether/ws/*,src/tether/eio/*,src/tether/sio/*' --fail-under=95
	$(PY) -m coverage report --skip-covered --fail-under=80

test-fast: $(VENV)/.installed
	$(PY) -m pytest -q -m "not interop and not autobahn"

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy src
	$(VENV)/bin/lint-imports

## Starts the demo (until the chat exists: an Engine.IO echo server that prints where to connect).
demo: $(VENV)/.installed
	$(PY) -m tether demo --host 127.0.0.1 --port 8000

autobahn: $(VENV)/.installed
	$(PY) -m pytest -q -m autobahn tests/conformance

bench: setup
	@echo "bench/: not written yet (issue 7)"; exit 1

clean:
	rm -rf $(VENV) $(NPM_DIR)/node_modules reports artifacts
