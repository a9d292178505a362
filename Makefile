# Two commands do all the set-up on a fresh machine:
#   make run   create .venv, install newsetl with the spaCy model, load seeds/articles into data/newsetl.db
#   make test  the same set-up, then lint, format check and the whole test suite (PostgreSQL included)
# `make lock` refreshes requirements.lock after a dependency changes in pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# Every dependency of newsetl and of the extras make installs, pinned to the versions tested, with their hashes.
LOCK := requirements.lock
# uv installs the lock and makes it (`make lock`); pinned, so that every install runs the same installer.
UV := uv==0.13.9
# The PostgreSQL tests start a throwaway PostgreSQL 15 server; the report test renders its page in headless Chromium.
TEST_OS_PACKAGES = $(if $(wildcard /usr/lib/postgresql/15/bin/initdb),,postgresql-15) \
	$(if $(shell command -v chromium || command -v chromium-browser),,chromium)

.PHONY: run test lint format lock os-packages clean

# The locked set by hash, then newsetl alone, both by uv (installed into the venv beside the stock pip): uv fetches and
# unpacks in parallel where pip takes one file at a time (1 min 33 s against 4 min 59 s here, the same lock, the same
# machine), and the install is part of every fresh `make test`. The flags are those a user gives the stock pip
# (README, "Installing the wheel"): the lock holds every dependency, so nothing needs resolving (pip 23 also refuses,
# in hash mode, a dependency with an extra: prefect's sqlalchemy[asyncio]); pip check fails when pyproject.toml asks
# for a package the lock lacks. Compiled to bytecode at install: where PYTHONDONTWRITEBYTECODE is set (as on these
# machines) nothing compiled later is kept, and every process would compile what it imports again (nine CPU-minutes
# more over the test suite).
$(INSTALLED): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet '$(UV)'
	$(BIN)/uv pip install --python $(BIN)/python --quiet --no-deps --require-hashes --compile-bytecode -r $(LOCK)
	$(BIN)/uv pip install --python $(BIN)/python --quiet --no-deps --compile-bytecode -e .
	$(BIN)/python -m pip check || { echo "$(LOCK) lacks what pyproject.toml asks for: run make lock" >&2; exit 1; }
	touch $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/newsetl run

# One pytest-xdist worker more than the CPUs: the tests spend much of their time waiting on the processes they
# start (newsetl runs, Prefect and PostgreSQL servers), so CPUs would otherwise idle. Tests marked with one
# xdist_group share a worker, which makes their costly module fixture (a wheel, a loaded database) once.
test: $(INSTALLED) lint os-packages
	$(BIN)/pytest -n $$(( $$(nproc) + 1 )) --dist loadgroup

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The OS packages the tests need: as root, the missing ones are installed from Debian's packages (about 30 s for
# Chromium with its apt-get update); otherwise make stops here, naming the command that installs them.
os-packages:
	@missing="$(strip $(TEST_OS_PACKAGES))"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing $$missing for the tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else \
		echo "the tests need $$missing: install them with  sudo apt-get install $$missing" >&2; exit 1; \
	fi

# Pins stay where pyproject.toml's ranges still allow them, so a new dependency changes only its own lines; delete
# $(LOCK) first to take the newest release of everything. One lock for every Python newsetl supports, from PyPI.
lock:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet '$(UV)'
	$(BIN)/uv pip compile pyproject.toml --extra model --extra dev --extra reference --universal --generate-hashes \
		--custom-compile-command 'make lock' --quiet --output-file $(LOCK)

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache .hypothesis
