# The README's two commands: `make run` and `make test`. Setup is inside them and idempotent.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export UV_PYTHON_DOWNLOADS := never
VENV := .venv
PY := $(VENV)/bin/python
UV := python3 -m uv

.PHONY: help setup run test lint typecheck unit bench clean

help:
	@echo "make run   - install if needed, start the platform on embedded defaults"
	@echo "make test  - install if needed, run lint, type check and the test suite"

# uv itself comes from PyPI when it is missing; the venv is (re)synced from uv.lock,
# which is a no-op when nothing changed.
setup:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --frozen --quiet

run: setup
	$(PY) -m orchestration.launcher

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

unit: setup
	$(VENV)/bin/pytest -q

test: lint typecheck unit

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache data
