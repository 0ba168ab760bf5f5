# The two commands: `make demo` and `make test`. Everything they need is set up from here.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint bench localdb-stop clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## demo: local PostgreSQL, migrations, an administrator, one backup proxy and the web server on 127.0.0.1:8000
demo: $(STAMP)
	$(PY) manage.py demo

## test: lint, migrations check, then every test (unit, end-to-end with real processes, browser)
test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .

## bench: the benchmarks (large emulated tenants; results go to docs/benchmarks.md)
bench: $(STAMP)
	$(PY) -m benchmarks

localdb-stop: $(STAMP)
	$(PY) manage.py localdb stop

clean: localdb-stop
	rm -rf var/static
