# `make run` and `make test` work on a fresh machine with Python 3.11 (no C
# compiler needed): they create .venv and install the package with its dev
# extras (again only when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m bot

lint: $(STAMP)
	$(PY) -m ruff check bot tests bench
	$(PY) -m mypy

test: lint
	$(PY) -m bot kb check
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/search_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build
