# ecs-autopsy — the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

CARGO ?= cargo
CLI := target/debug/ecs-autopsy
EVENTS := $(sort $(filter-out %.evidence.json,$(wildcard events/*.json)))

.PHONY: test demo bench lint fmt-check clippy unit build events

## test: format check, clippy (warnings are errors), then every test.
test: fmt-check clippy
	$(CARGO) test --all-targets
	@echo "make test: all checks passed"

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
