# The Docker workshop kit. `make` lists the targets.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# make engine ENGINE=26: Docker 26 (BuildKit, containerd image store); default: 20.10, or ours already up
ENGINE ?=
# make selftest PYTEST_ARGS="-k cli": passed to pytest on each engine
PYTEST_ARGS ?=

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

engine: ## bring up a local Docker engine + offline registry mirror (Linux, root) if none answers; ENGINE=26 for Docker 26
	scripts/engine up $(if $(ENGINE),--engine $(ENGINE))

engine-down: ## stop only the engine processes `make engine` started
	scripts/engine down

selftest: setup ## the kit's own suite on Docker 20.10 (legacy builder), then Docker 26 (BuildKit)
	scripts/selftest $(PYTEST_ARGS)

bench: setup engine ## time the kit against its floors, side by side (prints ratios)
	$(BIN)/python scripts/bench.py

clean-venv: ## remove .venv (the next `make setup` makes it again)
	rm -rf $(VENV)

lint: setup ## lint the code and the lab content
	$(BIN)/ruff check workshop tests scripts images labs
	$(BIN)/ruff format --check workshop tests scripts images labs
	$(BIN)/workshop lint
