# PartnerHub's commands. `make run` and `make test` are all a fresh machine needs.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
HOST ?= 127.0.0.1:8000

.PHONY: setup run test lint format screenshots lighthouse clean bench mutate

# A virtual environment with the pinned requirements, rebuilt when they change.
$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# axe-core for the browser tests' accessibility check, from the lockfile, rebuilt when it
# changes. Without npm the app still runs; the accessibility tests skip (a skip fails CI).
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "npm is missing: the accessibility tests will skip (apt-get install nodejs npm)"; \
	fi

setup: $(BIN)/.installed node_modules/.installed

# Migrate the database (SQLite unless DATABASE_URL says otherwise), load the demo, serve, with a
# background worker beside the server as in production; Ctrl-C stops both.
run: setup
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@$(BIN)/python manage.py run_worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT; \
	trap 'exit 130' INT TERM; \
	$(BIN)/python manage.py runserver $(HOST)

# The whole test suite; PYTEST_ARGS passes more, e.g. PYTEST_ARGS="-k rules -x".
test: setup
	$(BIN)/pytest $(PYTEST_ARGS)

# The benchmark on PostgreSQL (DATABASE_URL; default: the local partnerhub_bench database).
# A million users and audit events by default; BENCH_ARGS="--quick" for 50,000 (a few minutes).
# BENCH_ARGS passes options; see bench/README.md.
bench: setup
	$(BIN)/python -m bench $(BENCH_ARGS)

# Break the rulebook and the services one named mutation at a time (mutate/mutations.py) and
# check that the tests notice; prints the score and the survivors. Not part of CI (minutes).
# With DATABASE_URL set to PostgreSQL, the mutations only row locks can notice run there too.
# MUTATE_ARGS passes options, e.g. MUTATE_ARGS="-k reset_password" or "--list".
mutate: setup
	$(BIN)/python -m mutate $(MUTATE_ARGS)

# Lighthouse's accessibility and best-practices scores of the main pages, desktop and mobile,
# against the live test server (tests/browser/test_lighthouse.py; part of `make test` on SQLite,
# deselected on PostgreSQL). Prints each page's scores; fails below 98 and 95.
lighthouse: setup
	$(BIN)/pytest tests/browser/test_lighthouse.py -s $(PYTEST_ARGS)

# The browser tests again, saving a screenshot of each step into docs/screenshots/, and README's
# screenshots of the main pages: <page>-<desktop|phone>-<light|dark>.png (test_screenshots.py).
# Lighthouse is left out: it takes no screenshots.
screenshots: setup
	PARTNERHUB_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/browser -m "not lighthouse"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache .ruff_cache
