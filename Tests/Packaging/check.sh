#!/usr/bin/env bash
# The shipped edgeup, checked the way an operator gets it (issue 19). Root, on Debian/Ubuntu; run
# by PackagingTests (EdgeupCLITests). Builds with `make release deb`, which is quick when `make test`
# has built them first.
#   1. the release binary: only glibc, libstdc++ and libgcc_s dynamic; with /opt/swift hidden (a
#      mount namespace with a tmpfs over it) and no swift on PATH it validates the shipped
#      inventories and runs `edgeup init` + `validate` — while the toolchain-linked build
#      ($EDGEUP_TOOLCHAIN_BUILD, when given) does not start there, so the mask is real;
#   2. make install into a DESTDIR under another PREFIX finds its installed playbooks;
#   3. apt-get install ./edgeup_*.deb: man edgeup, edgeup --version, the bash completion, the
#      installed playbooks; then apt-get purge, and every path dpkg -L listed is gone.
set -euo pipefail
cd "$(dirname "$0")/../.."
release_dir=.build-release
scratch=$(mktemp -d /tmp/edgeup-packaging-XXXXXX)
installed=false
cleanup() {
    if $installed; then apt-get purge -y -qq edgeup >/dev/null 2>&1 || true; fi
    rm -rf "$scratch"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# An inventory naming a shipped playbook, in a folder with no playbooks/ of its own.
fleet=$scratch/fleet
mkdir -p "$fleet"
printf '%s\n' 'defaults: {playbooks: [baseline]}' 'stores:' \
    '  - {name: s1, hosts: [{address: 10.0.0.1, role: server}]}' > "$fleet/inventory.yaml"

make release deb > "$scratch/make.log" 2>&1 || { tail -40 "$scratch/make.log" >&2; fail "make release deb"; }
binary=$release_dir/edgeup
deb=$(ls "$PWD/$release_dir"/edgeup_*.deb)
[ "$(echo "$deb" | wc -l)" = 1 ] || fail "expected one .deb in $release_dir, found: $deb"
ok "built $binary ($(stat -c %s "$binary") bytes) and $(basename "$deb") ($(stat -c %s "$deb") bytes)"

# 1. The release binary without the toolchain.
if ldd "$binary" | grep -vE 'linux-vdso|ld-linux|libc\.so|libm\.so|libstdc\+\+\.so|libgcc_s\.so'; then
    fail "$binary links the libraries above dynamically"
fi
! readelf -S "$binary" | grep -q '\.symtab' || fail "$binary is not stripped (it has a symbol table)"
ok "ldd: only $(ldd "$binary" | awk '/=>/ {print $1}' | tr '\n' ' ')"
hidden=$(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$scratch" TOOLCHAIN_BUILD="${EDGEUP_TOOLCHAIN_BUILD:-}" \
    unshare -m bash -c '
    set -e
    mount -t tmpfs tmpfs /opt/swift
    [ -z "$(ls -A /opt/swift)" ] && ! command -v swift >/dev/null
    if [ -n "$TOOLCHAIN_BUILD" ] && "$TOOLCHAIN_BUILD" --version >/dev/null 2>&1; then
        echo "the toolchain-linked build still runs: /opt/swift is not hidden"; exit 1
    fi
    '"$binary"' validate inventories/example.yaml inventories/coffee-shops.yaml
    '"$binary"' init '"$scratch"'/started >/dev/null
    '"$binary"' validate '"$scratch"'/started/inventory.yaml
    '"$binary"' version
    ' 2>&1) || fail "with /opt/swift hidden: $hidden"
grep -q "^valid: 2 files: 51 stores" <<<"$hidden" || fail "validate with /opt/swift hidden: $hidden"
grep -q "^valid: $scratch/started/inventory.yaml: 1 store" <<<"$hidden" || fail "init + validate with /opt/swift hidden: $hidden"
grep -q "^libssh2: 1\." <<<"$hidden" && grep -q "^OpenSSL: OpenSSL 3" <<<"$hidden" || fail "version: $hidden"
ok "with /opt/swift hidden: validate, init + validate and version run"
grep -qE "^commit:  [0-9a-f]{7}" <<<"$hidden" && grep -qE "^built:   [0-9]{4}-[0-9]{2}-[0-9]{2}$" <<<"$hidden" \
    || fail "the release binary does not know its commit and build date: $hidden"
ok "version names the commit and the build date"

# 2. make install under another PREFIX: the binary finds <prefix>/share/edgeup/playbooks.
make --no-print-directory install DESTDIR="$scratch/root" PREFIX=/opt/edgeup > "$scratch/install.log" 2>&1 \
    || { cat "$scratch/install.log" >&2; fail "make install"; }
for f in bin/edgeup share/man/man1/edgeup.1.gz share/bash-completion/completions/edgeup \
    share/zsh/site-functions/_edgeup share/fish/vendor_completions.d/edgeup.fish share/edgeup/playbooks/baseline.yaml \
    share/doc/edgeup/README.md share/doc/edgeup/PLAYBOOKS.md; do
    [ -f "$scratch/root/opt/edgeup/$f" ] || fail "make install did not write $f"
done
out=$(cd "$fleet" && "$scratch/root/opt/edgeup/bin/edgeup" validate inventory.yaml 2>&1) \
    || fail "an installed edgeup does not find its playbooks: $out"
ok "make install DESTDIR=… PREFIX=/opt/edgeup: the installed binary finds share/edgeup/playbooks ($out)"

# 3. The .deb, installed for real.
if dpkg -s edgeup >/dev/null 2>&1; then fail "the edgeup package is installed already: remove it first (apt-get purge edgeup)"; fi
installed=true
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$deb" > "$scratch/apt.log" 2>&1 \
    || { cat "$scratch/apt.log" >&2; fail "apt-get install $deb"; }
version=$(/usr/bin/edgeup --version | head -1)
[ "$version" = "edgeup $(dpkg-query -W -f '${Version}' edgeup | tr '~' -)" ] || fail "edgeup --version says '$version'"
ok "apt-get install ./$(basename "$deb"): $version"
MANWIDTH=100 man -P cat edgeup 2>/dev/null | grep -q "Write a commented starter inventory" || fail "man edgeup lacks the init command"
ok "man edgeup"
words=$(bash -c 'source /usr/share/bash-completion/completions/edgeup
    COMP_WORDS=(edgeup val); COMP_CWORD=1; COMP_LINE="edgeup val"; COMP_POINT=${#COMP_LINE}
    _edgeup edgeup val edgeup; echo "${COMPREPLY[*]}"
    COMP_WORDS=(edgeup validate --output ""); COMP_CWORD=3; COMP_LINE="edgeup validate --output "; COMP_POINT=${#COMP_LINE}
    COMPREPLY=(); _edgeup edgeup "" --output; echo "${COMPREPLY[*]}"')
[ "$words" = $'validate\ntext json' ] || fail "bash completion offers '$words'"
ok "bash completion: edgeup val<TAB> → validate; --output <TAB> → text json"
out=$(cd "$fleet" && /usr/bin/edgeup validate inventory.yaml 2>&1) || fail "the package's playbooks are not found: $out"
ok "the package's edgeup finds /usr/share/edgeup/playbooks"

dpkg -L edgeup > "$scratch/files"
apt-get purge -y -qq edgeup > "$scratch/apt.log" 2>&1 || { cat "$scratch/apt.log" >&2; fail "apt-get purge edgeup"; }
installed=false
left=""
while read -r path; do
    [ -e "$path" ] || [ -L "$path" ] || continue
    # A folder edgeup shared with other packages or files (/usr/share/man/man1) stays, rightly.
    if [ -d "$path" ] && { dpkg -S "$path" >/dev/null 2>&1 || [ -n "$(ls -A "$path")" ]; }; then continue; fi
    left="$left $path"
done < "$scratch/files"
[ -z "$left" ] || fail "left behind after apt-get purge:$left"
for path in /usr/bin/edgeup /usr/share/edgeup /usr/share/doc/edgeup; do [ ! -e $path ] || fail "left behind after apt-get purge: $path"; done
ok "apt-get purge edgeup: all $(wc -l < "$scratch/files") paths dpkg -L listed are gone (shared folders excepted)"
