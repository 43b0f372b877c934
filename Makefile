# Two commands on a fresh machine: `make book` builds the HTML book, `make test` runs every check.
# Both create the virtual environment first. MNIST is read from $MNIST_TUTORIAL_DATA when set,
# otherwise from data/ (downloaded there on first use when the machine has internet access).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
BUILD  := _build
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout 1800

# Keep builds quiet and repeatable.
export PYTHONHASHSEED := 0
export MNIST_TUTORIAL_PROGRESS ?= 0

# Where a process runs PyTorch alone (a chapter's kernel), let its OpenMP threads spin between
# operations instead of sleeping: the convolutional model trains about 15 % faster on two cores.
# Not for pytest itself, whose idle threads would then compete with the processes it starts.
# And let glibc keep freed memory for the next step instead of handing it back to the system and
# faulting it in again: a convolutional step went from 10.7 to 9.9 ms (medians of 6 alternating
# runs of 500 steps). Both are settings of the process, not of the package.
SPIN := OMP_WAIT_POLICY=ACTIVE MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824

.PHONY: help venv lab book book-clean references test lint unit nbval browser images bench bench-build gpu-check linkcheck pdf clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

# requirements-dev.txt includes requirements.txt (what readers need) and adds the developers' tools.
# TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu installs PyTorch's CPU-only build of the pinned
# pair first (PyTorch's own environment: about 900 MiB instead of 5,600 MiB, benchmarks/README.md); the pins then keep it,
# since 2.14.1+cpu satisfies ==2.14.1.
TORCH_PINS := $(shell grep -E '^(torch|torchvision)==' requirements.txt | cut -d' ' -f1)
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(if $(TORCH_INDEX_URL),$(BIN)/python -m pip install --quiet $(TORCH_PINS) --index-url $(TORCH_INDEX_URL))
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

venv: $(STAMP)  ## create .venv with the pinned requirements (both files) and the package

# JupyterLab opens the chapters (MyST Markdown) as notebooks through Jupytext once its default
# viewer for Markdown is "Jupytext Notebook": binder/overrides.json says so, and goes where
# JupyterLab reads settings overrides, here as on Binder (binder/postBuild).
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.d/mnist-tutorial.json

$(LAB_SETTINGS): binder/overrides.json
	mkdir -p $(@D)
	cp $< $@

lab: $(STAMP) $(LAB_SETTINGS)  ## JupyterLab in .venv, chapters opening as notebooks (options: LAB_ARGS="...")
	$(BIN)/jupyter lab --LabApp.default_url=/lab/tree/book $(LAB_ARGS)

# The pages load MathJax, and chapter 9's drawing pad onnxruntime-web, from the build, copied there
# from package-lock.json's npm packages.
NODE_STAMP := node_modules/.package-lock.json

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "make book needs npm, for MathJax and onnxruntime-web (apt-get install npm)" >&2; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

# The execution cache re-runs a chapter when its code changes, but it cannot see the package,
# the images or the pinned libraries the chapters use: when those change, every chapter runs.
# Sphinx renders every page afresh from the cache (about 25 s here): a partial build can leave
# the pages it does not re-read without sphinx-codeautolink's links (its issue #181, seen here
# after a change to _config.yml), and a fresh one reports every page's warnings each time.
DEPENDENCIES = $(shell cat mnist_tutorial/*.py img/*.png img/*.jpg requirements.txt | sha256sum | cut -c1-16)

# The chapters are executed into the cache first (book/_ext/execute_chapters.py: side by side where
# the machine has the cores, EXECUTE_ARGS="--workers N" to choose; a failed chapter stops it at once),
# then Sphinx renders them from there.
book: $(STAMP) $(NODE_STAMP)  ## build the HTML book into _build/html (executes chapters whose code changed)
	@if [ "$$(cat $(BUILD)/.dependencies 2>/dev/null)" != "$(DEPENDENCIES)" ]; then \
		echo "mnist_tutorial, img/ or requirements.txt changed: every chapter runs again"; \
		rm -rf $(BUILD)/.jupyter_cache; fi
	$(SPIN) $(BIN)/python book/_ext/execute_chapters.py $(EXECUTE_ARGS)
	rm -rf $(BUILD)/.doctrees
	$(SPIN) $(BIN)/jupyter-book build . -W --keep-going --builder html
	echo $(DEPENDENCIES) > $(BUILD)/.dependencies

book-clean:  ## forget the built book and the execution cache
	rm -rf $(BUILD)

references: $(STAMP)  ## re-execute the chapters into tests/notebooks/*.ipynb (what nbval compares)
	$(SPIN) $(BIN)/python -m tests.references write

# The whole book as one PDF: Jupyter Book's LaTeX builder with XeLaTeX, from the execution cache that
# `make book` fills, into _build/latex/mnist-tutorial.pdf; then the HTML again, every page's download
# menu offering the PDF, which goes into the site beside index.html (what CI publishes from main).
# TeX comes from Debian's packages: bash .ci/install-tex.sh.
BOOK_PDF := $(BUILD)/latex/mnist-tutorial.pdf
pdf: book  ## the whole book as one PDF (XeLaTeX: bash .ci/install-tex.sh), offered by the HTML's download menus
	@command -v xelatex >/dev/null && command -v latexmk >/dev/null && command -v xindy >/dev/null || \
		{ echo "make pdf needs XeLaTeX, latexmk and xindy: bash .ci/install-tex.sh" >&2; exit 1; }
	$(SPIN) $(BIN)/jupyter-book build . -W --keep-going --builder pdflatex
	rm -rf $(BUILD)/.doctrees  # afresh, as in `make book`
	BOOK_PDF=$(BOOK_PDF) $(SPIN) $(BIN)/jupyter-book build . -W --keep-going --builder html

# After `make book`, whose execution cache the builder uses (a chapter missing from it runs first).
linkcheck: $(STAMP)  ## check the book's external links (CI: weekly); says so and passes when offline
	bash .ci/linkcheck

lint: $(STAMP)  ## ruff, on the package, tests, benchmarks and scripts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: $(STAMP)  ## the unit tests: no built book, no chapter runs (under a minute)
	$(BIN)/python -m pytest tests -m "not book and not integration"

nbval: $(STAMP)  ## re-run every chapter and compare its outputs with tests/notebooks/
	$(SPIN) $(BIN)/python -m pytest $(NBVAL) $(NBVAL_ARGS) tests/notebooks

browser:  ## install Chromium, chromedriver and axe-core if missing (apt and npm)
	bash .ci/install-browser.sh || echo "warning: browser tools missing; the browser tests will skip (and fail in CI)"

# After the build has trained every model, nbval and the tests that run chapters take them from the
# cache: MNIST_TUTORIAL_CACHED_ONLY=1 turns a model that would be trained again into an error.
# Two pytest workers (pytest-xdist), each process on one thread: most tests wait on a chapter's
# kernel or a browser, which leaves the second core idle with one worker. loadgroup keeps the tests
# that share one nbval run of planted regressions on one worker; nbval keeps each notebook on one
# worker (loadscope). The build has just run every chapter whole, hidden cells included, so nbval
# leaves those out (tests/nbval_visible.py): one more run of each chapter checks both that the code
# a reader sees runs on its own and that it prints what the references print.
WORKERS ?= 2
PARALLEL := MNIST_TUTORIAL_CACHED_ONLY=1 OMP_NUM_THREADS=1
VISIBLE_ONLY := -p tests.nbval_visible

test: $(STAMP) lint browser book  ## lint, the book, unit and browser tests, nbval
	$(PARALLEL) $(BIN)/python -m pytest tests -n $(WORKERS) --dist loadgroup
	$(PARALLEL) $(MAKE) nbval NBVAL_ARGS="-n $(WORKERS) --dist loadscope $(VISIBLE_ONLY)"

# A reader who starts cold (tests/test_cold.py): a fresh virtual environment with the pins of
# COLD_REQUIREMENTS (binder/requirements.txt: PyTorch's CPU build) and the package from its wheel; each
# chapter copied alone into an empty folder and executed there, hidden checks included, with an empty
# model cache, so that it trains every model it uses; then two notebooks made for readers. Long (see
# benchmarks/README.md), not part of `make test`; reports and executed notebooks in _build/cold/.
COLD_REQUIREMENTS ?= requirements.txt
# pytest's folder for this run alone: other pytest runs prune /tmp/pytest-of-* down to their last three.
COLD_TMP ?= /tmp/mnist-tutorial-cold

.PHONY: test-cold
test-cold: $(STAMP)  ## every chapter alone in a fresh venv from the built wheel, from an empty cache (long)
	MNIST_TUTORIAL_COLD=1 MNIST_TUTORIAL_COLD_REQUIREMENTS=$(COLD_REQUIREMENTS) $(SPIN) \
		$(BIN)/python -m pytest --noconftest -p no:cacheprovider --basetemp=$(COLD_TMP) tests/test_cold.py -v \
		--durations=0 $(COLD_ARGS)

images: $(STAMP)  ## redraw the book's own images in img/
	$(BIN)/python img/draw_images.py

# On a GPU machine: make bench BENCH_ARGS="--device cuda"
bench: $(STAMP)  ## training speed: the original notebook's pipeline against the package's
	$(SPIN) $(BIN)/python benchmarks/training_speed.py $(BENCH_ARGS)

bench-build: $(STAMP)  ## times of a cold `make book`, `make test` right after it, and unchanged rebuilds, against the targets
	$(BIN)/python benchmarks/build_time.py

gpu-check: $(STAMP)  ## on a machine with one NVIDIA GPU, within 7 minutes: nbval, CUDA tests, bench, cold book, DDP script; times to JSON
	$(BIN)/python benchmarks/gpu_check.py $(GPU_CHECK_ARGS)

clean: book-clean  ## remove the build, caches and the virtual environment
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache node_modules
