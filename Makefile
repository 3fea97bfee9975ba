# ecs-autopsy — the two commands a newcomer needs are `make demo` and `make test`.
# Every tool beyond the Rust toolchain and Python is installed here, pinned, into local venvs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

CARGO ?= cargo
PYTHON ?= python3
export SAM_CLI_TELEMETRY := 0

SANDBOX_READY := .venv/.installed
LINT_READY := .venv-lint/.installed
SAM_READY := .venv-sam/.installed
LAMBDA_READY := .venv-lambda/.installed
ARTIFACT := target/lambda/autopsy-lambda/bootstrap

.PHONY: test demo bench fuzz fmt-check clippy unit template-lint artifact explain-samples events bless sandbox

## test: format check, clippy (warnings are errors), every test (the integration tests start the
## AWS emulator), the template's linters, then the deployable arm64 artifact with its size.
test: fmt-check clippy unit template-lint artifact
	@echo "make test: all checks passed"

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit: $(SANDBOX_READY)
	$(CARGO) test --workspace --all-targets

## demo: the real function under a local Lambda Runtime API against the local AWS emulator.
demo: $(SANDBOX_READY)
	@echo "==> building autopsy-lambda"
	$(CARGO) build --bin autopsy-lambda
	.venv/bin/python tests/sandbox/demo.py --function target/debug/autopsy-lambda --out target/demo

## explain-samples: every sample event explained offline, with its evidence where it has some.
explain-samples:
	$(CARGO) build --bin ecs-autopsy
	@for f in $(sort $(filter-out %.evidence.json %.expected.json,$(wildcard events/*.json))); do \
	  ev="$${f%.json}.evidence.json"; \
	  echo; echo "== $$f"; \
	  if [ -f "$$ev" ]; then args=(--evidence "$$ev"); else args=(); fi; \
	  target/debug/ecs-autopsy explain --event "$$f" "$${args[@]}" || true; \
	done

## bench: one table: cold init, per-incident cost, critical-path floor, RSS, engine, storm,
## artifact size (method in BENCHMARKS.md). Uses the release binary and the local emulator.
bench: $(SANDBOX_READY) artifact
	@mkdir -p target/bench
	$(CARGO) bench -p ecs-autopsy-core --bench engine -- --output-format bencher --warm-up-time 1 --measurement-time 3 | tee target/bench/criterion.txt
	$(CARGO) build --release --bin autopsy-lambda
	$(CARGO) build --profile profiling --bin autopsy-lambda
	.venv/bin/python tests/sandbox/bench.py --function target/release/autopsy-lambda \
	  --profiled target/profiling/autopsy-lambda --criterion target/bench/criterion.txt \
	  --artifact target/lambda/autopsy-lambda/bootstrap.zip --binary-arm64 target/lambda/autopsy-lambda/bootstrap

## fuzz: a short pass of each fuzz target (nightly + cargo-fuzz; FUZZ_SECONDS per target).
FUZZ_SECONDS ?= 60
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	@mkdir -p fuzz/target/corpus/parse_event fuzz/target/corpus/diagnose_render
	# New inputs go to fuzz/target/corpus; the checked-in seeds in fuzz/corpus are only read.
	cd fuzz && $(CARGO) +nightly fuzz run parse_event target/corpus/parse_event corpus/parse_event -- -max_total_time=$(FUZZ_SECONDS)
	cd fuzz && $(CARGO) +nightly fuzz run diagnose_render target/corpus/diagnose_render corpus/diagnose_render -- -max_total_time=$(FUZZ_SECONDS)

## template-lint: cfn-lint, `sam validate --lint` and checkov, each from its own venv, on the
## central template and the member-account one.
TEMPLATES := template.yaml member-account.yaml
template-lint: $(LINT_READY) $(SAM_READY)
	@for t in $(TEMPLATES); do \
	  echo "==> $$t"; \
	  .venv-lint/bin/cfn-lint $$t; \
	  AWS_DEFAULT_REGION=eu-west-1 .venv-sam/bin/sam validate --lint -t $$t; \
	  .venv-lint/bin/checkov -f $$t --framework cloudformation --skip-download --quiet --compact; \
	done

## artifact: the deployable bootstrap for provided.al2023 on arm64 (cargo-lambda + zig).
artifact: $(LAMBDA_READY)
	@rustup target list --installed | grep -q aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
	PATH="$(CURDIR)/.venv-lambda/bin:$$PATH" $(CARGO) lambda build --release --arm64 --bin autopsy-lambda --output-format zip
	@echo "artifact: $$(stat -c %s target/lambda/autopsy-lambda/bootstrap.zip) bytes zipped (target/lambda/autopsy-lambda/bootstrap.zip)"

## events: regenerate the sample events and their evidence.
events:
	$(PYTHON) tests/fixtures/make_events.py

## bless: rewrite every sample's golden verdict (events/*.expected.json) from the current rules;
## review the diff like code before committing it.
bless:
	BLESS=1 $(CARGO) test --test it samples::every_sample_matches_its_golden_verdict

## sandbox: the seeded emulator in the foreground (prints its endpoint and event files).
sandbox: $(SANDBOX_READY)
	.venv/bin/python tests/sandbox/sandbox.py --out target/sandbox

$(SANDBOX_READY): tests/sandbox/requirements.txt
	$(PYTHON) -m venv .venv
	.venv/bin/pip install --quiet --disable-pip-version-check -r $<
	touch $@

$(LINT_READY): tests/lint/requirements-lint.txt
	$(PYTHON) -m venv .venv-lint
	.venv-lint/bin/pip install --quiet --disable-pip-version-check -r $<
	touch $@

$(SAM_READY): tests/lint/requirements-sam.txt
	$(PYTHON) -m venv .venv-sam
	.venv-sam/bin/pip install --quiet --disable-pip-version-check -r $<
	touch $@

$(LAMBDA_READY): tests/lint/requirements-lambda.txt
	$(PYTHON) -m venv .venv-lambda
	.venv-lambda/bin/pip install --quiet --disable-pip-version-check -r $<
	touch $@
