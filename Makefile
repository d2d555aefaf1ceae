# The two commands: `make run` (install + start the nurse's app on the default model) and
# `make test` (install + ruff, mypy, import-linter, pytest). Both work from nothing and are fast
# when nothing changed: each install step leaves a stamp that is newer than pyproject.toml.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
# torch comes from local disk only when pinned; it is installed first so nothing else pulls a
# multi-GB CUDA build.
TORCH := torch==2.13.0
# llama.cpp is compiled for the CPU it is built on (fastest on the clinic machine itself);
# offline bundles for other devices set their own flags (docs/deploy.md).
export CMAKE_ARGS ?= -DGGML_NATIVE=ON

RUNTIME_STAMP := $(VENV)/.stamp-runtime
DEV_STAMP := $(VENV)/.stamp-dev
LOCALE_STAMP := $(VENV)/.stamp-locales

.PHONY: run test lint bench i18n models clean help sysdeps launcher

help:
	@echo "make run    install edgemed and its default model, then start the nurse's app"
	@echo "make test   install everything (dev + quantize extras) and run all checks and tests"
	@echo "make bench  run the benchmarks in bench/ (figures go to docs/benchmarks.md)"
	@echo "make i18n   extract, update and compile the translation catalogs"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install --quiet $(TORCH)
	$(PIP) install --quiet -e '.[dev,quantize]'
	touch $@ $(RUNTIME_STAMP)

# Compiled catalogs are built here, never committed.
$(LOCALE_STAMP): $(wildcard locales/*/LC_MESSAGES/*.po) | $(BIN)/python
	@if ls locales/*/LC_MESSAGES/edgemed.po >/dev/null 2>&1; then \
		$(BIN)/pybabel compile --statistics -d locales -D edgemed; fi
	touch $@

models: $(RUNTIME_STAMP)
	@if $(BIN)/edgemed models --help >/dev/null 2>&1; then $(BIN)/edgemed models install default; fi

run: $(RUNTIME_STAMP) $(LOCALE_STAMP) models launcher
	$(BIN)/edgemed

# After `make run`, `edgemed` works from any terminal: a two-line launcher in ~/.local/bin when
# that folder is on PATH (never root, never over a file it did not write); otherwise the line to
# type is printed (the README and the nurse guide say it too).
LAUNCHER := $(HOME)/.local/bin/edgemed
launcher: $(RUNTIME_STAMP)
	@if [[ ":$$PATH:" == *":$(HOME)/.local/bin:"* ]] && \
		{ [ ! -e "$(LAUNCHER)" ] || grep -q "edgemed launcher" "$(LAUNCHER)"; }; then \
		mkdir -p "$(HOME)/.local/bin" && \
		printf '#!/bin/sh\n# edgemed launcher (make run)\nexec "%s" "$$@"\n' "$(CURDIR)/$(BIN)/edgemed" > "$(LAUNCHER)" && \
		chmod 755 "$(LAUNCHER)" && echo "edgemed: type 'edgemed' to start it next time"; \
	else echo "edgemed: type '$(CURDIR)/$(BIN)/edgemed' to start it next time"; fi

lint: $(DEV_STAMP)
	$(BIN)/ruff check edgemed quantize tests bench
	$(BIN)/ruff format --check edgemed quantize tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# The TUI's end-to-end test drives the real program in tmux.
sysdeps:
	@command -v tmux >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq tmux; \
		else echo "tmux is needed for the end-to-end test: sudo apt-get install tmux"; exit 1; fi; }

test: lint $(LOCALE_STAMP) sysdeps
	$(BIN)/pytest

bench: $(DEV_STAMP)
	$(BIN)/python -m bench

i18n: $(DEV_STAMP)
	$(BIN)/pybabel extract -F locales/babel.cfg -k _ -k N_ -k ngettext:1,2 -o locales/edgemed.pot \
		--project=edgemed --msgid-bugs-address=none edgemed
	@if ls locales/*/LC_MESSAGES/edgemed.po >/dev/null 2>&1; then \
		$(BIN)/pybabel update -i locales/edgemed.pot -d locales -D edgemed --ignore-obsolete; fi
	$(BIN)/pybabel compile --statistics -d locales -D edgemed || true
	touch $(LOCALE_STAMP)

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
