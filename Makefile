# manifest-tool for Rust. `make demo` runs the main job; `make test` runs every test.
CARGO ?= cargo

.PHONY: all build binary static static-deps static-smoke release demo deps test lint fmt clean

all: build

build:
	$(CARGO) build

# The man page, written from the help pages and the flag table (examples/man.rs):
# `man ./manifest-tool.1`; install it as $(PREFIX)/share/man/man1/manifest-tool.1.
MAN_PAGE ?= manifest-tool.1
.PHONY: man
man:
	$(CARGO) run --quiet --example man >$(MAN_PAGE).tmp
	mv $(MAN_PAGE).tmp $(MAN_PAGE)

# The Go tool's two build targets. `make binary`: the release build for this machine,
# target/release/manifest-tool (on Linux linked against the system's glibc, so not static).
binary:
	$(CARGO) build --release

# `make static`: a static musl executable for this machine's CPU with the stable toolchain,
# target/<cpu>-unknown-linux-musl/release/manifest-tool. Linux only; `static-deps` adds the
# musl target to rustup and Debian's musl-tools (musl-gcc compiles ring's C code). Not size
# tuned: the release assets, with their 2 MB limit, are built by `make cross`.
HOST_TRIPLE = $(shell rustc -vV | sed -n 's/^host: //p')
MUSL_TARGET = $(subst -gnu,-musl,$(HOST_TRIPLE))
STATIC_BINARY = $(or $(CARGO_TARGET_DIR),target)/$(MUSL_TARGET)/release/manifest-tool
static: static-deps
	CC_$(subst -,_,$(MUSL_TARGET))=musl-gcc $(CARGO) build --release --target $(MUSL_TARGET)
	@ldd $(STATIC_BINARY) 2>&1 | grep -Eq 'statically linked|not a dynamic executable' || \
	    { echo "$(STATIC_BINARY) is not static" >&2; exit 1; }
	@echo "static binary: $(STATIC_BINARY)"

# `make static`, then the static binary runs the main job: `make test` runs this, so the static
# build is shown to work (and to be static) on a fresh machine.
static-smoke: static
	$(STATIC_BINARY) --version
	rm -rf target/demo
	$(STATIC_BINARY) push from-spec examples/demo.yaml
	$(STATIC_BINARY) inspect --format platforms oci-layout://target/demo:latest

static-deps:
	@case "$(MUSL_TARGET)" in *-linux-musl*) ;; *) echo "make static builds on Linux only (host $(HOST_TRIPLE))" >&2; exit 1;; esac
	@rustup target list --installed | grep -qx '$(MUSL_TARGET)' || rustup target add $(MUSL_TARGET)
	@command -v musl-gcc >/dev/null || { \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends musl-tools; }

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
TEST_TOOLS = docker-registry skopeo htpasswd openssl python3 unshare ip docker
deps:
	@missing=""; for t in $(TEST_TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -z "$$missing" ]; then echo "test dependencies already installed"; else \
	    echo "installing test dependencies (missing:$$missing)"; \
	    apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	        docker-registry skopeo apache2-utils openssl python3 util-linux iproute2 ca-certificates \
	        $$(command -v docker >/dev/null || echo docker.io); \
	fi

# Every test, on a fresh Debian machine too (it installs what it needs first): formatting,
# lints, unit tests and the integration tests against real registries, then the release checks
# (linux-arm64 built and run under qemu, signing, installer, workflow lint).
test: deps lint
	$(CARGO) test --all-targets
	$(MAKE) --no-print-directory ci-cross-deps
	$(MAKE) --no-print-directory ci-cross
	$(MAKE) --no-print-directory static-smoke

# Rewrite the generated tables of docs/reliability.md from a fresh run of the fault matrix and
# the kill scenarios (tests/faults.rs); review the diff before committing it. `make test` only
# checks them.
.PHONY: reliability-doc
reliability-doc: deps
	$(CARGO) test --test faults -- --ignored --exact regenerate_reliability_doc

# Rewrite the attack tables of docs/security.md from the list in tests/security_doc.rs; review
# the diff before committing it. `make test` only checks them.
.PHONY: security-doc
security-doc:
	$(CARGO) test --test security_doc -- --ignored --exact regenerate_security_doc

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt:
	$(CARGO) fmt

clean:
	$(CARGO) clean
	rm -rf dist

# Fuzzing (cargo-fuzz, libFuzzer; nightly toolchain). Targets and the properties they check:
# fuzz/checks.rs. New inputs go to fuzz/corpus-work/ (ignored); the seeds in fuzz/corpus/ are
# also run by `cargo test` (tests/fuzz_corpus.rs). A crash is saved under fuzz/artifacts/TARGET/:
# add it to fuzz/corpus/TARGET/ with the fix, so it stays a regression input.
FUZZ_TARGETS = reference challenge http_date spec manifest docker_config digest location
CARGO_FUZZ_VERSION = 0.13.1
FUZZ_TOOLCHAIN ?= nightly
FUZZ_SECONDS ?= 600

.PHONY: fuzz-deps fuzz-smoke fuzz

fuzz-deps:
	@cargo fuzz --version 2>/dev/null | grep -q "$(CARGO_FUZZ_VERSION)" || \
	    $(CARGO) install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --locked

# A few seconds per target: does every target build and survive its corpus and a short run.
fuzz-smoke: fuzz-deps
	@$(MAKE) --no-print-directory FUZZ_SECONDS=5 fuzz

# FUZZ_SECONDS per target, one target after another (libFuzzer uses one core each).
fuzz: fuzz-deps
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p fuzz/corpus-work/$$t && \
	    echo "== fuzzing $$t for $(FUZZ_SECONDS) s" && \
	    $(CARGO) +$(FUZZ_TOOLCHAIN) fuzz run $$t fuzz/corpus-work/$$t fuzz/corpus/$$t -- \
	        -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	        || exit 1; \
	done

# Mutation testing (cargo-mutants): small bugs put one at a time into the modules whose unit tests
# run in seconds (.cargo/mutants.toml lists them), each checked against `cargo test --lib`.
# Results go to mutants.out/; the last score and every survivor are in docs/mutants.md. Not part
# of `make test` (about half an hour on two cores). MUTANTS_JOBS mutants are built at once.
CARGO_MUTANTS_VERSION = 25.3.1
MUTANTS_JOBS ?= 1

.PHONY: mutants-deps mutants

# cargo-mutants at the pinned version; skipped when that version is already installed.
mutants-deps:
	@cargo mutants --version 2>/dev/null | grep -q "$(CARGO_MUTANTS_VERSION)" || \
	    $(CARGO) install cargo-mutants --version $(CARGO_MUTANTS_VERSION) --locked

# The 4 GiB memory limit turns a mutant that makes a parser loop allocate forever into a quick
# failure instead of a machine out of memory. cargo-mutants exits 3 when a mutant made the tests
# hang, even if others were missed: a hang counts as caught, so only mutants.out/missed.txt fails.
mutants: mutants-deps
	@ulimit -v 4194304; $(CARGO) mutants --jobs $(MUTANTS_JOBS); rc=$$?; \
	    if [ $$rc -eq 3 ] && [ ! -s mutants.out/missed.txt ]; then \
	        echo "no mutant missed (the timeouts above made the tests hang, which counts as caught)"; \
	    elif [ $$rc -eq 3 ]; then exit 2; else exit $$rc; fi

# Benchmark against docker manifest, buildah and skopeo on a local registry, on loopback and
# through a latency-injecting proxy; writes bench/RESULTS.md. It reports, never fails on a
# timing (bench/README.md). BENCH_RUNS=N runs per cell; BENCH_QUICK=1 for a smoke run.
# bench-deps adds the peers and GNU time (for peak RSS) that the test dependencies lack.
.PHONY: bench bench-deps
bench: deps bench-deps
	python3 bench/bench.py

bench-deps:
	@if command -v buildah >/dev/null && [ -x /usr/bin/time ]; then echo "bench peers already installed"; else \
	    echo "installing buildah and time for the benchmark"; \
	    { apt-get update -qq && \
	      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends buildah time; } || \
	    echo "could not install buildah and time: the benchmark runs without them"; \
	fi

# --- Release binaries: cross/ holds the scripts, cross/versions.env the pinned tools ---
# The static binaries are built without a container engine: linux-arm64 on the stable-std
# route (pinned stable rebuilds std, clang, rust-lld); every other platform on the build-std
# route (pinned nightly rebuilds std, zig links). All Linux binaries are static musl
# executables; the static-glibc fallback is not used. cross/build.sh says why each route.
DIST ?= dist
CROSS_TOOLS ?= $(HOME)/.cache/manifest-tool-cross
# The Go manifest-tool's release set, under its asset names, less what cannot be built and run
# here (README: windows-amd64.exe).
CROSS_PLATFORMS = linux-amd64 linux-386 linux-armv5 linux-armv6 linux-armv7 linux-arm64 \
	linux-ppc64le linux-s390x linux-riscv64 linux-loong64 linux-mips64le darwin-amd64 darwin-arm64 \
	windows-amd64
# The tools `make cross-deps` installs outside the system (zig, cargo-zigbuild, actionlint).
WITH_CROSS_TOOLS = env PATH="$(CROSS_TOOLS)/bin:$(CROSS_TOOLS)/venv/bin:$$PATH"
HEAD_COMMIT = $(shell git rev-parse --short=12 HEAD 2>/dev/null)

.PHONY: cross-deps cross cross-smoke reproducible-check release-sign verify-release \
	test-release test-install lint-workflows ci-cross-deps ci-cross release-installer \
	image test-image

# Everything below, pinned: Debian packages, Rust toolchains, zig, cargo-zigbuild, actionlint.
cross-deps:
	cross/deps.sh

# Every binary of the release set into $(DIST)/manifest-tool-OS-ARCH (old binaries and
# signatures removed).
cross:
	rm -f $(DIST)/manifest-tool-* $(DIST)/SHA256SUMS $(DIST)/SHA256SUMS.asc
	$(WITH_CROSS_TOOLS) cross/build.sh -o $(DIST) $(CROSS_PLATFORMS)

# Each binary: size limit, static / Mach-O checks, and under qemu a real inspect and push
# against a local docker-registry (cross/smoke.sh); the Windows one under wine, with a
# credential helper (cross/smoke-windows.sh).
cross-smoke:
	EXPECT_COMMIT=$(HEAD_COMMIT) cross/smoke.sh -d $(DIST)

# Build REPRO_PLATFORMS twice, from two copies of the tree at different paths into different
# target dirs, and compare sha256 (cross/reproducible.sh).
REPRO_PLATFORMS ?= linux-arm64
reproducible-check:
	$(WITH_CROSS_TOOLS) cross/reproducible.sh $(REPRO_PLATFORMS)

# $(DIST)/image: a multi-platform OCI image layout of the tool, one image per Linux binary of
# $(DIST) (FROM scratch, /manifest-tool as entrypoint), joined by the tool's own push
# (cross/image.sh).
image:
	cross/image.sh -d $(DIST)

# Two builds of the image byte-identical; its platforms, entrypoint and layers (the binaries
# of $(DIST)); binaries taken out of the layers run under qemu.
test-image:
	cross/test-image.sh $(DIST)

# dist/: the binaries, SHA256SUMS, and *.asc signatures by $GNUPGHOME's default key (or GPG_KEY).
# (In sequence, also under make -j.)
release:
	$(MAKE) --no-print-directory cross
	$(MAKE) --no-print-directory release-sign

release-sign:
	cross/release.sh sign $(DIST)

# Checksums and signatures of $(DIST); RELEASE_PUBKEY=FILE checks against that key only.
verify-release:
	cross/release.sh verify $(DIST)

# $(DIST)/install.sh: install.sh with the project's GitHub repository (REPO=owner/name) filled
# in, as the release workflow publishes it.
REPO ?=
release-installer:
	@echo "$(REPO)" | grep -Eqx '[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+' || \
	    { echo "make release-installer needs REPO=owner/name, not '$(REPO)'" >&2; exit 1; }
	mkdir -p $(DIST)
	sed 's|^GITHUB_REPO_DEFAULT=OWNER/manifest-tool$$|GITHUB_REPO_DEFAULT=$(REPO)|' install.sh >$(DIST)/install.sh
	grep -qx 'GITHUB_REPO_DEFAULT=$(REPO)' $(DIST)/install.sh

# Throwaway key: sign, verify, and refuse tampered releases (binaries of $(DIST) if any).
test-release:
	cross/test-release.sh $(DIST)

# install.sh against a local http.server: good, tampered and forged releases.
test-install:
	cross/test-install.sh

# actionlint (which runs shellcheck on the workflow's steps) and shellcheck on the release scripts.
lint-workflows:
	$(WITH_CROSS_TOOLS) actionlint
	shellcheck -x cross/*.sh
	shellcheck -s sh install.sh

# The CI subset: linux-arm64 built on the stable-std route and smoke-tested under qemu,
# windows-amd64 built on the mingw route and smoke-tested under wine, the signing and installer
# tests, and actionlint. Installs: `make ci-cross-deps` (cross/deps.sh --ci).
CI_DIST = target/ci-dist
ci-cross-deps:
	cross/deps.sh --ci

ci-cross:
	rm -rf $(CI_DIST)
	cross/build.sh -o $(CI_DIST) linux-arm64 windows-amd64
	EXPECT_COMMIT=$(HEAD_COMMIT) cross/smoke.sh -d $(CI_DIST)
	cross/test-release.sh $(CI_DIST)
	cross/test-install.sh $(CI_DIST)
	$(MAKE) --no-print-directory lint-workflows
