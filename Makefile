# The README's commands: `make run` (one node on the embedded default) and
# `make test` (every suite). `make build` makes the release binary with the web
# assets inside.

CARGO ?= cargo
WEB := web
PORT ?= 5000

.PHONY: run build test web web-deps test-rust test-web test-e2e test-openapi lint validate-deploy fuzz clean

## Build the web assets and the server, then serve on $(PORT) with SQLite.
run: web
	$(CARGO) build --locked -p livesupport
	PORT=$(PORT) ./target/debug/livesupport serve

## Release binary at target/release/livesupport, web assets embedded.
build: web
	$(CARGO) build --release --locked -p livesupport

## Every test suite: Rust (unit, integration, PostgreSQL/Redis when configured),
## web unit tests, the browser end-to-end suite, schemathesis against the API's
## OpenAPI description, the deploy/ + k8s/ checks, and a bounded fuzzing run of
## the frame parser and the validation.
test: web test-rust test-web test-e2e test-openapi validate-deploy fuzz

## cargo-nextest runs every test in its own process, four at a time (the suites
## wait on sockets and databases more than on the CPU); doctests still need
## cargo test. Without nextest (a laptop), plain cargo test does the same work.
test-rust:
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		$(CARGO) nextest run --locked --workspace --no-fail-fast --test-threads 4 && \
		$(CARGO) test --locked --workspace --doc; \
	else \
		echo "cargo-nextest not found: running cargo test (slower)"; \
		$(CARGO) test --locked --workspace; \
	fi

web-deps:
	@if [ -f $(WEB)/package.json ]; then \
		if [ ! -d $(WEB)/node_modules ] || [ $(WEB)/package-lock.json -nt $(WEB)/node_modules/.package-lock.json ]; then \
			cd $(WEB) && npm ci --no-audit --no-fund; \
		fi; \
	fi

web: web-deps
	@if [ -f $(WEB)/package.json ]; then cd $(WEB) && npm run build; else echo "no web/ yet: skipping the web assets"; fi

test-web: web-deps
	@if [ -f $(WEB)/package.json ]; then cd $(WEB) && npm test; else echo "no web/ yet: skipping web tests"; fi

## The browser suite drives the debug binary with the machine's Chromium.
test-e2e: web
	@if [ -f $(WEB)/e2e/run.mjs ]; then \
		$(CARGO) build --locked -p livesupport && cd $(WEB) && LIVESUPPORT_BIN=$(CURDIR)/target/debug/livesupport npm run e2e; \
	else echo "no e2e suite yet: skipping"; fi

## schemathesis against a node's /api/openapi.json: no 5xx, no answer the
## description does not allow (ST_MAX_EXAMPLES cases per operation, default 100).
## The script builds the debug binary (or takes $$LIVESUPPORT_BIN).
test-openapi:
	CARGO="$(CARGO)" scripts/schemathesis.sh

validate-deploy:
	@if [ -x scripts/validate-deploy.sh ]; then scripts/validate-deploy.sh; else echo "no deploy checks yet"; fi

## cargo-fuzz targets (fuzz/), FUZZ_SECONDS each (installs cargo-fuzz if missing).
fuzz:
	FUZZ_SECONDS=$${FUZZ_SECONDS:-20} scripts/fuzz.sh

## What CI enforces besides the tests.
lint: web-deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	@if [ -f $(WEB)/package.json ]; then cd $(WEB) && npm run typecheck; fi

clean:
	$(CARGO) clean
	rm -rf $(WEB)/dist $(WEB)/node_modules
