# ecs-autopsy — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

CARGO ?= cargo
PYTHON ?= python3
VENV := .venv
SANDBOX_READY := $(VENV)/.installed
CLI := target/debug/ecs-autopsy
EVENTS := $(sort $(filter-out %.evidence.json,$(wildcard events/*.json)))

.PHONY: test demo bench fmt-check clippy build events sandbox

## test: format check, clippy (warnings are errors), then every test (the integration tests
## start the AWS emulator from the local venv).
test: fmt-check clippy $(SANDBOX_READY)
	$(CARGO) test --all-targets
	@echo "make test: all checks passed"

## The AWS emulator (moto, pinned with its dependencies) in a local venv.
$(SANDBOX_READY): tests/sandbox/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/sandbox/requirements.txt
	touch $@

## sandbox: run the seeded emulator in the foreground (prints its endpoint and event files).
sandbox: $(SANDBOX_READY)
	$(VENV)/bin/python tests/sandbox/sandbox.py --out target/sandbox

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --all-targets -- -D warnings

build:
	$(CARGO) build --bin ecs-autopsy

## demo: explain every sample event offline, with its evidence where it has some.
demo: build
	@for f in $(EVENTS); do \
	  ev="$${f%.json}.evidence.json"; \
	  echo; echo "=================================================================="; \
	  echo "== $$f"; \
	  if [ -f "$$ev" ]; then echo "== evidence: $$ev"; args=(--evidence "$$ev"); else args=(); fi; \
	  echo "=================================================================="; \
	  $(CLI) explain --event "$$f" "$${args[@]}" || true; \
	done

## bench: criterion benchmarks of the engine (diagnoses and renders per second).
bench:
	$(CARGO) bench --bench engine -- --noplot

## events: regenerate the sample events and their evidence.
events:
	python3 tests/fixtures/make_events.py
