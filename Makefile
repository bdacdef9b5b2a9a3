# One-command set-up: every target creates or reuses .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-all lint format bench docs tutorials serve clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first, so that the package's loose torch requirement keeps it: the CUDA build where
	# an NVIDIA driver is present, else the CPU build from PyTorch's CPU index (the package
	# index's Linux wheel is the CUDA one, gigabytes), falling back to the package index where
	# the CPU index cannot be reached. An installed torch==2.13.0 is kept without a download.
	if command -v nvidia-smi >/dev/null 2>&1; then \
	  $(BIN)/python -m pip install --quiet "torch==2.13.0"; \
	else \
	  $(BIN)/python -m pip install --quiet --retries 1 --timeout 20 \
	    --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0" \
	  || $(BIN)/python -m pip install --quiet "torch==2.13.0"; \
	fi
	$(BIN)/python -m pip install --quiet -e ".[test,hub,portal,velocity]"
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
