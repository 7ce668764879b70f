# manifest-tool for Rust. `make demo` runs the main job; `make test` runs every test.
CARGO ?= cargo

.PHONY: all build release demo deps test lint fmt clean

all: build

build:
	$(CARGO) build

release:
	$(CARGO) build --release

# The main job on the embedded default: push a six-platform OCI index built from the OCI layout
# in examples/ into target/demo (no registry needed), then inspect it.
demo:
	rm -rf target/demo
	$(CARGO) run -q -- push from-spec examples/demo.yaml
	$(CARGO) run -q -- inspect oci-layout://target/demo:latest

# Debian packages the integration tests need: the CNCF distribution registry, skopeo (the
# third-party client that seeds and cross-checks), htpasswd, openssl.
# The docker CLI (used without a daemon) comes with this kind of machine; docker.io is the
# Debian package that provides it elsewhere.
TEST_TOOLS = docker-registry skopeo htpasswd openssl python3 unshare docker
deps:
	@missing=""; for t in $(TEST_TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -z "$$missing" ]; then echo "test dependencies already installed"; else \
	    echo "installing test dependencies (missing:$$missing)"; \
	    apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	        docker-registry skopeo apache2-utils openssl python3 util-linux ca-certificates \
	        $$(command -v docker >/dev/null || echo docker.io); \
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
