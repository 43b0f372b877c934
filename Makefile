# Two commands on a fresh machine: `make book` builds the HTML book, `make test` runs every check.
# Both create the virtual environment first. MNIST is read from $MNIST_TUTORIAL_DATA when set,
# otherwise from data/ (downloaded there on first use when the machine has internet access).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
BUILD  := _build
JB     := $(BIN)/jupyter-book

# Keep builds quiet and repeatable.
export PYTHONHASHSEED := 0
export MPLBACKEND := Agg
export MNIST_TUTORIAL_PROGRESS ?= 0

.PHONY: help venv book book-clean references test lint nbval unit browser workflows images bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

venv: $(STAMP)  ## create .venv with the pinned requirements and the package

book: $(STAMP)  ## build the HTML book into _build/html (executes the chapters, reusing the cache)
	$(JB) build . --all -W --keep-going --builder html

book-clean:  ## forget the built book and the execution cache
	rm -rf $(BUILD)

references: $(STAMP)  ## re-execute the chapters into tests/notebooks/*.ipynb (nbval references)
	$(BIN)/python -m tests.references write

unit: $(STAMP)  ## unit tests of mnist_tutorial
	$(BIN)/python -m pytest tests -m "not book"

test: $(STAMP) book  ## lint, unit tests, nbval, the built book in a browser, workflow checks
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest tests

clean: book-clean  ## remove the build, caches and the virtual environment
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache
