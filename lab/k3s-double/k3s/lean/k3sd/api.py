"""The API's request handling: k3s's join endpoints, the lab's endpoints, the Kubernetes read side."""
import base64
import hashlib
import json
import os
import sys
import time
import urllib.parse

from k3sd import snapshots
from k3sd.client import HTTPError, client_ctx, https
from k3sd.cluster import CRITICAL, Cluster
from k3sd.files import read_file, write_file
from k3sd.log import logmsg, now_rfc3339
from k3sd.program import run_cli
from k3sd.timing import LEARNER_SECONDS, SA_DELAY_SECONDS
from k3sd.tokens import parse_token, secure_token
from k3sd.version import version_info
from k3sd.views import age_of, match_selector, node_table, resource_list, status_json


class API:
    def __init__(self, run, boot, P):
        self.run, self.boot, self.P = run, boot, P
        self.owner = boot.get("owner", False)
        self.ca = read_file(P.ca)
        self.cluster = Cluster(P.datastore(boot["datastore"]), boot) if self.owner else None
        self.started = time.time()
        self.owner_ctx = None
        if not self.owner:
            self.owner_ctx = client_ctx(self.ca, read_file(P.admin), read_file(P.admin_key))

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

    def handle(self, method, path, headers, body, peer_cn, cert_error=None):
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
        if not self.owner:
            return self.forward(method, path + ("?" + q if q else ""), body, headers)
        return self.owner_handle(method, path, q, headers, body, peer_cn)

    def kubelet_cert(self, which, headers, body):
        """k3s's supervisor signs a node's kubelet certificates for its token and node password (pkg/server/
        handlers: ServingKubeletCert, ClientKubeletCert), from the node's certificate request."""
        if self.check_basic(headers, ("node", "server")) is None:
            return 401, "text/plain", b"Unauthorized"
        name = headers.get("k3s-node-name", "")
        pwh = hashlib.sha256(headers.get("k3s-node-password", "").encode()).hexdigest()
        with self.cluster.lock:
            n = self.cluster.s["nodes"].get(name)
            if not name or n and n.get("password_hash") and n["password_hash"] != pwh:
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
                return snapshots.dump_state(self.cluster, self.boot)
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
            with C.lock:
                existing = C.s["nodes"].get(node["name"])
                pend = [n for n in C.learners() if n["name"] != node["name"]]
                if pend:
                    return 500, "application/json", status_json(
                        500, "InternalError", "failed to join etcd cluster: etcdserver: too many learner members in cluster")
                st, msg = C.register(node)
                if st != 200:
                    return st, "application/json", status_json(st, "Forbidden", msg)
                n = C.s["nodes"][node["name"]]
                if not existing or existing.get("etcd") not in ("member",):
                    n["etcd"] = "learner"
                    n["promote_at"] = time.time() + LEARNER_SECONDS
                C.save()
            port = self.run["port"]
            return 200, "application/json", json.dumps({
                "ca": self.ca.decode(), "ca_key": read_file(self.P.ca_key).decode(), "secret": self.boot["secret"],
                "agent_secret": self.boot.get("agent_secret"), "datastore": self.boot["datastore"],
                "cluster_id": self.boot["cluster_id"],
                "owner_url": f"https://{self.run['node']['addresses'][0]}:{port}"}).encode()
        if path == "/v1-lab/node-join" and method == "POST":
            role = self.check_basic(headers, ("node", "server"))
            if role is None:
                return 401, "application/json", status_json(401, "Unauthorized", "token is not valid")
            node = json.loads(body)
            st, msg = C.register(node)
            if st != 200:
                return st, "application/json", status_json(st, "Forbidden", msg)
            return 200, "application/json", b'{"ok":true}'
        if path in ("/v1-k3s/serving-kubelet.crt", "/v1-k3s/client-kubelet.crt") and method == "POST":
            return self.kubelet_cert(path[8:-4], headers, body)
        if path == "/v1-lab/node-heartbeat" and method == "POST":
            role = self.check_basic(headers, ("node", "server"))
            if role is None and peer_cn is None:
                return 401, "application/json", status_json(401, "Unauthorized", "token is not valid")
            req = json.loads(body)
            st, msg = C.heartbeat(req["name"], req.get("password_hash"))
            return st, "application/json", json.dumps({"message": msg}).encode()
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
            return 200, "application/json", snapshots.dump_state(C, self.boot)
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
        if kind is None:
            return 404, "application/json", status_json(404, "NotFound", "the server could not find the requested resource")
        items = sorted((C.obj_view(r) for r in C.list(group, plural, ns)),
                       key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        if params.get("labelSelector"):
            items = [o for o in items if match_selector(o["metadata"].get("labels") or {}, params["labelSelector"])]
        for term in filter(None, params.get("fieldSelector", "").split(",")):
            field, _, want = term.partition("=")
            items = [o for o in items if field_value(o, field) == want.lstrip("=")]
        return self.list_or_get(items, name, plural + ("." + group if group else ""), table, [], lambda o: [],
                                kind + "List", f"{group}/{kinds[kind][1]}" if group else "v1")

    def patch_node(self, name, body):
        """What kubectl cordon/uncordon patch: spec.unschedulable (nothing else of a Node can be patched here)."""
        try:
            patch = json.loads(body)
        except ValueError:
            patch = None
        spec = patch.get("spec") if isinstance(patch, dict) else None
        if not isinstance(spec, dict) or set(patch) != {"spec"} or set(spec) != {"unschedulable"}:
            return 422, "application/json", status_json(422, "Invalid", "the lab's k3s double patches only "
                                                                        "spec.unschedulable of a Node")
        node = self.cluster.set_unschedulable(name, bool(spec["unschedulable"]))
        if node is None:
            return 404, "application/json", status_json(404, "NotFound", f'nodes "{name}" not found', name, "nodes")
        return 200, "application/json", json.dumps(node).encode()

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
            write_file(self.P.token, secure_token(self.ca, "server", self.boot["secret"]) + "\n", 0o600)
            return 200, "application/json", b'{"ok":true}'
        return 400, "application/json", status_json(400, "BadRequest", f"unknown token op {op}")


def field_value(o, field):
    """The fields a field selector can name here (kubectl drain lists a node's pods by spec.nodeName)."""
    v = o
    for part in field.split("."):
        v = v.get(part) if isinstance(v, dict) else None
    return v if isinstance(v, str) else ""
