# `make run` and `make test` set everything up on a fresh machine: the virtual
# environment is created (or refreshed when pyproject.toml or the lock changes) before use.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
ARGS ?=

# make's environment is built from a lock: every package pinned, with its hashes, for
# Linux x86-64 and Python 3.11 (CI's machine), so a build does not change with the day's
# PyPI. pyproject.toml keeps the open ranges that `pip install rnnlab` resolves.
LOCK := requirements-lock.txt
# uv installs the lock in seconds where pip takes most of a minute; pip bootstraps this
# version of it into the venv (the stamp's name carries the version, so a new one installs).
UV_VERSION := 0.13.9
UV := $(VENV)/bin/uv
UV_STAMP := $(VENV)/.uv-$(UV_VERSION)
# The oldest versions pyproject.toml allows get a venv of their own (make test-oldest).
OLDEST := .venv-oldest

.PHONY: run test test-fast test-oldest system-packages lock bench results notebook clean

$(UV_STAMP):
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	touch $@

# sync: exactly the lock, whatever an older build left; then rnnlab itself, editable.
# Bytecode is compiled at install (about 7 s): uv leaves it out by default, and where
# Python may not write it (PYTHONDONTWRITEBYTECODE, a read-only site-packages) every
# command would compile TensorFlow's modules again, 4 s each.
$(STAMP): pyproject.toml $(LOCK) $(UV_STAMP)
	$(UV) pip sync --quiet --compile-bytecode --python $(VENV)/bin/python --require-hashes $(LOCK)
	$(UV) pip install --quiet --compile-bytecode --python $(VENV)/bin/python --no-deps -e .
	touch $@

# After a change to the dependencies in pyproject.toml: the newest versions its ranges
# allow, with the CPU TensorFlow and the test tools (not the optional benchmark ones).
lock: $(UV_STAMP)
	$(UV) pip compile pyproject.toml --extra cpu --extra test --upgrade --generate-hashes \
	  --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
	  --custom-compile-command 'make lock' --quiet -o $(LOCK)

run: $(STAMP)
	$(VENV)/bin/rnnlab train $(ARGS)

# The suite in as many processes as there are cores, at most 4 (each file's tests in
# one, so a file's fixtures are made once): most of its time is processes starting.
JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 4 ] && n=4; echo $$n)

test: $(STAMP) system-packages
	$(VENV)/bin/python -m pytest -q -n $(JOBS) --dist loadfile

# Seconds, not minutes: shapes, the task table, settings and bad input, no training.
test-fast: $(STAMP)
	$(VENV)/bin/python -m pytest -q -m fast

# Some tests need programs from Debian's packages: the sweep's multi-machine test a real
# PostgreSQL server, the live window's test a virtual screen (Xvfb), the inspect page's a
# browser (Chromium and its driver). Installed here when missing and we may (root,
# apt-get); elsewhere those tests skip, saying why.
system-packages:
	@{ ls /usr/lib/postgresql/*/bin/pg_ctl && command -v Xvfb && command -v chromium && \
	  command -v chromedriver; } >/dev/null 2>&1 || \
	  [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql xvfb chromium \
	  chromium-driver >/dev/null; }

# The suite against the lowest version of each of rnnlab's own dependencies that
# pyproject.toml allows (uv's lowest-direct; their dependencies newest), built afresh
# each time: it checks the floors the ranges declare.
test-oldest: $(UV_STAMP) system-packages
	rm -rf $(OLDEST)
	$(PYTHON) -m venv --without-pip $(OLDEST)
	$(UV) pip install --quiet --compile-bytecode --python $(OLDEST)/bin/python --resolution lowest-direct \
	  -e '.[cpu,test]'
	$(OLDEST)/bin/python -m pytest -q -n $(JOBS) --dist loadfile

# The example notebook in JupyterLab, which the lock does not hold (nor ipywidgets, for
# tqdm's bar in a cell): installed into .venv the first time. JupyterLab refuses to
# start as root (a container's user, often) unless told it may.
notebook: $(STAMP)
	$(VENV)/bin/python -c "import jupyterlab, ipywidgets" 2>/dev/null || \
	  $(UV) pip install --quiet --python $(VENV)/bin/python -e '.[notebook]'
	$(VENV)/bin/jupyter lab $$([ "$$(id -u)" != 0 ] || echo --allow-root) examples/tutorial.ipynb

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/echo_speed.py $(ARGS)

# docs/results.md: the trainability map of the vanilla cell, LSTM, GRU and a scan cell (the
# LRU: one block of it learns the echo task; minGRU and minLSTM need three) on the echo task.
results: $(STAMP)
	$(VENV)/bin/rnnlab sweep --grid echo_step=1:12 truncation=2,4,6,8,12,16 \
	  cell=vanilla,lstm,gru,lru --seeds 5 --epochs 5 --state-size 16 --init glorot \
	  --series-length 20000 --out sweeps/trainability
	$(VENV)/bin/rnnlab report sweeps/trainability --out docs/results.md

clean:
	rm -rf $(VENV) $(OLDEST) runs .pytest_cache
