# Two commands do all the set-up on a fresh machine (Python 3.11, pip, make, Java):
#   make build      — create .venv, install mscev, run `mscev build`
#   make test       — create .venv, install mscev with its test extras, run the whole test suite
# Some test groups need programs beyond Python (Chromium, Virtuoso, rapper): `make test-deps` installs them
# (Debian packages); without them `make test` says which groups it skips, at its start and in its summary.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: build test test-deps clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml $(VENV)/bin/python
	$(BIN)/pip install --quiet -e .
	touch $(STAMP)

$(TEST_STAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(TEST_STAMP)

build: $(STAMP)
	$(BIN)/mscev build

test: $(TEST_STAMP)
	$(BIN)/pytest

test-deps:
	bash tools/install-test-deps

clean:
	rm -rf build .venv .pytest_cache

# The README's screenshots of the web interface (docs/screenshots/), taken in headless Chromium against
# `mscev serve` on build/ (run `make build` first).
.PHONY: screenshots
screenshots: $(TEST_STAMP)
	$(BIN)/python tools/screenshots
