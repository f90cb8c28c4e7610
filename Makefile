# Each target creates .venv and installs the project into it when needed,
# so that on a fresh machine every target is one command.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
BOLTZ  := $(VENV)/bin/boltz
STAMP  := $(VENV)/.installed-stamp
PURE   := $(wildcard src/boltztrader/domain src/boltztrader/risk src/boltztrader/ledger)

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "BoltzTrader needs Python 3.11 or newer")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## run: migrate the embedded SQLite database (or BOLTZ_DATABASE_URL), start the service with the demo
##      (paper brokers inside, a demo user, the demo model sending signals)
run: $(STAMP)
	$(BOLTZ) db upgrade
	$(BOLTZ) serve --demo

## lint: ruff, mypy (strict on the pure core) and the layer contracts
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --strict $(PURE)
	$(VENV)/bin/lint-imports

## test: the linters, then the whole suite (PostgreSQL half skipped with a notice when unreachable)
test: lint
	$(PY) -m pytest

## bench: every benchmark in bench/; figures go to docs/benchmarks.md
bench: $(STAMP)
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache build src/*.egg-info
