"""`k3s kubectl`: get, apply, delete, rollout status, wait, cordon, uncordon, drain, version, cluster-info."""
import json
import os
import sys
import time

from k3scli.kube import Kube, KubeError, die
from k3sd.version import VERSION
from k3sd.views import age_of, node_table


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
            "dry_run": False, "for": None, "all": False, "ignore_daemonsets": False, "delete_emptydir_data": False,
            "force": False, "pod_selector": "", "grace_period": -1}
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
        elif k in ("--ignore-daemonsets", "--delete-emptydir-data", "--delete-local-data", "--force"):
            key = {"--delete-local-data": "delete_emptydir_data"}.get(k, k[2:].replace("-", "_"))
            opts[key] = (v or "true") == "true"
        elif k == "--pod-selector":
            opts["pod_selector"] = v if eq else val()
        elif k == "--grace-period":
            g = v if eq else val()
            if not g.lstrip("-").isdigit():
                die(f'error: invalid argument "{g}" for "--grace-period" flag: strconv.ParseInt: parsing "{g}": invalid syntax')
            opts["grace_period"] = int(g)
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
        die("kubectl controls the Kubernetes cluster manager (k3s double: get, apply, delete, rollout status, wait, cordon, uncordon, drain, version, cluster-info)")
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
                return kubectl_delete(K, pos[1:], opts)
            return kubectl_apply(K, opts, delete=True)
        if verb == "annotate":
            return kubectl_annotate(K, pos[1:], opts)
        if verb == "rollout":
            return kubectl_rollout(K, pos[1:], opts)
        if verb == "wait":
            return kubectl_wait(K, pos[1:], opts)
        if verb in ("cordon", "uncordon"):
            return kubectl_cordon(K, node_args(pos, verb), verb == "cordon")
        if verb == "drain":
            from k3scli.drain import drain
            return drain(K, node_args(pos, verb)[0], opts)
        if verb == "cluster-info":
            K.req("GET", "/readyz")
            print(f"Kubernetes control plane is running at {K.server}")
            return 0
    except KubeError as e:
        if e.status == 404 and verb == "get" and opts["ignore_not_found"]:
            return 0
        if e.status == 401:               # as the real kubectl 1.32 words a 401 from the API server
            die("error: You must be logged in to the server (the server has asked for the client to provide credentials)")
        die(e.msg if e.msg.startswith(("error", "Error", "The connection")) else
            f"Error from server ({ {404: 'NotFound', 401: 'Unauthorized', 403: 'Forbidden', 500: 'InternalError', 503: 'ServiceUnavailable'}.get(e.status, 'BadRequest')}): {e.msg}")
    die(f'error: unknown command "{verb}" for "kubectl" (the lab\'s k3s double implements get, apply, delete, annotate, rollout status, wait, cordon, uncordon, drain, version, cluster-info)')


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


def resource_args(args):
    """`TYPE NAME...` or `TYPE/NAME`."""
    if not args:
        die("error: You must provide one or more resources by argument or filename.")
    res, names = args[0], args[1:]
    if "/" in res:
        res, n1 = res.split("/", 1)
        names = [n1] + names
    return RESOURCE_ALIASES.get(res.lower(), res.lower()), names


def kubectl_delete(K, args, opts):
    """`delete TYPE NAME...`: kubectl prints `node "x" deleted`, then waits until the objects are gone
    (finalizers included) unless --wait=false."""
    res, names = resource_args(args)
    if not names:
        die("error: resource(s) were provided, but no name was specified")
    ns = opts["n"] or "default"
    group = api_path(res, ns).split("/")[2] if api_path(res, ns).startswith("/apis/") else ""
    kind = res[:-1] + ("." + group if group else "")
    deleted = []
    for name in names:
        try:
            K.req("DELETE", api_path(res, ns, name))
        except KubeError as e:
            if e.status == 404 and opts["ignore_not_found"]:
                continue
            raise
        print(f'{kind} "{name}" deleted')
        deleted.append(name)
    if str(opts.get("wait", True)).lower() == "false":
        return 0
    deadline = time.time() + (opts["timeout"] or 7 * 86400)      # kubectl: 0 waits a week
    for name in deleted:
        while True:
            try:
                K.req("GET", api_path(res, ns, name))
            except KubeError as e:
                if e.status == 404:
                    break
                if e.status not in (0, 503):       # kubectl's watch retries while the server is away
                    raise
            if time.time() > deadline:
                die(f"error: timed out waiting for the condition on {res}/{name}")
            time.sleep(0.5)
    return 0


def kubectl_annotate(K, args, opts):
    """`annotate node NAME key=value... key-` as kubectl does it: a JSON merge patch of metadata.annotations;
    changing a key that has a value needs --overwrite."""
    res, names = resource_args(args[:1])
    if res != "nodes" or len(args) < 3:
        die("error: the lab's k3s double annotates nodes only: annotate node NAME KEY=VALUE... [KEY-]")
    name = names[0] if names else args[1]
    pairs = args[1:] if names else args[2:]
    node = json.loads(K.req("GET", api_path("nodes", None, name)))
    have = node["metadata"].get("annotations") or {}
    patch = {}
    for p in pairs:
        if p.endswith("-") and "=" not in p:
            patch[p[:-1]] = None
            continue
        k, eq, v = p.partition("=")
        if not eq:
            die(f"error: invalid annotation format: {p}")
        if k in have and have[k] != v and not opts.get("overwrite"):
            die(f"error: --overwrite is false but found the following declared annotation(s): '{k}' already has a value ({have[k]})")
        patch[k] = v
    K.req("PATCH", api_path("nodes", None, name), {"metadata": {"annotations": patch}},
          content_type="application/merge-patch+json")
    print(f"node/{name} annotated")
    return 0


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


def node_args(pos, verb):
    if len(pos) != 2:
        die(f"error: USAGE: {verb} NODE [flags]\nSee 'kubectl {verb} -h' for help and examples")
    return pos[1:]


def kubectl_cordon(K, names, desired):
    """As kubectl: spec.unschedulable patched only when it changes; "already cordoned" otherwise."""
    word = "cordoned" if desired else "uncordoned"
    for n in names:
        node = json.loads(K.req("GET", api_path("nodes", None, n)))
        if bool(node["spec"].get("unschedulable")) == desired:
            print(f"node/{n} already {word}")
            continue
        K.req("PATCH", api_path("nodes", None, n), {"spec": {"unschedulable": True if desired else None}},
              content_type="application/strategic-merge-patch+json")
        print(f"node/{n} {word}")
    return 0
