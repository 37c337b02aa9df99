#!/usr/bin/env bash
# EdgeSSH vs plain OpenSSH on loopback sshd instances. Root and Linux only (it starts sshd).
#   Benchmarks/ssh/run.sh [--sessions 50,200,500,1000] [--servers 4] [--upload-mb 100]
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=/opt/swift/usr/bin:$PATH
swift build -c release --product edgeup-ssh-bench >&2
ulimit -n "$(ulimit -Hn)"
exec "$(swift build -c release --show-bin-path)/edgeup-ssh-bench" run "$@"
