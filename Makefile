# The README's two commands: `make run` and `make test`. Setup is inside them and idempotent.
SHELL := /bin/bash
.DEFAULT_GOAL := help
export UV_PYTHON_DOWNLOADS := never
VENV := .venv
PY := $(VENV)/bin/python
UV := python3 -m uv

.PHONY: help setup browser run test lint typecheck unit bench clean validate

help:
	@echo "make run   - install if needed, start the platform on embedded defaults"
	@echo "make test  - install if needed, run lint, type check and the test suite"
	@echo "make validate - run every validation suite against the running platform"

# uv itself comes from PyPI when it is missing; the venv is (re)synced from uv.lock,
# which is a no-op when nothing changed.
setup:
	@$(UV) --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	@$(UV) sync --frozen --quiet

# The browser tests (tests/web, marked `browser`) drive Debian's Chromium. Installed with
# apt when missing and we may (root); elsewhere they are skipped. Under CI a missing
# browser is an error, so a broken install cannot pass as skipped tests.
CHROMIUM := /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium and chromium-driver for the browser tests"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y -q chromium chromium-driver >/dev/null \
	      || { apt-get update -q >/dev/null && apt-get install -y -q chromium chromium-driver >/dev/null; } \
	      || echo "chromium could not be installed: the browser tests will be skipped"; \
	  else \
	    echo "no $(CHROMIUM) (install Debian's chromium as root): the browser tests will be skipped"; \
	  fi; \
	fi
	@if [ -n "$$CI" ] && [ ! -x $(CHROMIUM) ]; then echo "CI needs $(CHROMIUM)"; exit 1; fi

run: setup
	$(PY) -m orchestration.launcher

# Exit status: 0 PASS, 3 CONDITIONAL, 1 FAIL (orchestration/validate.py).
validate: setup
	$(PY) -m orchestration.validate

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup
	$(VENV)/bin/mypy

unit: setup browser
	$(VENV)/bin/pytest -q

test: lint typecheck unit

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache data
