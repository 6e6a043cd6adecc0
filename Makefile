# `make run` and `make test` set everything up on a fresh machine: the virtual
# environment is created (or refreshed when pyproject.toml changes) before use.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: run test bench clean

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/rnnlab train $(ARGS)

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/echo_speed.py $(ARGS)

clean:
	rm -rf $(VENV) runs .pytest_cache
