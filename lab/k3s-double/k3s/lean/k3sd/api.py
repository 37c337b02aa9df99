"""The API's request handling: k3s's join endpoints, the lab's endpoints, the Kubernetes read side."""
import base64
import json
import os
import sys
import threading
import time
import urllib.parse

from k3sd import snapshots
from k3sd.client import HTTPError, client_ctx, https
from k3sd.cluster import CRITICAL, Cluster, token_hash
from k3sd.files import read_file, write_file
from k3sd.log import fatal, logmsg, now_rfc3339
from k3sd.members import TOO_MANY_LEARNERS, log_removed_member, new_member_name
from k3sd.program import run_cli
from k3sd.timing import SA_DELAY_SECONDS
from k3sd.tokens import basic, parse_token, secure_token
from k3sd.version import version_info
from k3sd.views import age_of, match_selector, node_table, resource_list, status_json


class API:
    def __init__(self, run, boot, P):
        self.run, self.boot, self.P = run, boot, P
        self.owner = boot.get("owner", False)
        self.ca = read_file(P.ca)
        self.url = f"https://{run['node']['addresses'][0]}:{run['port']}"
        self.member = P.member() if boot["datastore"] == "etcd" else None
        self.started = time.time()
        self.retiring = False
        self.replica_rv = None
        self.servers = []              # every server's supervisor URL, as the owner last said
        self.cluster = None
        self.owner_ctx = client_ctx(self.ca, read_file(P.admin), read_file(P.admin_key))
        if self.owner:
            self.open_datastore()

    def open_datastore(self):
        """The owner's datastore; on etcd, its own member joins a new cluster's member list."""
        C = self.cluster = Cluster(self.P.datastore(self.boot["datastore"]), self.boot)
        if C.s["token_hash"] != token_hash(self.boot["secret"]):
            fatal("starting kubernetes: preparing server: bootstrap data already found and encrypted with different token")
        if self.member:
            C.self_member = self.member
            C.retire = self.retire
            if not C.members():
                C.add_member(self.member, self.run["node"]["name"], self.run["node"]["addresses"][0], self.url, False)
                C.save()
            elif self.member not in C.members():
                log_removed_member()
                fatal("etcd stopped")

    def server_urls(self):
        C = self.cluster
        return sorted({self.url} | {m["url"] for m in C.members().values() if m.get("url") and not m["learner"]})

    def peer(self, method, url, path, body=None):
        return https(method, url + path, body, {"Authorization": basic("server", self.boot["secret"])},
                     ctx=client_ctx(self.ca), timeout=5)

    def superseded(self):
        """An owner restarting with the old membership after another member took the datastore (it was
        removed, or a peer was cluster-reset): the rest reject it as etcd rejects a removed member."""
        for m in self.cluster.members().values():
            if m.get("url") and m["url"] != self.url:
                try:
                    if json.loads(self.peer("GET", m["url"], "/v1-lab/owner")[2])["owner"]:
                        return True
                except (OSError, HTTPError, ValueError, KeyError):
                    pass
        return False

    def retire(self):
        """Called (under the cluster lock) when the owner's own member was removed: the datastore moves to a
        live voting member, then this server stops as a removed etcd member does."""
        self.retiring = True
        threading.Thread(target=self.hand_over, daemon=True).start()

    def hand_over(self):
        time.sleep(0.5)                 # the request that removed us gets its answer first
        C = self.cluster
        with C.lock:
            dump = snapshots.dump_state(C, self.boot, self.ca, read_file(self.P.ca_key))
            heirs = [m["url"] for k, m in C.members().items() if not m["learner"] and C.alive(k) and m.get("url")]
        for _ in range(10):
            for url in heirs:
                try:
                    self.peer("POST", url, "/v1-lab/take-over", dump)
                except (OSError, HTTPError) as e:
                    logmsg("warning", f"handing the datastore to {url} failed: {e}")
                    continue
                self.boot.update(owner=False, owner_url=url)
                write_file(self.P.cred, json.dumps(self.boot), 0o600)
                logmsg("info", f"Handed the datastore over to {url}")
                log_removed_member()
                logmsg("fatal", "etcd stopped")
                os._exit(1)
            time.sleep(1)
        log_removed_member()
        logmsg("fatal", "etcd stopped")
        os._exit(1)

    def take_over(self, body):
        """A voting member takes the datastore over from the removed owner (etcd: the others carry on)."""
        snap = json.loads(body)
        write_file(self.P.state, json.dumps(snap["state"], separators=(",", ":")), 0o600)
        self.boot.update(owner=True, owner_url=None)
        write_file(self.P.cred, json.dumps(self.boot), 0o600)
        self.open_datastore()
        self.owner = True
        logmsg("info", f"Took the datastore over: {self.member} now leads the etcd cluster")
        return 200, "application/json", b'{"ok":true}'

    def find_owner(self):
        """The owner did not answer: ask the other servers which of them holds the datastore now."""
        urls = list(self.servers)
        replica = json.loads(read_file(self.P.state, b"{}") or b"{}")
        urls += [m["url"] for m in replica.get("members", {}).values() if m.get("url")]
        for url in dict.fromkeys(u for u in urls if u not in (self.url, self.boot["owner_url"])):
            try:
                if json.loads(self.peer("GET", url, "/v1-lab/owner")[2])["owner"]:
                    self.boot["owner_url"] = url
                    write_file(self.P.cred, json.dumps(self.boot), 0o600)
                    logmsg("info", f"The datastore is now on {url}")
                    return True
            except (OSError, HTTPError, ValueError, KeyError):
                continue
        return False

    def replicate(self, rv):
        """A voting member's copy of the datastore (etcd replicates to every member), refreshed when the
        owner's revision moves: cluster-reset on this server starts from it."""
        if rv == self.replica_rv or self.boot["datastore"] != "etcd":
            return
        dump = https("GET", self.boot["owner_url"] + "/v1-lab/datastore-dump", ctx=self.owner_ctx, timeout=30)[2]
        write_file(self.P.state, json.dumps(json.loads(dump)["state"], separators=(",", ":")), 0o600)
        self.replica_rv = rv

    # ---- forwarding to the owner (the cluster state lives with the first server) ----
    def forward(self, method, path, body, headers):
        h = {k: v for k, v in headers.items() if k in ("accept", "content-type", "authorization") or k.startswith("k3s-node-")}
        try:
            status, rh, data = https(method, self.boot["owner_url"] + path, body, h, ctx=self.owner_ctx, timeout=30)
            return status, rh.get("content-type", "application/json"), data
        except HTTPError as e:
            return e.status, "application/json", e.body.encode()
        except OSError as e:
            return 503, "application/json", status_json(503, "ServiceUnavailable", f"etcd cluster is unavailable: {e}")

    def handle(self, method, path, headers, body, peer_cn, cert_error=None, peer_ip=None):
        q = ""
        if "?" in path:
            path, q = path.split("?", 1)
        supervisor = path in ("/cacerts", "/ping") or path.startswith(("/v1-k3s/", "/v1-lab/node"))
        public = supervisor or path in ("/readyz", "/livez", "/healthz", "/version")
        if cert_error and not supervisor:
            logmsg("error", f'\\"Unable to authenticate the request\\" err=\\"[{cert_error}]\\"')
            return 401, "application/json", status_json(401, "Unauthorized", "Unauthorized")
        if path == "/cacerts":
            return 200, "text/plain", self.ca
        if path == "/ping":
            return 200, "text/plain", b"pong"
        if path in ("/readyz", "/livez", "/healthz"):
            if not self.owner:
                st, ct, data = self.forward("GET", "/readyz", None, {})
                if st != 200:
                    return 500, "text/plain", b"[-]etcd failed: reason withheld\nreadyz check failed"
            return 200, "text/plain", b"ok"
        if path == "/version":
            return 200, "application/json", json.dumps(version_info()).encode()
        if not public and peer_cn is None and "authorization" not in headers:
            return 401, "application/json", status_json(401, "Unauthorized", "Unauthorized")
        if path == "/db/snapshot":
            return self.db_snapshot(method, headers, body)
        if path == "/db/info" and self.boot["datastore"] == "etcd":
            return self.db_info(method, headers, peer_cn, peer_ip)
        if path in ("/v1-lab/owner", "/v1-lab/take-over"):
            if self.check_basic(headers, ("server",)) != "server":
                return 401, "application/json", status_json(401, "Unauthorized", "Unauthorized")
            if path == "/v1-lab/take-over":
                return self.take_over(body)
            return 200, "application/json", json.dumps({"owner": self.owner and not self.retiring}).encode()
        if not self.owner:
            return self.forward(method, path + ("?" + q if q else ""), body, headers)
        return self.owner_handle(method, path, q, headers, body, peer_cn)

    def db_info(self, method, headers, peer_cn, peer_ip):
        """k3s's /db/info (the etcd member list): local clients, or the server token (IsLocalOrHasRole)."""
        if method != "GET":
            return 405, "application/json", status_json(405, "MethodNotAllowed", "method not allowed")
        if peer_ip not in ("127.0.0.1", "::1") and self.check_basic(headers, ("server",)) != "server":
            if peer_cn is None and "authorization" not in headers:
                return 401, "application/json", status_json(401, "Unauthorized", "not authorized")
            return 403, "application/json", status_json(403, "Forbidden", "forbidden")
        if not self.owner:
            return self.forward("GET", "/db/info", None, {"authorization": basic("server", self.boot["secret"])})
        with self.cluster.lock:
            return 200, "application/json", json.dumps(self.cluster.db_info()).encode() + b"\n"

    def kubelet_cert(self, which, headers, body):
        """k3s's supervisor signs a node's kubelet certificates for its token and node password (pkg/server/
        handlers: ServingKubeletCert, ClientKubeletCert), from the node's certificate request."""
        if self.check_basic(headers, ("node", "server")) is None:
            return 401, "text/plain", b"Unauthorized"
        name = headers.get("k3s-node-name", "").lower()
        with self.cluster.lock:
            if not name or not self.cluster.ensure_password(name, headers.get("k3s-node-password", ""), "agent"):
                return 403, "text/plain", b"Forbidden"
        req = {"which": which, "node": name, "ips": [i for i in headers.get("k3s-node-ip", "").split(",") if i],
               "csr": body.decode(), "ca": self.ca.decode(), "ca_key": read_file(self.P.ca_key).decode()}
        r = run_cli(["__sign"], json.dumps(req))
        sys.stderr.write(r.stderr)             # the signer logs the certificate it signed
        if r.returncode != 0:
            return 500, "text/plain", b"failed to sign the certificate request"
        return 200, "text/plain", r.stdout.encode()

    def db_snapshot(self, method, headers, body):
        """`k3s etcd-snapshot` talks to its local server, which snapshots into its own snapshot dir."""
        if method != "POST":
            return 405, "application/json", status_json(405, "MethodNotAllowed", f"{method} is not supported on snapshot")
        if self.check_basic(headers, ("server",)) != "server":
            return 401, "text/plain", b"Unauthorized"
        if self.boot["datastore"] != "etcd":
            return 500, "text/plain", b"etcd datastore disabled"
        if self.owner:
            def dump():
                return snapshots.dump_state(self.cluster, self.boot, self.ca, read_file(self.P.ca_key))
        else:
            def dump():
                return https("GET", self.boot["owner_url"] + "/v1-lab/datastore-dump", ctx=self.owner_ctx, timeout=30)[2]
        try:
            res = snapshots.handle(json.loads(body), self.P, self.run["config"], self.run["node"]["name"], dump)
        except snapshots.SnapshotError as e:
            logmsg("warning", f"Error in etcd-snapshot handler: {e}")
            return 500, "text/plain", str(e).encode()
        except (OSError, HTTPError) as e:
            logmsg("warning", f"Error in etcd-snapshot handler: {e}")
            return 500, "text/plain", f"failed to save snapshot: {e}".encode()
        return 200, "application/json", json.dumps(res).encode()

    def check_basic(self, headers, allowed_users):
        a = headers.get("authorization", "")
        if not a.startswith("Basic "):
            return None
        try:
            user, _, pw = base64.b64decode(a[6:]).decode().partition(":")
        except ValueError:
            return None
        b = self.boot
        if user == "server" and "server" in allowed_users and pw == b["secret"]:
            return "server"
        if user in ("node", "server") and "node" in allowed_users:
            if pw == b["secret"] or (b.get("agent_secret") and pw == b["agent_secret"]):
                return "node"
            bt = self.cluster.s["bootstrap_tokens"].get(pw.split(".")[0]) if self.cluster else None
            if bt and bt["token"] == pw and (not bt.get("expires") or bt["expires"] > time.time()):
                return "node"
        return None

    def owner_handle(self, method, path, q, headers, body, peer_cn):
        C = self.cluster
        if self.retiring and method != "GET":
            return 503, "application/json", status_json(503, "ServiceUnavailable", "etcdserver: server stopped")
        params = dict(urllib.parse.parse_qsl(q))
        # ---------------- joins and node liveness (k3s's supervisor endpoints) ----------------
        if path == "/v1-k3s/server-bootstrap" and method == "POST":
            if self.check_basic(headers, ("server",)) != "server":
                return 401, "application/json", status_json(401, "Unauthorized", "token is not valid")
            req = json.loads(body)
            node = req["node"]
            if self.boot["datastore"] != "etcd":
                return 400, "application/json", status_json(
                    400, "BadRequest", "failed to join cluster: this server uses an SQLite datastore (started without "
                    "--cluster-init); other servers cannot join it: https://%s/db/info: 404 Not Found" % headers.get("host", ""))
            mism = [k for k in CRITICAL if req["critical"].get(k) != self.boot["critical"].get(k)]
            if mism:
                return 400, "application/json", status_json(
                    400, "BadRequest", "failed to validate server configuration: critical configuration value mismatch "
                    "between servers: " + ", ".join(f"{k} (server: {json.dumps(self.boot['critical'].get(k))}, joining: "
                                                    f"{json.dumps(req['critical'].get(k))})" for k in mism))
            member = req.get("member") or new_member_name(node["name"])
            with C.lock:
                err = C.check_join(node["name"], member)
                if err == TOO_MANY_LEARNERS:
                    return 500, "application/json", status_json(500, "InternalError", "failed to join etcd cluster: " + err)
                if err:
                    return 400, "application/json", status_json(400, "BadRequest", "etcd cluster join failed: " + err)
                st, msg = C.register(node)
                if st != 200:
                    return st, "application/json", status_json(st, "Forbidden", msg)
                if member not in C.members():
                    logmsg("info", f"Adding member {member}=https://{node['addresses'][0]}:2380 to etcd cluster")
                    C.add_member(member, node["name"], node["addresses"][0], req.get("url"), True)
                C.register_member(node["name"], member)
                C.save()
            port = self.run["port"]
            return 200, "application/json", json.dumps({
                "ca": self.ca.decode(), "ca_key": read_file(self.P.ca_key).decode(), "secret": self.boot["secret"],
                "agent_secret": self.boot.get("agent_secret"), "datastore": self.boot["datastore"],
                "cluster_id": self.boot["cluster_id"], "member": member,
                "owner_url": f"https://{self.run['node']['addresses'][0]}:{port}"}).encode()
        if path == "/v1-lab/node-join" and method == "POST":
            role = self.check_basic(headers, ("node", "server"))
            if role is None:
                return 401, "application/json", status_json(401, "Unauthorized", "token is not valid")
            node = json.loads(body)
            st, msg = C.register(node)
            if st != 200:
                return st, "application/json", status_json(st, "Forbidden" if st == 403 else "Gone", msg)
            return 200, "application/json", json.dumps({"ok": True, "servers": self.server_urls()}).encode()
        if path in ("/v1-k3s/serving-kubelet.crt", "/v1-k3s/client-kubelet.crt") and method == "POST":
            return self.kubelet_cert(path[8:-4], headers, body)
        if path == "/v1-lab/node-heartbeat" and method == "POST":
            role = self.check_basic(headers, ("node", "server"))
            if role is None and peer_cn is None:
                return 401, "application/json", status_json(401, "Unauthorized", "token is not valid")
            req = json.loads(body)
            st, msg = C.heartbeat(req["name"], req.get("password_hash"), req.get("member"))
            return st, "application/json", json.dumps({"message": msg, "rv": C.s["rv"],
                                                       "servers": self.server_urls()}).encode()
        if peer_cn is None:
            return 401, "application/json", status_json(401, "Unauthorized", "Unauthorized")
        # ---------------- lab endpoints used by `k3s kubectl` / `k3s token` ----------------
        if path == "/v1-lab/apply" and method == "POST":
            req = json.loads(body)
            res = C.apply(req["objects"], req.get("manager", "kubectl"), req.get("server_side", False),
                          req.get("source", "-"), req.get("dry_run", False))
            return 200, "application/json", json.dumps(res).encode()
        if path == "/v1-lab/delete" and method == "POST":
            req = json.loads(body)
            return 200, "application/json", json.dumps(C.delete(req["objects"], req.get("source", "-"))).encode()
        if path == "/v1-lab/datastore-dump":
            return 200, "application/json", snapshots.dump_state(C, self.boot, self.ca, read_file(self.P.ca_key))
        if path == "/v1-lab/applied":
            with C.lock:
                return 200, "application/json", json.dumps({"applied": C.s["applied"],
                                                            "objects": list(C.s["objects"].values())}).encode()
        if path == "/v1-lab/token" and method == "POST":
            req = json.loads(body)
            return self.token_op(req)
        if path == "/v1-lab/cluster":
            with C.lock:
                return 200, "application/json", json.dumps({
                    "datastore": self.boot["datastore"], "cluster_id": self.boot["cluster_id"],
                    "critical": self.boot["critical"],
                    "nodes": {k: {kk: vv for kk, vv in v.items() if kk != "password_hash"} for k, v in C.s["nodes"].items()},
                    "heartbeats": C.heartbeats}).encode()
        # ---------------- Kubernetes API (read side + what kubectl needs) ----------------
        parts = [p for p in path.split("/") if p]
        if method == "PATCH" and len(parts) == 4 and parts[:3] == ["api", "v1", "nodes"]:
            return self.patch_node(parts[3], body)
        if method == "DELETE":
            return self.delete_resource(parts)
        if method == "POST" and len(parts) == 7 and parts[:3] == ["api", "v1", "namespaces"] and parts[4::2] == ["pods", "eviction"]:
            st, obj = C.evict(parts[3], parts[5])
            return st, "application/json", json.dumps(obj).encode()
        if method != "GET":
            return 405, "application/json", status_json(405, "MethodNotAllowed", "the lab's k3s double serves writes via `k3s kubectl`")
        accept = headers.get("accept", "")
        table = "as=Table" in accept
        if path == "/api":
            return 200, "application/json", json.dumps({"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": f"{self.run['node']['addresses'][0]}:{self.run['port']}"}]}).encode()
        if path == "/apis":
            groups = {}
            for kind, (g, v, plural, nsd) in C.kinds().items():
                if g:
                    groups.setdefault(g, set()).add(v)
            return 200, "application/json", json.dumps({"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in sorted(vs)],
                 "preferredVersion": {"groupVersion": f"{g}/{sorted(vs)[-1]}", "version": sorted(vs)[-1]}}
                for g, vs in sorted(groups.items())]}).encode()
        if parts[:2] == ["api", "v1"] and len(parts) == 2:
            return 200, "application/json", json.dumps(resource_list("", "v1", C.kinds())).encode()
        if parts and parts[0] == "apis" and len(parts) == 3:
            return 200, "application/json", json.dumps(resource_list(parts[1], parts[2], C.kinds())).encode()
        if parts[:2] == ["api", "v1"]:
            group, rest = "", parts[2:]
        elif parts and parts[0] == "apis" and len(parts) >= 3:
            group, rest = parts[1], parts[3:]
        else:
            return 404, "application/json", status_json(404, "NotFound", "the server could not find the requested resource")
        ns = None
        if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) != 2:
            ns, rest = rest[1], rest[2:]
        if not rest:
            return 404, "application/json", status_json(404, "NotFound", "the server could not find the requested resource")
        plural, name = rest[0], (rest[1] if len(rest) > 1 else None)
        with C.lock:
            return self.get_resource(group, plural, ns, name, table, params)

    def get_resource(self, group, plural, ns, name, table, params):
        C = self.cluster
        if group == "" and plural == "nodes":
            nodes = [C.node_obj(n) for k, n in sorted(C.s["nodes"].items())]
            sel = params.get("labelSelector")
            if sel:
                nodes = [n for n in nodes if match_selector(n["metadata"]["labels"], sel)]
            for term in filter(None, params.get("fieldSelector", "").split(",")):
                field, _, want = term.partition("=")
                nodes = [n for n in nodes if field_value(n, field) == want.lstrip("=")]
            if name:
                m = [n for n in nodes if n["metadata"]["name"] == name]
                if not m:
                    return 404, "application/json", status_json(404, "NotFound", f'nodes "{name}" not found', name, "nodes")
                nodes = m
            if table:
                return 200, "application/json", json.dumps(node_table(nodes)).encode()
            if name:
                return 200, "application/json", json.dumps(nodes[0]).encode()
            return 200, "application/json", json.dumps({"kind": "NodeList", "apiVersion": "v1",
                                                        "metadata": {"resourceVersion": str(C.s["rv"])}, "items": nodes}).encode()
        if group == "" and plural == "namespaces":
            items = [{"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": n, "creationTimestamp": now_rfc3339(t),
                      "labels": {"kubernetes.io/metadata.name": n}}, "spec": {"finalizers": ["kubernetes"]},
                      "status": {"phase": "Active"}} for n, t in sorted(C.s["namespaces"].items())]
            return self.list_or_get(items, name, "namespaces", table, ["Status"], lambda o: [o["status"]["phase"]],
                                    list_kind="NamespaceList")
        if group == "" and plural == "serviceaccounts":
            items = []
            for n, t in sorted(C.s["namespaces"].items()):
                if ns not in (None, n):
                    continue
                created = max(t, C.s["started"])
                if time.time() - created >= SA_DELAY_SECONDS or time.time() - C.s["created"] > 60:
                    items.append({"kind": "ServiceAccount", "apiVersion": "v1",
                                  "metadata": {"name": "default", "namespace": n, "creationTimestamp": now_rfc3339(created)}})
            for rec in C.list("", "serviceaccounts", ns):
                items.append(C.obj_view(rec))
            return self.list_or_get(items, name, "serviceaccounts", table, ["Secrets"], lambda o: [0],
                                    list_kind="ServiceAccountList")
        kinds = C.kinds()
        kind = next((k for k, v in kinds.items() if v[0] == group and v[2] == plural), None)
        extra = []
        if group == "" and plural == "secrets" and ns in (None, "kube-system"):
            extra = [C.password_secret(n) for n in C.s["node_passwords"]]
        if kind is None:
            return 404, "application/json", status_json(404, "NotFound", "the server could not find the requested resource")
        items = sorted([C.obj_view(r) for r in C.list(group, plural, ns)] + extra,
                       key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        if params.get("labelSelector"):
            items = [o for o in items if match_selector(o["metadata"].get("labels") or {}, params["labelSelector"])]
        for term in filter(None, params.get("fieldSelector", "").split(",")):
            field, _, want = term.partition("=")
            items = [o for o in items if field_value(o, field) == want.lstrip("=")]
        return self.list_or_get(items, name, plural + ("." + group if group else ""), table, [], lambda o: [],
                                kind + "List", f"{group}/{kinds[kind][1]}" if group else "v1")

    def patch_node(self, name, body):
        """What kubectl cordon/uncordon and annotate patch: spec.unschedulable, metadata.annotations."""
        try:
            patch = json.loads(body)
        except ValueError:
            patch = None
        ok = isinstance(patch, dict) and set(patch) <= {"spec", "metadata"} and patch
        ok = ok and set(patch.get("spec") or {}) <= {"unschedulable"} and set(patch.get("metadata") or {}) <= {"annotations"}
        if not ok:
            return 422, "application/json", status_json(422, "Invalid", "the lab's k3s double patches only "
                                                                        "spec.unschedulable and metadata.annotations of a Node")
        node = self.cluster.patch_node(name, patch)
        if node is None:
            return 404, "application/json", status_json(404, "NotFound", f'nodes "{name}" not found', name, "nodes")
        return 200, "application/json", json.dumps(node).encode()

    def delete_resource(self, parts):
        """DELETE of a Node (deleted once its finalizers are done), a node-password Secret, or an applied object."""
        C = self.cluster
        if parts[:2] == ["api", "v1"]:
            group, rest = "", parts[2:]
        elif parts and parts[0] == "apis" and len(parts) >= 3:
            group, rest = parts[1], parts[3:]
        else:
            rest = []
        ns = None
        if len(rest) == 4 and rest[0] == "namespaces":
            ns, rest = rest[1], rest[2:]
        if len(rest) != 2:
            return 405, "application/json", status_json(405, "MethodNotAllowed", "the lab's k3s double deletes single objects only")
        plural, name = rest
        if group == "" and plural == "nodes" and ns is None:
            obj = C.delete_node(name)
        elif group == "" and plural == "secrets" and ns == "kube-system" and C.delete_password_secret(name):
            obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                   "details": {"name": name, "kind": "secrets"}}
        else:
            with C.lock:
                rec = C.find(group, plural, ns or "", name)
                obj = rec and C.obj_view(rec)
                if rec:
                    C.delete([rec["content"]], "DELETE")
        if obj is None:
            res = plural + ("." + group if group else "")
            return 404, "application/json", status_json(404, "NotFound", f'{res} "{name}" not found', name, plural)
        return 200, "application/json", json.dumps(obj).encode()

    def list_or_get(self, items, name, res, table, extra_cols, extra_cells, list_kind, api_version="v1"):
        if name:
            items = [o for o in items if o["metadata"]["name"] == name]
            if not items:
                return 404, "application/json", status_json(404, "NotFound", f'{res} "{name}" not found', name, res)
        if table:
            cols = [{"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}]
            cols += [{"name": c, "type": "string", "format": "", "description": c, "priority": 0} for c in extra_cols]
            cols.append({"name": "Age", "type": "string", "format": "", "description": "CreationTimestamp", "priority": 0})
            rows = [{"cells": [o["metadata"]["name"]] + extra_cells(o) + [age_of(o)],
                     "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}}
                    for o in items]
            return 200, "application/json", json.dumps({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {},
                                                        "columnDefinitions": cols, "rows": rows}).encode()
        if name:
            return 200, "application/json", json.dumps(items[0]).encode()
        # typed clients (kubectl drain's) decode a PodList, not a List
        return 200, "application/json", json.dumps({"kind": list_kind, "apiVersion": api_version, "metadata": {},
                                                    "items": items}).encode()

    def token_op(self, req):
        C = self.cluster
        op = req.get("op")
        if op == "list":
            return 200, "application/json", json.dumps(list(C.s["bootstrap_tokens"].values())).encode()
        if op == "create":
            tid = os.urandom(3).hex()
            tok = f"{tid}.{os.urandom(8).hex()}"
            ttl = req.get("ttl") or 86400
            rec = {"id": tid, "token": tok, "created": time.time(), "expires": time.time() + ttl if ttl > 0 else None,
                   "description": req.get("description", ""), "usages": ["authentication", "signing"]}
            with C.lock:
                C.s["bootstrap_tokens"][tid] = rec
                C.save()
            return 200, "application/json", json.dumps(rec).encode()
        if op == "delete":
            with C.lock:
                C.s["bootstrap_tokens"].pop(req.get("id"), None)
                C.save()
            return 200, "application/json", b"{}"
        if op == "rotate":
            old = req.get("old")
            if old is not None and parse_token(old)[2] != self.boot["secret"]:
                return 400, "application/json", status_json(400, "BadRequest", "token rotation failed: the given --token does not match the current server token")
            new = req["new"]
            self.boot["secret"] = parse_token(new)[2]
            write_file(self.P.cred, json.dumps(self.boot), 0o600)
            with C.lock:                    # k3s re-encrypts the bootstrap data with the new token
                C.s["token_hash"] = token_hash(self.boot["secret"])
                C.save()
            write_file(self.P.token, secure_token(self.ca, "server", self.boot["secret"]) + "\n", 0o600)
            return 200, "application/json", b'{"ok":true}'
        return 400, "application/json", status_json(400, "BadRequest", f"unknown token op {op}")


def field_value(o, field):
    """The fields a field selector can name here (kubectl drain lists a node's pods by spec.nodeName)."""
    v = o
    for part in field.split("."):
        v = v.get(part) if isinstance(v, dict) else None
    return v if isinstance(v, str) else ""
