# The two commands of the README: `make run` (the whole workflow on the embedded default) and
# `make test` (lint, format check, strict typing, import layers, the test suite). Both set up
# .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?= --durations=25

.PHONY: run test install lint bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev,ray,vertex,server]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/swingml run $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy --strict src
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_sizes.py

test: lint
	bash scripts/install-chromium.sh
	bash scripts/setup_opencl.sh
	scripts/services.sh up; rc=$$?; [ $$rc -ne 0 ] || $(BIN)/python -m pytest -q $(PYTEST_ARGS) || rc=$$?; scripts/services.sh down; exit $$rc

clean:
	rm -rf $(VENV) runs .mypy_cache .ruff_cache .pytest_cache
