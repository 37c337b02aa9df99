"""Cluster state (nodes, etcd membership, applied objects), kept by the first server."""
import base64
import hashlib
import json
import os
import threading
import time

from k3sd.files import read_file, write_file
from k3sd.kinds import BUILTIN_NAMESPACES, KINDS, canon_hash
from k3sd.log import logmsg, now_rfc3339
from k3sd.members import FINALIZERS, REMOVED, Membership
from k3sd.timing import NOTREADY_SECONDS
from k3sd.version import CONTAINERD
from k3sd.views import status_obj


CRITICAL = ["cluster-cidr", "service-cidr", "cluster-dns", "cluster-domain", "disable", "flannel-backend",
            "secrets-encryption", "disable-network-policy", "disable-kube-proxy", "egress-selector-mode",
            "service-node-port-range", "disable-helm-controller"]
REJECTED = ("Node password rejected, duplicate hostname or contents of '/etc/rancher/node/password' may not match "
            "server node-passwd entry, try enabling a unique node name with the --with-node-id flag")


def token_hash(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


class Cluster(Membership):
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
        self.s.setdefault("members", {})
        self.s.setdefault("removed_members", [])
        # the <node>.node-password.k3s Secrets in kube-system (pkg/nodepassword)
        self.s.setdefault("node_passwords", {})
        # the datastore's bootstrap data is encrypted with the server token (pkg/cluster/storage.go)
        self.s.setdefault("token_hash", token_hash(boot["secret"]))
        self.s.setdefault("rv", 1)
        self.s.setdefault("created", time.time())
        self.s.setdefault("namespaces", {n: time.time() for n in BUILTIN_NAMESPACES})
        self.s["started"] = time.time()
        self.heartbeats = {}          # in memory: a restarted owner waits for fresh heartbeats
        self.sync_errors = {}
        self.save()

    def save(self):
        with self.lock:
            self.s["rv"] += 1
            write_file(self.path, json.dumps(self.s, indent=None, separators=(",", ":")), 0o600)

    # ---- node passwords ----
    def ensure_password(self, name, password, role):
        """nodepassword.Ensure: the node's secret is created at its first request and checked after; a
        server checks its own password locally and validates the secret later, so a mismatch only warns."""
        pwh = hashlib.sha256(password.encode()).hexdigest()
        sec = self.s["node_passwords"].get(name)
        if sec is None:
            self.s["node_passwords"][name] = {"hash": pwh, "created": time.time(), "uid": os.urandom(16).hex()}
            self.save()
        elif sec["hash"] != pwh:
            if role != "server":
                return False
            logmsg("warning", f"Deferred node password secret validation failed: unable to verify hash for node "
                              f"'{name}': hash does not match")
        return True

    def password_secret(self, name):
        sec = self.s["node_passwords"][name]
        return {"kind": "Secret", "apiVersion": "v1", "type": "Opaque", "immutable": True,
                "metadata": {"name": f"{name}.node-password.k3s", "namespace": "kube-system", "uid": sec["uid"],
                             "resourceVersion": str(self.s["rv"]), "creationTimestamp": now_rfc3339(sec["created"])},
                # the double's own hash (k3s: scrypt), never the password
                "data": {"hash": base64.b64encode(("$sha256$" + sec["hash"]).encode()).decode()}}

    def delete_password_secret(self, secret_name):
        with self.lock:
            node = secret_name[:-len(".node-password.k3s")] if secret_name.endswith(".node-password.k3s") else None
            if node not in self.s["node_passwords"]:
                return None
            obj = self.password_secret(node)
            del self.s["node_passwords"][node]
            self.save()
            return obj

    # ---- nodes ----
    def register(self, node):
        with self.lock:
            name = node["name"]
            if not self.ensure_password(name, node.get("password", ""), node["role"]):
                return 403, REJECTED
            old = self.s["nodes"].get(name)
            rec = dict(old or {})
            rec.update({k: v for k, v in node.items() if k not in ("password", "member", "url")})
            rec.setdefault("created", time.time())
            rec.setdefault("uid", os.urandom(16).hex())
            self.s["nodes"][name] = rec
            self.heartbeats[name] = time.time()
            self.sync_errors.pop(name, None)
            if node.get("member"):
                err = self.register_member(name, node["member"])
                if err:
                    return 410, err
            self.save()
            return 200, "ok"

    def heartbeat(self, name, pwh=None, member=None):
        with self.lock:
            if member and member not in self.s["members"]:
                return 410, REMOVED
            n = self.s["nodes"].get(name)
            if n is None:
                return 404, f'nodes "{name}" not found'
            sec = self.s["node_passwords"].get(name)
            if pwh and n["role"] == "agent" and sec and sec["hash"] != pwh:
                return 403, "Node password rejected"
            self.heartbeats[name] = time.time()
            return 200, "ok"

    def node_ready(self, n):
        hb = self.heartbeats.get(n["name"], 0)
        if time.time() - hb > NOTREADY_SECONDS:
            return False
        member = self.member_of(n["name"])
        return not (member and self.s["members"][member]["learner"]) and not n.get("never_ready")

    def node_obj(self, n):
        labels = {"beta.kubernetes.io/arch": n.get("arch", "amd64"), "beta.kubernetes.io/instance-type": "k3s",
                  "beta.kubernetes.io/os": "linux", "kubernetes.io/arch": n.get("arch", "amd64"),
                  "kubernetes.io/hostname": n.get("hostname", n["name"]), "kubernetes.io/os": "linux",
                  "node.kubernetes.io/instance-type": "k3s"}
        if n["role"] == "server":
            labels["node-role.kubernetes.io/control-plane"] = "true"
            labels["node-role.kubernetes.io/master"] = "true"
            if n.get("etcd_role"):
                labels["node-role.kubernetes.io/etcd"] = "true"
        labels.update(n.get("labels", {}))
        ready = self.node_ready(n)
        hb = self.heartbeats.get(n["name"], n.get("created", 0))
        alive = time.time() - hb <= NOTREADY_SECONDS
        member = self.member_of(n["name"])
        addrs = [{"type": "InternalIP", "address": a} for a in n.get("addresses", [])]
        addrs += [{"type": "ExternalIP", "address": a} for a in n.get("external", [])]
        addrs.append({"type": "Hostname", "address": n.get("hostname", n["name"])})
        cond = {"type": "Ready", "status": "True" if ready else "Unknown",
                "reason": "KubeletReady" if ready else "NodeStatusUnknown",
                "message": "kubelet is posting ready status" if ready else "Kubelet stopped posting node status.",
                "lastHeartbeatTime": now_rfc3339(hb), "lastTransitionTime": now_rfc3339(n.get("created"))}
        if member and self.s["members"][member]["learner"] and alive:
            cond.update(status="False", reason="EtcdLearner", message="etcd member is a learner, not yet promoted")
        elif n.get("never_ready") and alive:
            # the binary was built with `build --fault never-ready`: alive, heartbeating, never Ready
            cond.update(status="False", reason="KubeletNotReady",
                        message="lab fault never-ready: this k3s double was built to never report Ready")
        conditions = [cond]
        voter = self.etcd_condition(n)
        if voter:
            status, reason, message = voter
            conditions.append({"type": "EtcdIsVoter", "status": status, "reason": reason, "message": message,
                               "lastHeartbeatTime": now_rfc3339(hb), "lastTransitionTime": now_rfc3339(n.get("created"))})
        taints = list(n.get("taints", []))
        if n.get("unschedulable"):
            # the node lifecycle controller's taint for a cordoned node
            taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule",
                           "timeAdded": now_rfc3339(n["unschedulable"])})
        annotations = {"k3s.io/node-args": "[]", "node.alpha.kubernetes.io/ttl": "0",
                       "volumes.kubernetes.io/controller-managed-attach-detach": "true"}
        if n.get("images"):
            annotations["lab.edgeup.io/images-imported"] = json.dumps([i["file"] for i in n["images"]])
        annotations.update(n.get("annotations") or {})
        annotations.update(self.etcd_annotations(n))
        md = {"name": n["name"], "uid": n.get("uid"), "resourceVersion": str(self.s["rv"]),
              "creationTimestamp": now_rfc3339(n.get("created")), "labels": labels, "annotations": annotations,
              "finalizers": FINALIZERS if self.boot["datastore"] == "etcd" else FINALIZERS[:1]}
        if n.get("deleting"):
            md["deletionTimestamp"] = now_rfc3339(n["deleting"])
            md["deletionGracePeriodSeconds"] = 0
        return {"kind": "Node", "apiVersion": "v1", "metadata": md,
                "spec": {"podCIDR": "10.42.%d.0/24" % (sorted(self.s["nodes"]).index(n["name"]) % 256),
                         "providerID": f"k3s://{n['name']}", **({"taints": taints} if taints else {}),
                         **({"unschedulable": True} if n.get("unschedulable") else {})},
                "status": {"conditions": conditions, "addresses": addrs,
                           "nodeInfo": {"architecture": n.get("arch", "amd64"), "containerRuntimeVersion": CONTAINERD,
                                        "kernelVersion": n.get("kernel", ""), "kubeProxyVersion": n.get("version"),
                                        "kubeletVersion": n.get("version"), "machineID": n.get("machine_id", ""),
                                        "operatingSystem": "linux",
                                        "osImage": n.get("os_image", "")}}}

    def patch_node(self, name, patch):
        """What kubectl cordon/uncordon and annotate patch: spec.unschedulable, metadata.annotations (a JSON
        merge patch: null removes). The member controller acts on the removal annotation at once."""
        with self.lock:
            n = self.s["nodes"].get(name)
            if n is None:
                return None
            spec = patch.get("spec") or {}
            if "unschedulable" in spec and bool(n.get("unschedulable")) != bool(spec["unschedulable"]):
                n["unschedulable"] = time.time() if spec["unschedulable"] else None
            for k, v in ((patch.get("metadata") or {}).get("annotations") or {}).items():
                if v is None:
                    n.setdefault("annotations", {}).pop(k, None)
                else:
                    n.setdefault("annotations", {})[k] = str(v)
            self.save()
            self.reconcile_node(name)
            n = self.s["nodes"].get(name)
            return n and self.node_obj(n)

    def delete_node(self, name):
        """DELETE of a Node: marked for deletion, then gone once its finalizers' handlers succeed (an etcd
        server's member removal may have to wait for quorum)."""
        with self.lock:
            n = self.s["nodes"].get(name)
            if n is None:
                return None
            n.setdefault("deleting", time.time())
            obj = self.node_obj(n)
            self.save()
            self.reconcile_node(name)
            return obj

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
        if rec["kind"] == "Pod" and "status" not in o:
            # no scheduler or kubelet: a pod created with spec.nodeName runs there, others stay Pending
            o["status"] = {"phase": "Running" if (o.get("spec") or {}).get("nodeName") else "Pending"}
        if rec["kind"] in ("Deployment", "StatefulSet", "DaemonSet"):
            replicas = (o.get("spec") or {}).get("replicas", 1)
            done = time.time() - rec["updated"] >= 1.0
            o["status"] = {"observedGeneration": rec["generation"], "replicas": replicas,
                           "updatedReplicas": replicas if done else 0,
                           "readyReplicas": replicas if done else 0, "availableReplicas": replicas if done else 0}
        return o


    def evict(self, ns, name):
        """The pods/eviction subresource: refused while a PodDisruptionBudget would be violated (429, as the
        API server's eviction REST handler), else the pod is deleted. (status, Status object)"""
        with self.lock:
            key = f"/Pod/{ns}/{name}"
            rec = self.s["objects"].get(key)
            if rec is None:
                return 404, status_obj(404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"})
            pod = self.obj_view(rec)
            labels = pod["metadata"].get("labels") or {}
            pdbs = [o["content"] for o in self.list("policy", "poddisruptionbudgets", ns)
                    if selects((o["content"].get("spec") or {}).get("selector"), labels)]
            if len(pdbs) > 1:
                return 500, status_obj(500, "InternalError", "This pod has more than one PodDisruptionBudget, which "
                                                             "the eviction subresource does not support.")
            if pdbs and pod["status"]["phase"] == "Running":
                spec = pdbs[0].get("spec") or {}
                pods = [self.obj_view(r) for r in self.list("", "pods", ns)]
                matching = [p for p in pods if selects(spec.get("selector"), p["metadata"].get("labels") or {})]
                healthy = sum(p["status"]["phase"] == "Running" for p in matching)
                if "minAvailable" in spec:
                    desired = scaled(spec["minAvailable"], len(matching))
                else:
                    desired = len(matching) - scaled(spec.get("maxUnavailable", 0), len(matching))
                if healthy - desired <= 0:
                    return 429, status_obj(429, "TooManyRequests", "Cannot evict pod as it would violate the pod's "
                                           "disruption budget.", {"causes": [{"reason": "DisruptionBudget", "message":
                                           f"The disruption budget {pdbs[0]['metadata']['name']} needs {desired} healthy "
                                           f"pods and has {healthy} currently"}]})
            del self.s["objects"][key]
            self.s["applied"].append({"time": time.time(), "source": "eviction", "kind": "Pod", "namespace": ns,
                                      "name": name, "result": "evicted"})
            self.save()
            return 201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


def scaled(v, total):
    """An int or a percentage of total, rounded up (GetScaledValueFromIntOrPercent, roundUp=true)."""
    if isinstance(v, str) and v.endswith("%"):
        return -(-int(v[:-1]) * total // 100)
    return int(v)


def selects(selector, labels):
    """A LabelSelector (matchLabels, matchExpressions); an empty one selects everything (policy/v1)."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        k, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
        if (op == "In" and labels.get(k) not in vals or op == "NotIn" and labels.get(k) in vals
                or op == "Exists" and k not in labels or op == "DoesNotExist" and k in labels):
            return False
    return True
