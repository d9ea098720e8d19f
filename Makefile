# leadflow — the two commands:
#   make dev    run the whole system locally (emulator + every function in template.yaml)
#   make test   run every test (unit, handler, emulator integration, end-to-end, template lint)
#
# Everything the tests need (moto, SAM CLI, cfn-lint) is installed, pinned by
# infra/requirements.txt, into .tools/ (git-ignored).

SHELL := /bin/bash
TOOLS := .tools
VENV := $(TOOLS)/venv
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0

.PHONY: dev test tools browser lint check-template bench bench-size bench-dev lambda-tools load build-lambda deploy clean-tools

# The local AWS is the leadflow-local command (infra/local/); `leadflow dev`,
# `leadflow emulator -- ...` and `leadflow tools` run the same through cargo.
LOCAL := cargo run --quiet -p leadflow-local --bin leadflow-local --

# One installer (leadflow-local's, which the emulator code uses too):
# re-installs whenever the pinned requirements change, else does nothing.
tools:
	$(LOCAL) tools

# A headless Chromium (Debian package) and playwright-core, for the landing-page browser test.
browser:
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y --no-install-recommends chromium)
	npm ci --prefix infra/browser --no-audit --no-fund

# `leadflow dev` (issue 2's contract), which runs `leadflow-local dev`.
# DEV_ARGS: more options of `leadflow dev` (e.g. --port 3001).
dev: tools
	cargo run --quiet -p leadflow-infra --bin leadflow -- dev $(DEV_ARGS)

# Clippy lints the workspace while it is built for the tests: clippy-driver
# is the workspace's compiler (as `cargo clippy` makes it, with the lints of
# `cargo clippy --all-targets -- -D warnings`), so a lint fails the build, and
# the workspace is not type-checked a second time afterwards (that pass cost
# 2-3 minutes of a CI run on 2 cores). Dependencies build with plain rustc.
# `make lint` is the same check on its own.
test: export RUSTC_WORKSPACE_WRAPPER := clippy-driver
test: export CLIPPY_ARGS := -D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__
# Four tests at once in each test binary: the stacks that compute hold one of
# the machine's stack slots (one per core) whatever the threads; the fault
# tests' stacks, which mostly wait, hold none (tests/tests/faults.rs).
test: export RUST_TEST_THREADS := 4
test: tools browser
	cargo fmt --all --check
	cargo build --workspace --bins
	cargo test --workspace --all-targets --no-run
	$(LOCAL) emulator -- cargo test --workspace --no-fail-fast
	$(MAKE) --no-print-directory check-template

check-template: tools
	$(VENV)/bin/sam validate --lint
	$(VENV)/bin/cfn-lint template.yaml
	$(VENV)/bin/openapi-spec-validator infra/openapi.yaml

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

# Benchmarks print figures and ratios; they assert nothing about time.
bench: bench-size
	cargo bench -p leadflow-infra --bench simulate
	$(LOCAL) emulator -- cargo bench -p leadflow-local --bench outbox
	$(LOCAL) emulator -- cargo bench -p leadflow-local --bench due
	$(LOCAL) emulator -- cargo bench -p leadflow-local --bench cost
	$(LOCAL) emulator -- cargo bench -p leadflow-local --bench cold_start
	$(LOCAL) emulator -- cargo bench -p leadflow-local --bench intake_warm
	$(MAKE) --no-print-directory bench-dev

# Load with zero-loss accounting: 10,000 inquiries from 50 clients through the
# local stack (started for the run unless `make dev` is up), then every one
# reconciled; the last line reads `reconciled N inquiries: D differences`.
# `leadflow load --help` for the rate, the mix, or a deployed URL.
load: tools
	$(LOCAL) load $(LOAD_ARGS)

# Each function's Lambda bootstrap (arm64, release) beside its hello-world floor.
bench-size: lambda-tools
	infra/bench-floors/size.sh

# `make dev` from a warm build: seconds from the port opening to the first answer.
bench-dev: tools
	infra/bench-floors/dev.sh

# cargo-lambda and zig (infra/bench-requirements.txt), into .tools/venv.
lambda-tools: tools
	$(VENV)/bin/pip install --quiet -r infra/bench-requirements.txt

# Cross-compile the functions for Lambda (arm64) without SAM, with cargo-lambda + zig.
build-lambda: lambda-tools
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" cargo lambda build --release --arm64

deploy: tools
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/sam build && $(VENV)/bin/sam deploy --guided

clean-tools:
	rm -rf $(TOOLS)
