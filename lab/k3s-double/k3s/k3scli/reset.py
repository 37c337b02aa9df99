"""`k3s server --cluster-reset [--cluster-reset-restore-path=FILE]`, as k3s does it (pkg/cli/server/server.go,
pkg/cluster/managed.go, pkg/etcd/etcd.go Reset/Restore, pkg/cluster/bootstrap.go): the etcd membership shrinks
to this server under a new member name, from its own data or from a snapshot, `server/db/reset-flag` is left,
and the process exits 0 asking for a normal restart. Other servers' members are gone: they must wipe
server/db before they can join again."""
import json
import os
import shutil
import socket
import time

from k3scli.certs import gen_ca
from k3sd.cluster import Cluster, token_hash
from k3sd.files import read_file, write_file
from k3sd.log import fatal, logmsg
from k3sd.members import new_member_name
from k3sd.snapshots import open_bootstrap, read_snapshot
from k3sd.tokens import parse_token, secure_token

PREFIX = "starting kubernetes: preparing server: start managed database: "


def cluster_reset(cfg, P, boot, token, agent_token, node, crit, port):
    restore = cfg.get("cluster-reset-restore-path")
    if cfg.get("server"):
        fatal("cannot perform cluster-reset while server URL is set - remove server from configuration before resetting")
    if restore and not token and not os.path.exists(P.token):
        fatal(f"{P.token} does not exist, please pass --token to complete the restoration")
    # k3s listens on its supervisor port first: a k3s still running holds it
    probe = socket.socket()
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)       # as Go's listeners
    try:
        probe.bind((cfg.get("bind-address") or "0.0.0.0", port))
    except OSError as e:
        fatal(f"starting kubernetes: preparing server: init cluster datastore and https: listen tcp :{port}: bind: "
              f"{e.strerror.lower()}")
    finally:
        probe.close()
    if not restore and os.path.exists(P.reset_flag):
        fatal(PREFIX + "cluster-reset was successfully performed, please remove the cluster-reset flag and start k3s "
                       "normally, if you need to perform another cluster reset, you must first manually delete the "
                       f"{P.reset_flag} file")
    stored = read_file(P.token)
    secret = (parse_token(token)[2] if token else (boot or {}).get("secret")
              or (stored and parse_token(stored.decode().strip())[2]) or os.urandom(16).hex())
    snap = None
    if restore:
        if not os.path.exists(restore):
            fatal(PREFIX + f"etcd: snapshot path does not exist: {restore}")
        if os.path.isdir(restore):
            fatal(PREFIX + f"etcd: snapshot path must be a file, not a directory: {restore}")
        snap = read_snapshot(restore)
        if snap is None:
            fatal(PREFIX + "snapshot missing hash but --skip-hash-check=false")
        if os.path.isdir(P.etcd):
            while os.path.exists(f"{P.etcd}-old-{int(time.time())}"):
                time.sleep(0.2)             # k3s names it by the second: a restore within the same one waits
            old = f"{P.etcd}-old-{int(time.time())}"
            os.rename(P.etcd, old)
            logmsg("info", f"Pre-restore etcd database moved to {old}")
        state = json.dumps(snap["state"])
    else:
        # this server's own etcd data (on SQLite: none, k3s starts an empty etcd and leaves state.db alone)
        state = read_file(P.state) if boot and boot["datastore"] == "etcd" else None
    boot = {"owner": True, "owner_url": None, "secret": secret,
            "agent_secret": parse_token(agent_token)[2] if agent_token else (boot or {}).get("agent_secret"),
            "datastore": "etcd", "critical": crit,
            "cluster_id": snap["cluster_id"] if snap else (boot or {}).get("cluster_id") or os.urandom(8).hex(),
            "created": time.time()}
    member = new_member_name(node["name"])
    P.init_member(member)
    write_file(P.state, state or b"{}", 0o600)
    C = Cluster(P.state, boot)
    with C.lock:
        C.s["removed_members"] += list(C.s["members"])
        C.s["members"] = {}
        C.add_member(member, node["name"], node["addresses"][0], f"https://{node['addresses'][0]}:{port}", False)
        if node["name"] in C.s["nodes"]:
            C.s["nodes"][node["name"]].update(member=member, etcd_role=True)
        C.save()
    write_file(P.reset_flag, b"", 0o600)
    write_file(P.cred, json.dumps(boot), 0o600)
    if snap and snap["token_hash"] != token_hash(secret):
        # the restored bootstrap data opens only with the token it was saved with; every later start fails alike
        fatal("bootstrap data already found and encrypted with different token")
    tls_backup = f"{P.tls}-{int(time.time())}"
    if os.path.isdir(P.tls):
        logmsg("info", f"Cluster reset: backing up certificates directory to {tls_backup}")
        shutil.copytree(P.tls, tls_backup, dirs_exist_ok=True)
    if snap:
        # the datastore's CA wins over the disk's (a restore on a new machine gets the cluster's CA back)
        data = open_bootstrap(snap, secret)
        write_file(P.ca, data["ca"].encode(), 0o644)
        write_file(P.ca_key, data["ca_key"].encode(), 0o600)
    elif not os.path.exists(P.ca):
        ca, ca_key = gen_ca()
        write_file(P.ca, ca, 0o644)
        write_file(P.ca_key, ca_key, 0o600)
    write_file(P.token, secure_token(read_file(P.ca), "server", secret) + "\n", 0o600)
    logmsg("info", "Managed etcd cluster membership has been reset, restart without --cluster-reset flag now. "
                   "Backup and delete ${datadir}/server/db on each peer etcd server and rejoin the nodes")
    return 0
