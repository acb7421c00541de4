# Two commands do all the set-up: `make run` and `make test` (each creates .venv on first use).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TEST_PG_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_TMP ?= $(or $(TMPDIR),/tmp)/videobot-tests-$(shell id -u)

.PHONY: run test test-sqlite test-postgres demo doctor lint format migrations clean

# scripts/install.sh is the one install step: the Dockerfile runs it too.
$(VENV)/.runtime: requirements.txt scripts/install.sh
	PYTHON=$(PYTHON) sh scripts/install.sh $(VENV) requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt scripts/install.sh
	PYTHON=$(PYTHON) sh scripts/install.sh $(VENV) requirements-dev.txt
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime            ## run the Discord bot
	$(PY) bot.py

demo: $(VENV)/.runtime           ## one demo generation from the terminal
	$(PY) bot.py generate "a red fox running through fresh snow" --model demo --duration 4

doctor: $(VENV)/.runtime
	$(PY) bot.py doctor

# The two runs go side by side: each spends about half its time waiting (on bot processes, fakes, the
# database), so together they take little longer than the slower one. Each run's output is printed
# whole when it ends, and each has its own temporary folder.
test: $(VENV)/.dev               ## the whole suite, on SQLite and on PostgreSQL (side by side)
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

test-sqlite: $(VENV)/.dev
	mkdir -p $(TEST_TMP)
	$(PY) -m pytest --basetemp=$(TEST_TMP)/sqlite

test-postgres: $(VENV)/.dev
	mkdir -p $(TEST_TMP)
	TEST_DATABASE_URL=$(TEST_PG_URL) $(PY) -m pytest --basetemp=$(TEST_TMP)/postgres

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

migrations: $(VENV)/.dev         ## write a migration after changing models/
	$(VENV)/bin/tortoise -c core.platform.db.TORTOISE_ORM makemigrations

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
