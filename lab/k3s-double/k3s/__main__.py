"""k3s test double for the edgeup lab (see lab/README.md, "The k3s test double"): the `k3s` command.

Honours k3s's interface as edgeup sees it: CLI (server, agent, kubectl, token, --version), config
files (/etc/rancher/k3s/config.yaml + config.yaml.d/*.yaml, `key+:` appends, CLI overrides), the
files k3s writes (k3s.yaml, token, node-token), a TLS API on :6443 with client-certificate auth
(enough for a real kubectl), secure-token joins (CA hash verified), one etcd learner at a time,
SQLite servers that cannot be joined by servers, critical-setting checks, heartbeats and NotReady.

./build zips this folder into the launcher; the launcher runs `python3 -I` on the archive. The CLI
(k3scli) bootstraps with full Python (YAML, certificates), then `server`/`agent` exec the lean
program in lean/ (k3sd, stdlib only) to keep the long-running process small.
"""
import os
import sys

sys.path.insert(1, os.path.join(sys.path[0], "lean"))  # the CLI uses the lean part's modules too

from k3scli.cli import main  # noqa: E402 (needs lean/ on sys.path)

try:
    sys.exit(main(sys.argv[1:]))
except BrokenPipeError:
    sys.exit(0)
except KeyboardInterrupt:
    sys.exit(130)
