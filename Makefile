# Large Models, Hands-On. Two commands on a fresh machine: `make lab` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
LOCK_LAB   := requirements/lab.txt
LOCK_TEST  := requirements/test.txt
# BUNDLE=folder: install from a teacher's `make bundle` output, without the network.
PIP_FROM := $(if $(BUNDLE),--no-index --find-links=$(abspath $(BUNDLE))/wheels,)
LATEST := .venv-latest
KERNEL_STAMP := $(VENV)/.kernel
NB     ?= notebooks/*.ipynb

.PHONY: help install install-test lock test-latest bundle lab docs slides assignments hub test test-unit test-notebooks lint format bench bench-notebooks serve notebooks-clean notebooks-record notebooks-check clean

help:
	@echo "make lab               set up .venv if missing, then open JupyterLab on the course"
	@echo "make test              set up .venv if missing, then run every test (unit, lint, notebooks, browser)"
	@echo "make test-unit         the package's tests, lint and notebook hygiene only (no notebook runs)"
	@echo "make test-notebooks    execute notebooks in fast mode and compare checked outputs (NB=notebooks/05_*.ipynb)"
	@echo "make lint              ruff (lint and format check) and the import-linter contracts"
	@echo "make format            ruff format, then ruff's safe fixes"
	@echo "make install           set up .venv alone from requirements/lab.txt, the learner's lock (BUNDLE=dir: offline)"
	@echo "make install-test      ... and the tests, lint, docs, hub and grading tools from requirements/test.txt"
	@echo "make lock              regenerate both locks from pyproject.toml (network; KEEP=1: prefer installed versions)"
	@echo "make test-latest       the same suite in $(LATEST) with the newest releases pyproject.toml allows (network)"
	@echo "make bundle            (not written yet) prints how to fill a wheel folder for BUNDLE=..."
	@echo "make docs              the course as a static website in build/site/ (FAST=1: fast mode)"
	@echo "make slides            each notebook as reveal.js slides in build/slides/ (FAST=1; NB=notebooks/07_*.ipynb)"
	@echo "make assignments       nbgrader student release in build/assignments/ (NB=\"04a_math_networks 07_evaluate:3\")"
	@echo "make hub               JupyterHub for a class on 127.0.0.1:8000 (deploy/jupyterhub_config.py, deploy/README.md)"
	@echo "make bench             benchmark the article's recipe against the course's (QUICK=1: tiny run; BACKEND=jax)"
	@echo "make bench-notebooks   every notebook in full mode: seconds and peak memory in build/notebook-bench.md"
	@echo "make serve             the digit model as an HTTP service on 127.0.0.1:8000 (MODEL=file.keras|.tflite, PORT=...)"
	@echo "make notebooks-clean   strip outputs and metadata noise from notebooks (NB=...)"
	@echo "make notebooks-record  re-record the outputs nbval checks (NB=notebooks/04a_math_networks.ipynb)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Install from the lock (tools/lock.py: pip --require-hashes, then the project with --no-deps); the stamp
# records the lock's sha256. Re-installs when the lock or pyproject.toml changes. LOCK=0: lower bounds instead.
$(STAMP): pyproject.toml $(LOCK_LAB) | $(BIN)/python
	$(BIN)/python tools/lock.py install lab --stamp $@ $(PIP_FROM)

$(TEST_STAMP): pyproject.toml $(LOCK_TEST) | $(STAMP)
	$(BIN)/python tools/lock.py install test --stamp $@ $(PIP_FROM)

# Register the venv's kernel as "python3", the kernel name every notebook uses.
$(KERNEL_STAMP): $(STAMP)
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (course)"
	touch $(KERNEL_STAMP)

# The docs site and the slides serve mermaid, MathJax and reveal.js themselves (they must work offline):
# fetched once with npm (teach extra) for docs, slides and test; from the bundle with BUNDLE=dir.
VENDOR_STAMP := $(VENV)/course-vendor/vendor.json
$(VENDOR_STAMP): tools/vendor_js.py | $(TEST_STAMP)
	$(BIN)/python tools/vendor_js.py $(VENV)/course-vendor

install: $(KERNEL_STAMP)
	@# Fill the data cache while the network is there; harmless and quick when it is not.
	@$(BIN)/python -m course_utils.data prefetch --if-online || true

# Notebooks run with notebooks/ as their folder: make a relative data path absolute first.
ifdef COURSE_DATA_DIR
export COURSE_DATA_DIR := $(abspath $(COURSE_DATA_DIR))
endif
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

install-test: install $(TEST_STAMP)

# Both locks again from pyproject.toml: the newest releases it allows (KEEP=1: the versions installed here).
lock: install-test
	$(BIN)/python tools/lock.py lock $(if $(KEEP),--keep-installed,)

# The same suite against the newest releases, in a second environment; a report of what broke and where.
test-latest: $(VENDOR_STAMP)
	test -x $(LATEST)/bin/python || $(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/python -m pip install --upgrade pip
	$(LATEST)/bin/python -m pip install --upgrade --upgrade-strategy eager -e ".[dev,teach,jax]"
	$(LATEST)/bin/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (latest)"
	$(LATEST)/bin/python tools/test_latest.py

# One folder for a class without network. Not written yet (issue 22): say so, and what works today.
bundle:
	@echo "make bundle is not written yet (issue 22). What works today: on a machine with network run"
	@echo "  $(BIN)/pip download --require-hashes --no-deps -r $(LOCK_LAB) -d FOLDER/wheels"
	@echo "then, offline, with this repository and FOLDER copied over: make lab BUNDLE=FOLDER"
	@exit 1

# 127.0.0.1 only, with a token (JupyterLab's default); open the URL it prints.
lab: install
	$(BIN)/jupyter lab --notebook-dir=notebooks --ServerApp.ip=127.0.0.1 --ServerApp.open_browser=False $(ALLOW_ROOT)

test: install-test $(VENDOR_STAMP)
	$(BIN)/python -m pytest

test-unit: install-test $(VENDOR_STAMP)
	$(BIN)/python -m pytest -m "not notebooks and not browser and not docs and not hub"

# NB: space-separated notebook paths or globs (default: all of them).
test-notebooks: install-test
	COURSE_TEST_NOTEBOOKS="$(if $(filter notebooks/*.ipynb,$(NB)),,$(NB))" $(BIN)/python -m pytest tests/test_notebooks.py -m notebooks

lint: install-test
	$(BIN)/ruff check course_utils tests tools notebooks
	$(BIN)/ruff format --check course_utils tests tools notebooks
	$(BIN)/lint-imports

format: install-test
	$(BIN)/ruff format course_utils tests tools notebooks
	$(BIN)/ruff check --fix course_utils tests tools notebooks

# The course as a website under build/site/ (full settings; FAST=1 for fast mode, which reuses the
# test run's executed notebooks). Only missing or changed notebooks are executed.
docs: install-test $(VENDOR_STAMP)
	$(BIN)/python tools/build_docs.py --mode $(if $(FAST),fast,full)

# reveal.js slides from the same executed copies as the docs (no notebook executed twice); offline.
slides: install-test $(VENDOR_STAMP)
	$(BIN)/python tools/slides.py --mode $(if $(FAST),fast,full) $(if $(filter notebooks/*.ipynb,$(NB)),,$(NB))

# nbgrader: source/ (solutions marked, hidden checker tests) and release/ (the student version). NB: notebook
# names, NAME:1,3 for chosen exercises; default: tools/assignments.py's DEFAULT_SET. CHECK=1 also autogrades
# the worked solutions (full marks expected).
assignments: install-test
	$(BIN)/python tools/assignments.py $(if $(CHECK),check,release) $(if $(filter notebooks/*.ipynb,$(NB)),,$(NB))

# A class on one server, loopback only (deploy/README.md: a real class, Kubernetes, Binder).
hub: install-test
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyterhub -f deploy/jupyterhub_config.py

# BACKEND=jax (or torch): the same recipes under that Keras backend (jax: `make install-test` brings it).
bench: install
	$(if $(BACKEND),KERAS_BACKEND=$(BACKEND) ,)$(BIN)/python -m course_utils.bench $(if $(QUICK),--quick,)

# Every notebook in full mode (papermill): seconds and peak kernel memory in build/notebook-bench.md (NB=...).
bench-notebooks: install
	$(BIN)/python tools/bench_notebooks.py $(if $(filter notebooks/*.ipynb,$(NB)),,$(NB))

# Notebook 10: FastAPI + uvicorn on loopback; without MODEL, notebook 06's saved model (trained if missing).
serve: install
	$(BIN)/python -m course_utils.serve --port $(or $(PORT),8000) $(if $(MODEL),--model $(MODEL),)

notebooks-clean: install
	$(BIN)/python tools/nbtools.py clean $(NB)

notebooks-record: install
	$(BIN)/python tools/nbtools.py record $(NB)

notebooks-check: install
	$(BIN)/python tools/nbtools.py check $(NB)

clean:
	rm -rf build .pytest_cache
