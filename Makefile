# Two commands on a fresh machine: `make book` builds the HTML book, `make test` runs every check.
# Both create the virtual environment first. MNIST is read from $MNIST_TUTORIAL_DATA when set,
# otherwise from data/ (downloaded there on first use when the machine has internet access).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
BUILD  := _build
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout 900

# Keep builds quiet and repeatable.
export PYTHONHASHSEED := 0
export MNIST_TUTORIAL_PROGRESS ?= 0

# Where a process runs PyTorch alone (a chapter's kernel), let its OpenMP threads spin between
# operations instead of sleeping: the convolutional model trains about 15 % faster on two cores.
# Not for pytest itself, whose idle threads would then compete with the processes it starts.
SPIN := OMP_WAIT_POLICY=ACTIVE

.PHONY: help venv book book-clean references test lint unit nbval browser images bench bench-build clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

venv: $(STAMP)  ## create .venv with the pinned requirements and the package

# The execution cache re-runs a chapter when its code changes, but it cannot see the package,
# the images or the pinned libraries the chapters use: when those change, every chapter runs.
# A failed build forgets Sphinx's environment, so that the next build re-reads every chapter
# and reports its warnings again instead of passing on an unchanged tree.
DEPENDENCIES = $(shell cat mnist_tutorial/*.py img/*.png img/*.jpg requirements.txt | sha256sum | cut -c1-16)

# The drawing pad of chapter 9 runs onnxruntime-web, which the build copies from node_modules.
NODE_MODULES := node_modules/.package-lock.json
$(NODE_MODULES): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: run .ci/install-browser.sh (apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error

book: $(STAMP) $(NODE_MODULES)  ## build the HTML book into _build/html (executes chapters whose code changed)
	@if [ "$$(cat $(BUILD)/.dependencies 2>/dev/null)" != "$(DEPENDENCIES)" ]; then \
		echo "mnist_tutorial, img/ or requirements.txt changed: every chapter runs again"; \
		rm -rf $(BUILD)/.jupyter_cache $(BUILD)/.doctrees; fi
	$(SPIN) $(BIN)/jupyter-book build . -W --keep-going --builder html || { rm -rf $(BUILD)/.doctrees; exit 1; }
	echo $(DEPENDENCIES) > $(BUILD)/.dependencies

book-clean:  ## forget the built book and the execution cache
	rm -rf $(BUILD)

references: $(STAMP)  ## re-execute the chapters into tests/notebooks/*.ipynb (what nbval compares)
	$(SPIN) $(BIN)/python -m tests.references write

lint: $(STAMP)  ## ruff, on the package, tests, benchmarks and scripts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: $(STAMP)  ## the tests that need no built book
	$(BIN)/python -m pytest tests -m "not book"

nbval: $(STAMP)  ## re-run every chapter and compare its outputs with tests/notebooks/
	$(SPIN) $(BIN)/python -m pytest $(NBVAL) tests/notebooks

browser:  ## install Chromium, chromedriver and axe-core if missing (apt and npm)
	bash .ci/install-browser.sh || echo "warning: browser tools missing; the browser tests will skip (and fail in CI)"

test: $(STAMP) lint browser book  ## lint, the book, unit and browser tests, nbval
	$(BIN)/python -m pytest tests
	$(MAKE) nbval

images: $(STAMP)  ## redraw the book's own images in img/
	$(BIN)/python img/draw_images.py

# On a GPU machine: make bench BENCH_ARGS="--device cuda"
bench: $(STAMP)  ## training speed: the original notebook's pipeline against the package's
	$(SPIN) $(BIN)/python benchmarks/training_speed.py $(BENCH_ARGS)

bench-build: $(STAMP)  ## whole-process times of a cold and an unchanged `make book`
	$(BIN)/python benchmarks/build_time.py

clean: book-clean  ## remove the build, caches and the virtual environment
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache node_modules
