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

# The sweep's multi-machine test runs a real PostgreSQL server: installed here from
# Debian's packages when missing and we may (root, apt-get); otherwise that test skips.
test: $(STAMP)
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || \
	  ! command -v apt-get >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
	$(VENV)/bin/python -m pytest -q

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/echo_speed.py $(ARGS)

clean:
	rm -rf $(VENV) runs .pytest_cache
