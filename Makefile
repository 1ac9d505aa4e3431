# Two entry points: `make demo` (the main job on built-in sample data) and `make test`.
# Both create .venv and install everything they need on a fresh machine.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DEMO := .demo
# Offline schemas for `stacforge validate`: ../shared/schemas when it is there; otherwise the
# validator uses its user cache and downloads what is missing.
export STACFORGE_SCHEMAS ?= $(abspath $(wildcard ../shared/schemas))

.PHONY: demo test lint venv catalogs browser clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(INSTALLED)

demo: $(INSTALLED)
	BIN=$(BIN) DEMO=$(DEMO) scripts/demo.sh

# The committed example catalogs, one per dataset, rebuilt from the built-in samples.
catalogs: $(INSTALLED)
	$(BIN)/python scripts/build_catalogs.py catalogs

# STAC Browser for `stacforge serve --browser`, built from its npm package into browser/dist/
# (needs node >= 18 and npm; the build is not committed).
browser: browser/dist/index.html

browser/dist/index.html: browser/package.json browser/package-lock.json browser/config.js browser/build.js
	cd browser && npm ci --no-audit --no-fund && npm run build

lint: $(INSTALLED)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
