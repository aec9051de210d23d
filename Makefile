# Two commands do all the set-up: `make run` and `make test`.
# Each creates or updates its own virtual environment in .venv/.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
CONFIG ?= config/monitor.toml

.PHONY: run test check bench demo clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,dev,postgres,apprise]'
	$(PY) -m monitor.match.lemmas    # the German lemma table (monitor/match/lemmas.py)
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/news-monitor --config $(CONFIG) run

test: check
	$(PY) -m pytest -n 2 -q

# The house rules: layers (import-linter), types (mypy --strict), lint (ruff).
check: $(STAMP)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(VENV)/bin/ruff check monitor tests bench

bench: $(STAMP)
	$(PY) -m bench

demo: $(STAMP)
	$(VENV)/bin/news-monitor demo

clean:
	rm -rf $(VENV) var/ .pytest_cache
