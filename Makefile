# Every target sets up .venv on first use; nothing needs to be installed by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1

.PHONY: setup demo test lint bench fuzz schema docs baselines screenshot browser clean

$(STAMP): pyproject.toml setup.py corpus_tools/_slots.h corpus_tools/validate/_native.c corpus_tools/merge/_native.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The environment: the package installed, its C modules built (again when a C file changed).
setup: $(STAMP)

# The dev extras include the tokens and baselines extras that the demo uses. The demo ends with
# the dataset loaded back and the baseline table of its card.
demo: baselines
	$(BIN)/corpus agreement annotations/
	@echo "The site of the documents and their disagreements: open out/site/index.html in a browser"
	$(BIN)/python scripts/demo_load.py out/dataset

# Train, tune and score the baselines on the bundled corpus's published dataset, as the card tells
# its readers to (baselines/results.json), then build again so that the card carries their table.
# `corpus build` alone uses the committed file.
baselines: $(STAMP)
	$(BIN)/corpus build
	$(BIN)/corpus baseline out/dataset --output baselines/results.json
	$(BIN)/corpus build

test: $(STAMP) browser
	$(BIN)/ruff check corpus_tools tests benchmarks scripts
	$(BIN)/ruff format --check corpus_tools tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/corpus validate annotations/ --strict
	$(BIN)/corpus schema --check --output schema/
	$(BIN)/python scripts/sync_readme.py --check
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check corpus_tools tests benchmarks scripts
	$(BIN)/ruff format --check corpus_tools tests benchmarks scripts
	$(BIN)/mypy

# The fuzz targets of every input reader, with many more examples than `make test` runs.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -m fuzz -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/run_all.py

# Regenerate the files derived from the models and the problem catalogue.
schema: $(STAMP)
	$(BIN)/corpus schema --output schema/
	$(BIN)/corpus problems --markdown > docs/problems.md.tmp && mv docs/problems.md.tmp docs/problems.md

# Regenerate the README's corpus and agreement tables from annotations/.
docs: $(STAMP)
	$(BIN)/python scripts/sync_readme.py

# Headless Chromium for the browser tests of `corpus view`: Debian's package (about 20 s to
# install), when it is missing and this runs as root with apt-get. Otherwise, or if installing
# fails, those tests are skipped and pytest says why; every other test still runs.
browser:
	@if [ -z "$$CORPUS_TOOLS_CHROMIUM" ] && ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; } >/dev/null \
	      || echo "warning: could not install chromium: the browser tests will be skipped"; \
	  else \
	    echo "note: no chromium and no root to install it: the browser tests will be skipped"; \
	  fi; \
	fi

# Regenerate docs/view.png, the README's screenshot of a `corpus view` page.
screenshot: $(STAMP) browser
	$(BIN)/python scripts/screenshot.py docs/view.png

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache corpus_tools/validate/_native.*.so corpus_tools/merge/_native.*.so
