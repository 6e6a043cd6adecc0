# `make run` and `make test` set everything up on a fresh machine: the virtual
# environment is created (or refreshed when pyproject.toml changes) before use.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: run test test-fast bench results clean

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

# Seconds, not minutes: shapes, the task table, settings and bad input, no training.
test-fast: $(STAMP)
	$(VENV)/bin/python -m pytest -q -m fast

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/echo_speed.py $(ARGS)

# docs/results.md: the trainability map of the vanilla cell, LSTM and GRU on the echo task.
results: $(STAMP)
	$(VENV)/bin/rnnlab sweep --grid echo_step=1:12 truncation=2,4,6,8,12,16 \
	  cell=vanilla,lstm,gru --seeds 3 --epochs 5 --state-size 16 --init glorot \
	  --series-length 20000 --out sweeps/trainability
	$(VENV)/bin/rnnlab report sweeps/trainability --out docs/results.md

clean:
	rm -rf $(VENV) runs .pytest_cache
