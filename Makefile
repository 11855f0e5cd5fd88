# Sinergi — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: install run test lint typecheck migrate demo demo-national messages bench clean

$(VENV)/.installed: requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@test -f .env || printf '# Development settings for manage.py (see README, Settings)\nDEBUG=1\n' > .env
	@touch $@

install: $(VENV)/.installed

run: install
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py demo_data --scale small --if-empty
	DEBUG=1 $(PY) manage.py activities_daily
	DEBUG=1 $(PY) manage.py performance_daily
	@DEBUG=1 $(PY) manage.py demo_users --table
	DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	DEBUG=1 $(VENV)/bin/mypy .

test: lint typecheck
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	DEBUG=1 $(VENV)/bin/pytest -n 2 --ignore=e2e $(PYTEST_ARGS)
	DEBUG=1 $(VENV)/bin/pytest e2e $(PYTEST_ARGS)

migrate: install
	DEBUG=1 $(PY) manage.py migrate --noinput

demo-national: install
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py demo_data --scale national

messages: install
	DEBUG=1 $(PY) manage.py makemessages -l en --no-location --ignore=.venv
	DEBUG=1 $(PY) manage.py compilemessages -l en -i .venv

bench: install
	DEBUG=1 $(PY) bench/run.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache .mypy_cache
