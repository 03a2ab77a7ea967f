# ardesk — the two commands: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
DEMO_DB := var/ardesk.sqlite3
export DJANGO_SETTINGS_MODULE := ardesk.settings

.PHONY: demo test test-sqlite test-postgres bench lint setup browser serve clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# Debian's Chromium for the end-to-end tests; Playwright drives it (no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; }

demo: $(STAMP)
	mkdir -p var
	DEBUG=1 $(BIN)/ardesk migrate --noinput
	DEBUG=1 $(BIN)/ardesk demo --customers $${DEMO_CUSTOMERS:-400} --years 2 --seed 7
	DEBUG=1 $(BIN)/ardesk runserver 127.0.0.1:8000

test: $(STAMP) browser
	$(MAKE) test-sqlite
	$(MAKE) test-postgres

test-sqlite: $(STAMP)
	DATABASE_URL=sqlite:///:memory: $(BIN)/pytest -q -n 2 --dist loadfile

test-postgres: $(STAMP)
	DATABASE_URL=$${TEST_DATABASE_URL:-$(PG_URL)} $(BIN)/pytest -q -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python bench/import.py
	$(BIN)/python bench/kpi.py --tiers $${BENCH_TIERS:-S,M}

lint: $(STAMP)
	$(BIN)/ruff check ardesk tests bench
	$(BIN)/ruff format --check ardesk tests bench
	ARDESK_TESTING=1 $(BIN)/mypy ardesk
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) var/*.sqlite3*
