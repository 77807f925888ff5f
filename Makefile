# Two commands do all set-up on a fresh machine (see README.md):
#   make demo   creates .venv, installs netc and Fashion-MNIST, trains LeNet-5 on it
#   make test   installs the dev extras, then runs ruff, mypy and the whole pytest suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint system-deps fashion-mnist mpi clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

# mpi first: the dev extras hold mpi4py, which needs OpenMPI's library (and to build, its headers)
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python mpi
	$(BIN)/python -m pip install -q -e '.[dev,mpi,images]'
	touch $@ $(VENV)/.installed

# System packages: graphviz renders the DOT dumps (and a test checks them with `dot`).
# Installed with apt-get when missing and we are root; otherwise the tests say what is missing.
system-deps:
	@command -v dot >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && { apt-get install -y -qq graphviz >/dev/null 2>&1 \
	       || { apt-get update -qq >/dev/null && apt-get install -y -qq graphviz >/dev/null; }; }; } \
	  || echo "note: graphviz (dot) is not installed: apt-get install graphviz"

# Fashion-MNIST, the default training data: Debian's dataset-fashion-mnist (IDX files in
# $(FASHION_MNIST)). Installed with apt-get when missing and we are root, like graphviz.
FASHION_MNIST := /usr/share/datasets/fashion-mnist
fashion-mnist:
	@[ -d $(FASHION_MNIST) ] || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && { apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 \
	       || { apt-get update -qq >/dev/null \
	            && apt-get install -y -qq dataset-fashion-mnist >/dev/null; }; }; } \
	  || echo "note: Fashion-MNIST is not installed: apt-get install dataset-fashion-mnist"

# OpenMPI, the engine of data-parallel training (`mpirun -np N netc train`, `netc train --ranks
# N`, and the multi-process tests that `make test` runs): Debian's openmpi-bin and
# libopenmpi-dev, installed with apt-get when mpirun is missing and we are root, like graphviz.
mpi:
	@command -v mpirun >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && { apt-get install -y -qq openmpi-bin libopenmpi-dev >/dev/null 2>&1 \
	       || { apt-get update -qq >/dev/null \
	            && apt-get install -y -qq openmpi-bin libopenmpi-dev >/dev/null; }; }; } \
	  || echo "note: OpenMPI is not installed: apt-get install openmpi-bin libopenmpi-dev"

# Trains LeNet-5 on Fashion-MNIST with the JIT (3 epochs, about a minute on 2 cores), then
# prints the test accuracy and where the checkpoint, the metrics and the IR dumps went.
DEMO := runs/demo
demo: $(VENV)/.installed fashion-mnist
	$(BIN)/netc train examples/lenet5.yaml --epochs 3 --optimizer adam \
	  --checkpoint $(DEMO)/lenet5.npz --log $(DEMO)/metrics.jsonl --dump-ir $(DEMO)/ir

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy

test: $(VENV)/.installed-dev system-deps fashion-mnist
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
