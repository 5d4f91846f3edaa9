# The Docker workshop kit. `make` lists the targets.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.DEFAULT_GOAL := help
.PHONY: help setup start test selftest engine engine-down bench lint clean-venv

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/workshop: pyproject.toml constraints.txt
	@test -x $(BIN)/pip || { rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); } || { \
	  echo "Cannot create $(VENV): install Python's venv module (Debian: apt-get install python3-venv)" >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

setup: $(BIN)/workshop ## create .venv and install the kit (once)

start: setup ## set up, then show the first (or current) step
	@$(BIN)/workshop next

test: setup ## learner: check every step reached so far against your Docker engine
	@$(BIN)/pytest tests/checks -q -p no:randomly -p no:unraisableexception -W ignore

engine: ## bring up a local Docker engine + offline registry mirror (Linux, root) if none answers
	scripts/engine up

engine-down: ## stop only the engine processes `make engine` started
	scripts/engine down

selftest: setup engine ## the kit's own suite, on a real Docker engine
	$(BIN)/pytest tests/kit

bench: setup engine ## time the kit against its floors, side by side (prints ratios)
	$(BIN)/python scripts/bench.py

clean-venv: ## remove .venv (the next `make setup` makes it again)
	rm -rf $(VENV)

lint: setup ## lint the code and the lab content
	$(BIN)/ruff check workshop tests scripts images
	$(BIN)/ruff format --check workshop tests scripts images
	$(BIN)/workshop lint
