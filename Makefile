# metricx: `make run` serves the dashboard on the embedded default with demo data;
# `make test` runs the whole suite. Both create or update .venv first.

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	&& { command -v $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format bench soak clean serve-pg audit lock

$(VENV)/.created:
	@test -n "$(PYTHON)" || { echo "metricx needs Python 3.11 or newer on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@touch $@

$(VENV)/.installed-run: pyproject.toml $(VENV)/.created
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.created
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/metricx db upgrade
	$(BIN)/metricx demo --if-empty
	@echo ""
	@echo "  metricx is starting at http://$(HOST):$(PORT)"
	@echo "  sign in as demo@metricx.local / demo"
	@echo ""
	$(BIN)/metricx serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench migrations

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix src tests bench migrations
	$(BIN)/ruff format src tests bench migrations

# Known vulnerabilities in the locked dependencies: fails on a vulnerability; warns (and
# passes) when the vulnerability service cannot be reached (see .ci/audit.py).
audit: $(VENV)/.installed-dev
	$(BIN)/python .ci/audit.py

lock: $(VENV)/.installed-dev
	@{ echo '# Locked dependencies of the dev environment (pip freeze --exclude-editable); audited by `make audit`.'; \
	  echo '# Regenerate with `make lock`.'; $(BIN)/pip freeze --exclude-editable; } > requirements.lock

bench: $(VENV)/.installed-dev
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python bench/run.py $(BENCH_ARGS)

soak: $(VENV)/.installed-dev
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

clean:
	rm -rf $(VENV) metricx.db metricx.db-wal metricx.db-shm .pytest_cache
