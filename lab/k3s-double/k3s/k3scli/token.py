"""`k3s token`: list, create, delete, generate, rotate."""
import hashlib
import json
import os
import time

from k3scli.config import ConfigError, load_config
from k3scli.kube import Kube, KubeError, die
from k3scli.kubectl import parse_duration
from k3sd.files import Paths, read_file
from k3sd.log import now_rfc3339


def cmd_token(args):
    if not args or args[0] in ("-h", "--help"):
        print("NAME:\n   k3s token - Manage tokens\n\nCOMMANDS:\n   create, delete, generate, list, rotate")
        return 0
    sub, rest = args[0], args[1:]
    opts = {}
    i = 0
    while i < len(rest):
        a = rest[i]
        k, eq, v = a.partition("=")
        if k.startswith("--"):
            if not eq and k not in ("--help",):
                i += 1
                v = rest[i] if i < len(rest) else ""
            opts[k[2:]] = v
        else:
            opts.setdefault("_pos", []).append(a)
        i += 1
    if sub == "generate":
        print(f"{os.urandom(3).hex()}.{os.urandom(8).hex()}")
        return 0
    data_dir = opts.get("data-dir", "/var/lib/rancher/k3s")
    P = Paths(data_dir)
    K = Kube(opts.get("kubeconfig") or os.environ.get("KUBECONFIG") or "/etc/rancher/k3s/k3s.yaml")
    try:
        if sub == "list":
            toks = json.loads(K.req("POST", "/v1-lab/token", {"op": "list"}))
            print(f"{'TOKEN':<24} {'TTL':<8} {'EXPIRES':<21} {'USAGES':<30} {'DESCRIPTION':<12} EXTRA GROUPS")
            for t in toks:
                ttl = "<forever>" if not t.get("expires") else f"{max(0, int(t['expires'] - time.time())) // 3600}h"
                exp = "<never>" if not t.get("expires") else now_rfc3339(t["expires"])
                print(f"{t['id'] + '.<redacted>':<24} {ttl:<8} {exp:<21} {','.join(t['usages']):<30} {t['description'] or '<none>':<12} system:bootstrappers:k3s:default-node-token")
            return 0
        if sub == "create":
            ttl = parse_duration(opts.get("ttl", "24h"))
            t = json.loads(K.req("POST", "/v1-lab/token", {"op": "create", "ttl": ttl, "description": opts.get("description", "")}))
            ca = read_file(P.ca) or K.req("GET", "/cacerts")
            print(f"K10{hashlib.sha256(ca).hexdigest()}::{t['token']}")
            return 0
        if sub == "delete":
            for tid in opts.get("_pos", []):
                K.req("POST", "/v1-lab/token", {"op": "delete", "id": tid.split(".")[0]})
                print(f"Token {tid} deleted")
            return 0
        if sub == "rotate":
            new = opts.get("new-token")
            if not new:
                die("time=\"%s\" level=fatal msg=\"--new-token is required\"" % now_rfc3339())
            old = opts.get("token") or os.environ.get("K3S_TOKEN")
            if not old:
                try:
                    old = load_config([], "server")[0].get("token")
                except ConfigError:
                    old = None
            if not old:
                die("time=\"%s\" level=fatal msg=\"--token is required\"" % now_rfc3339())
            K.req("POST", "/v1-lab/token", {"op": "rotate", "old": old, "new": new})
            print("Token rotated, restart k3s nodes with new token")
            return 0
    except KubeError as e:
        die(f'time="{now_rfc3339()}" level=fatal msg="{e.msg}"')
    die(f"No help topic for '{sub}'")
