# The executable book of knowledge-distillation papers.
#   make test        unit tests + nbval (smoke defaults) + book build, warnings as errors
#   make reproduce   papermill every chapter with its paper profile, then build the book
#                    (PROFILE=smoke for a quick run, NB=<name> for one chapter,
#                    KEEP_STALE=1 to keep records computed by older code)
#   make book | sync | bench | clean
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PROFILE ?= paper
NB ?=
NBTEST := build/nbtest

.PHONY: install test unit nbval book reproduce sync bench clean

$(INSTALLED): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(INSTALLED)

install: $(INSTALLED)

test: install unit nbval book

unit: install
	$(PY) -m pytest tests

# Each notebook source runs with its smoke defaults; cells marked NBVAL_CHECK_OUTPUT are
# compared with the committed paper-profile output. Runs write records to a scratch folder.
nbval: install
	rm -rf $(NBTEST) && mkdir -p $(NBTEST)
	$(PY) tests/nbval_prepare.py $(NBTEST)
	KDCORE_RESULTS=$(CURDIR)/$(NBTEST)/results $(PY) -m pytest -p no:cacheprovider --nbval-lax $(NBTEST)/*.ipynb

# KEEP_STALE=1 reuses records computed by older code (marked stale) instead of recomputing them.
reproduce: install
	$(if $(KEEP_STALE),KDCORE_KEEP_STALE=1) $(PY) -m kdcore.reproduce --profile $(PROFILE) $(if $(NB),--nb $(NB))
	$(MAKE) book

# The results page's scoreboard, figure and table are generated from the run records.
book: install
	rm -rf book/_generated && mkdir -p book/_generated
	$(PY) -m kdcore.results --page book/_generated
	$(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going

sync: install
	$(VENV)/bin/jupytext --sync notebooks/*.py

bench: install
	$(PY) -m kdcore.bench

clean:
	rm -rf _build build .pytest_cache book/_generated
