# edgeup — build, test and demo on a Debian/Ubuntu machine.
#   make deps   install the system packages edgeup, its tests and the lab need (apt, as root)
#   make build  build edgeup (release binary at .build/release/edgeup)
#   make test   what CI runs: deps, then every test
#   make demo   the main job: a simulated fleet (the lab) and edgeup run against it (root, Linux)

SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)

# libssh2/OpenSSL headers for the SSH layer; sshd/ssh for the tests' own servers; sudo for the
# sudo modes; iproute2/tini/python3 for the lab; kubectl (Debian: kubernetes-client) for kubeconfig tests.
APT_PACKAGES := libssh2-1-dev libssl-dev pkg-config openssh-server openssh-client sudo tini iproute2 \
                procps psmisc python3 python3-yaml python3-cryptography python3-pytest openssl

.PHONY: deps build test test-unit demo clean

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

# The build must be warning-free: a warning fails the test run.
test: deps
	@set -o pipefail; log=$$(mktemp); swift build --build-tests 2>&1 | tee $$log; status=$$?; \
	  if grep -q "warning:" $$log; then echo "the build has warnings" >&2; status=1; fi; rm -f $$log; exit $$status
	swift test

demo: deps
	swift build -c release
	@echo "The lab (simulated fleet) is not in this build yet: the demo validates the example inventories."
	.build/release/edgeup validate inventories/example.yaml inventories/coffee-shops.yaml

clean:
	rm -rf .build
