# Sanan: `make demo` serves the demo community; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: demo test install install-dev browser frontserver loadtool lint typecheck check bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# The demo community office's (fictitious) number, shown to residents as the number to call, and
# the area code of local landline numbers typed without it.
demo: export SANAN_HELP_PHONE ?= 0833-2123456
demo: export SANAN_LOCAL_AREA_CODE ?= 0833

## demo: set up everything, build the demo community, print the logins, serve it
demo: install
	$(BIN)/sanan demo
	@echo "Serving http://$(HOST):$(PORT)/ (Ctrl-C to stop)"
	$(BIN)/sanan runserver $(HOST):$(PORT)

## browser: Debian's Chromium and a CJK font for the Playwright tests
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi wenquanyi; then \
	  echo "Installing Chromium and fonts (apt-get)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	fi

## frontserver: HAProxy, the one address in front of the app servers (scripts/scale-out)
frontserver:
	@if ! command -v haproxy >/dev/null 2>&1; then \
	  echo "Installing HAProxy (apt-get)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq haproxy >/dev/null; \
	fi

## loadtool: wrk, the HTTP load generator of the intake benchmark (bench/workorders_bench.py)
loadtool:
	@if ! command -v wrk >/dev/null 2>&1; then \
	  echo "Installing wrk (apt-get)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq wrk >/dev/null; \
	fi

## test: install what the tests need (browser and front server included) and run every test
test: install-dev browser frontserver
	$(BIN)/pytest -n auto

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy

check: install
	$(BIN)/sanan check
	$(BIN)/sanan makemigrations --check --dry-run

## bench: the benchmark suite (bench/run.py; BENCH_ARGS="--quick" for a smoke run)
bench: install-dev loadtool
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
