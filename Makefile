# edgeup — build, test and demo on a Debian/Ubuntu machine.
#   make deps   install the system packages edgeup, its tests and the lab need (apt, as root)
#   make build  build edgeup (release binary at .build/release/edgeup)
#   make test   what CI runs: deps, a warning-free build, every test (root: the lab tests too)
#   make demo   the main job: a simulated fleet (the lab) converged by edgeup (root, Linux)

SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)

# Build: libssh2/OpenSSL headers. SSH tests: sshd, ssh, sudo. Lab: iproute2, util-linux (nsenter,
# unshare), tini, python3 + yaml/cryptography (tools and the k3s double), gcc (the double's ELF
# launcher), python3-pytest (its tests), tmux (the live view is tested on a real terminal). kubectl
# is checked separately (Debian: kubernetes-client).
APT_PACKAGES := libssh2-1-dev libssl-dev pkg-config openssh-server openssh-client sudo tini iproute2 \
                util-linux procps psmisc python3 python3-yaml python3-cryptography python3-pytest openssl \
                gcc libc6-dev tmux

.PHONY: deps build test demo clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v kubectl >/dev/null 2>&1 || missing="$$missing kubernetes-client"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps needs root to install:$$missing" >&2; exit 1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	fi
	@command -v swift >/dev/null || { echo "Swift 6 toolchain not found (expected at /opt/swift)" >&2; exit 1; }

build: deps
	swift build -c release

# The build must be warning-free: a warning fails the test run. Then the Swift tests (unit, CLI,
# SSH against sshd instances they start, edgeup against the lab) and the lab's own tests.
test: deps
	@set -o pipefail; log=$$(mktemp); swift build --build-tests 2>&1 | tee $$log; status=$$?; \
	  if grep -q "warning:" $$log; then echo "the build has warnings" >&2; status=1; fi; rm -f $$log; exit $$status
	swift test
	/usr/bin/python3 -m pytest -q -p no:cacheprovider lab/tests

demo: deps
	swift build -c release
	EDGEUP=$(CURDIR)/.build/release/edgeup lab/demo.sh

clean:
	rm -rf .build
