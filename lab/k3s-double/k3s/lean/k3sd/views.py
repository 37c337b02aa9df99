"""How the API presents things: tables, discovery lists, Status errors, label selectors, ages."""
import json
import time


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
    if n["spec"].get("unschedulable"):           # as kubectl's printer: spec.unschedulable, not the taint
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
            if plural == "pods":          # kubectl drain looks for it before it evicts
                res.append({"name": "pods/eviction", "singularName": "", "namespaced": True, "group": "policy",
                            "version": "v1", "kind": "Eviction", "verbs": ["create"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": res}


def status_obj(code, reason, message, details=None):
    d = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
         "reason": reason, "code": code}
    if details:
        d["details"] = details
    return d


def status_json(code, reason, message, name=None, kind=None):
    return json.dumps(status_obj(code, reason, message, {"name": name, "kind": kind} if name else None)).encode()
