# One entry point per job; CI calls `make test` unchanged.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
NPM_DIR := tests/interop

.PHONY: setup setup-node test test-fast lint demo bench autobahn eio-client-suite clean docs docs-serve

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.compiled

# What the demo needs: the runtime dependencies and pydantic, which enforces the chat's typed
# handlers (the typed extra); no dev extra, no Node.
$(VENV)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[typed]'
	touch $@

$(NPM_DIR)/node_modules/.installed: $(NPM_DIR)/package.json
	cd $(NPM_DIR) && npm ci --no-audit --no-fund --silent || npm install --no-audit --no-fund --silent
	touch $@

BUNDLE := src/tether/static/socket.io-client.version

# The official socket.io-client bundle, served by tether at /socket.io/socket.io.js; copied
# from the npm package, never committed (`tether bundle install` downloads the pinned one).
$(BUNDLE): $(VENV)/.installed $(NPM_DIR)/node_modules/.installed
	$(PY) -m tether.cli.bundle --from $(NPM_DIR)/node_modules/socket.io-client/dist

ADMIN_UI := src/tether/static/socket.io-admin-ui/socket.io-admin-ui.version

# The official admin UI (tether.admin), served at /admin/: the pinned @socket.io/admin-ui's
# ui/dist, downloaded and checked by its npm integrity, never committed.
$(ADMIN_UI): $(VENV)/.installed
	$(PY) -m tether.cli.bundle --package @socket.io/admin-ui

BENCH_NPM := bench/node_modules/.installed

$(BENCH_NPM): bench/package.json bench/package-lock.json
	cd bench && npm ci --no-audit --no-fund --silent
	touch $@

# The compiled build (mypyc, build_support/compiled_modules.py), in place: rebuilt when a
# compiled source changes (else tether imports the .py files, and says so).
COMPILED_SRC := $(shell sed -n 's|^    "\(tether/.*\.py\)",$$|src/\1|p' build_support/compiled_modules.py)

$(VENV)/.compiled: $(VENV)/.installed setup.py build_support/compiled_modules.py $(COMPILED_SRC)
	$(PY) -m pip install -q --no-deps -e .
	touch $@

setup: $(VENV)/.installed $(VENV)/.compiled $(NPM_DIR)/node_modules/.installed $(BUNDLE) $(ADMIN_UI) $(BENCH_NPM)

setup-node: $(NPM_DIR)/node_modules/.installed

## Everything CI checks: lint, types, import layering, the whole test suite (interop and Autobahn
## included) against the compiled build, then against the pure-Python modules (TETHER_PURE_PYTHON=1,
## with coverage: compiled code is not traced; packaging tests build their own wheels, not rerun).
test: setup lint
	$(PY) -m pytest -q -p no:cacheprovider
	TETHER_PURE_PYTHON=1 $(PY) -m pytest -q -p no:cacheprovider -n 2 -m "not packaging" --cov --cov-report=
	$(PY) -m coverage report --skip-covered --include='src/tether/ws/*,src/tether/eio/*,src/tether/sio/*' --fail-under=95
	$(PY) -m coverage report --skip-covered --fail-under=80

test-fast: $(VENV)/.installed
	$(PY) -m pytest -q -m "not interop and not autobahn and not browser and not packaging"

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests bench build_support setup.py
	$(VENV)/bin/ruff format --check src tests bench build_support setup.py
	$(VENV)/bin/mypy src
	$(VENV)/bin/lint-imports

## Starts the chat demo on http://127.0.0.1:8000 (runtime deps and the pinned bundle only).
demo: $(VENV)/.runtime
	$(VENV)/bin/tether bundle install
	$(VENV)/bin/tether demo chat --host 127.0.0.1 --port 8000

## The documentation site into site/ (mkdocs build --strict); docs-serve: live on :8000.
docs: $(VENV)/.installed
	$(VENV)/bin/mkdocs build --strict --site-dir site

docs-serve: $(VENV)/.installed
	$(VENV)/bin/mkdocs serve

autobahn: $(VENV)/.installed
	$(PY) -m pytest -q -m autobahn tests/conformance

## engine.io-client's own mocha suite against tether; SUITE_SRC: a git dir of socketio/socket.io.
eio-client-suite: $(VENV)/.installed
	PYTHON=$(PY) tests/conformance/run_eio_client_suite.sh "$(SUITE_SRC)"

## Side-by-side benchmarks: the servers and scenarios of the targets (bench.targets), echo,
## binary 1 KiB and polling 3 times (~31 min on 2 cores). BENCH_ARGS adds to or overrides
## these options: BENCH_ARGS="--scale toy" for a quick pass, "--servers ..." for others.
BENCH_SERVERS := node-socketio,node-socketio-cluster,tether,tether-pure,tether-workers,psio-uvicorn,psio-aiohttp,floor-uvloop,floor-uvloop-compiled
BENCH_SCENARIOS := connect-1k,connect-10k,echo,polling,binary-1k,binary-64k,fanout,rooms,idle,idle-max,cluster-fanout
bench: setup
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) -m bench.run --servers $(BENCH_SERVERS) --scenarios $(BENCH_SCENARIOS) \
		--repeat 3 --repeat-scenarios echo,binary-1k,polling $(BENCH_ARGS)
	$(PY) -m bench.render
	$(PY) -m bench.targets

clean:
	rm -rf $(VENV) $(NPM_DIR)/node_modules bench/node_modules reports artifacts site src/tether/static/socket.io*
	rm -rf build src/tether/_compiled.json && find src -name "*.so" -delete
