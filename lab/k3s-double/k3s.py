#!/usr/bin/python3
"""k3s test double for the edgeup lab (see lab/README.md, "The k3s test double").

Honours k3s's interface as edgeup sees it: CLI (server, agent, kubectl, token, --version), config
files (/etc/rancher/k3s/config.yaml + config.yaml.d/*.yaml, `key+:` appends, CLI overrides), the
files k3s writes (k3s.yaml, token, node-token), a TLS API on :6443 with client-certificate auth
(enough for a real kubectl), secure-token joins (CA hash verified), one etcd learner at a time,
SQLite servers that cannot be joined by servers, critical-setting checks, heartbeats and NotReady.

It runs in two phases: a bootstrap phase (full Python: YAML, certificates) then, for the
long-running server/agent, an exec of a lean phase (`-S`, stdlib only) to keep memory small.
"""
import base64
import hashlib
import json
import os
import socket
import ssl
import sys
import threading
import time

# =============================================================================================
# LEAN PART: everything the long-running server/agent needs (stdlib only). exec_lean() runs just
# this part (up to the END OF LEAN PART marker) in a fresh `python3 -I -S`, to keep memory small.
# =============================================================================================

VERSION = "@K3S_VERSION@"
COMMIT = hashlib.sha1(VERSION.encode()).hexdigest()[:8]
GO_VERSION = "go1.22.9"
CONTAINERD = "containerd://1.7.23-k3s2"
SCRIPT = os.environ.get("K3S_DOUBLE_SCRIPT") or os.path.realpath(__file__)
SCRIPT_FD = int(os.environ.get("K3S_DOUBLE_FD", "-1"))
CONFIG_FILE = "/etc/rancher/k3s/config.yaml"
LEARNER_SECONDS = float(os.environ.get("K3S_DOUBLE_LEARNER_SECONDS", "5"))
NOTREADY_SECONDS = float(os.environ.get("K3S_DOUBLE_NOTREADY_SECONDS", "15"))
HEARTBEAT_SECONDS = float(os.environ.get("K3S_DOUBLE_HEARTBEAT_SECONDS", "3"))
MANIFEST_POLL_SECONDS = float(os.environ.get("K3S_DOUBLE_MANIFEST_POLL_SECONDS", "5"))
SA_DELAY_SECONDS = float(os.environ.get("K3S_DOUBLE_SA_DELAY_SECONDS", "1"))


def now_rfc3339(t=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t if t is not None else time.time()))


def logmsg(level, msg):
    sys.stderr.write(f'time="{now_rfc3339()}" level={level} msg="{msg}"\n')
    sys.stderr.flush()


def fatal(msg, code=1):
    logmsg("fatal", msg)
    sys.exit(code)


CRITICAL = ["cluster-cidr", "service-cidr", "cluster-dns", "cluster-domain", "disable", "flannel-backend",
            "secrets-encryption", "disable-network-policy", "disable-kube-proxy", "egress-selector-mode",
            "service-node-port-range", "disable-helm-controller"]


def parse_token(tok):
    """K10<hash>::<user>:<password> | <password> → (cahash or None, user or None, password)."""
    if tok.startswith("K10") and "::" in tok:
        h, cred = tok[3:].split("::", 1)
        if ":" in cred:
            user, pw = cred.split(":", 1)
        else:
            user, pw = None, cred
        return h, user, pw
    return None, None, tok


class HTTPError(Exception):
    def __init__(self, status, body):
        super().__init__(f"{status}: {body[:300]!r}")
        self.status, self.body = status, body


def https(method, url, body=None, headers=None, ctx=None, timeout=10):
    assert url.startswith("https://")
    rest = url[8:]
    hostport, _, path = rest.partition("/")
    path = "/" + path
    if hostport.startswith("["):
        host, _, port = hostport[1:].partition("]:")
    elif ":" in hostport:
        host, port = hostport.rsplit(":", 1)
    else:
        host, port = hostport, "443"
    if ctx is None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection((host, int(port)), timeout=timeout)
    try:
        s = ctx.wrap_socket(raw, server_hostname=host if not host.replace(".", "").isdigit() else None)
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = dict(headers or {})
            headers.setdefault("Content-Type", "application/json")
        body = body or b""
        h = {"Host": hostport, "User-Agent": f"k3s/{VERSION}", "Accept": "application/json",
             "Content-Length": str(len(body)), "Connection": "close"}
        h.update(headers or {})
        req = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
        s.sendall(req.encode() + body)
        f = s.makefile("rb")
        status_line = f.readline().decode()
        if not status_line:
            raise ConnectionError("empty response")
        status = int(status_line.split()[1])
        rh = {}
        while True:
            line = f.readline().decode()
            if line in ("\r\n", "\n", ""):
                break
            k, _, v = line.partition(":")
            rh[k.strip().lower()] = v.strip()
        if "content-length" in rh:
            data = f.read(int(rh["content-length"]))
        elif rh.get("transfer-encoding") == "chunked":
            data = b""
            while True:
                n = int(f.readline().strip(), 16)
                if n == 0:
                    break
                data += f.read(n)
                f.readline()
        else:
            data = f.read()
        s.close()
    finally:
        raw.close()
    if status >= 400:
        raise HTTPError(status, data.decode("utf-8", "replace"))
    return status, rh, data


def client_ctx(ca_pem, cert_pem=None, key_pem=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False        # addresses are checked via the CA pin; SANs are tested separately
    ctx.load_verify_locations(cadata=ca_pem if isinstance(ca_pem, str) else ca_pem.decode())
    if cert_pem:
        fd = os.memfd_create("cert", 0)
        os.write(fd, (cert_pem if isinstance(cert_pem, bytes) else cert_pem.encode()) +
                 b"\n" + (key_pem if isinstance(key_pem, bytes) else key_pem.encode()))
        try:
            ctx.load_cert_chain(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
    return ctx


def basic(user, pw):
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()


def arch_name():
    m = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(m, m)


def sha256_file(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def write_file(path, data, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.write(fd, data if isinstance(data, bytes) else data.encode())
    os.close(fd)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def read_file(path, default=None):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return default


class Paths:
    def __init__(self, data_dir):
        self.data = data_dir
        self.server = os.path.join(data_dir, "server")
        self.tls = os.path.join(self.server, "tls")
        self.ca = os.path.join(self.tls, "server-ca.crt")
        self.ca_key = os.path.join(self.tls, "server-ca.key")
        self.serving = os.path.join(self.tls, "serving-kube-apiserver.crt")
        self.serving_key = os.path.join(self.tls, "serving-kube-apiserver.key")
        self.admin = os.path.join(self.tls, "client-admin.crt")
        self.admin_key = os.path.join(self.tls, "client-admin.key")
        self.token = os.path.join(self.server, "token")
        self.node_token = os.path.join(self.server, "node-token")
        self.agent_token = os.path.join(self.server, "agent-token")
        self.cred = os.path.join(self.server, "cred", "double-bootstrap.json")
        self.db = os.path.join(self.server, "db")
        self.state = os.path.join(self.db, "state.json")
        self.manifests = os.path.join(self.server, "manifests")
        self.agent = os.path.join(data_dir, "agent")
        self.agent_state = os.path.join(self.agent, "double-agent.json")


def secure_token(ca_pem, user, secret):
    return f"K10{hashlib.sha256(ca_pem).hexdigest()}::{user}:{secret}"


KINDS = {
    # kind: (group, version, plural, namespaced)
    "Namespace": ("", "v1", "namespaces", False), "ServiceAccount": ("", "v1", "serviceaccounts", True),
    "ConfigMap": ("", "v1", "configmaps", True), "Secret": ("", "v1", "secrets", True),
    "Service": ("", "v1", "services", True), "Pod": ("", "v1", "pods", True), "Node": ("", "v1", "nodes", False),
    "PersistentVolume": ("", "v1", "persistentvolumes", False),
    "PersistentVolumeClaim": ("", "v1", "persistentvolumeclaims", True),
    "ResourceQuota": ("", "v1", "resourcequotas", True), "LimitRange": ("", "v1", "limitranges", True),
    "Endpoints": ("", "v1", "endpoints", True), "Event": ("", "v1", "events", True),
    "Deployment": ("apps", "v1", "deployments", True), "DaemonSet": ("apps", "v1", "daemonsets", True),
    "StatefulSet": ("apps", "v1", "statefulsets", True), "ReplicaSet": ("apps", "v1", "replicasets", True),
    "Job": ("batch", "v1", "jobs", True), "CronJob": ("batch", "v1", "cronjobs", True),
    "Role": ("rbac.authorization.k8s.io", "v1", "roles", True),
    "RoleBinding": ("rbac.authorization.k8s.io", "v1", "rolebindings", True),
    "ClusterRole": ("rbac.authorization.k8s.io", "v1", "clusterroles", False),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", False),
    "Ingress": ("networking.k8s.io", "v1", "ingresses", True),
    "NetworkPolicy": ("networking.k8s.io", "v1", "networkpolicies", True),
    "StorageClass": ("storage.k8s.io", "v1", "storageclasses", False),
    "PriorityClass": ("scheduling.k8s.io", "v1", "priorityclasses", False),
    "PodDisruptionBudget": ("policy", "v1", "poddisruptionbudgets", True),
    "CustomResourceDefinition": ("apiextensions.k8s.io", "v1", "customresourcedefinitions", False),
    "HelmChart": ("helm.cattle.io", "v1", "helmcharts", True),
    "HelmChartConfig": ("helm.cattle.io", "v1", "helmchartconfigs", True),
    "Addon": ("k3s.cattle.io", "v1", "addons", True),
}
BUILTIN_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"]


def canon_hash(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def age(t):
    d = max(0, int(time.time() - t))
    if d < 120:
        return f"{d}s"
    if d < 600:
        return f"{d // 60}m{d % 60}s" if d % 60 else f"{d // 60}m"
    if d < 3 * 3600:
        return f"{d // 60}m"
    if d < 48 * 3600:
        return f"{d // 3600}h{(d % 3600) // 60}m" if d < 8 * 3600 else f"{d // 3600}h"
    return f"{d // 86400}d"


class Cluster:
    """Cluster state, kept by the first server (the owner) and persisted in its data dir."""

    def __init__(self, path, boot):
        self.path = path
        self.lock = threading.RLock()
        self.boot = boot
        raw = read_file(path)
        self.s = json.loads(raw) if raw else {}
        self.s.setdefault("nodes", {})
        self.s.setdefault("objects", {})
        self.s.setdefault("applied", [])
        self.s.setdefault("bootstrap_tokens", {})
        self.s.setdefault("rv", 1)
        self.s.setdefault("created", time.time())
        self.s.setdefault("namespaces", {n: time.time() for n in BUILTIN_NAMESPACES})
        self.s["started"] = time.time()
        self.heartbeats = {}          # in memory: a restarted owner waits for fresh heartbeats
        self.save()

    def save(self):
        with self.lock:
            self.s["rv"] += 1
            write_file(self.path, json.dumps(self.s, indent=None, separators=(",", ":")), 0o600)

    # ---- nodes ----
    def register(self, node, server_join=False):
        with self.lock:
            name = node["name"]
            old = self.s["nodes"].get(name)
            pwh = hashlib.sha256(node.get("password", "").encode()).hexdigest()
            if old and old.get("password_hash") and old["password_hash"] != pwh:
                return 403, ("Node password rejected, duplicate hostname or contents of "
                             f"'/etc/rancher/node/password' may not match server node-passwd entry, try enabling a "
                             f"unique node name with the --with-node-id flag (node {name})")
            rec = dict(old or {})
            rec.update({k: v for k, v in node.items() if k != "password"})
            rec["password_hash"] = pwh
            rec.setdefault("created", time.time())
            rec.setdefault("uid", os.urandom(16).hex())
            self.s["nodes"][name] = rec
            self.heartbeats[name] = time.time()
            self.save()
            return 200, "ok"

    def heartbeat(self, name, pwh=None):
        with self.lock:
            n = self.s["nodes"].get(name)
            if n is None:
                return 404, f'nodes "{name}" not found'
            if pwh and n.get("password_hash") != pwh:
                return 403, "Node password rejected"
            self.heartbeats[name] = time.time()
            if n.get("etcd") == "learner" and time.time() >= n.get("promote_at", 0):
                n["etcd"] = "member"
                n["promoted"] = time.time()
                self.save()
            return 200, "ok"

    def learners(self):
        with self.lock:
            return [n for n in self.s["nodes"].values() if n.get("etcd") == "learner"]

    def node_ready(self, n):
        hb = self.heartbeats.get(n["name"], 0)
        if time.time() - hb > NOTREADY_SECONDS:
            return False
        return n.get("etcd") != "learner"

    def node_obj(self, n):
        labels = {"beta.kubernetes.io/arch": n.get("arch", "amd64"), "beta.kubernetes.io/instance-type": "k3s",
                  "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": n.get("arch", "amd64"),
                  "kubernetes.io/hostname": n.get("hostname", n["name"]), "kubernetes.io/os": "linux",
                  "node.kubernetes.io/instance-type": "k3s"}
        if n["role"] == "server":
            labels["node-role.kubernetes.io/control-plane"] = "true"
            labels["node-role.kubernetes.io/master"] = "true"
            if n.get("etcd") == "member":
                labels["node-role.kubernetes.io/etcd"] = "true"
        labels.update(n.get("labels", {}))
        ready = self.node_ready(n)
        hb = self.heartbeats.get(n["name"], n.get("created", 0))
        addrs = [{"type": "InternalIP", "address": a} for a in n.get("addresses", [])]
        addrs += [{"type": "ExternalIP", "address": a} for a in n.get("external", [])]
        addrs.append({"type": "Hostname", "address": n.get("hostname", n["name"])})
        cond = {"type": "Ready", "status": "True" if ready else "Unknown",
                "reason": "KubeletReady" if ready else "NodeStatusUnknown",
                "message": "kubelet is posting ready status" if ready else "Kubelet stopped posting node status.",
                "lastHeartbeatTime": now_rfc3339(hb), "lastTransitionTime": now_rfc3339(n.get("created"))}
        if n.get("etcd") == "learner" and time.time() - hb <= NOTREADY_SECONDS:
            cond.update(status="False", reason="EtcdLearner", message="etcd member is a learner, not yet promoted")
        annotations = {"k3s.io/node-args": "[]", "node.alpha.kubernetes.io/ttl": "0",
                       "volumes.kubernetes.io/controller-managed-attach-detach": "true"}
        if n.get("images"):
            annotations["lab.edgeup.io/images-imported"] = json.dumps([i["file"] for i in n["images"]])
        return {"kind": "Node", "apiVersion": "v1",
                "metadata": {"name": n["name"], "uid": n.get("uid"), "resourceVersion": str(self.s["rv"]),
                             "creationTimestamp": now_rfc3339(n.get("created")), "labels": labels,
                             "annotations": annotations},
                "spec": {"podCIDR": "10.42.%d.0/24" % (sorted(self.s["nodes"]).index(n["name"]) % 256),
                         "providerID": f"k3s://{n['name']}", **({"taints": n["taints"]} if n.get("taints") else {})},
                "status": {"conditions": [cond], "addresses": addrs,
                           "nodeInfo": {"architecture": n.get("arch", "amd64"), "containerRuntimeVersion": CONTAINERD,
                                        "kernelVersion": n.get("kernel", ""), "kubeProxyVersion": n.get("version"),
                                        "kubeletVersion": n.get("version"), "operatingSystem": "linux",
                                        "osImage": n.get("os_image", "")}}}

    # ---- objects ----
    def ns_exists(self, ns):
        return ns in self.s["namespaces"]

    def kinds(self):
        k = dict(KINDS)
        for key, o in self.s["objects"].items():
            c = o["content"]
            if c.get("kind") == "CustomResourceDefinition":
                sp = c.get("spec", {})
                names = sp.get("names", {})
                for v in sp.get("versions", [{"name": sp.get("version", "v1")}]):
                    k[names.get("kind", "?")] = (sp.get("group", ""), v.get("name", "v1"), names.get("plural", "").lower(),
                                                 sp.get("scope", "Namespaced") == "Namespaced")
        return k

    def apply(self, objs, manager, server_side, source, dry_run=False):
        results = []
        with self.lock:
            kinds = self.kinds()
            for o in objs:
                kind = o.get("kind")
                api = o.get("apiVersion", "")
                md = o.get("metadata") or {}
                name = md.get("name")
                if kind not in kinds:
                    results.append({"error": f'resource mapping not found for name: "{name}" namespace: "{md.get("namespace", "")}" '
                                             f'from "{source}": no matches for kind "{kind}" in version "{api}"\n'
                                             'ensure CRDs are installed first'})
                    continue
                group, ver, plural, namespaced = kinds[kind]
                want_api = f"{group}/{ver}" if group else ver
                if api.split("/")[0] != want_api.split("/")[0] and group:
                    results.append({"error": f'resource mapping not found for name: "{name}" from "{source}": '
                                             f'no matches for kind "{kind}" in version "{api}"'})
                    continue
                ns = (md.get("namespace") or "default") if namespaced else ""
                if namespaced and not self.ns_exists(ns):
                    results.append({"error": f'Error from server (NotFound): error when creating "{source}": namespaces "{ns}" not found'})
                    continue
                key = f"{group}/{kind}/{ns}/{name}"
                h = canon_hash(o)
                old = self.s["objects"].get(key)
                if server_side:
                    verb = "serverside-applied"
                elif old is None:
                    verb = "created"
                elif old["hash"] == h:
                    verb = "unchanged"
                else:
                    verb = "configured"
                display = f"{kind.lower()}.{group}/{name}" if group else f"{kind.lower()}/{name}"
                results.append({"result": verb, "display": display, "hash": h})
                if dry_run:
                    continue
                now = time.time()
                rec = {"content": o, "hash": h, "kind": kind, "apiVersion": api, "namespace": ns, "name": name,
                       "group": group, "plural": plural, "manager": manager, "source": source,
                       "created": old["created"] if old else now, "updated": now,
                       "generation": (old["generation"] + (0 if old["hash"] == h else 1)) if old else 1}
                self.s["objects"][key] = rec
                if kind == "Namespace":
                    self.s["namespaces"].setdefault(name, now)
                self.s["applied"].append({"time": now, "source": source, "manager": manager, "server_side": server_side,
                                          "kind": kind, "apiVersion": api, "namespace": ns, "name": name, "hash": h,
                                          "result": verb, "content": o})
            if not dry_run:
                self.save()
        return results

    def delete(self, objs, source):
        results = []
        doomed = []
        with self.lock:
            kinds = self.kinds()
            for o in objs:
                kind = o.get("kind")
                md = o.get("metadata") or {}
                name = md.get("name")
                if kind not in kinds:
                    results.append({"error": f'resource mapping not found for kind "{kind}"'})
                    continue
                group, ver, plural, namespaced = kinds[kind]
                ns = (md.get("namespace") or "default") if namespaced else ""
                key = f"{group}/{kind}/{ns}/{name}"
                display = f'{kind.lower()}.{group} "{name}"' if group else f'{kind.lower()} "{name}"'
                if key in self.s["objects"]:
                    del self.s["objects"][key]
                    if kind == "Namespace":          # its contents go when the request is done (Terminating)
                        doomed.append(name)
                    self.s["applied"].append({"time": time.time(), "source": source, "kind": kind, "namespace": ns,
                                              "name": name, "result": "deleted"})
                    results.append({"result": "deleted", "display": display})
                else:
                    results.append({"error": f'Error from server (NotFound): error when deleting "{source}": '
                                             f'{plural}{"." + group if group else ""} "{name}" not found', "notfound": True})
            for name in doomed:
                self.s["namespaces"].pop(name, None)
                for k in [k for k, v in self.s["objects"].items() if v["namespace"] == name]:
                    del self.s["objects"][k]
            self.save()
        return results

    def find(self, group, plural, ns, name):
        for o in self.s["objects"].values():
            if o["group"] == group and o["plural"] == plural and o["name"] == name and (o["namespace"] == ns or not o["namespace"]):
                return o
        return None

    def list(self, group, plural, ns):
        return [o for o in self.s["objects"].values()
                if o["group"] == group and o["plural"] == plural and (ns is None or o["namespace"] == ns)]

    def obj_view(self, rec):
        o = json.loads(json.dumps(rec["content"]))
        md = o.setdefault("metadata", {})
        md.setdefault("namespace", rec["namespace"]) if rec["namespace"] else None
        md["uid"] = hashlib.sha1(rec["hash"].encode()).hexdigest()
        md["creationTimestamp"] = now_rfc3339(rec["created"])
        md["generation"] = rec["generation"]
        md["resourceVersion"] = str(self.s["rv"])
        if rec["kind"] in ("Deployment", "StatefulSet", "DaemonSet"):
            replicas = (o.get("spec") or {}).get("replicas", 1)
            done = time.time() - rec["updated"] >= 1.0
            o["status"] = {"observedGeneration": rec["generation"], "replicas": replicas,
                           "updatedReplicas": replicas if done else 0,
                           "readyReplicas": replicas if done else 0, "availableReplicas": replicas if done else 0}
        return o


class API:
    def __init__(self, run, boot, P):
        self.run, self.boot, self.P = run, boot, P
        self.owner = boot.get("owner", False)
        self.ca = read_file(P.ca)
        self.cluster = Cluster(P.state, boot) if self.owner else None
        self.started = time.time()
        self.owner_ctx = None
        if not self.owner:
            self.owner_ctx = client_ctx(self.ca, read_file(P.admin), read_file(P.admin_key))

    # ---- forwarding to the owner (the cluster state lives with the first server) ----
    def forward(self, method, path, body, headers):
        h = {k: v for k, v in headers.items() if k in ("accept", "content-type", "authorization")}
        try:
            status, rh, data = https(method, self.boot["owner_url"] + path, body, h, ctx=self.owner_ctx, timeout=30)
            return status, rh.get("content-type", "application/json"), data
        except HTTPError as e:
            return e.status, "application/json", e.body.encode()
        except OSError as e:
            return 503, "application/json", status_json(503, "ServiceUnavailable", f"etcd cluster is unavailable: {e}")

    def handle(self, method, path, headers, body, peer_cn):
        q = ""
        if "?" in path:
            path, q = path.split("?", 1)
        public = path in ("/cacerts", "/ping", "/readyz", "/livez", "/healthz", "/version") or path.startswith("/v1-k3s/") \
            or path.startswith("/v1-lab/node")
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
        if not self.owner:
            return self.forward(method, path + ("?" + q if q else ""), body, headers)
        return self.owner_handle(method, path, q, headers, body, peer_cn)

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
        params = dict(p.partition("=")[::2] for p in q.split("&") if p)
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
        parts = [p for p in path.split("/") if p]
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
            return self.list_or_get(items, name, "namespaces", table, ["Status"], lambda o: [o["status"]["phase"]])
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
            return self.list_or_get(items, name, "serviceaccounts", table, ["Secrets"], lambda o: [0], ns)
        kinds = C.kinds()
        kind = next((k for k, v in kinds.items() if v[0] == group and v[2] == plural), None)
        if kind is None:
            return 404, "application/json", status_json(404, "NotFound", "the server could not find the requested resource")
        items = [C.obj_view(r) for r in C.list(group, plural, ns)]
        return self.list_or_get(items, name, plural + ("." + group if group else ""), table, [], lambda o: [], ns)

    def list_or_get(self, items, name, res, table, extra_cols, extra_cells, ns=None):
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
        return 200, "application/json", json.dumps({"kind": "List", "apiVersion": "v1", "metadata": {}, "items": items}).encode()

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


def match_selector(labels, sel):
    for term in sel.replace("%3D", "=").replace("%2C", ",").replace("%21", "!").split(","):
        if "!=" in term:
            k, v = term.split("!=", 1)
            if labels.get(k) == v:
                return False
        elif "=" in term:
            k, v = term.split("=", 1)
            k = k.rstrip("=")
            if labels.get(k) != v:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term and term not in labels:
            return False
    return True


def age_of(o):
    ts = o["metadata"].get("creationTimestamp")
    if not ts:
        return "<unknown>"
    import calendar
    return age(calendar.timegm(time.strptime(ts, "%Y-%m-%dT%H:%M:%SZ")))


def node_roles(labels):
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    return ",".join(roles) if roles else "<none>"


def node_status(n):
    c = next((c for c in n["status"]["conditions"] if c["type"] == "Ready"), None)
    s = "Ready" if c and c["status"] == "True" else "NotReady"
    if any(t.get("key") == "node.kubernetes.io/unschedulable" for t in n["spec"].get("taints", [])):
        s += ",SchedulingDisabled"
    return s


def node_table(nodes):
    cols = [("Name", "string", "name", 0), ("Status", "string", "", 0), ("Roles", "string", "", 0),
            ("Age", "string", "", 0), ("Version", "string", "", 0), ("Internal-IP", "string", "", 1),
            ("External-IP", "string", "", 1), ("OS-Image", "string", "", 1), ("Kernel-Version", "string", "", 1),
            ("Container-Runtime", "string", "", 1)]
    rows = []
    for n in nodes:
        addrs = n["status"]["addresses"]
        ip = next((a["address"] for a in addrs if a["type"] == "InternalIP"), "<none>")
        ext = next((a["address"] for a in addrs if a["type"] == "ExternalIP"), "<none>")
        ni = n["status"]["nodeInfo"]
        rows.append({"cells": [n["metadata"]["name"], node_status(n), node_roles(n["metadata"]["labels"]), age_of(n),
                               ni["kubeletVersion"], ip, ext, ni["osImage"], ni["kernelVersion"], ni["containerRuntimeVersion"]],
                     "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": n["metadata"]}})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": "1"},
            "columnDefinitions": [{"name": c, "type": t, "format": f, "description": c, "priority": p} for c, t, f, p in cols],
            "rows": rows}


def resource_list(group, version, kinds):
    gv = f"{group}/{version}" if group else version
    res = []
    for kind, (g, v, plural, nsd) in sorted(kinds.items()):
        if g == group and v == version:
            res.append({"name": plural, "singularName": kind.lower(), "namespaced": nsd, "kind": kind,
                        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
                        **({"shortNames": ["no"]} if plural == "nodes" else {}),
                        **({"shortNames": ["sa"]} if plural == "serviceaccounts" else {}),
                        **({"shortNames": ["ns"]} if plural == "namespaces" else {}),
                        **({"shortNames": ["deploy"]} if plural == "deployments" else {})})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": res}


def status_json(code, reason, message, name=None, kind=None):
    d = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
         "reason": reason, "code": code}
    if name:
        d["details"] = {"name": name, "kind": kind}
    return json.dumps(d).encode()


def version_info():
    major, minor = VERSION.lstrip("v").split(".")[:2]
    return {"major": major, "minor": minor, "gitVersion": VERSION, "gitCommit": COMMIT, "gitTreeState": "clean",
            "buildDate": "2024-12-12T00:00:00Z", "goVersion": GO_VERSION, "compiler": "gc",
            "platform": f"linux/{arch_name()}"}


REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 500: "Internal Server Error", 503: "Service Unavailable"}


def serve_conn(api, ctx, raw, addr):
    try:
        raw.settimeout(30)
        conn = ctx.wrap_socket(raw, server_side=True)
    except (OSError, ssl.SSLError):
        raw.close()
        return
    peer_cn = None
    try:
        cert = conn.getpeercert()
        if cert:
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        peer_cn = v
    except (OSError, ValueError):
        pass
    f = conn.makefile("rb")
    try:
        while True:
            line = f.readline(65536)
            if not line:
                break
            parts = line.decode("latin-1").split()
            if len(parts) < 2:
                break
            method, path = parts[0], parts[1]
            headers = {}
            while True:
                h = f.readline(65536).decode("latin-1")
                if h in ("\r\n", "\n", ""):
                    break
                k, _, v = h.partition(":")
                headers[k.strip().lower()] = v.strip()
            body = b""
            if "content-length" in headers:
                body = f.read(int(headers["content-length"]))
            elif headers.get("transfer-encoding") == "chunked":
                while True:
                    n = int(f.readline().strip(), 16)
                    if n == 0:
                        f.readline()
                        break
                    body += f.read(n)
                    f.readline()
            try:
                status, ctype, data = api.handle(method, path, headers, body, peer_cn)
            except Exception as e:  # noqa: a bug must not kill the server
                logmsg("error", f"handler error for {method} {path}: {type(e).__name__}: {e}")
                status, ctype, data = 500, "application/json", status_json(500, "InternalError", str(e))
            if api.run.get("debug"):
                logmsg("debug", f"{method} {path} {status} ({peer_cn or 'anonymous'})")
            close = headers.get("connection", "").lower() == "close"
            resp = (f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\nContent-Type: {ctype}\r\n"
                    f"Content-Length: {len(data)}\r\nAudit-Id: {os.urandom(8).hex()}\r\n"
                    f"Cache-Control: no-cache, private\r\n{'Connection: close' + chr(13) + chr(10) if close else ''}\r\n")
            conn.sendall(resp.encode() + data)
            if close:
                break
    except (OSError, ssl.SSLError, ValueError):
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


def notify_ready():
    ns = os.environ.get("NOTIFY_SOCKET")
    if not ns:
        return
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.sendto(b"READY=1\nSTATUS=running", ns if not ns.startswith("@") else "\0" + ns[1:])
    except OSError as e:
        logmsg("warning", f"failed to notify systemd: {e}")
    finally:
        s.close()


def set_comm(name):
    try:
        with open("/proc/self/comm", "w") as f:
            f.write(name)
    except OSError:
        pass


def lean_main(run_path):
    with open(run_path) as f:
        run = json.load(f)
    threading.stack_size(256 * 1024)
    if run["mode"] == "agent":
        set_comm("k3s-agent")
        return agent_loop(run)
    set_comm("k3s-server")
    P = Paths(run["data_dir"])
    boot = json.loads(read_file(P.cred))
    api = API(run, boot, P)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(P.serving, P.serving_key)
    ctx.load_verify_locations(P.ca)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        ls.bind((run.get("bind", "0.0.0.0"), run["port"]))
    except OSError as e:
        fatal(f"starting kubernetes: preparing server: listen tcp :{run['port']}: bind: {e.strerror}")
    ls.listen(128)
    node = run["node"]
    node["images"] = run.get("images", [])
    if api.owner:
        st, msg = api.cluster.register(node)
        if st != 200:
            fatal(msg)
        if boot["datastore"] == "etcd":
            with api.cluster.lock:
                n = api.cluster.s["nodes"][node["name"]]
                if n.get("etcd") != "member":
                    n["etcd"] = "member"
                    api.cluster.save()
    logmsg("info", f"Tunnel server egress proxy mode: agent")
    logmsg("info", f"Running kube-apiserver --advertise-port={run['port']} --secure-port={run['port']} (k3s double)")
    t = threading.Thread(target=accept_loop, args=(ls, api, ctx), daemon=True)
    t.start()
    if not api.owner:
        # register our own node with the owner, then keep heartbeating
        pwh = hashlib.sha256(node["password"].encode()).hexdigest()
        hb = {"name": node["name"], "password_hash": pwh}
        while True:
            try:
                https("POST", boot["owner_url"] + "/v1-lab/node-heartbeat", hb, ctx=api.owner_ctx, timeout=10)
                break
            except (OSError, HTTPError) as e:
                logmsg("info", f"Waiting for etcd/apiserver on {boot['owner_url']}: {e}")
                time.sleep(1)
    logmsg("info", "k3s is up and running")
    notify_ready()
    threading.Thread(target=manifest_loop, args=(P,), daemon=True).start()
    pwh = hashlib.sha256(node["password"].encode()).hexdigest()
    while True:
        try:
            if api.owner:
                api.cluster.heartbeat(node["name"], pwh)
                promote_learners(api.cluster)
            else:
                https("POST", boot["owner_url"] + "/v1-lab/node-heartbeat", {"name": node["name"], "password_hash": pwh},
                      ctx=api.owner_ctx, timeout=10)
        except HTTPError as e:
            if e.status in (401, 403):
                fatal(f"node {node['name']} rejected by the cluster: {e.body}")
            logmsg("warning", f"heartbeat failed: {e}")
        except OSError as e:
            logmsg("warning", f"heartbeat failed: {e}")
        time.sleep(min(HEARTBEAT_SECONDS, 1.0) if api.owner else HEARTBEAT_SECONDS)


def promote_learners(cluster):
    with cluster.lock:
        changed = False
        for n in cluster.s["nodes"].values():
            if n.get("etcd") == "learner" and time.time() >= n.get("promote_at", 0):
                if time.time() - cluster.heartbeats.get(n["name"], 0) < NOTREADY_SECONDS:
                    n["etcd"] = "member"
                    n["promoted"] = time.time()
                    changed = True
                    logmsg("info", f"Promoted etcd learner {n['name']} to voting member")
        if changed:
            cluster.save()


def accept_loop(ls, api, ctx):
    while True:
        try:
            c, a = ls.accept()
        except OSError:
            continue
        threading.Thread(target=serve_conn, args=(api, ctx, c, a), daemon=True).start()


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
                import subprocess
                kw = {"pass_fds": (SCRIPT_FD,)} if SCRIPT_FD >= 0 else {}
                r = subprocess.run([sys.executable, "-I", SCRIPT, "kubectl", "apply", "-f", p,
                                    "--field-manager", "deploy@" + socket.gethostname(), "--lab-source", "manifests/" + fn],
                                   capture_output=True, text=True, **kw)
                if r.returncode == 0:
                    seen[fn] = h
                    logmsg("info", f"Applied manifest {p} (sha256 {h[:12]})")
                else:
                    logmsg("error", f"Failed to apply manifest {p}: {(r.stderr or r.stdout).strip()}")
        except OSError:
            pass
        time.sleep(MANIFEST_POLL_SECONDS)


def agent_loop(run):
    node = run["node"]
    url = run["server"]
    ca = read_file(os.path.join(run["data_dir"], "agent", "server-ca.crt"))
    ctx = client_ctx(ca)
    pwh = hashlib.sha256(node["password"].encode()).hexdigest()
    joined = False
    while not joined:
        try:
            https("POST", url + "/v1-lab/node-join", node, {"Authorization": run["auth"]}, ctx=ctx, timeout=15)
            joined = True
        except HTTPError as e:
            if e.status == 401:
                fatal(f"Failed to validate connection to cluster at {url}: token is not valid: 401 Unauthorized")
            if e.status == 403:
                try:
                    fatal(json.loads(e.body)["message"])
                except ValueError:
                    fatal(e.body)
            logmsg("info", f"Waiting to retrieve agent configuration; server is not ready: {e}")
            time.sleep(2)
        except OSError as e:
            logmsg("info", f"Waiting to retrieve agent configuration; server is not ready: {e}")
            time.sleep(2)
    logmsg("info", f"Node {node['name']} registered with the cluster at {url}")
    notify_ready()
    while True:
        time.sleep(HEARTBEAT_SECONDS)
        try:
            https("POST", url + "/v1-lab/node-heartbeat", {"name": node["name"], "password_hash": pwh},
                  {"Authorization": run["auth"]}, ctx=ctx, timeout=10)
        except HTTPError as e:
            if e.status == 401:
                fatal(f"Failed to validate connection to cluster at {url}: token is not valid: 401 Unauthorized")
            if e.status == 404:           # the server forgot us (e.g. data reset): register again
                try:
                    https("POST", url + "/v1-lab/node-join", node, {"Authorization": run["auth"]}, ctx=ctx, timeout=15)
                except (OSError, HTTPError):
                    pass
            logmsg("warning", f"heartbeat failed: {e}")
        except OSError as e:
            logmsg("warning", f"Failed to connect to proxy: {e}")


if __name__ == "__main__" and sys.argv[1:2] == ["__serve"]:
    sys.exit(lean_main(sys.argv[2]))
# === END OF LEAN PART ===

# =============================================================================================
# FULL PART: CLI, configuration, certificates, joins, `k3s kubectl`, `k3s token`
# =============================================================================================
import re  # noqa: E402 (the lean part above stays import-light)

FLAGS = {
    "config": ("s", "B"), "debug": ("b", "B"), "v": ("i", "B"), "vmodule": ("s", "B"), "log": ("s", "B"),
    "alsologtostderr": ("b", "B"), "data-dir": ("s", "B"), "token": ("s", "B"), "token-file": ("s", "B"),
    "server": ("s", "B"), "node-name": ("s", "B"), "with-node-id": ("b", "B"), "node-label": ("l", "B"),
    "node-taint": ("l", "B"), "node-ip": ("l", "B"), "node-external-ip": ("l", "B"), "resolv-conf": ("s", "B"),
    "flannel-iface": ("s", "B"), "flannel-conf": ("s", "B"), "kubelet-arg": ("l", "B"), "kube-proxy-arg": ("l", "B"),
    "protect-kernel-defaults": ("b", "B"), "selinux": ("b", "B"), "lb-server-port": ("i", "B"),
    "private-registry": ("s", "B"), "pause-image": ("s", "B"), "snapshotter": ("s", "B"), "docker": ("b", "B"),
    "container-runtime-endpoint": ("s", "B"), "prefer-bundled-bin": ("b", "B"), "airgap-extra-registry": ("l", "B"),
    "image-credential-provider-bin-dir": ("s", "B"), "image-credential-provider-config": ("s", "B"),
    "node-external-dns": ("l", "B"), "bind-address": ("s", "B"), "vpn-auth": ("s", "B"), "vpn-auth-file": ("s", "B"),
    "rootless": ("b", "B"), "default-runtime": ("s", "B"), "disable-default-registry-endpoint": ("b", "B"),
    "nonroot-devices": ("b", "B"),
    # server only
    "agent-token": ("s", "S"), "agent-token-file": ("s", "S"), "cluster-init": ("b", "S"), "cluster-reset": ("b", "S"),
    "cluster-reset-restore-path": ("s", "S"), "tls-san": ("l", "S"), "tls-san-security": ("b", "S"),
    "disable": ("l", "S"), "cluster-cidr": ("l", "S"), "service-cidr": ("l", "S"), "cluster-dns": ("l", "S"),
    "cluster-domain": ("s", "S"), "service-node-port-range": ("s", "S"), "flannel-backend": ("s", "S"),
    "flannel-ipv6-masq": ("b", "S"), "flannel-external-ip": ("b", "S"), "secrets-encryption": ("b", "S"),
    "secrets-encryption-provider": ("s", "S"), "write-kubeconfig": ("s", "S"), "write-kubeconfig-mode": ("s", "S"),
    "write-kubeconfig-group": ("s", "S"), "https-listen-port": ("i", "S"), "advertise-address": ("s", "S"),
    "advertise-port": ("i", "S"), "embedded-registry": ("b", "S"), "kube-apiserver-arg": ("l", "S"),
    "kube-scheduler-arg": ("l", "S"), "kube-controller-manager-arg": ("l", "S"),
    "kube-cloud-controller-manager-arg": ("l", "S"), "etcd-arg": ("l", "S"), "etcd-expose-metrics": ("b", "S"),
    "etcd-disable-snapshots": ("b", "S"), "etcd-snapshot-schedule-cron": ("s", "S"),
    "etcd-snapshot-retention": ("i", "S"), "etcd-snapshot-dir": ("s", "S"), "etcd-s3": ("b", "S"),
    "datastore-endpoint": ("s", "S"), "datastore-cafile": ("s", "S"), "datastore-certfile": ("s", "S"),
    "datastore-keyfile": ("s", "S"), "disable-network-policy": ("b", "S"), "disable-kube-proxy": ("b", "S"),
    "disable-cloud-controller": ("b", "S"), "disable-helm-controller": ("b", "S"), "disable-scheduler": ("b", "S"),
    "disable-apiserver": ("b", "S"), "disable-controller-manager": ("b", "S"), "disable-etcd": ("b", "S"),
    "default-local-storage-path": ("s", "S"), "system-default-registry": ("s", "S"), "servicelb-namespace": ("s", "S"),
    "egress-selector-mode": ("s", "S"), "supervisor-metrics": ("b", "S"), "helm-job-image": ("s", "S"),
    "kine-tls": ("b", "S"), "cluster-domain-suffix": ("s", "S"), "node-port-range": ("s", "S"),
    "embedded-registry-mirror": ("l", "S"), "disable-agent": ("b", "S"), "kube-controller-arg": ("l", "S"),
}
ALIASES = {"c": "config", "t": "token", "s": "server", "d": "data-dir", "o": "write-kubeconfig",
           "write-kubeconfig-mode": "write-kubeconfig-mode"}
ENV_FLAGS = {"K3S_TOKEN": "token", "K3S_TOKEN_FILE": "token-file", "K3S_URL": "server", "K3S_NODE_NAME": "node-name",
             "K3S_AGENT_TOKEN": "agent-token", "K3S_AGENT_TOKEN_FILE": "agent-token-file",
             "K3S_CLUSTER_INIT": "cluster-init", "K3S_KUBECONFIG_OUTPUT": "write-kubeconfig",
             "K3S_KUBECONFIG_MODE": "write-kubeconfig-mode", "K3S_DATA_DIR": "data-dir",
             "K3S_CONFIG_FILE": "config", "K3S_DATASTORE_ENDPOINT": "datastore-endpoint",
             "K3S_SELINUX": "selinux", "K3S_RESOLV_CONF": "resolv-conf", "K3S_FLANNEL_IFACE": "flannel-iface"}
DEFAULTS = {"cluster-cidr": ["10.42.0.0/16"], "service-cidr": ["10.43.0.0/16"], "cluster-dns": ["10.43.0.10"],
            "cluster-domain": "cluster.local", "flannel-backend": "vxlan", "secrets-encryption": False,
            "disable": [], "disable-network-policy": False, "disable-kube-proxy": False,
            "egress-selector-mode": "agent", "service-node-port-range": "30000-32767",
            "disable-helm-controller": False, "https-listen-port": 6443, "data-dir": "/var/lib/rancher/k3s",
            "write-kubeconfig": "/etc/rancher/k3s/k3s.yaml", "write-kubeconfig-mode": ""}


class ConfigError(Exception):
    pass


def to_bool(v):
    if isinstance(v, bool):
        return v
    return str(v).lower() in ("true", "1", "yes", "y", "on")


def coerce(name, v):
    t = FLAGS[name][0]
    if name == "write-kubeconfig-mode" and isinstance(v, int) and not isinstance(v, bool):
        v = "0%o" % v                     # an unquoted 0644 in YAML is the integer 420
    if t == "b":
        return to_bool(v)
    if t == "i":
        return int(v)
    if t == "l":
        if isinstance(v, list):
            out = []
            for x in v:
                out.append(str(x))
            return out
        return [str(v)]
    if isinstance(v, (list, dict)):
        raise ConfigError(f"invalid value for {name}: expected a string")
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def parse_cli(args, cmd):
    """Returns (flags dict, positional args). Lists accumulate across repeated flags."""
    out, pos = {}, []
    i = 0
    while i < len(args):
        a = args[i]
        i += 1
        if a == "--":
            pos += args[i:]
            break
        if not a.startswith("-") or a == "-":
            pos.append(a)
            continue
        name = a.lstrip("-")
        val = None
        if "=" in name:
            name, val = name.split("=", 1)
        name = ALIASES.get(name, name)
        if name not in FLAGS:
            raise ConfigError(f"flag provided but not defined: -{name}")
        if FLAGS[name][1] == "S" and cmd == "agent":
            raise ConfigError(f"flag provided but not defined: -{name}")
        t = FLAGS[name][0]
        if val is None:
            if t == "b":
                val = "true"
            else:
                if i >= len(args):
                    raise ConfigError(f"flag needs an argument: -{name}")
                val = args[i]
                i += 1
        if t == "l":
            out.setdefault(name, []).extend(coerce(name, val) if not isinstance(val, str) else [val])
        else:
            out[name] = coerce(name, val)
    return out, pos


def config_files(path):
    files = []
    if os.path.exists(path):
        files.append(path)
    d = path + ".d"
    if os.path.isdir(d):
        for fn in sorted(os.listdir(d)):
            if fn.endswith(".yaml") or fn.endswith(".yml"):
                files.append(os.path.join(d, fn))
    return files


def load_config(args, cmd, env=None):
    """defaults < env < config files (alphabetical; key+ appends) < CLI."""
    env = os.environ if env is None else env
    cli, pos = parse_cli(args, cmd)
    cfg = {}
    for ev, name in ENV_FLAGS.items():
        if env.get(ev):
            if FLAGS[name][1] == "S" and cmd == "agent":
                continue
            cfg[name] = coerce(name, env[ev])
    path = cli.get("config") or cfg.get("config") or CONFIG_FILE
    import yaml
    for f in config_files(path):
        try:
            with open(f) as fh:
                data = yaml.safe_load(fh)
        except yaml.YAMLError as e:
            raise ConfigError(f"failed to parse {f}: {e}".replace("\n", " "))
        except OSError as e:
            raise ConfigError(f"failed to read {f}: {e}")
        if data is None:
            continue
        if not isinstance(data, dict):
            raise ConfigError(f"{f}: config file must be a YAML mapping")
        for k, v in data.items():
            k = str(k)
            append = k.endswith("+")
            name = k[:-1] if append else k
            name = ALIASES.get(name, name)
            if name not in FLAGS:
                raise ConfigError(f'unknown configuration key "{k}" in {f}')
            if FLAGS[name][1] == "S" and cmd == "agent":
                logmsg("warning", f"Unknown flag --{name} found in config.yaml, skipping")
                continue
            val = coerce(name, v)
            if append and FLAGS[name][0] == "l":
                cfg[name] = list(cfg.get(name, [])) + val
            else:
                cfg[name] = val
    for k, v in cli.items():
        cfg[k] = v
    # comma-separated list values are split like k3s's StringSlice flags
    for k, v in list(cfg.items()):
        if FLAGS.get(k, ("s",))[0] == "l" and k in ("disable", "cluster-cidr", "service-cidr", "cluster-dns", "tls-san", "node-ip"):
            cfg[k] = [x.strip() for item in v for x in item.split(",") if x.strip()]
    return cfg, pos


def effective(cfg, key):
    if key in cfg:
        return cfg[key]
    return DEFAULTS.get(key, [] if FLAGS.get(key, ("s",))[0] == "l" else ("" if FLAGS.get(key, ("s",))[0] == "s" else False))


def critical_settings(cfg):
    out = {}
    for k in CRITICAL:
        v = effective(cfg, k)
        if isinstance(v, list):
            v = sorted(v) if k == "disable" else v
        out[k] = v
    return out


def read_token_setting(cfg, which="token"):
    tok = cfg.get(which)
    tf = cfg.get(which + "-file")
    if not tok and tf:
        try:
            with open(tf) as f:
                tok = f.read().strip()
        except OSError as e:
            raise ConfigError(f"failed to read {which} file {tf}: {e.strerror}")
    return tok or None


def host_addresses():
    out = []
    try:
        import subprocess
        r = subprocess.run(["ip", "-o", "-4", "addr", "show", "scope", "global"], capture_output=True, text=True)
        for line in r.stdout.splitlines():
            p = line.split()
            if "inet" in p:
                out.append(p[p.index("inet") + 1].split("/")[0])
    except OSError:
        pass
    return out


def os_image():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"


def node_password(name):
    """k3s keeps a random node password in /etc/rancher/node/password; servers remember it per node."""
    p = "/etc/rancher/node/password"
    try:
        with open(p) as f:
            pw = f.read().strip()
            if pw:
                return pw
    except OSError:
        pass
    os.makedirs(os.path.dirname(p), exist_ok=True)
    pw = os.urandom(16).hex()
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, pw.encode() + b"\n")
    os.close(fd)
    return pw


def import_images(data_dir):
    d = os.path.join(data_dir, "agent", "images")
    out = []
    if os.path.isdir(d):
        for fn in sorted(os.listdir(d)):
            if fn.endswith((".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.lz4", ".tar.bz2")):
                p = os.path.join(d, fn)
                t0 = time.time()
                size = os.path.getsize(p)
                logmsg("info", f"Importing images from {p}")
                logmsg("info", f"Imported images from {p} in {time.time() - t0:.6f}s ({size} bytes)")
                out.append({"file": p, "size": size, "sha256": sha256_file(p)})
    return out


def gen_ca():
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    import datetime
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"k3s-server-ca@{int(time.time())}")])
    nb = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(nb)
            .not_valid_after(nb + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption()))


def gen_leaf(ca_pem, ca_key_pem, cn, orgs=(), dns=(), ips=(), server=True, client=False, days=365):
    from cryptography import x509
    from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    import datetime
    import ipaddress
    ca = x509.load_pem_x509_certificate(ca_pem)
    ca_key = serialization.load_pem_private_key(ca_key_pem, None)
    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    nb = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    b = (x509.CertificateBuilder().subject_name(x509.Name(attrs)).issuer_name(ca.subject)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(nb).not_valid_after(nb + datetime.timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True))
    ekus = ([ExtendedKeyUsageOID.SERVER_AUTH] if server else []) + ([ExtendedKeyUsageOID.CLIENT_AUTH] if client else [])
    b = b.add_extension(x509.ExtendedKeyUsage(ekus), critical=False)
    sans = [x509.DNSName(d) for d in dict.fromkeys(dns)]
    for ip in dict.fromkeys(ips):
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(ip)))
        except ValueError:
            sans.append(x509.DNSName(ip))
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = b.sign(ca_key, hashes.SHA256())
    return (cert.public_bytes(serialization.Encoding.PEM) + ca_pem,
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption()))


def fetch_cacerts(server_url, token_hash):
    """GET /cacerts and verify its hash against the secure token's (k3s: protection against MITM)."""
    _, _, ca = https("GET", server_url.rstrip("/") + "/cacerts", timeout=5)
    got = hashlib.sha256(ca).hexdigest()
    if token_hash and got != token_hash:
        fatal(f"Failed to validate connection to cluster at {server_url}: token CA hash does not match the "
              f"Cluster CA certificate hash: {token_hash} != {got}")
    return ca


NODE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def node_name_of(cfg):
    n = cfg.get("node-name") or socket.gethostname()
    if cfg.get("with-node-id"):
        n += "-" + read_or_make_node_id()
    n = n.lower()
    # the API server refuses a Node whose name is no RFC 1123 subdomain, so k3s never gets a node
    if len(n) > 253 or not NODE_NAME.match(n):
        raise ConfigError(f'Node "{n}" is invalid: metadata.name: Invalid value: "{n}": a lowercase RFC 1123 subdomain '
                          "must consist of lower case alphanumeric characters, '-' or '.', and must start and end "
                          "with an alphanumeric character")
    return n


def read_or_make_node_id():
    p = "/etc/rancher/node/node-id"
    v = read_file(p)
    if v:
        return v.decode().strip()
    v = os.urandom(4).hex()
    write_file(p, v, 0o600)
    return v


def node_record(cfg, role, name):
    ips = cfg.get("node-ip") or host_addresses()[:1]
    labels = {}
    for l in cfg.get("node-label", []):
        k, _, v = l.partition("=")
        labels[k] = v
    taints = []
    for t in cfg.get("node-taint", []):
        kv, _, eff = t.partition(":")
        k, _, v = kv.partition("=")
        if eff not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            raise ConfigError(f"invalid node taint {t!r}: effect must be NoSchedule, PreferNoSchedule or NoExecute")
        taints.append({"key": k, "value": v, "effect": eff} if v else {"key": k, "effect": eff})
    return {"name": name, "role": role, "addresses": ips, "external": cfg.get("node-external-ip", []),
            "labels": labels, "taints": taints, "version": VERSION, "os_image": os_image(),
            "kernel": os.uname().release, "arch": arch_name(), "password": node_password(name),
            "hostname": socket.gethostname()}


def cmd_server(args):
    try:
        cfg, pos = load_config(args, "server")
    except ConfigError as e:
        fatal(str(e))
    if cfg.get("debug"):
        logmsg("debug", "debug logging enabled")
    if cfg.get("datastore-endpoint"):
        fatal("external datastores (datastore-endpoint) are not supported by the edgeup lab's k3s double")
    P = Paths(effective(cfg, "data-dir"))
    logmsg("info", f"Starting k3s {VERSION} ({COMMIT})")
    os.makedirs(P.tls, exist_ok=True)
    os.makedirs(P.db, exist_ok=True)
    os.makedirs(P.manifests, exist_ok=True)
    try:
        token = read_token_setting(cfg)
        agent_token = read_token_setting(cfg, "agent-token")
        name = node_name_of(cfg)
        node = node_record(cfg, "server", name)
    except ConfigError as e:
        fatal(str(e))
    images = import_images(P.data)
    port = int(effective(cfg, "https-listen-port"))
    crit = critical_settings(cfg)
    boot = json.loads(read_file(P.cred, b"null") or b"null")
    join_url = cfg.get("server")
    if boot is None and join_url:
        boot = join_as_server(cfg, join_url, token, node, crit, P)
    elif boot is None:
        # the first server of a new cluster
        if cfg.get("cluster-init"):
            logmsg("info", "Managed etcd cluster initializing")
        else:
            logmsg("info", "Configuring sqlite3 database connection pooling: maxIdleConns=2, maxOpenConns=0, connMaxLifetime=0s")
        ca, ca_key = gen_ca()
        write_file(P.ca, ca, 0o644)
        write_file(P.ca_key, ca_key, 0o600)
        secret = parse_token(token)[2] if token else os.urandom(16).hex()
        if token and parse_token(token)[0]:
            fatal("token with CA hash given to the first server: a new cluster has no CA yet")
        asecret = parse_token(agent_token)[2] if agent_token else None
        boot = {"owner": True, "owner_url": None, "secret": secret, "agent_secret": asecret,
                "datastore": "etcd" if cfg.get("cluster-init") else "sqlite", "critical": crit,
                "cluster_id": os.urandom(8).hex(), "created": time.time()}
        write_file(P.cred, json.dumps(boot), 0o600)
    else:
        # restart: token must match the bootstrap data (k3s encrypts it with the token)
        if token and parse_token(token)[2] != boot["secret"]:
            fatal("starting kubernetes: preparing server: bootstrap data already found and encrypted with different token")
        if boot.get("owner"):
            # the agent token may change across restarts (k3s: reconfigure and restart every server)
            boot["agent_secret"] = parse_token(agent_token)[2] if agent_token else None
            if cfg.get("cluster-init") and boot["datastore"] == "sqlite":
                logmsg("info", "Migrating content from sqlite to etcd")
                boot["datastore"] = "etcd"
            if crit != boot["critical"]:
                diff = [k for k in CRITICAL if crit.get(k) != boot["critical"].get(k)]
                logmsg("warning", f"Cluster configuration changed on restart: {', '.join(diff)}")
                boot["critical"] = crit
            write_file(P.cred, json.dumps(boot), 0o600)
        elif join_url and join_url.rstrip("/") != boot.get("join_url", "").rstrip("/"):
            logmsg("info", "Cluster data already exists on disk: the server flag is ignored")
    ca = read_file(P.ca)
    ca_key = read_file(P.ca_key)
    # serving certificate (regenerated each start, like k3s's dynamic listener) and admin client cert
    addrs = host_addresses()
    ips = ["127.0.0.1", "::1"] + list(node["addresses"]) + addrs + [service_ip(crit)]
    dns = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
           "kubernetes.default.svc." + crit["cluster-domain"], socket.gethostname(), name]
    for san in cfg.get("tls-san", []):
        try:
            import ipaddress
            ipaddress.ip_address(san)
            ips.append(san)
        except ValueError:
            dns.append(san)
    sc, sk = gen_leaf(ca, ca_key, "k3s", ("k3s",), dns, ips, server=True, client=True)
    write_file(P.serving, sc, 0o644)
    write_file(P.serving_key, sk, 0o600)
    if not os.path.exists(P.admin):
        ac, ak = gen_leaf(ca, ca_key, "system:admin", ("system:masters",), server=False, client=True)
        write_file(P.admin, ac, 0o644)
        write_file(P.admin_key, ak, 0o600)
    # token files
    write_file(P.token, secure_token(ca, "server", boot["secret"]) + "\n", 0o600)
    try:
        if os.path.lexists(P.node_token):
            os.unlink(P.node_token)
        os.symlink(P.token, P.node_token)
    except OSError:
        write_file(P.node_token, secure_token(ca, "server", boot["secret"]) + "\n", 0o600)
    if boot.get("agent_secret"):
        write_file(P.agent_token, secure_token(ca, "node", boot["agent_secret"]) + "\n", 0o600)
    elif os.path.exists(P.agent_token):
        os.unlink(P.agent_token)
    # kubeconfig
    kc_path = effective(cfg, "write-kubeconfig")
    mode = effective(cfg, "write-kubeconfig-mode")
    write_kubeconfig(kc_path, ca, read_file(P.admin), read_file(P.admin_key), port,
                     int(mode, 8) if mode else 0o600)
    if cfg.get("write-kubeconfig-group"):
        import grp
        try:
            os.chown(kc_path, -1, grp.getgrnam(cfg["write-kubeconfig-group"]).gr_gid)
        except KeyError:
            pass
    logmsg("info", f"Wrote kubeconfig {kc_path}")
    for k in ("kube-apiserver-arg", "kubelet-arg"):
        for a in cfg.get(k, []):
            logmsg("info", f"Running with {k} {a}")
    serve = {"mode": "server", "data_dir": P.data, "port": port, "node": node, "images": images,
             "bind": cfg.get("bind-address") or "0.0.0.0", "debug": bool(cfg.get("debug")),
             "config": {k: v for k, v in cfg.items() if not k.endswith("token") and k != "token-file"}}
    exec_lean(serve, P.data)


def service_ip(crit):
    import ipaddress
    net = ipaddress.ip_network(crit["service-cidr"][0], strict=False)
    return str(net.network_address + 1)


def join_as_server(cfg, url, token, node, crit, P):
    if not token:
        fatal("starting kubernetes: preparing server: failed to normalize server token; must be in format K10<CA-HASH>::<USERNAME>:<PASSWORD> or <PASSWORD>")
    h, user, secret = parse_token(token)
    if user and user != "server":
        fatal(f"Failed to validate connection to cluster at {url}: token is not valid for a server join (user {user})")
    logmsg("info", f"Joining cluster at {url}")
    ca = None
    while ca is None:
        try:
            ca = fetch_cacerts(url, h)
        except (OSError, HTTPError) as e:
            logmsg("info", f"Waiting to join cluster at {url}: {e}")
            time.sleep(2)
    ctx = client_ctx(ca)
    body = {"node": node, "critical": crit, "etcd": True}
    try:
        _, _, data = https("POST", url.rstrip("/") + "/v1-k3s/server-bootstrap", body,
                           {"Authorization": basic("server", secret)}, ctx=ctx, timeout=30)
    except HTTPError as e:
        if e.status == 401:
            fatal(f"starting kubernetes: preparing server: failed to get CA certs: {url}/v1-k3s/server-bootstrap: 401 Unauthorized: token is not valid")
        try:
            msg = json.loads(e.body).get("message", e.body)
        except ValueError:
            msg = e.body
        fatal(f"starting kubernetes: preparing server: {msg}")
    except OSError as e:
        fatal(f"starting kubernetes: preparing server: failed to join {url}: {e}")
    b = json.loads(data)
    write_file(P.ca, b["ca"].encode(), 0o644)
    write_file(P.ca_key, b["ca_key"].encode(), 0o600)
    boot = {"owner": False, "owner_url": b["owner_url"], "join_url": url, "secret": b["secret"],
            "agent_secret": b.get("agent_secret"), "datastore": b["datastore"], "critical": crit,
            "cluster_id": b["cluster_id"], "created": time.time()}
    write_file(P.cred, json.dumps(boot), 0o600)
    logmsg("info", f"Joined etcd cluster as learner member {node['name']}; waiting for promotion")
    return boot


def write_kubeconfig(path, ca, cert, key, port, mode):
    b64 = lambda x: base64.b64encode(x).decode()
    text = f"""apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {b64(ca)}
    server: https://127.0.0.1:{port}
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {{}}
users:
- name: default
  user:
    client-certificate-data: {b64(cert)}
    client-key-data: {b64(key)}
"""
    write_file(path, text, mode)


def cmd_agent(args):
    try:
        cfg, pos = load_config(args, "agent")
        token = read_token_setting(cfg)
    except ConfigError as e:
        fatal(str(e))
    url = cfg.get("server")
    if not url:
        fatal("--server is required")
    if not token:
        fatal("--token is required")
    data_dir = effective(cfg, "data-dir")
    P = Paths(data_dir)
    logmsg("info", f"Starting k3s agent {VERSION} ({COMMIT})")
    try:
        name = node_name_of(cfg)
        node = node_record(cfg, "agent", name)
    except ConfigError as e:
        fatal(str(e))
    h, user, secret = parse_token(token)
    images = import_images(P.data)
    ca = None
    while ca is None:
        try:
            ca = fetch_cacerts(url, h)
        except (OSError, HTTPError) as e:
            logmsg("info", f"Waiting to retrieve agent configuration; server is not ready: {e}")
            time.sleep(2)
    node["images"] = images
    os.makedirs(P.agent, exist_ok=True)
    write_file(os.path.join(P.agent, "server-ca.crt"), ca, 0o644)
    serve = {"mode": "agent", "data_dir": data_dir, "server": url.rstrip("/"), "node": node,
             "auth": basic(user or "node", secret), "images": images, "debug": bool(cfg.get("debug"))}
    exec_lean(serve, data_dir)


def exec_lean(serve, data_dir):
    p = os.path.join(data_dir, "double-run.json")
    write_file(p, json.dumps(serve), 0o600)
    sys.stdout.flush()
    sys.stderr.flush()
    # run only the lean part of this program (see the END OF LEAN PART marker) from its own memfd
    with open(SCRIPT) as f:
        src = f.read()
    lean = src.split("\n# === END OF LEAN PART ===", 1)[0]
    fd = os.memfd_create("k3s-lean", 0)
    os.write(fd, lean.encode())
    os.set_inheritable(fd, True)
    os.execv(sys.executable, [sys.executable, "-I", "-S", f"/proc/self/fd/{fd}", "__serve", p])


class Kube:
    def __init__(self, kubeconfig):
        import yaml
        try:
            with open(kubeconfig) as f:
                kc = yaml.safe_load(f)
        except PermissionError:
            die(f'error: error loading config file "{kubeconfig}": open {kubeconfig}: permission denied')
        except FileNotFoundError:
            die("The connection to the server localhost:8080 was refused - did you specify the right host or port?")
        ctxname = kc.get("current-context")
        ctxs = {c["name"]: c["context"] for c in kc.get("contexts", [])}
        c = ctxs.get(ctxname)
        if c is None:
            die(f'error: current-context "{ctxname}" not found in {kubeconfig}')
        cl = {x["name"]: x["cluster"] for x in kc.get("clusters", [])}[c["cluster"]]
        us = {x["name"]: x["user"] for x in kc.get("users", [])}[c["user"]]
        self.server = cl["server"].rstrip("/")
        ca = base64.b64decode(cl["certificate-authority-data"])
        self.ctx = client_ctx(ca, base64.b64decode(us["client-certificate-data"]), base64.b64decode(us["client-key-data"]))

    def req(self, method, path, body=None, accept="application/json"):
        try:
            return https(method, self.server + path, body, {"Accept": accept}, ctx=self.ctx, timeout=30)[2]
        except HTTPError as e:
            try:
                msg = json.loads(e.body).get("message", e.body)
            except ValueError:
                msg = e.body
            raise KubeError(e.status, msg)
        except OSError as e:
            hp = self.server[8:]
            raise KubeError(0, f"The connection to the server {hp} was refused - did you specify the right host or port?")


class KubeError(Exception):
    def __init__(self, status, msg):
        super().__init__(msg)
        self.status, self.msg = status, msg


def die(msg, code=1):
    sys.stderr.write(msg.rstrip("\n") + "\n")
    sys.exit(code)


RESOURCE_ALIASES = {"no": "nodes", "node": "nodes", "nodes": "nodes", "sa": "serviceaccounts",
                    "serviceaccount": "serviceaccounts", "serviceaccounts": "serviceaccounts", "ns": "namespaces",
                    "namespace": "namespaces", "namespaces": "namespaces", "deploy": "deployments",
                    "deployment": "deployments", "deployments": "deployments", "po": "pods", "pod": "pods", "pods": "pods",
                    "cm": "configmaps", "configmap": "configmaps", "configmaps": "configmaps", "secret": "secrets",
                    "secrets": "secrets", "svc": "services", "service": "services", "services": "services",
                    "ds": "daemonsets", "daemonset": "daemonsets", "daemonsets": "daemonsets"}


def kubectl_main(argv):
    kubeconfig = os.environ.get("KUBECONFIG") or "/etc/rancher/k3s/k3s.yaml"
    opts = {"o": None, "n": None, "f": [], "server_side": False, "manager": None, "timeout": 0, "raw": None,
            "ignore_not_found": False, "source": None, "all_ns": False, "selector": None, "force_conflicts": False,
            "dry_run": False, "for": None, "all": False}
    pos = []
    i = 0

    def val():
        nonlocal i
        i += 1
        if i >= len(argv):
            die(f"error: flag needs an argument: {argv[i - 1]}")
        return argv[i]
    while i < len(argv):
        a = argv[i]
        k, eq, v = a.partition("=")
        if k in ("-o", "--output"):
            opts["o"] = v if eq else val()
        elif k in ("-n", "--namespace"):
            opts["n"] = v if eq else val()
        elif k in ("-f", "--filename"):
            opts["f"].append(v if eq else val())
        elif k == "--server-side":
            opts["server_side"] = (v or "true") == "true"
        elif k == "--field-manager":
            opts["manager"] = v if eq else val()
        elif k == "--timeout":
            opts["timeout"] = parse_duration(v if eq else val())
        elif k == "--raw":
            opts["raw"] = v if eq else val()
        elif k == "--kubeconfig":
            kubeconfig = v if eq else val()
        elif k == "--ignore-not-found":
            opts["ignore_not_found"] = (v or "true") == "true"
        elif k == "--lab-source":
            opts["source"] = v if eq else val()
        elif k in ("-A", "--all-namespaces"):
            opts["all_ns"] = True
        elif k in ("-l", "--selector"):
            opts["selector"] = v if eq else val()
        elif k == "--force-conflicts":
            opts["force_conflicts"] = True
        elif k == "--dry-run":
            opts["dry_run"] = (v or "client") != "none"
        elif k == "--for":
            opts["for"] = v if eq else val()
        elif k == "--all":
            opts["all"] = True
        elif k in ("--watch", "-w"):
            die("error: --watch is not supported by the lab's k3s double")
        elif k in ("--no-headers", "--show-labels", "-q", "--quiet", "--validate", "--wait", "--prune", "--overwrite",
                   "--request-timeout", "--v", "-v", "--context", "--cascade", "--record", "--recursive", "-R"):
            if k in ("--request-timeout", "--context", "--cascade") and not eq:
                val()
            opts[k.lstrip("-")] = v or True
        elif a.startswith("-") and a != "-":
            die(f"error: unknown flag: {k}\nSee 'kubectl --help' for usage.")
        else:
            pos.append(a)
        i += 1
    if not pos:
        die("kubectl controls the Kubernetes cluster manager (k3s double: get, apply, delete, rollout status, wait, version, cluster-info)")
    verb = pos[0]
    if verb == "version":
        print(f"Client Version: {VERSION}\nKustomize Version: v5.4.2")
        if "--client" not in argv:
            try:
                v = json.loads(Kube(kubeconfig).req("GET", "/version"))
                print(f"Server Version: {v['gitVersion']}")
            except KubeError as e:
                die(e.msg)
        return 0
    K = Kube(kubeconfig)
    try:
        if verb == "get":
            return kubectl_get(K, pos[1:], opts)
        if verb == "apply":
            return kubectl_apply(K, opts, delete=False)
        if verb == "delete":
            if not opts["f"]:
                die("error: the lab's k3s double supports `delete -f FILE` only")
            return kubectl_apply(K, opts, delete=True)
        if verb == "rollout":
            return kubectl_rollout(K, pos[1:], opts)
        if verb == "wait":
            return kubectl_wait(K, pos[1:], opts)
        if verb == "cluster-info":
            K.req("GET", "/readyz")
            print(f"Kubernetes control plane is running at {K.server}")
            return 0
    except KubeError as e:
        if e.status == 404 and verb == "get" and opts["ignore_not_found"]:
            return 0
        die(e.msg if e.msg.startswith(("error", "Error", "The connection")) else
            f"Error from server ({ {404: 'NotFound', 401: 'Unauthorized', 403: 'Forbidden', 500: 'InternalError', 503: 'ServiceUnavailable'}.get(e.status, 'BadRequest')}): {e.msg}")
    die(f'error: unknown command "{verb}" for "kubectl" (the lab\'s k3s double implements get, apply, delete, rollout status, wait, version, cluster-info)')


def parse_duration(s):
    s = s.strip()
    total, num = 0.0, ""
    units = {"s": 1, "m": 60, "h": 3600, "ms": 0.001}
    j = 0
    while j < len(s):
        c = s[j]
        if c.isdigit() or c == ".":
            num += c
            j += 1
            continue
        u = "ms" if s[j:j + 2] == "ms" else c
        total += float(num or 0) * units.get(u, 1)
        num = ""
        j += len(u)
    if num:
        total += float(num)
    return total


def api_path(res, ns, name=None):
    group = {"deployments": "apps", "daemonsets": "apps", "statefulsets": "apps", "replicasets": "apps"}.get(res, "")
    base = f"/apis/{group}/v1" if group else "/api/v1"
    nsd = res not in ("nodes", "namespaces")
    p = base + (f"/namespaces/{ns}" if nsd and ns else "") + f"/{res}"
    return p + (f"/{name}" if name else "")


def kubectl_get(K, args, opts):
    if opts["raw"]:
        sys.stdout.write(K.req("GET", opts["raw"]).decode())
        return 0
    if not args:
        die("error: You must specify the type of resource to get.")
    res = args[0]
    names = args[1:]
    if "/" in res:
        res, n1 = res.split("/", 1)
        names = [n1] + names
    res = RESOURCE_ALIASES.get(res.lower(), res.lower())
    ns = None if opts["all_ns"] else (opts["n"] or "default")
    items = []
    for nm in (names or [None]):
        q = f"?labelSelector={opts['selector']}" if opts["selector"] and not nm else ""
        data = json.loads(K.req("GET", api_path(res, ns, nm) + q))
        items += data.get("items", []) if not nm else [data]
    o = opts["o"]
    if o == "json":
        print(json.dumps(items[0] if names and len(items) == 1 else
                         {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}, indent=4))
        return 0
    if o == "yaml":
        import yaml
        print(yaml.safe_dump(items[0] if names and len(items) == 1 else {"apiVersion": "v1", "items": items, "kind": "List"},
                             default_flow_style=False), end="")
        return 0
    if o == "name":
        for it in items:
            kind = it.get("kind", res[:-1]).lower()
            print(f"{kind}/{it['metadata']['name']}")
        return 0
    if o and o.startswith("jsonpath="):
        die("error: jsonpath output is not supported by the lab's k3s double; use -o json")
    if not items:
        if res in ("nodes", "namespaces"):
            print("No resources found", file=sys.stderr)
        else:
            print(f"No resources found in {ns} namespace.", file=sys.stderr)
        return 0
    rows = []
    if res == "nodes":
        hdr = ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
        if o == "wide":
            hdr += ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]
        for r in node_table(items)["rows"]:
            rows.append(r["cells"][:len(hdr)])
    elif res == "serviceaccounts":
        hdr = ["NAME", "SECRETS", "AGE"]
        rows = [[it["metadata"]["name"], "0", age_of(it)] for it in items]
    elif res == "namespaces":
        hdr = ["NAME", "STATUS", "AGE"]
        rows = [[it["metadata"]["name"], "Active", age_of(it)] for it in items]
    elif res == "deployments":
        hdr = ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
        for it in items:
            st = it.get("status", {})
            rows.append([it["metadata"]["name"], f"{st.get('readyReplicas', 0)}/{st.get('replicas', 0)}",
                         str(st.get("updatedReplicas", 0)), str(st.get("availableReplicas", 0)), age_of(it)])
    else:
        hdr = ["NAME", "AGE"]
        rows = [[it["metadata"]["name"], age_of(it)] for it in items]
    if opts["all_ns"] and res not in ("nodes", "namespaces"):
        hdr = ["NAMESPACE"] + hdr
        rows = [[it["metadata"].get("namespace", "")] + r for it, r in zip(items, rows)]
    widths = [max(len(str(x)) for x in col) for col in zip(hdr, *rows)]
    lines = [hdr] + rows if not opts.get("no-headers") else rows
    for r in lines:
        print("   ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


def read_manifests(files):
    import yaml
    docs = []
    for f in files:
        paths = []
        if f == "-":
            paths = [("-", sys.stdin.read())]
        elif os.path.isdir(f):
            for fn in sorted(os.listdir(f)):
                if fn.endswith((".yaml", ".yml", ".json")):
                    with open(os.path.join(f, fn)) as fh:
                        paths.append((os.path.join(f, fn), fh.read()))
        else:
            try:
                with open(f) as fh:
                    paths.append((f, fh.read()))
            except OSError as e:
                die(f'error: the path "{f}" does not exist' if isinstance(e, FileNotFoundError) else f"error: {e}")
        for name, text in paths:
            try:
                for d in yaml.safe_load_all(text):
                    if d is None:
                        continue
                    if not isinstance(d, dict):
                        die(f'error: error validating "{name}": error validating data: invalid object')
                    if d.get("kind", "").endswith("List") and "items" in d:
                        docs += [(name, x) for x in d["items"]]
                    else:
                        docs.append((name, d))
            except yaml.YAMLError as e:
                die(f'error: error parsing {name}: {e}'.replace("\n", " "))
    return docs


def kubectl_apply(K, opts, delete):
    if not opts["f"]:
        die("error: must specify one of -f and -k")
    docs = read_manifests(opts["f"])
    if not docs:
        die("error: no objects passed to " + ("delete" if delete else "apply"))
    for name, d in docs:
        if not d.get("kind"):
            die(f'error: error validating "{name}": error validating data: kind not set')
        if not d.get("apiVersion"):
            die(f'error: error validating "{name}": error validating data: apiVersion not set')
        md = d.get("metadata") or {}
        if not md.get("name"):
            die(f'error: error when retrieving current configuration of:\nResource: "{d["kind"]}", Name: "", '
                f'Namespace: "{md.get("namespace", "")}"\nfrom server for: "{name}": resource name may not be empty')
        if opts["n"] and not md.get("namespace"):
            d.setdefault("metadata", {})["namespace"] = opts["n"]
    rc = 0
    by_source = {}
    for name, d in docs:
        by_source.setdefault(opts["source"] or name, []).append(d)
    for source, objs in by_source.items():
        body = {"objects": objs, "source": source, "manager": opts["manager"] or ("kubectl" if opts["server_side"] else "kubectl-client-side-apply"),
                "server_side": opts["server_side"], "dry_run": opts["dry_run"]}
        res = json.loads(K.req("POST", "/v1-lab/delete" if delete else "/v1-lab/apply", body))
        for r in res:
            if "error" in r:
                if delete and r.get("notfound") and opts["ignore_not_found"]:
                    continue
                sys.stderr.write(r["error"].rstrip("\n") + "\n")
                rc = 1
            else:
                print(f"{r['display']} {r['result']}{' (dry run)' if opts['dry_run'] else ''}")
    return rc


def kubectl_rollout(K, args, opts):
    if not args or args[0] != "status":
        die("error: the lab's k3s double supports `rollout status` only")
    target = args[1] if len(args) > 1 else die("error: required resource not specified")
    if "/" in target:
        kind, name = target.split("/", 1)
    else:
        kind, name = target, args[2]
    res = RESOURCE_ALIASES.get(kind.lower(), kind.lower())
    ns = opts["n"] or "default"
    deadline = time.time() + (opts["timeout"] or 1e9)
    said = False
    while True:
        try:
            d = json.loads(K.req("GET", api_path(res, ns, name)))
        except KubeError as e:
            if e.status == 404:
                die(f'Error from server (NotFound): {res}.apps "{name}" not found')
            raise
        st = d.get("status", {})
        want = st.get("replicas", 1)
        if st.get("availableReplicas", 0) >= want and st.get("updatedReplicas", 0) >= want:
            print(f'{res[:-1]} "{name}" successfully rolled out')
            return 0
        if not said:
            print(f'Waiting for {res[:-1]} "{name}" rollout to finish: {st.get("availableReplicas", 0)} of {want} updated replicas are available...')
            said = True
        if time.time() > deadline:
            die("error: timed out waiting for the condition")
        time.sleep(0.5)


def kubectl_wait(K, args, opts):
    cond = opts["for"] or die("error: --for must be set")
    if not cond.startswith("condition="):
        die("error: the lab's k3s double supports --for=condition=Ready only")
    want = cond.split("=", 1)[1].lower()
    targets = []
    for a in args:
        if "/" in a:
            r, n = a.split("/", 1)
            targets.append((RESOURCE_ALIASES.get(r, r), n))
        else:
            targets.append((RESOURCE_ALIASES.get(a, a), None))
    deadline = time.time() + (opts["timeout"] or 30)
    while True:
        pending = []
        for res, n in targets:
            if res != "nodes":
                die("error: the lab's k3s double supports waiting on nodes only")
            data = json.loads(K.req("GET", api_path(res, None, n)))
            items = [data] if n else data.get("items", [])
            for it in items:
                c = next((c for c in it["status"]["conditions"] if c["type"].lower() == want), None)
                if not c or c["status"] != "True":
                    pending.append(it["metadata"]["name"])
        if not pending:
            for res, n in targets:
                if n:
                    print(f"node/{n} condition met")
            if any(n is None for _, n in targets):
                for it in json.loads(K.req("GET", api_path("nodes", None))).get("items", []):
                    print(f"node/{it['metadata']['name']} condition met")
            return 0
        if time.time() > deadline:
            die(f"error: timed out waiting for the condition on nodes/{pending[0]}")
        time.sleep(0.5)


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
""")


def main(argv):
    prog = os.path.basename(os.environ.get("K3S_DOUBLE_ARGV0") or sys.argv[0])
    os.environ.pop("K3S_DOUBLE_ARGV0", None)
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
    if a == "__serve":
        return lean_main(argv[1])
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
    if a in ("etcd-snapshot", "secrets-encrypt", "certificate", "completion", "check-config"):
        die(f'time="{now_rfc3339()}" level=fatal msg="k3s {a} is not implemented by the edgeup lab\'s k3s double"')
    die(f"Incorrect Usage. No help topic for '{a}'", 1)


def ctr_main(prog, argv):
    """Minimal containerd CLIs: image import is recorded like the images/ folder."""
    if prog == "ctr" and argv[:2] == ["images", "import"] or prog == "ctr" and argv[:2] == ["image", "import"]:
        for f in [x for x in argv[2:] if not x.startswith("-")]:
            try:
                size = os.path.getsize(f)
            except OSError as e:
                die(f"ctr: open {f}: {e.strerror}")
            print(f"unpacking (sha256:{sha256_file(f)})...done ({size} bytes)")
        return 0
    if prog == "crictl" and argv[:1] == ["images"] or prog == "ctr" and argv[:2] in (["images", "ls"], ["image", "ls"]):
        print("IMAGE                TAG                 IMAGE ID            SIZE")
        return 0
    die(f"{prog}: the lab's k3s double implements `ctr images import|ls` and `crictl images` only")


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:
        sys.exit(0)
    except KeyboardInterrupt:
        sys.exit(130)
