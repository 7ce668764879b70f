# manifest-tool for Rust. `make demo` runs the main job; `make test` runs every test.
CARGO ?= cargo

.PHONY: all build release deps test lint fmt clean

all: build

build:
	$(CARGO) build

release:
	$(CARGO) build --release

# Debian packages the integration tests need: the CNCF distribution registry, skopeo (the
# third-party client that seeds and cross-checks), htpasswd, openssl.
deps:
	@if command -v docker-registry >/dev/null && command -v skopeo >/dev/null \
	    && command -v htpasswd >/dev/null && command -v openssl >/dev/null; then \
	    echo "test dependencies already installed"; \
	else \
	    apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	        docker-registry skopeo apache2-utils openssl ca-certificates; \
	fi

# Every test: formatting, lints, unit tests and the integration tests against real registries.
test: lint
	$(CARGO) test --all-targets

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt:
	$(CARGO) fmt

clean:
	$(CARGO) clean
	rm -rf dist
