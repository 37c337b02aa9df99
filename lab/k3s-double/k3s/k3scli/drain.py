"""`k3s kubectl drain NODE`: kubectl's drain (k8s.io/kubectl pkg/drain and pkg/cmd/drain) against the
double's API: cordon, the node's pods through kubectl's filters (DaemonSet, mirror, emptyDir, no
controller), then one eviction per pod, retried every 5 s while a PodDisruptionBudget refuses it (429),
until --timeout. The messages are kubectl's."""
import json
import re
import sys
import threading
import time
import urllib.parse

from k3scli.kube import KubeError, die
from k3scli.kubectl import api_path, kubectl_cordon
from k3sd.version import VERSION

DAEMONSET_FATAL = "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
DAEMONSET_WARNING = "ignoring DaemonSet-managed Pods"
LOCAL_STORAGE_FATAL = "Pods with local storage (use --delete-emptydir-data to override)"
# kubectl 1.30 reworded these; since then its error list prefixes "cannot delete " once more, so the real
# kubectl 1.30-1.33 print "cannot delete cannot delete Pods that declare no controller ..." (checked here)
_MINOR = re.match(r"^v1\.(\d+)\.", VERSION)
_NEW_WORDING = not _MINOR or int(_MINOR.group(1)) >= 30
UNMANAGED_FATAL = ("cannot delete Pods that declare no controller (use --force to override)" if _NEW_WORDING
                   else "Pods declare no controller (use --force to override)")
UNMANAGED_WARNING = "deleting Pods that declare no controller" if _NEW_WORDING else "deleting Pods declare no controller"


def go_duration(seconds):
    """time.Duration.String() for whole or fractional seconds: 30s, 1m0s, 1h2m3s, 1.5s."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms" if seconds else "0s"
    h, rest = divmod(seconds, 3600)
    m, sec = divmod(rest, 60)
    sec = f"{sec:.9f}".rstrip("0").rstrip(".") + "s"
    return (f"{int(h)}h{int(m)}m" if h else f"{int(m)}m" if m else "") + sec


def controller_of(pod):
    return next((r for r in pod["metadata"].get("ownerReferences") or [] if r.get("controller")), None)


def classify(K, pod, opts):
    """kubectl's filter chain for one pod: (delete?, "" | "warning" | "error", message). A filter that keeps
    the pod ends the chain; otherwise the next one speaks, so the no-controller filter has the last word
    (as in kubectl, the warnings of the filters before it are dropped)."""
    finished = pod.get("status", {}).get("phase") in ("Succeeded", "Failed")
    ref = controller_of(pod)
    if ref and ref.get("kind") == "DaemonSet" and not finished:
        try:
            K.req("GET", f"/apis/apps/v1/namespaces/{pod['metadata']['namespace']}/daemonsets/{ref['name']}")
        except KubeError as e:
            if e.status != 404 or not opts["force"]:        # an orphan goes with --force
                return False, "error", e.msg
        else:
            if not opts["ignore_daemonsets"]:
                return False, "error", DAEMONSET_FATAL
            return False, "warning", DAEMONSET_WARNING
    if "kubernetes.io/config.mirror" in (pod["metadata"].get("annotations") or {}):
        return False, "", ""
    if any("emptyDir" in v for v in (pod.get("spec") or {}).get("volumes") or []) and not finished \
            and not opts["delete_emptydir_data"]:
        return False, "error", LOCAL_STORAGE_FATAL
    if finished or ref:
        return True, "", ""
    if opts["force"]:
        return True, "warning", UNMANAGED_WARNING
    return False, "error", UNMANAGED_FATAL


def pods_for_deletion(K, node, opts):
    q = {"fieldSelector": f"spec.nodeName={node}"}
    if opts["pod_selector"]:
        q["labelSelector"] = opts["pod_selector"]
    pods = json.loads(K.req("GET", "/api/v1/pods?" + urllib.parse.urlencode(q))).get("items", [])
    out, warnings, errors = [], {}, {}
    for p in pods:
        delete, kind, msg = classify(K, p, opts)
        who = f"{p['metadata']['namespace']}/{p['metadata']['name']}"
        if kind == "warning":
            warnings.setdefault(msg, []).append(who)
        elif kind == "error":
            errors.setdefault(msg, []).append(who)
        if delete:
            out.append(p)
    errs = [f"cannot delete {m}: {', '.join(w)}" for m, w in errors.items()]
    return out, "; ".join(f"{m}: {', '.join(w)}" for m, w in warnings.items()), errs


def aggregate(errs):
    return errs[0] if len(errs) == 1 else "[" + ", ".join(errs) + "]"


def evict_all(K, pods, opts):
    """One thread per pod, as kubectl: evict, retry after 5 s on 429, wait until the pod is gone."""
    deadline = time.time() + opts["timeout"] if opts["timeout"] else None
    errors, lock = [], threading.Lock()
    body_opts = {"gracePeriodSeconds": opts["grace_period"]} if opts["grace_period"] >= 0 else {}

    def say(stream, text):
        with lock:
            stream.write(text + "\n")
            stream.flush()

    def one(p):
        ns, name = p["metadata"]["namespace"], p["metadata"]["name"]
        while True:
            say(sys.stdout, f"evicting pod {ns}/{name}")
            if deadline and time.time() >= deadline:
                errors.append(f'error when evicting pods/"{name}" -n "{ns}": global timeout reached: '
                              f'{go_duration(opts["timeout"])}')
                return
            try:
                K.req("POST", api_path("pods", ns, name) + "/eviction",
                      {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": ns},
                       **({"deleteOptions": body_opts} if body_opts else {})})
                break
            except KubeError as e:
                if e.status == 404:
                    return
                if e.status != 429:
                    errors.append(f'error when evicting pods/"{name}" -n "{ns}": {e.msg}')
                    return
                say(sys.stderr, f'error when evicting pods/"{name}" -n "{ns}" (will retry after 5s): {e.msg}')
                time.sleep(5)
        while True:                          # the eviction deletes the pod; wait for it to be gone
            try:
                K.req("GET", api_path("pods", ns, name))
            except KubeError as e:
                if e.status == 404:
                    say(sys.stdout, f"pod/{name} evicted")
                    return
                raise
            time.sleep(1)
    threads = [threading.Thread(target=one, args=(p,)) for p in pods]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


# an equality-based label selector term (the double matches no set-based ones: `in`, `notin`)
SELECTOR_TERM = re.compile(r"^\s*(!?[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?)\s*"
                           r"((==|=|!=)\s*([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?\s*)?$")


def drain(K, node, opts):
    for term in filter(None, opts["pod_selector"].split(",")):
        if re.match(r"^\s*[^\s!=]+\s+(in|notin)\s*\(.*\)\s*$", term):
            die("error: set-based pod selectors (in, notin) are not supported by the lab's k3s double")
        m = SELECTOR_TERM.match(term)
        if not m or m.group(1).startswith("!") and m.group(3):
            die("error: --pod-selector=<pod_selector> must be a valid label selector")
    kubectl_cordon(K, [node], True)
    pods, warnings, errs = pods_for_deletion(K, node, opts)
    if not errs:
        if warnings:
            sys.stderr.write(f"Warning: {warnings}\n")
        errs = evict_all(K, pods, opts)
        if errs:
            pending, _, _ = pods_for_deletion(K, node, opts)
            if pending:
                sys.stderr.write(f'There are pending pods in node "{node}" when an error occurred: {aggregate(errs)}\n')
                for p in pending:
                    sys.stderr.write(f"pod/{p['metadata']['name']}\n")
    if not errs:
        print(f"node/{node} drained")
        return 0
    sys.stderr.write(f'error: unable to drain node "{node}" due to error: {aggregate(errs)}, continuing command...\n'
                     f"There are pending nodes to be drained:\n {node}\n" + "".join(e + "\n" for e in errs))
    return 1
