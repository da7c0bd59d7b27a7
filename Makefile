# Two commands for a fresh machine: `make demo` and `make test`. Each builds .venv first when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint typecheck smoke bench report clean

$(BIN)/reelrec: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, at the CPU build pinned in constraints.txt: an unpinned torch pulls a multi-GB CUDA build.
	$(BIN)/pip install --quiet -c constraints.txt torch
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(BIN)/reelrec

setup: $(BIN)/reelrec

demo: setup
	$(BIN)/reelrec demo

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check src tests benchmarks

typecheck: setup
	$(BIN)/mypy

# Build the wheel, install it (not editable) into a fresh venv, run the demo and the service from it.
smoke: setup
	PYTHON=$(BIN)/python bash .ci/smoke.sh

bench: setup
	$(BIN)/python benchmarks/load.py

# From a fresh clone to a rendered HTML report on synthetic data, in one command.
report: setup
	$(BIN)/reelrec synth runs/synth --scale 0.03 --seed 0
	$(BIN)/reelrec bench runs/synth --models popularity,item-mean,mf,ease,itemknn,two-tower --seeds 2 --fast --out runs/bench
	$(BIN)/reelrec report runs/bench --out runs/report.html

clean:
	rm -rf $(VENV) build dist *.egg-info src/*.egg-info
