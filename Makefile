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
# offline bundles for other devices set their own flags (docs/deploy.md). With an NVIDIA GPU:
# `make run CMAKE_ARGS="-DGGML_CUDA=on"` (the CUDA toolkit must be installed; docs/deploy.md).
LLAMA_DEFAULT_ARGS := -DGGML_NATIVE=ON
export CMAKE_ARGS ?= $(LLAMA_DEFAULT_ARGS)

RUNTIME_STAMP := $(VENV)/.stamp-runtime
DEV_STAMP := $(VENV)/.stamp-dev
LOCALE_STAMP := $(VENV)/.stamp-locales
# The CMAKE_ARGS llama-cpp-python was last built with. The file is rewritten only when they
# change, so only a change rebuilds llama.cpp (pip would otherwise keep the installed build, or
# reuse its cached wheel, whatever CMAKE_ARGS says).
LLAMA_ARGS := $(VENV)/.llama-cmake-args
LLAMA_STAMP := $(VENV)/.stamp-llama
# After the install that first built llama-cpp-python in this venv: its CMAKE_ARGS.
RECORD_LLAMA_ARGS := [ -f $(LLAMA_ARGS) ] || { printf '%s\n' '$(CMAKE_ARGS)' > $(LLAMA_ARGS); \
	touch $(LLAMA_STAMP); }

.PHONY: run test lint bench i18n models clean help sysdeps launcher FORCE

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
	@$(RECORD_LLAMA_ARGS)
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(PIP) install --quiet $(TORCH)
	$(PIP) install --quiet -e '.[dev,quantize]'
	@$(RECORD_LLAMA_ARGS)
	touch $@ $(RUNTIME_STAMP)

$(LLAMA_ARGS): FORCE | $(BIN)/python
	@if [ "$$(cat $@ 2>/dev/null)" != '$(CMAKE_ARGS)' ]; then printf '%s\n' '$(CMAKE_ARGS)' > $@; fi

# Rebuilt when CMAKE_ARGS differ from the last build's; a venv made before this record existed was
# built with the default flags.
$(LLAMA_STAMP): $(LLAMA_ARGS) | $(RUNTIME_STAMP)
	@if [ -f $@ ] || [ '$(CMAKE_ARGS)' != '$(LLAMA_DEFAULT_ARGS)' ]; then \
		version=$$($(BIN)/python -c 'import importlib.metadata as m; print(m.version("llama_cpp_python"))') && \
		echo "CMAKE_ARGS changed to '$(CMAKE_ARGS)': rebuilding llama-cpp-python $$version" && \
		$(PIP) install --quiet --force-reinstall --no-deps --no-cache-dir \
			--no-binary llama-cpp-python "llama-cpp-python==$$version"; fi
	touch $@

# Compiled catalogs are built here, never committed.
$(LOCALE_STAMP): $(wildcard locales/*/LC_MESSAGES/*.po) | $(BIN)/python
	@if ls locales/*/LC_MESSAGES/edgemed.po >/dev/null 2>&1; then \
		$(BIN)/pybabel compile --statistics -d locales -D edgemed; fi
	touch $@

models: $(RUNTIME_STAMP)
	@if $(BIN)/edgemed models --help >/dev/null 2>&1; then $(BIN)/edgemed models install default; fi

run: $(RUNTIME_STAMP) $(LLAMA_STAMP) $(LOCALE_STAMP) models launcher
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

test: lint $(LLAMA_STAMP) $(LOCALE_STAMP) sysdeps
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
