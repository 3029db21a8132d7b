# Front door of LEG-Simulator: `make test`, `make serve`, `make lint`, `make bench`.
# Every target creates .venv from pyproject.toml first, so a fresh clone needs
# nothing but Python 3.10+ and make.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
LEG_CONFIG ?= config.yaml
export LEG_CONFIG
# PORT is optional: when empty, the `port` key of the config file is used.
PORT ?=
export PORT

.PHONY: all setup test lint serve run bench bench-engine bench-compare bench-dashboard bench-page bench-sessions bench-mqtt bench-cluster bench-wall soak validate screenshot check-config clean

all: test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# ruff (rules in pyproject.toml) and mypy over the package; the same as the pre-commit hooks.
LINT_PATHS := leg_sim apps tests benchmarks scripts
lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/mypy

serve: $(STAMP)
	$(BIN)/python -m leg_sim serve

run: $(STAMP)
	$(BIN)/python -m leg_sim run

check-config: $(STAMP)
	$(BIN)/python -m leg_sim check-config

bench: bench-engine bench-dashboard bench-page bench-sessions bench-wall bench-mqtt bench-cluster

bench-engine: $(STAMP)
	$(BIN)/python benchmarks/bench_engine.py

# Engine step time of commit REV against this checkout, alternating, in one run.
REV ?= HEAD~1
bench-compare: $(STAMP)
	$(BIN)/python benchmarks/compare_engine.py $(REV)

bench-dashboard: $(STAMP)
	$(BIN)/python benchmarks/bench_dashboard.py --seconds 30 --sessions 20

# Sessions opened at once versus latency, CPU, memory and event-loop lag (50 to 400 sessions).
bench-sessions: $(STAMP)
	$(BIN)/python benchmarks/bench_sessions.py

# What the MQTT link costs at 10,000 houses against Debian's mosquitto on 127.0.0.1.
bench-mqtt: $(STAMP)
	$(BIN)/python benchmarks/bench_mqtt.py

# Sessions held by one process versus one engine and two workers (Debian's mosquitto on 127.0.0.1).
bench-cluster: $(STAMP)
	$(BIN)/python benchmarks/bench_cluster.py

# Pages built once (no session each), the live page and the wall page: opening at once, latency, CPU, memory (50 to 400);
# four client processes read the feeds, so the clients' own latency stays below the server's figures.
bench-wall: $(STAMP)
	$(BIN)/python benchmarks/bench_wall.py --page live --browser --client-procs 4
	$(BIN)/python benchmarks/bench_wall.py --page wall --browser --client-procs 4

# One session's page at 10,000 houses (time, document size, server memory) and the first paint.
bench-page: $(STAMP)
	$(BIN)/python benchmarks/bench_page.py

# Long reliability runs (about 20 minutes, stops by itself): churn, soak, load, faults.
soak: $(STAMP)
	$(BIN)/python benchmarks/soak.py

# A simulated year and chosen days against published references (about 5 minutes, stops by
# itself): writes docs/validation/ and prints one PASS/FAIL line per check.
validate: $(STAMP)
	$(BIN)/python scripts/validate.py

screenshot: $(STAMP)
	$(BIN)/python scripts/screenshot.py docs

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
