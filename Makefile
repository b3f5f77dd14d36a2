# Two commands matter: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR := demo-output

.PHONY: setup demo test bench bench-quick clean

setup: $(STAMP)

# Re-install whenever the dependency list changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# The main job end to end: demo media -> embedded server -> client -> result.
demo: setup
	$(BIN)/python -m faceswap_nb.demo $(DEMO_DIR)

test: setup
	$(BIN)/python -m pytest

# Benchmarks judge quality with dlib, which only the eval extra installs.
bench: setup
	$(BIN)/python -m pip install --quiet -e '.[eval]'
	$(BIN)/python -m benchmarks

bench-quick: setup
	$(BIN)/python -m pip install --quiet -e '.[eval]'
	$(BIN)/python -m benchmarks --quick

clean:
	rm -rf $(VENV) $(DEMO_DIR) bench-output .pytest_cache
