# Two commands matter: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR := demo-output
CHROMIUM := /usr/bin/chromium

.PHONY: setup demo test lab bench bench-quick clean

setup: $(STAMP) $(CHROMIUM)

# Re-install whenever the dependency list changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# The browser test drives Debian's Chromium with Playwright (never `playwright install`).
# The browser itself is the stamp: apt-get runs only while it is missing, and only as
# root; otherwise this says why and the browser test skips with the same reason.
$(CHROMIUM):
	@if [ "$$(id -u)" != 0 ]; then \
	  echo "setup: $(CHROMIUM) is missing and installing it needs root (apt-get install -y chromium); the browser test will be skipped."; \
	elif ! command -v apt-get >/dev/null; then \
	  echo "setup: $(CHROMIUM) is missing and there is no apt-get to install Debian's chromium; the browser test will be skipped."; \
	else \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	fi

# The main job end to end: demo media -> embedded server -> client -> result.
demo: setup
	$(BIN)/python -m faceswap_nb.demo $(DEMO_DIR)

test: setup
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest

# Benchmarks judge quality with dlib, which only the eval extra installs.
bench: setup
	$(BIN)/python -m pip install --quiet -e '.[eval]'
	$(BIN)/python -m benchmarks

bench-quick: setup
	$(BIN)/python -m pip install --quiet -e '.[eval]'
	$(BIN)/python -m benchmarks --quick

# JupyterLab on the quickstart, with the local server started as Binder starts it.
lab: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" binder/start jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/quickstart.ipynb

clean:
	rm -rf $(VENV) $(DEMO_DIR) bench-output test-output .pytest_cache
