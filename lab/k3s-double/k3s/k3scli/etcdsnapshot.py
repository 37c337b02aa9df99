"""`k3s etcd-snapshot [save] | ls | delete | prune`: like k3s's pkg/cli/etcdsnapshot, a client of the local
server's /db/snapshot endpoint, authenticated with the server token read from the data dir."""
import hashlib
import json
import os

from k3scli.config import CONFIG_FILE, resolve_data_dir, subcommand_config
from k3sd.client import HTTPError, client_ctx, https
from k3sd.log import fatal, logmsg
from k3sd.tokens import basic, parse_token

# the flags of `k3s etcd-snapshot` the double knows (name → (kind, canonical)); aliases as k3s's
FLAGS = {"debug": ("b", "debug"), "config": ("s", "config"), "c": ("s", "config"), "data-dir": ("s", "data-dir"),
         "d": ("s", "data-dir"), "node-name": ("s", "node-name"), "name": ("s", "name"),
         "dir": ("s", "etcd-snapshot-dir"), "etcd-snapshot-dir": ("s", "etcd-snapshot-dir"),
         "snapshot-compress": ("b", "etcd-snapshot-compress"), "etcd-snapshot-compress": ("b", "etcd-snapshot-compress"),
         "snapshot-retention": ("i", "etcd-snapshot-retention"), "etcd-snapshot-retention": ("i", "etcd-snapshot-retention"),
         "etcd-server": ("s", "etcd-server"), "s": ("s", "etcd-server"), "etcd-token": ("s", "etcd-token"),
         "t": ("s", "etcd-token"), "output": ("s", "output"), "o": ("s", "output")}
SUBCOMMANDS = {"save": "save", "delete": "delete", "ls": "list", "list": "list", "l": "list", "prune": "prune"}


def parse(args):
    opts, pos, i = {}, [], 0
    while i < len(args):
        a = args[i]
        i += 1
        if not a.startswith("-") or a == "-":
            pos.append(a)
            continue
        name, eq, val = a.lstrip("-").partition("=")
        if name not in FLAGS:
            fatal(f"flag provided but not defined: -{name}")
        kind, canon = FLAGS[name]
        if not eq and kind != "b":
            if i >= len(args):
                fatal(f"flag needs an argument: -{name}")
            val, i = args[i], i + 1
        opts[canon] = (val or "true").lower() in ("true", "1") if kind == "b" else val
    return opts, pos


def go_dial_error(url, e):
    hostport = url[8:].split("/", 1)[0]
    reason = "i/o timeout" if isinstance(e, TimeoutError) else (e.strerror or str(e)).lower()
    return f'Get \\"{url}\\": dial tcp {hostport}: connect: {reason}'


def cmd_etcd_snapshot(args):
    sub = "save"
    if args and not args[0].startswith("-"):
        if args[0] not in SUBCOMMANDS:
            fatal(f"No help topic for '{args[0]}'")
        sub, args = SUBCOMMANDS[args[0]], args[1:]
    cli, pos = parse(args)
    opts = subcommand_config(cli.get("config") or os.environ.get("K3S_CONFIG_FILE") or CONFIG_FILE, FLAGS)
    opts.update(cli)
    if sub == "save" and pos:
        fatal("this command does not take any arguments")
    if sub == "delete" and not pos:
        fatal("no snapshots given for removal")
    if sub == "list" and opts.get("output") not in (None, "json", "yaml", "table"):
        fatal("invalid output format: " + opts["output"])
    token = opts.get("etcd-token")
    if not token:
        p = os.path.join(resolve_data_dir(opts.get("data-dir")), "server", "token")
        try:
            with open(p) as f:
                token = f.read().rstrip("\n")
        except OSError as e:
            fatal(f"open {p}: {e.strerror.lower()}")
    cahash, _, secret = parse_token(token)
    server = opts.get("etcd-server", "https://127.0.0.1:6443").rstrip("/")
    try:
        ca = https("GET", server + "/cacerts", timeout=10)[2]
    except HTTPError as e:
        fatal(f"failed to get CA certs: {server}/cacerts: {e.status}")
    except OSError as e:
        fatal(f"failed to get CA certs: {go_dial_error(server + '/cacerts', e)}")
    got = hashlib.sha256(ca).hexdigest()
    if cahash and cahash != got:
        fatal(f"token CA hash does not match the Cluster CA certificate hash: {cahash} != {got}")
    req = {"operation": sub}
    if sub == "delete":
        req["name"] = pos
    elif sub in ("save", "prune"):
        req["name"] = [opts.get("name", "on-demand")]
    if "etcd-snapshot-dir" in opts:
        req["dir"] = opts["etcd-snapshot-dir"]
    if "etcd-snapshot-compress" in opts:
        req["compress"] = bool(opts["etcd-snapshot-compress"])
    if sub == "save":
        req["retention"] = 0                 # save never prunes; `prune` does
    elif "etcd-snapshot-retention" in opts:
        req["retention"] = int(opts["etcd-snapshot-retention"])
    try:
        _, _, data = https("POST", server + "/db/snapshot", req, {"Authorization": basic("server", secret)},
                           ctx=client_ctx(ca), timeout=120)
    except HTTPError as e:
        fatal(f"see server log for details: {e.body.strip()}")
    except OSError as e:
        fatal(f"see server log for details: {e}")
    res = json.loads(data)
    if sub == "list":
        return print_list(res, opts.get("output"))
    for name in res.get("created") or []:
        logmsg("info", f"Snapshot {name} saved.")
    for name in res.get("deleted") or []:
        logmsg("info", f"Snapshot {name} deleted.")
    if sub == "delete":
        for name in pos:
            if name not in (res.get("deleted") or []):
                logmsg("warning", f"Snapshot {name} not found.")
    return 0


def print_list(res, fmt):
    items = sorted(res["items"], key=lambda i: (i["status"]["creationTime"], i["spec"]["snapshotName"]))
    if fmt == "json":
        print(json.dumps(dict(res, items=items), indent=4))
        return 0
    if fmt == "yaml":
        import yaml
        print(yaml.safe_dump(dict(res, items=items), default_flow_style=False), end="")
        return 0
    # Go's tabwriter with padding 1: every column but the last is padded to its widest cell plus one
    rows = [["Name", "Location", "Size", "Created"]] + [
        [i["spec"]["snapshotName"], i["spec"]["location"], i["status"]["size"], i["status"]["creationTime"]] for i in items]
    widths = [max(len(r[c]) for r in rows) + 1 for c in range(3)]
    for r in rows:
        print("".join(r[c].ljust(widths[c]) for c in range(3)) + r[3])
    return 0
