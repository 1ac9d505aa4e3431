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

.PHONY: demo test lint docs pictures venv catalogs browser clean

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
# (needs node >= 18 and npm; the build is not committed). No install scripts are run: the four
# packages that have one (banners, git hooks, an optional native build) are not needed to build.
browser: browser/dist/index.html

browser/dist/index.html: browser/package.json browser/package-lock.json browser/config.js browser/build.js
	cd browser && npm ci --ignore-scripts --no-audit --no-fund && npm run build

lint: $(INSTALLED)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

# The documentation site (mkdocs.yml), strict: a broken link or a missing page fails.
docs: $(INSTALLED)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# The pictures in the docs: `stacforge stats` of each example catalog, the benchmark plots. (The
# STAC Browser screenshots docs/img/*-label-item.png come from tests/test_stac_browser.py.)
pictures: $(INSTALLED)
	for catalog in catalogs/*/; do \
		$(BIN)/stacforge stats $$catalog --out docs/img/stats/$$(basename $$catalog) || exit 1; \
	done
	$(BIN)/python scripts/plot_benchmarks.py

test: lint docs
	$(BIN)/pytest

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache build/site browser/node_modules browser/dist
