# skewless: two commands on a fresh machine — `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
SKEWLESS := $(VENV)/bin/skewless
STAMP := $(VENV)/.installed

.PHONY: install jars stack-up stack-down stack-status demo test test-unit test-java bench chaos clean

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

# The Java tests (JUnit, jvm/flink/src/test) first: they need no stack and fail fast.
test-java: install
	mvn -q -f jvm/flink/pom.xml test

test: jars stack-up test-java
	$(PY) -m pytest tests

# Benchmarks, peers in the same run, reported as ratios in bench/results.{json,md,png}.
# Parts, one after another so none loads the machine under another: the streaming engine
# (no stack), end to end (Kafka -> job -> Cassandra + Iceberg), the same on the session
# cluster at parallelism 1 and 2, online reads while a job runs, training sets. Full workloads by default (long); scale down with e.g.
# `make bench BENCH_EVENTS=100000 BENCH_SERVING_SECONDS=10 BENCH_TRAINING_LABELS=100000`.
bench: jars stack-up
	@$(VENV)/bin/pip install --quiet --progress-bar off -c requirements.lock -e ".[bench]"
	$(PY) -m bench
	$(PY) -m bench.e2e
	$(PY) -m bench.cluster
	$(PY) -m bench.serving
	$(PY) -m bench.training

# The chaos test at scale: a live producer, CHAOS_KILLS kill -9 of the job plus a Cassandra and
# a Kafka outage, then the results against a fault-free run and the oracle (tests/chaos).
# Writes bench/out/chaos.json and merges recovery_p50_s / recovery_max_s into bench/results.json.
# `make test` runs the same test small (about 5 minutes).
# Other knobs (CHAOS_PRODUCE_S, CHAOS_CHECKPOINT_MS, ...): tests/chaos/config.py.
CHAOS_EVENTS ?= 1000000
CHAOS_KILLS ?= 20
CHAOS_USERS ?= 2000
CHAOS_DAYS ?= 3
chaos: jars stack-up
	@$(VENV)/bin/pip install --quiet --progress-bar off -c requirements.lock -e ".[bench]"
	CHAOS_EVENTS=$(CHAOS_EVENTS) CHAOS_KILLS=$(CHAOS_KILLS) CHAOS_USERS=$(CHAOS_USERS) CHAOS_DAYS=$(CHAOS_DAYS) \
		CHAOS_BENCH=1 $(PY) -m pytest tests/chaos

clean: stack-down
	rm -rf $(VENV) .skewless
