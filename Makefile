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
.PHONY: help setup setup-dev classroom start test selftest engine engine-down bench lint clean-venv

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# written by scripts/venv only when an install succeeded: a half-made .venv is made again
READY := $(VENV)/.workshop-ready
$(READY): pyproject.toml constraints.txt setup.py
	@scripts/venv "$(PYTHON)" "$(VENV)" learner

$(VENV)/.workshop-dev: pyproject.toml constraints.txt setup.py
	@scripts/venv "$(PYTHON)" "$(VENV)" dev

setup: $(READY) ## create .venv and install the kit for a learner (once; Python 3.11+)

setup-dev: $(VENV)/.workshop-dev ## setup, plus the kit's own tests and lint (.[dev])

classroom: setup ## setup, plus the instructor's classroom server and its PostgreSQL store (.[classroom,postgres])
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[classroom,postgres]'

start: setup ## set up, then show the first (or current) step (exits 0: the step says what is left)
	@$(BIN)/workshop next || true

test: setup ## learner: check every step reached so far against your Docker engine
	@$(BIN)/pytest tests/checks -q -p no:randomly -p no:unraisableexception -W ignore

engine: setup ## bring up a local Docker engine + offline registry mirror (Linux, root) if none answers; ENGINE=26 for Docker 26
	scripts/engine up $(if $(ENGINE),--engine $(ENGINE))

engine-down: ## stop only the engine processes `make engine` started
	scripts/engine down

selftest: setup-dev ## the kit's own suite on Docker 20.10 (legacy builder), then Docker 26 (BuildKit)
	scripts/selftest $(PYTEST_ARGS)

bench: setup-dev engine ## time the kit against its floors, side by side (prints ratios)
	$(BIN)/python scripts/bench.py

clean-venv: ## remove .venv (the next `make setup` makes it again)
	rm -rf $(VENV)

lint: setup-dev ## lint the code and the lab content
	$(BIN)/ruff check workshop tests scripts images labs setup.py
	$(BIN)/ruff format --check workshop tests scripts images labs setup.py
	$(BIN)/workshop lint
