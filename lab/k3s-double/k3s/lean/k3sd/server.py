"""The running server: API, own node, heartbeats, the auto-deploy folder."""
import hashlib
import json
import os
import signal
import socket
import threading
import time

from k3sd.api import API
from k3sd.client import HTTPError, client_ctx, https
from k3sd.files import Paths, read_file, sha256_file
from k3sd.httpd import accept_loop, server_context
from k3sd.log import fatal, logmsg
from k3sd.members import log_removed_member
from k3sd.program import run_cli
from k3sd.service import notify_ready
from k3sd.tokens import basic
from k3sd.timing import HEARTBEAT_SECONDS, MANIFEST_POLL_SECONDS


def server_loop(run):
    P = Paths(run["data_dir"])
    boot = json.loads(read_file(P.cred))
    api = API(run, boot, P)
    api.tls = server_context(P)

    def reload_certs(signum, frame):
        # a lab hook (`edgeup-lab host age-certs`), not k3s behaviour: serve the certificate files as they are
        # now, without the renewal a start applies
        api.tls = server_context(P)
        if not api.owner:
            api.owner_ctx = client_ctx(api.ca, read_file(P.admin), read_file(P.admin_key))
        logmsg("info", "Reloaded the certificates from disk (SIGHUP)")
    signal.signal(signal.SIGHUP, reload_certs)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        ls.bind((run.get("bind", "0.0.0.0"), run["port"]))
    except OSError as e:
        fatal(f"starting kubernetes: preparing server: listen tcp :{run['port']}: bind: {e.strerror}")
    ls.listen(128)
    node = run["node"]
    node["images"] = run.get("images", [])
    node["url"] = api.url
    if api.member:
        node["member"] = api.member
    if api.owner:
        C = api.cluster
        if run.get("after_reset"):
            with C.lock:            # k3s deletes the node's password secret after a cluster-reset
                C.s["node_passwords"].pop(node["name"], None)
        st, msg = C.register(node)
        if st == 410 or (C.self_member and len(C.members()) > 1 and api.superseded()):
            log_removed_member()
            fatal("etcd stopped")
        if st != 200:
            fatal(msg)
    logmsg("info", f"Tunnel server egress proxy mode: agent")
    logmsg("info", f"Running kube-apiserver --advertise-port={run['port']} --secure-port={run['port']} (k3s double)")
    t = threading.Thread(target=accept_loop, args=(ls, api), daemon=True)
    t.start()
    if not api.owner:
        # register our node with the owner at every start, as a kubelet does: the node then shows the
        # version (and any lab fault) of the binary this server was last started with
        while True:
            try:
                _, _, data = https("POST", boot["owner_url"] + "/v1-lab/node-join", node,
                                   {"Authorization": basic("server", boot["secret"])}, ctx=api.owner_ctx, timeout=10)
                api.servers = json.loads(data).get("servers", [])
                break
            except HTTPError as e:
                if e.status == 410:
                    log_removed_member()
                    fatal("etcd stopped")
                if e.status in (401, 403):
                    fatal(f"node {node['name']} rejected by the cluster: {e.body}")
                logmsg("info", f"Waiting for etcd/apiserver on {boot['owner_url']}: {e}")
                time.sleep(1)
            except OSError as e:
                logmsg("info", f"Waiting for etcd/apiserver on {boot['owner_url']}: {e}")
                if not api.find_owner():
                    time.sleep(1)
    logmsg("info", "k3s is up and running")
    notify_ready()
    threading.Thread(target=manifest_loop, args=(P,), daemon=True).start()
    pwh = hashlib.sha256(node["password"].encode()).hexdigest()
    said = None
    while True:
        try:
            if api.owner:
                st, msg = api.cluster.heartbeat(node["name"])
                if st != 200 and msg != said:
                    logmsg("warning", f"Error updating node status, will retry: error getting node: {msg}")
                said = msg if st != 200 else None
                api.cluster.promote_learners()
                api.cluster.reconcile()
            else:
                _, _, data = https("POST", boot["owner_url"] + "/v1-lab/node-heartbeat",
                                   {"name": node["name"], "password_hash": pwh, "member": api.member},
                                   ctx=api.owner_ctx, timeout=10)
                resp = json.loads(data)
                api.servers = resp.get("servers", api.servers)
                api.replicate(resp.get("rv"))
                said = None
        except HTTPError as e:
            if e.status == 410:
                log_removed_member()
                fatal("etcd stopped")
            if e.status in (401, 403):
                fatal(f"node {node['name']} rejected by the cluster: {e.body}")
            if e.body != said:             # a deleted Node stays gone until this server restarts (kubelet)
                logmsg("warning", f"heartbeat failed: {e}")
            said = e.body
        except OSError as e:
            logmsg("warning", f"heartbeat failed: {e}")
            api.find_owner()
        time.sleep(min(HEARTBEAT_SECONDS, 1.0) if api.owner else HEARTBEAT_SECONDS)


def manifest_loop(P):
    """Auto-deploying manifests: files in server/manifests/ are applied (and recorded) when they change."""
    seen = {}
    while True:
        try:
            for fn in sorted(os.listdir(P.manifests)):
                p = os.path.join(P.manifests, fn)
                if not fn.endswith((".yaml", ".yml", ".json")) or fn.startswith(".") or os.path.exists(p + ".skip"):
                    continue
                try:
                    h = sha256_file(p)
                except OSError:
                    continue
                if seen.get(fn) == h:
                    continue
                r = run_cli(["kubectl", "apply", "-f", p, "--field-manager", "deploy@" + socket.gethostname(),
                             "--lab-source", "manifests/" + fn])
                if r.returncode == 0:
                    seen[fn] = h
                    logmsg("info", f"Applied manifest {p} (sha256 {h[:12]})")
                else:
                    logmsg("error", f"Failed to apply manifest {p}: {(r.stderr or r.stdout).strip()}")
        except OSError:
            pass
        time.sleep(MANIFEST_POLL_SECONDS)
