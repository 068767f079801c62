# skewless: two commands on a fresh machine — `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
SKEWLESS := $(VENV)/bin/skewless
STAMP := $(VENV)/.installed

.PHONY: install jars stack-up stack-down stack-status demo test test-unit bench clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	@echo "installing Python dependencies (apache-flink is ~340 MB; first run takes a few minutes)..."
	$(VENV)/bin/pip install --quiet --progress-bar off -c requirements.lock -e ".[test]"
	@touch $(STAMP)

jars: install
	$(SKEWLESS) jars

stack-up: install
	$(SKEWLESS) stack up

stack-down:
	@if [ -x $(SKEWLESS) ]; then $(SKEWLESS) stack down; fi

stack-status: install
	$(SKEWLESS) stack status

demo: jars stack-up
	$(SKEWLESS) demo

test-unit: install
	$(PY) -m pytest -q tests/unit

test: jars stack-up
	$(PY) -m pytest tests

# Benchmarks, peers in the same run, reported as ratios in bench/results.{json,md,png}.
# The engine part needs no stack. Full workload by default (3M events, 10k users: long);
# scale down with e.g. `make bench BENCH_EVENTS=100000 BENCH_USERS=10000`.
bench: jars
	@$(VENV)/bin/pip install --quiet --progress-bar off -c requirements.lock -e ".[bench]"
	$(PY) -m bench

clean: stack-down
	rm -rf $(VENV) .skewless
