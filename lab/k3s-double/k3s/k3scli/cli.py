"""The `k3s` command line: dispatch to server, agent, kubectl, token, ctr/crictl."""
import os
import sys

from k3scli.agent import cmd_agent
from k3scli.cert import cmd_certificate
from k3scli.etcdsnapshot import cmd_etcd_snapshot
from k3scli.images import ctr_main
from k3scli.kube import die
from k3scli.kubectl import kubectl_main
from k3scli.server import cmd_server
from k3scli.token import cmd_token
from k3sd.log import now_rfc3339
from k3sd.service import set_comm
from k3sd.version import COMMIT, GO_VERSION, VERSION


def usage():
    print(f"""NAME:
   k3s - Kubernetes, but small and simple (edgeup lab test double)

USAGE:
   k3s [global options] command [command options]

VERSION:
   {VERSION} ({COMMIT})

COMMANDS:
   server   Run management server
   agent    Run node agent
   kubectl  Run kubectl
   token    Manage tokens
   etcd-snapshot  Manage etcd snapshots
   certificate    Manage K3s certificates
""")


def main(argv):
    prog = os.path.basename(os.environ.get("K3S_DOUBLE_ARGV0") or sys.argv[0])
    os.environ.pop("K3S_DOUBLE_ARGV0", None)
    set_comm(prog)                 # as the multi-call binary's own name (k3s, kubectl, ...)
    if prog == "kubectl":
        return kubectl_main(argv)
    if prog in ("crictl", "ctr"):
        return ctr_main(prog, argv)
    if not argv:
        usage()
        return 0
    # global flags before the command
    while argv and argv[0] in ("--debug", "--data-dir", "-d"):
        argv = argv[2:] if argv[0] != "--debug" else argv[1:]
    if not argv:
        usage()
        return 0
    a = argv[0]
    if a in ("--version", "-v", "version"):
        print(f"k3s version {VERSION} ({COMMIT})\ngo version {GO_VERSION}")
        return 0
    if a in ("-h", "--help", "help"):
        usage()
        return 0
    if a == "__sign":
        import json
        from k3scli.certs import sign_csr
        sys.stdout.write(sign_csr(json.load(sys.stdin)).decode())
        return 0
    if a == "server":
        return cmd_server(argv[1:])
    if a == "agent":
        return cmd_agent(argv[1:])
    if a == "kubectl":
        return kubectl_main(argv[1:])
    if a in ("crictl", "ctr"):
        return ctr_main(a, argv[1:])
    if a == "token":
        return cmd_token(argv[1:])
    if a == "etcd-snapshot":
        return cmd_etcd_snapshot(argv[1:])
    if a == "certificate":
        return cmd_certificate(argv[1:])
    if a in ("secrets-encrypt", "completion", "check-config"):
        die(f'time="{now_rfc3339()}" level=fatal msg="k3s {a} is not implemented by the edgeup lab\'s k3s double"')
    die(f"Incorrect Usage. No help topic for '{a}'", 1)
