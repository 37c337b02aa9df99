# edgeup — build, test and demo on a Debian/Ubuntu machine.
#   make deps   install the system packages edgeup, its tests and the lab need (apt, as root)
#   make build  build edgeup (release binary at .build/release/edgeup)
#   make release  the shipped binary: no Swift toolchain needed to run it (.build-release/edgeup),
#               with its man page and completions
#   make install  [PREFIX=/usr/local] [DESTDIR=] what make release built, and the playbooks
#   make deb    a .deb of the same (.build-release/edgeup_VERSION_ARCH.deb)
#   make test   what CI runs: deps, a warning-free build, every test (root: the lab tests too)
#   make demo   the main job: a simulated fleet (the lab) converged by edgeup (root, Linux)

SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)

# Build: libssh2/OpenSSL headers. SSH tests: sshd, ssh, sudo. Lab: iproute2, util-linux (nsenter,
# unshare), tini, python3 + yaml/cryptography (tools and the k3s double), gcc (the double's ELF
# launcher), python3-pytest (its tests), tmux (the live view is tested on a real terminal). kubectl
# is checked separately (Debian: kubernetes-client). man-db: the packaging test reads the man page.
APT_PACKAGES := libssh2-1-dev libssl-dev pkg-config openssh-server openssh-client sudo tini iproute2 \
                util-linux procps psmisc python3 python3-yaml python3-cryptography python3-pytest openssl \
                gcc libc6-dev tmux man-db

.PHONY: deps build test demo clean release install uninstall deb

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
# SSH against sshd instances they start, edgeup against the lab) and the lab's own tests. The
# release binary and .deb are built first, so PackagingTests' own `make deb` finds them up to date
# instead of building for minutes beside the lab tests.
test: deps
	@set -o pipefail; log=$$(mktemp); swift build --build-tests 2>&1 | tee $$log; status=$$?; \
	  if grep -q "warning:" $$log; then echo "the build has warnings" >&2; status=1; fi; rm -f $$log; exit $$status
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory deb; fi
	swift test
	/usr/bin/python3 -m pytest -q -p no:cacheprovider lab/tests

demo: deps
	swift build -c release
	EDGEUP=$(CURDIR)/.build/release/edgeup lab/demo.sh

clean:
	rm -rf .build $(RELEASE_DIR)

# The release binary, in its own build folder so the debug build stays as it is. The Swift runtime
# and Foundation are linked in (--static-swift-stdlib), and so are libssh2, libcrypto and the zlib
# libssh2 compresses with: pkg-config files of our own point the C modules at a folder holding only
# Debian's static archives (SwiftPM puts pkg-config's -L before any -Xlinker flag, so the system
# folder's .so would win otherwise). What stays dynamic is checked below: glibc (libc, libm; static
# glibc breaks getaddrinfo and getpwnam through NSS), and libstdc++ with libgcc_s, which the Swift
# runtime's static link line names (on every Debian/Ubuntu: apt itself needs them).
# Commit and date reach the binary as C defines (Sources/CEdgeupBuild); the date is the UTC day,
# or SOURCE_DATE_EPOCH's for a reproducible build.
RELEASE_DIR ?= .build-release
RELEASE_BIN := $(RELEASE_DIR)/edgeup
COMMIT := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
BUILD_DATE := $(shell date -u -d "@$${SOURCE_DATE_EPOCH:-$$(date +%s)}" +%Y-%m-%d)
RELEASE_FLAGS := -c release --static-swift-stdlib --scratch-path $(RELEASE_DIR) \
                 --pkg-config-path $(abspath $(RELEASE_DIR))/pkgconfig \
                 -Xcc -DEDGEUP_COMMIT='"$(COMMIT)"' -Xcc -DEDGEUP_BUILD_DATE='"$(BUILD_DATE)"'
DYNAMIC_OK := linux-vdso|ld-linux|libc\.so|libm\.so|libstdc\+\+\.so|libgcc_s\.so

release: deps
	@mkdir -p $(RELEASE_DIR)/static-libs $(RELEASE_DIR)/pkgconfig
	@for lib in libssh2.a libcrypto.a libz.a; do \
	  path=$$(gcc -print-file-name=$$lib); [ -f "$$path" ] || { echo "no $$lib (libssh2-1-dev, libssl-dev, zlib1g-dev)" >&2; exit 1; }; \
	  ln -sf "$$(realpath $$path)" $(RELEASE_DIR)/static-libs/$$lib; done
	@printf 'Name: libssh2\nDescription: libssh2, static\nVersion: static\nLibs: -L%s -lssh2 -lcrypto -lz\n' \
	  $(abspath $(RELEASE_DIR))/static-libs > $(RELEASE_DIR)/pkgconfig/libssh2.pc
	@printf 'Name: libcrypto\nDescription: OpenSSL libcrypto, static\nVersion: static\nLibs: -L%s -lcrypto\n' \
	  $(abspath $(RELEASE_DIR))/static-libs > $(RELEASE_DIR)/pkgconfig/libcrypto.pc
	swift build $(RELEASE_FLAGS) --product edgeup
	strip -o $(RELEASE_BIN) $(RELEASE_DIR)/release/edgeup
	@if ldd $(RELEASE_BIN) | grep -vE '$(DYNAMIC_OK)'; then echo "$(RELEASE_BIN) links the above dynamically" >&2; exit 1; fi
	@rm -rf $(RELEASE_DIR)/man $(RELEASE_DIR)/completions; mkdir -p $(RELEASE_DIR)/man $(RELEASE_DIR)/completions
	@# The man page comes from the command definitions, by the tool behind ArgumentParser's
	@# generate-manual plugin, run on this binary: the plugin itself would build the package once
	@# more (`swift package` takes no --static-swift-stdlib, so nothing built here would be reused).
	swift build $(RELEASE_FLAGS) --product generate-manual
	$(RELEASE_DIR)/release/generate-manual $(RELEASE_BIN) --date $(BUILD_DATE) --output-directory $(RELEASE_DIR)/man
	gzip -9nf $(RELEASE_DIR)/man/edgeup.1
	$(RELEASE_BIN) --generate-completion-script bash > $(RELEASE_DIR)/completions/edgeup
	$(RELEASE_BIN) --generate-completion-script zsh > $(RELEASE_DIR)/completions/_edgeup
	$(RELEASE_BIN) --generate-completion-script fish > $(RELEASE_DIR)/completions/edgeup.fish
	@ls -l $(RELEASE_BIN); ldd $(RELEASE_BIN)

# Installs what `make release` built (it builds nothing, so `sudo make install` leaves no root-owned
# build files), the playbooks, which edgeup finds at <bindir>/../share/edgeup/playbooks, and the
# README and playbook reference the starter inventory of `edgeup init` points at.
# Completions go where bash-completion, zsh and fish look under PREFIX (Debian's zsh also reads
# /usr/share/zsh/vendor-completions, which the .deb uses).
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR := $(DESTDIR)$(PREFIX)/bin
DATADIR := $(DESTDIR)$(PREFIX)/share
ZSH_COMPLETIONS ?= $(PREFIX)/share/zsh/site-functions

install:
	@[ -x $(RELEASE_BIN) ] && [ -f $(RELEASE_DIR)/man/edgeup.1.gz ] || { echo "run make release first" >&2; exit 1; }
	install -Dm755 $(RELEASE_BIN) $(BINDIR)/edgeup
	install -Dm644 $(RELEASE_DIR)/man/edgeup.1.gz $(DATADIR)/man/man1/edgeup.1.gz
	install -Dm644 $(RELEASE_DIR)/completions/edgeup $(DATADIR)/bash-completion/completions/edgeup
	install -Dm644 $(RELEASE_DIR)/completions/_edgeup $(DESTDIR)$(ZSH_COMPLETIONS)/_edgeup
	install -Dm644 $(RELEASE_DIR)/completions/edgeup.fish $(DATADIR)/fish/vendor_completions.d/edgeup.fish
	rm -rf $(DATADIR)/edgeup/playbooks
	cd playbooks && find . -type f | while read -r f; do install -Dm644 "$$f" "$(abspath $(DATADIR))/edgeup/playbooks/$$f"; done
	install -Dm644 -t $(DATADIR)/doc/edgeup README.md docs/PLAYBOOKS.md

uninstall:
	rm -f $(BINDIR)/edgeup $(DATADIR)/man/man1/edgeup.1.gz $(DATADIR)/bash-completion/completions/edgeup \
	  $(DESTDIR)$(ZSH_COMPLETIONS)/_edgeup $(DATADIR)/fish/vendor_completions.d/edgeup.fish
	rm -rf $(DATADIR)/edgeup $(DATADIR)/doc/edgeup

# A .deb of the same files under /usr, made with dpkg-deb alone. Its version is the binary's own
# (0.1.0-dev becomes 0.1.0~dev, which sorts before 0.1.0). Depends: what ldd shows beyond the
# loader (glibc 2.35: Ubuntu 22.04's; GLIBCXX_3.4.30: gcc 12's libstdc++). openssh-client is for
# hosts with `transport: openssh` and `edgeup ssh` there (libssh2 is built in); kubectl is
# Debian's kubernetes-client.
DEB_ROOT := $(RELEASE_DIR)/deb-root
DEB_MAINTAINER ?= edgeup maintainers <maintainers@edgeup.invalid>

deb: release
	rm -rf $(DEB_ROOT) $(RELEASE_DIR)/edgeup_*.deb
	$(MAKE) --no-print-directory install DESTDIR=$(abspath $(DEB_ROOT)) PREFIX=/usr ZSH_COMPLETIONS=/usr/share/zsh/vendor-completions
	@version=$$($(RELEASE_BIN) --version | sed -n '1s/^edgeup //p' | tr - '~'); arch=$$(dpkg --print-architecture); \
	mkdir -p $(DEB_ROOT)/DEBIAN; \
	printf '%s\n' "Package: edgeup" "Version: $$version" "Architecture: $$arch" \
	  "Maintainer: $(DEB_MAINTAINER)" \
	  "Installed-Size: $$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1)" \
	  "Depends: libc6 (>= 2.35), libstdc++6 (>= 12), libgcc-s1" "Recommends: openssh-client" \
	  "Suggests: kubernetes-client | kubectl" "Section: admin" "Priority: optional" \
	  "Description: bootstrap and keep converged k3s clusters across a fleet of edge sites" \
	  " edgeup installs k3s over SSH on the stores of a YAML inventory, through gateway" \
	  " chains, in parallel: single-server and HA clusters, agents, playbooks, upgrades," \
	  " certificate renewal, backups and merged kubeconfigs." > $(DEB_ROOT)/DEBIAN/control; \
	dpkg-deb --root-owner-group -Zxz --build $(DEB_ROOT) $(RELEASE_DIR)/edgeup_$${version}_$$arch.deb
	@ls -l $(RELEASE_DIR)/*.deb
