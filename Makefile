# Two commands do all set-up on a fresh machine (see README.md):
#   make demo   creates .venv, installs netc, runs the main job on the bundled example
#   make test   installs the dev extras, then runs ruff and the whole pytest suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

# System packages: graphviz renders the DOT dumps (and a test checks them with `dot`).
# Installed with apt-get when missing and we are root; otherwise the tests say what is missing.
system-deps:
	@command -v dot >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && { apt-get install -y -qq graphviz >/dev/null 2>&1 \
	       || { apt-get update -qq >/dev/null && apt-get install -y -qq graphviz >/dev/null; }; }; } \
	  || echo "note: graphviz (dot) is not installed: apt-get install graphviz"

demo: $(VENV)/.installed
	$(BIN)/netc check examples/lenet5.yaml
	$(BIN)/netc dump examples/lenet5.yaml

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

test: $(VENV)/.installed-dev system-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
