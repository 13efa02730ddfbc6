# Two commands set everything up on a fresh machine:
#   make run    - install, fetch the corpus, ingest it and start the assistant
#   make test   - install (with test extras) and run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
EUMEX := $(VENV)/bin/eumex
# The shared read-only copy of the corpus, when this checkout sits next to it.
SHARED_CORPUS := $(abspath ../shared/corpus/raw)
export EUMEX_CORPUS_MIRROR ?= $(if $(wildcard $(SHARED_CORPUS)/SOURCES.tsv),$(SHARED_CORPUS),)

.PHONY: install run ingest test bench bench-api docs clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[eval,test]'
	touch $@

install: $(VENV)/.installed

ingest: install
	$(EUMEX) corpus fetch
	$(EUMEX) ingest

run: ingest
	$(EUMEX) serve

test: install
	$(PY) -m pytest

bench: install
	$(PY) bench/ingest.py

bench-api: install
	$(PY) bench/api_load.py

# docs/settings.md and .env.example are generated from the Settings class (tests fail when stale).
docs: install
	PYTHONUTF8=1 $(EUMEX) settings --format markdown > docs/settings.md
	PYTHONUTF8=1 $(EUMEX) settings --format env > .env.example

clean:
	rm -rf $(VENV) data .pytest_cache test-artifacts
