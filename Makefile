# cluetrail: local development, tests and demo, all native (no containers).
#
#   make test        virtualenv + Kafka + PostgreSQL, then the test suite
#   make run         the above plus the four services and the demo data
#   make stop        stop services, Kafka and PostgreSQL
#
# KAFKA_PORT (9092) and PGPORT (55432) move the local servers, e.g. `make test KAFKA_PORT=19092`;
# the services and the CLI follow unless CLUETRAIL_KAFKA_BOOTSTRAP / CLUETRAIL_DATABASE_URL are set.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
PYTEST_ARGS ?=
FAULTS_ARGS ?=
BENCH_ARGS ?=

# Everything make starts runs on this machine: local allows the development keys, secrets and database
# password (a deployment sets test or production, where they are refused).
export CLUETRAIL_ENVIRONMENT ?= local

ifdef KAFKA_PORT
export KAFKA_PORT
export CLUETRAIL_KAFKA_BOOTSTRAP ?= 127.0.0.1:$(KAFKA_PORT)
endif
ifdef PGPORT
export PGPORT
export CLUETRAIL_DATABASE_URL ?= postgresql://cluetrail:cluetrail@127.0.0.1:$(PGPORT)/cluetrail
endif

.PHONY: help venv stack-up stack-down stack-reset run stop test bench bench-regions faults lint clean

help:
	@echo "make venv        create .venv and install the project with its dev tools"
	@echo "make stack-up    start Kafka and PostgreSQL in var/, create topics and schemas"
	@echo "make stack-down  stop Kafka and PostgreSQL"
	@echo "make stack-reset stop everything, empty the stack's topics and databases, start it again"
	@echo "make run         stack-up, start the services, load the demo data, print the URLs"
	@echo "make run REGIONS=2  two regions joined by MirrorMaker 2, demo data in both (docs/regions.md)"
	@echo "make run BROKERS=3  three KRaft brokers (RF 3), two workers of each service"
	@echo "make stop        stop the services, then the stack"
	@echo "make test        stack-up, then the test suite (PYTEST_ARGS=... adds pytest options)"
	@echo "make bench       stack-up, then the benchmark (BENCH_ARGS=\"--quick\" or \"--only PART\")"
	@echo "make bench-regions  handoff latency across two regions beside MirrorMaker 2's own lag"
	@echo "make faults      the fault suite on a broker and database of its own (var/faults; FAULTS_ARGS=...)"
	@echo "make lint        ruff check, ruff format --check, mypy"
	@echo "make clean       stop everything and remove var/"

venv: $(VENV)/.installed
	@:

# Reinstalled only when pyproject.toml changed since the last install.
$(VENV)/.installed: pyproject.toml
	@test -x $(VENV)/bin/python || { echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); }
	@echo "installing the project and its dev tools into $(VENV)"
	$(VENV)/bin/pip install --disable-pip-version-check -q -e '.[dev]'
	@touch $@

stack-up: venv
	deploy/bin/kafka.sh fetch
	deploy/bin/kafka.sh start
	deploy/bin/postgres.sh start
	$(VENV)/bin/cluetrail stack init

stack-down:
	@rc=0; deploy/bin/kafka.sh stop || rc=$$?; deploy/bin/postgres.sh stop || rc=$$?; exit $$rc

# Test runs leave their topics and databases on the stack (a few hundred of each after `make test`); a broker
# and a server holding them answer more slowly (metadata, autovacuum's rounds), so run make bench on a stack
# reset. The fetched Kafka jars and the PostgreSQL install stay.
stack-reset: stop
	rm -rf var/kafka/data var/kafka/cluster.id var/pg/data
	$(MAKE) --no-print-directory stack-up

# make run REGIONS=2: two regions (anhui, ningxia), each a broker with its four services, and MirrorMaker 2
# between them (deploy/bin/regions.sh, docs/regions.md).
# make run BROKERS=3: a three-broker KRaft cluster, two workers of each service (deploy/bin/cluster.sh).
ifeq ($(REGIONS),2)
run: venv
	deploy/bin/regions.sh start
else ifeq ($(BROKERS),3)
run: venv
	deploy/bin/cluster.sh start
else
run: venv stack-up
	deploy/bin/services.sh start
	$(VENV)/bin/cluetrail demo load
	@deploy/bin/services.sh urls
endif

stop:
	@rc=0; deploy/bin/services.sh stop || rc=$$?; \
	if [ -d var/regions/keys ]; then deploy/bin/regions.sh stop || rc=$$?; fi; \
	if [ -d var/cluster ]; then deploy/bin/cluster.sh stop || rc=$$?; fi; \
	$(MAKE) --no-print-directory stack-down || rc=$$?; exit $$rc

test: venv stack-up
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The bench's own dependencies (pyproject's bench group: the eventsourcing peer) are installed here only.
$(VENV)/.bench-installed: $(VENV)/.installed
	$(VENV)/bin/pip install --disable-pip-version-check -q -e '.[dev,bench]'
	@touch $@

bench: venv $(VENV)/.bench-installed stack-up
	$(VENV)/bin/python -m bench $(BENCH_ARGS)

# Two regions of their own (brokers, MirrorMaker 2, eight services) on free ports; the databases on make
# stack-up's server.
bench-regions: venv stack-up
	$(VENV)/bin/python -m bench.regions

# Not part of make test: kills and restarts services, a broker and a database server of its own, which it
# starts under var/faults on free ports with the jars of var/kafka/libs; the shared stack is not touched.
faults: venv
	deploy/bin/kafka.sh fetch
	$(VENV)/bin/python -m tests.faults $(FAULTS_ARGS)

lint: venv
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

clean: stop
	rm -rf var
