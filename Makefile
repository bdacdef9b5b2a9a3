# One-command set-up: every target creates or reuses .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-all lint format bench docs tutorials serve clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU torch wheel first, so that nothing pulls a CUDA build; the package's own
	# torch requirement stays loose for users.
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[test,hub,portal]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/butterflyvi demo --out demo_output

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -q

test-all: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff format --check src tests benchmarks scripts tutorials
	$(BIN)/ruff check src tests benchmarks scripts tutorials

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks scripts
	$(BIN)/ruff check --fix src tests benchmarks scripts

docs: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[doc]"
	$(BIN)/sphinx-build -W --keep-going -q -b html docs docs/_build/html

tutorials: $(STAMP)
	$(BIN)/python scripts/execute_tutorials.py

# The web portal on this machine with the pretrained catalogue; the first start prints the
# admin token (also in portal_data/admin_token). PORT and DATA override the defaults.
PORT ?= 8000
DATA ?= portal_data
serve: $(STAMP)
	$(BIN)/butterflyvi serve --data-dir $(DATA) --port $(PORT) --workers 2

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run --dataset all

clean:
	rm -rf $(VENV) demo_output docs/_build .pytest_cache portal_data
