# Every target sets up .venv on first use; nothing needs to be installed by hand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1

.PHONY: demo test lint bench fuzz schema docs baselines clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The dev extras include the tokens and baselines extras that the demo uses.
demo: baselines
	$(BIN)/corpus agreement annotations/
	$(BIN)/python scripts/demo_load.py out/dataset

# Train, tune and score the baselines on the bundled corpus's splits (baselines/results.json), then
# build again so that the card carries their table. `corpus build` alone uses the committed file.
baselines: $(STAMP)
	$(BIN)/corpus build
	$(BIN)/corpus baseline out/splits --output baselines/results.json
	$(BIN)/corpus build

test: $(STAMP)
	$(BIN)/ruff check corpus_tools tests benchmarks scripts
	$(BIN)/ruff format --check corpus_tools tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/corpus validate annotations/
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

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
