# Two commands for a newcomer (see README.md):
#   make run   — set everything up, seed the demo tenants, start web + worker + beat
#   make test  — set everything up, run the whole test suite (browser tests included)
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTHON ?= python3
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: setup run test system-deps services venv db messages demo lint makemessages bench loadtest

system-deps:
	@bash scripts/system-deps.sh

services:
	@bash scripts/services.sh

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements.txt
	touch $@

venv: $(VENV)/.installed

db: venv services
	$(PY) scripts/ensure_db.py
	$(PY) manage.py migrate --noinput -v0

messages: venv
	$(PY) manage.py compilemessages --ignore=.venv -v0

setup: system-deps venv services db messages

demo: setup
	$(PY) manage.py seed_demo

# The web server's port: `make run PORT=8001` when 8000 is taken (honcho hands it to the Procfile's web as $PORT).
PORT ?= 8000
run: demo
	@echo
	@echo "  CRM: http://127.0.0.1:$(PORT)/   (Ctrl-C stops web, worker and beat)"
	@echo
	$(VENV)/bin/honcho start -f Procfile -p $(PORT)

# The whole suite in two pytest-xdist workers, each with its own test database and Redis database number
# (crm/settings_test.py): about a third faster than one process on two cores. TEST_WORKERS=0 runs it in one.
TEST_WORKERS ?= 2
test: system-deps venv services messages
	$(VENV)/bin/pytest -n $(TEST_WORKERS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Regenerate the zh-hans catalog from the source; msgmerge's fuzzy guesses are emptied (they are usually wrong), so
# tests/test_translations.py lists exactly what still needs translating.
makemessages: venv
	$(PY) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=staticfiles --ignore=tests --ignore=media --no-obsolete --no-location --no-wrap
	msgattrib --no-wrap --clear-fuzzy --empty -o locale/zh_Hans/LC_MESSAGES/django.po locale/zh_Hans/LC_MESSAGES/django.po

# Benchmarks on a scratch database (never the demo one): the fallback job over 100,000 owned customers, 20,000 due;
# the lead fall-back job over 300,000 owned leads, about 27,000 due;
# the business clock over 100,000 tickets; the greeting job over 200,000 contacts with 5,500 born today; the
# reports dashboards over 500,000 opportunities and 2,000,000 stage changes. Then the million-customer data set
# (bench_seed: seeded once, reused by the next run) and every list page per role beside its main query, and the
# fall-back jobs (bench_pages, with DEBUG off as in production): bench/results.json and the table.
BENCH_DB ?= postgres://postgres@127.0.0.1:5432/crm_bench
# The import and reminders bench (bench_import: a 100,000-row customer file, CSV and XLSX; 1,000 due reminders) in a
# database of its own, its rows added to bench/results.json beside bench_pages'.
IMPORT_BENCH_DB ?= postgres://postgres@127.0.0.1:5432/crm_import_bench
BENCH_ENV := DATABASE_URL=$(BENCH_DB) EMAIL_URL=dummymail:// CELERY_BROKER_URL=memory:// LOG_LEVEL=WARNING DEBUG=False \
	SECRET_KEY=bench-only-not-a-secret-bench-only-not-a-secret-0123456789 \
	STATICFILES_STORAGE=django.contrib.staticfiles.storage.StaticFilesStorage
bench: venv services
	DATABASE_URL=$(BENCH_DB) $(PY) scripts/ensure_db.py
	DATABASE_URL=$(BENCH_DB) $(PY) manage.py migrate --noinput -v0
	DATABASE_URL=$(BENCH_DB) EMAIL_URL=dummymail:// CELERY_BROKER_URL=memory:// $(PY) manage.py bench_pool
	DATABASE_URL=$(BENCH_DB) EMAIL_URL=dummymail:// CELERY_BROKER_URL=memory:// $(PY) manage.py bench_lead_pool
	DATABASE_URL=$(BENCH_DB) $(PY) manage.py bench_calendar
	DATABASE_URL=$(BENCH_DB) EMAIL_URL=dummymail:// CELERY_BROKER_URL=memory:// $(PY) manage.py bench_tickets
	DATABASE_URL=$(BENCH_DB) EMAIL_URL=dummymail:// CELERY_BROKER_URL=memory:// $(PY) manage.py bench_care --contacts 200000 --due 5500
	DATABASE_URL=$(BENCH_DB) EMAIL_URL=dummymail:// CELERY_BROKER_URL=memory:// LOG_LEVEL=WARNING $(PY) manage.py bench_reports
	$(BENCH_ENV) $(PY) manage.py bench_seed
	$(BENCH_ENV) $(PY) manage.py bench_pages
	DATABASE_URL=$(IMPORT_BENCH_DB) $(PY) scripts/ensure_db.py
	DATABASE_URL=$(IMPORT_BENCH_DB) $(PY) manage.py migrate --noinput -v0
	$(BENCH_ENV) DATABASE_URL=$(IMPORT_BENCH_DB) $(PY) manage.py bench_import

# Load test through gunicorn and PgBouncer in transaction mode (scripts/loadtest.py, docs/scaling.md): 50 users for
# 60 s on a scratch database; p50/p95 per action, then SQL checks (no double owners, no exceeded caps). Not part of
# `make test`. LOADTEST_ARGS="--users 20 --seconds 20" for a shorter run.
LOADTEST_DB ?= postgres://postgres@127.0.0.1:5432/crm_load
LOADTEST_ARGS ?=
loadtest: system-deps venv services
	DATABASE_URL=$(LOADTEST_DB) $(PY) scripts/ensure_db.py
	DATABASE_URL=$(LOADTEST_DB) $(PY) manage.py migrate --noinput -v0
	LOADTEST_DB=$(LOADTEST_DB) $(PY) scripts/loadtest.py $(LOADTEST_ARGS)
