# Two commands do all the set-up on a fresh machine (Python 3.11, pip, make, Java):
#   make build   — create .venv, install mscev, run `mscev build`
#   make test    — create .venv, install mscev with test extras, run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: build test clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

build: $(STAMP)
	$(BIN)/mscev build

test: $(STAMP)
	$(BIN)/pytest

clean:
	rm -rf build .venv .pytest_cache
