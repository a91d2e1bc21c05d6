# Two commands on a fresh Debian 12 machine, as root (./make.sh installs make first if it is
# missing, as on a bare Debian; with make installed, `make run` and `make test` are the same):
#   ./make.sh run    set up everything, then start Redis, gateway and worker in the foreground
#   ./make.sh test   set up everything, then run lint, types and the whole test suite
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install run test lint unit bench load clean

install:
	./scripts/install.sh

run: install
	$(PY) scripts/run.py

lint:
	$(VENV)/bin/ruff check lib services tests bench scripts examples
	$(VENV)/bin/ruff format --check lib services tests bench scripts examples
	$(VENV)/bin/mypy

test: install lint
	$(PY) -m pytest -ra $(PYTEST_ARGS)

unit:
	$(PY) -m pytest -ra tests/unit

bench: install
	$(PY) bench/latency.py

load: install
	$(PY) bench/load.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
