# Two commands do all the set-up on a fresh machine:
#   make run   create .venv, install newsetl with the spaCy model, load seeds/articles into data/newsetl.db
#   make test  the same set-up, then lint, format check and the whole test suite (PostgreSQL included)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test lint format clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[model,dev,reference]'
	touch $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/newsetl run

# One pytest-xdist worker more than the CPUs: the tests spend much of their time waiting on the processes they
# start (newsetl runs, Prefect and PostgreSQL servers), so CPUs would otherwise idle.
test: $(INSTALLED) lint
	$(BIN)/pytest -n $$(( $$(nproc) + 1 ))

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) data .pytest_cache .ruff_cache .hypothesis
