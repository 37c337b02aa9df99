"""Day-2 behaviours of the k3s double that edgeup's rolling upgrades and certificate renewal rely on:
the node version comes from the binary last started, a fault build that never gets Ready,
`k3s etcd-snapshot`, certificates (renewal window, rotate, aging), cordon/uncordon/drain."""
import json
import os
import time

import pytest

from conftest import LAB, module_lab, node_rows, run, wait_for

SPEC = """
stores:
  - {name: up, servers: 2, agents: 1}
  - {name: ft, servers: 1, agents: 1}
  - {name: sn, servers: 2, agents: 1}
  - {name: sq, servers: 1}
  - {name: ct, servers: 1, agents: 1}
  - {name: cw, servers: 1}
  - {name: dr, servers: 1, agents: 1}
"""
FAST = {"K3S_DOUBLE_NOTREADY_SECONDS": "4", "K3S_DOUBLE_HEARTBEAT_SECONDS": "1",
        "K3S_DOUBLE_MANIFEST_POLL_SECONDS": "1", "K3S_DOUBLE_LEARNER_SECONDS": "2"}
NEW = "v1.32.1+k3s1"

lab = module_lab(SPEC)


def build(tmp_path_factory, version, *extra):
    out = str(tmp_path_factory.mktemp("k3s") / "k3s")
    run([os.path.join(LAB, "k3s-double", "build"), "--version", version, *extra, "-o", out])
    return out


@pytest.fixture(scope="module")
def new_binary(tmp_path_factory):
    return build(tmp_path_factory, NEW)


def nodes_json(lab, host):
    return {n["metadata"]["name"]: n for n in json.loads(lab.kubectl(host, "get nodes -o json").stdout)["items"]}


def ready(node):
    return next(c for c in node["status"]["conditions"] if c["type"] == "Ready")


def test_node_version_is_the_binary_last_started(lab, k3s_binary, new_binary):
    """Replacing /usr/local/bin/k3s and restarting re-registers the node with the new binary's version,
    on the first server, on a joined server and on an agent."""
    lab.install_k3s("up-s1", k3s_binary, "server", config={"token": "up-secret", "cluster-init": True}, env=FAST)
    url = f"https://{lab.host('up-s1')['address']}:6443"
    lab.install_k3s("up-s2", k3s_binary, "server", config={"token": "up-secret", "server": url}, env=FAST)
    lab.install_k3s("up-a1", k3s_binary, "agent", env={**FAST, "K3S_TOKEN": "up-secret", "K3S_URL": url})
    hosts = ("up-s1", "up-s2", "up-a1")
    rows = wait_for(lambda: (lambda r: r if set(hosts) <= set(r) and all(r[h][1] == "Ready" for h in hosts) else None)(
        node_rows(lab.kubectl("up-s1", "get nodes").stdout)), 40, what="three Ready nodes")
    assert {rows[h][4] for h in hosts} == {"v1.31.4+k3s1"}
    for h in hosts:
        unit = "k3s-agent" if h.endswith("a1") else "k3s"
        lab.put(h, "/usr/local/bin/k3s", open(new_binary, "rb").read(), "0755")
        lab.sh(h, f"systemctl restart {unit}", timeout=120)

        def upgraded():
            n = nodes_json(lab, "up-s1").get(h)
            return n and ready(n)["status"] == "True" and n["status"]["nodeInfo"]["kubeletVersion"] == NEW and n
        n = wait_for(upgraded, 30, what=f"{h} Ready on {NEW}")
        assert n["status"]["nodeInfo"]["kubeProxyVersion"] == NEW
        assert node_rows(lab.kubectl("up-s1", "get nodes").stdout)[h][4] == NEW
    assert lab.sh("up-s2", "k3s --version").stdout.startswith(f"k3s version {NEW} ")


def test_fault_build_never_ready(lab, k3s_binary, tmp_path_factory):
    """`build --fault never-ready`: the service is active, the API serves, the node heartbeats but stays
    Ready=False with a message naming the lab fault; a normal binary then makes it Ready."""
    faulty = build(tmp_path_factory, "v1.31.4+k3s1", "--fault", "never-ready")
    lab.install_k3s("ft-s1", faulty, "server", config={"token": "ft-secret"}, env=FAST)
    assert lab.sh("ft-s1", "systemctl is-active k3s").stdout.strip() == "active"
    assert lab.kubectl("ft-s1", "get --raw /readyz").stdout.strip() == "ok"
    lab.install_k3s("ft-a1", faulty, "agent",
                    env={**FAST, "K3S_TOKEN": "ft-secret", "K3S_URL": f"https://{lab.host('ft-s1')['address']}:6443"})
    wait_for(lambda: "ft-a1" in nodes_json(lab, "ft-s1"), 20, what="ft-a1 registered")
    time.sleep(5)                        # longer than the NotReady threshold: still heartbeating, still not Ready
    for h in ("ft-s1", "ft-a1"):
        c = ready(nodes_json(lab, "ft-s1")[h])
        assert (c["status"], c["reason"]) == ("False", "KubeletNotReady") and "lab fault never-ready" in c["message"]
        assert node_rows(lab.kubectl("ft-s1", "get nodes").stdout)[h][1] == "NotReady"
        assert lab.sh(h, f"systemctl is-active {'k3s' if h == 'ft-s1' else 'k3s-agent'}").stdout.strip() == "active"
    r = lab.kubectl("ft-s1", "wait --for=condition=Ready node/ft-a1 --timeout=2s", check=False)
    assert r.returncode != 0
    lab.put("ft-a1", "/usr/local/bin/k3s", open(k3s_binary, "rb").read(), "0755")
    lab.sh("ft-a1", "systemctl restart k3s-agent")
    wait_for(lambda: ready(nodes_json(lab, "ft-s1")["ft-a1"])["status"] == "True", 20, what="ft-a1 Ready on a normal build")


SNAPDIR = "/var/lib/rancher/k3s/server/db/snapshots"


def snapshot(lab, host, args="", check=True):
    r = lab.sh(host, f"k3s etcd-snapshot {args}", check=False, timeout=60)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def saved(r):
    return [l.split("Snapshot ", 1)[1].split(" saved.")[0] for l in r.stderr.splitlines() if " saved." in l]


def test_etcd_snapshot(lab, k3s_binary):
    lab.install_k3s("sn-s1", k3s_binary, "server", config={"token": "sn-secret", "cluster-init": True}, env=FAST)
    url = f"https://{lab.host('sn-s1')['address']}:6443"
    lab.install_k3s("sn-s2", k3s_binary, "server", config={"token": "sn-secret", "server": url}, env=FAST)
    lab.install_k3s("sn-a1", k3s_binary, "agent", env={**FAST, "K3S_TOKEN": "sn-secret", "K3S_URL": url})
    lab.put("sn-s1", "/root/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keepme}\ndata: {k: v}\n")
    lab.kubectl("sn-s1", "apply -f /root/cm.yaml")
    # save: <name>-<node>-<unix time> in the default dir, mode 0600, a dump of the datastore
    t0 = int(time.time())
    r = snapshot(lab, "sn-s1", "save")
    assert "Unknown flag --token found in config.yaml, skipping" in r.stderr   # config keys that are no flag of it
    [name] = saved(r)
    assert name.startswith("on-demand-sn-s1-") and t0 <= int(name.rsplit("-", 1)[1]) <= time.time() + 1
    st = lab.sh("sn-s1", f"stat -c %a {SNAPDIR}/{name}").stdout.strip()
    assert st == "600"
    dump = json.loads(lab.sh("sn-s1", f"cat {SNAPDIR}/{name}").stdout)
    assert any(o["name"] == "keepme" for o in dump["state"]["objects"].values())
    assert f"Saving etcd snapshot to {SNAPDIR}/{name}" in lab.journal("sn-s1")
    time.sleep(1.1)
    [named] = saved(snapshot(lab, "sn-s1", "save --name pre-upgrade"))
    assert named.startswith("pre-upgrade-sn-s1-")
    # ls (alias list): k3s's table, oldest first
    out = snapshot(lab, "sn-s1", "ls").stdout.splitlines()
    assert out[0].split() == ["Name", "Location", "Size", "Created"]
    rows = {l.split()[0]: l.split() for l in out[1:]}
    assert rows[name][1] == f"file://{SNAPDIR}/{name}" and int(rows[name][2]) > 0
    assert snapshot(lab, "sn-s1", "list").stdout.splitlines() == out
    # a joined server snapshots into its own dir, under its own node name, with the cluster's data
    [other] = saved(snapshot(lab, "sn-s2", "save"))
    assert other.startswith("on-demand-sn-s2-")
    assert "keepme" in lab.sh("sn-s2", f"cat {SNAPDIR}/{other}").stdout
    # a dir that is not the default must exist
    r = snapshot(lab, "sn-s1", "save --etcd-snapshot-dir /root/snaps", check=False)
    assert r.returncode == 1 and "see server log for details: failed to get etcd-snapshot-dir: stat /root/snaps" in r.stderr
    lab.sh("sn-s1", "mkdir /root/snaps")
    [there] = saved(snapshot(lab, "sn-s1", "save --dir /root/snaps"))
    assert lab.sh("sn-s1", f"test -f /root/snaps/{there}", check=False).returncode == 0
    # delete and prune
    r = snapshot(lab, "sn-s1", f"delete {named} no-such-snapshot")
    assert f"Snapshot {named} deleted." in r.stderr and "Snapshot no-such-snapshot not found." in r.stderr
    time.sleep(1.1)
    [newest] = saved(snapshot(lab, "sn-s1", "save"))
    r = snapshot(lab, "sn-s1", "prune --snapshot-retention 1")
    assert f"Snapshot {name} deleted." in r.stderr
    assert [l.split()[0] for l in snapshot(lab, "sn-s1", "ls").stdout.splitlines()[1:]] == [newest]
    # refusals: local server down, an agent, a non-root user, a SQLite server
    lab.sh("sn-s2", "systemctl stop k3s")
    r = snapshot(lab, "sn-s2", "save", check=False)
    assert r.returncode == 1 and ('level=fatal msg="failed to get CA certs: Get \\"https://127.0.0.1:6443/cacerts\\": '
                                  'dial tcp 127.0.0.1:6443: connect: connection refused"') in r.stderr
    r = snapshot(lab, "sn-a1", "save", check=False)
    assert r.returncode == 1 and "open /var/lib/rancher/k3s/server/token: no such file or directory" in r.stderr
    r = lab.ssh("sn-s1", "k3s etcd-snapshot save", check=False)
    assert r.returncode == 1 and "open /etc/rancher/k3s/config.yaml: permission denied" in r.stderr
    r = lab.ssh("sn-s1", "k3s etcd-snapshot save --config /dev/null", check=False)
    assert r.returncode == 1 and "open /home/edge/.rancher/k3s/server/token: no such file or directory" in r.stderr
    lab.install_k3s("sq-s1", k3s_binary, "server", config={"token": "sq-secret"}, env=FAST)
    r = snapshot(lab, "sq-s1", "save", check=False)
    assert r.returncode == 1 and 'level=fatal msg="see server log for details: etcd datastore disabled"' in r.stderr


TLS = "/var/lib/rancher/k3s/server/tls"
AGENT = "/var/lib/rancher/k3s/agent"
DAY = 86400


def cert_at(lab, host, path):
    from cryptography import x509
    return x509.load_pem_x509_certificate(lab.sh(host, f"cat {path}").stdout.encode())


def served(lab, host):
    import ssl
    from cryptography import x509
    return x509.load_pem_x509_certificate(ssl.get_server_certificate((lab.host(host)["address"], 6443)).encode())


def kubeconfig_cert(lab, host):
    import base64
    import yaml
    from cryptography import x509
    kc = yaml.safe_load(lab.sh(host, "cat /etc/rancher/k3s/k3s.yaml").stdout)
    return x509.load_pem_x509_certificate(base64.b64decode(kc["users"][0]["user"]["client-certificate-data"]))


def days_left(cert):
    import datetime
    return (cert.not_valid_after - datetime.datetime.utcnow()).total_seconds() / DAY


def age(lab, host, days):
    return lab.tool("host", "age-certs", host, "--days-left", str(days))


def restart(lab, host, unit="k3s"):
    lab.sh(host, f"systemctl restart {unit}", timeout=120)


def test_certificates_issued_and_kept(lab, k3s_binary):
    """Leaves last 365 days and are signed by the cluster CA (10 years); a restart keeps the listener and
    admin certificates (their dates mean something), re-signs the kubelet certificates (as k3s agents get
    theirs at every start), and a new SAN forces a new listener certificate."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives import hashes
    lab.install_k3s("ct-s1", k3s_binary, "server", config={"token": "ct-secret"}, env=FAST)
    lab.install_k3s("ct-a1", k3s_binary, "agent",
                    env={**FAST, "K3S_TOKEN": "ct-secret", "K3S_URL": f"https://{lab.host('ct-s1')['address']}:6443"})
    wait_for(lambda: "ct-a1" in node_rows(lab.kubectl("ct-s1", "get nodes").stdout), 20, what="ct-a1 joined")
    ca = cert_at(lab, "ct-s1", f"{TLS}/server-ca.crt")
    assert 3649 < days_left(ca) <= 3650
    leaves = {("ct-s1", f"{TLS}/serving-kube-apiserver.crt"): "CN=k3s,O=k3s",
              ("ct-s1", f"{TLS}/client-admin.crt"): "CN=system:admin,O=system:masters",
              ("ct-s1", f"{AGENT}/client-kubelet.crt"): "CN=system:node:ct-s1,O=system:nodes",
              ("ct-s1", f"{AGENT}/serving-kubelet.crt"): "CN=ct-s1",
              ("ct-a1", f"{AGENT}/client-kubelet.crt"): "CN=system:node:ct-a1,O=system:nodes",
              ("ct-a1", f"{AGENT}/serving-kubelet.crt"): "CN=ct-a1"}
    first = {}
    for (h, p), subject in leaves.items():
        c = cert_at(lab, h, p)
        assert c.subject.rfc4514_string() in (subject, ",".join(reversed(subject.split(",")))), (p, c.subject)
        assert c.issuer == ca.subject
        ca.public_key().verify(c.signature, c.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
        assert 364.9 < days_left(c) <= 365
        first[(h, p)] = c.serial_number
    assert lab.sh("ct-a1", f"stat -c %a {AGENT}/client-kubelet.key {AGENT}/client-kubelet.crt").stdout.split() == ["600", "600"]
    assert served(lab, "ct-s1").serial_number == first[("ct-s1", f"{TLS}/serving-kube-apiserver.crt")]
    assert "certificate CN=system:node:ct-a1,O=system:nodes signed by CN=k3s-server-ca@" in lab.journal("ct-s1")
    restart(lab, "ct-s1")
    restart(lab, "ct-a1", "k3s-agent")           # Type=exec: wait until the agent has its new certificates
    wait_for(lambda: cert_at(lab, "ct-a1", f"{AGENT}/client-kubelet.crt").serial_number != first[("ct-a1", f"{AGENT}/client-kubelet.crt")]
             and cert_at(lab, "ct-a1", f"{AGENT}/serving-kubelet.crt").serial_number != first[("ct-a1", f"{AGENT}/serving-kubelet.crt")],
             20, what="the agent's new kubelet certificates")
    for (h, p), serial in first.items():
        kept = cert_at(lab, h, p).serial_number == serial
        assert kept == p.startswith(TLS), (h, p)
    lab.put("ct-s1", "/etc/rancher/k3s/config.yaml.d/10-san.yaml", "tls-san: [ct.example.com]\n", "0600")
    restart(lab, "ct-s1")
    from cryptography import x509
    c = served(lab, "ct-s1")
    assert c.serial_number != first[("ct-s1", f"{TLS}/serving-kube-apiserver.crt")]
    assert "ct.example.com" in c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert cert_at(lab, "ct-s1", f"{TLS}/client-admin.crt").serial_number == first[("ct-s1", f"{TLS}/client-admin.crt")]


def test_aged_certificates_renewed_at_start(lab):
    """`edgeup-lab host age-certs`: files, the served certificate and k3s.yaml show the aged dates while k3s
    runs; a restart renews what is within the 90-day window of v1.31.4 and keeps the rest."""
    age(lab, "ct-s1", 20)
    for p in (f"{TLS}/serving-kube-apiserver.crt", f"{TLS}/client-admin.crt", f"{AGENT}/client-kubelet.crt"):
        assert 19.9 < days_left(cert_at(lab, "ct-s1", p)) <= 20
    assert 19.9 < days_left(served(lab, "ct-s1")) <= 20
    assert 19.9 < days_left(kubeconfig_cert(lab, "ct-s1")) <= 20
    assert "Reloaded the certificates from disk (SIGHUP)" in lab.journal("ct-s1")
    assert "ct-s1" in lab.kubectl("ct-s1", "get nodes").stdout           # still valid: k3s keeps running
    r = lab.sh("ct-s1", "k3s certificate check")
    assert "serving-kube-apiserver.crt: certificate k3s (ServerAuth) will expire within 90 days at" in r.stderr
    restart(lab, "ct-s1")
    for c in (cert_at(lab, "ct-s1", f"{TLS}/serving-kube-apiserver.crt"), served(lab, "ct-s1"),
              cert_at(lab, "ct-s1", f"{TLS}/client-admin.crt"), kubeconfig_cert(lab, "ct-s1")):
        assert 364.9 < days_left(c) <= 365
    r = lab.sh("ct-s1", "k3s certificate check")
    assert "client-admin.crt: certificate system:admin (ClientAuth) is ok, expires at" in r.stderr
    assert "Server detected, checking agent and server certificates" in r.stderr
    j = json.loads(lab.sh("ct-s1", "k3s certificate check -o json").stdout)
    admin = next(c for c in j["Certificates"] if c["Subject"] == "system:admin")
    assert admin["Status"] == "OK" and admin["Usages"] == ["ClientAuth"] and admin["ResidualTime"] > 364 * DAY * 10**9
    # outside the window: kept
    for d in (200, 100):
        age(lab, "ct-s1", d)
        restart(lab, "ct-s1")
        for c in (cert_at(lab, "ct-s1", f"{TLS}/serving-kube-apiserver.crt"), served(lab, "ct-s1"), kubeconfig_cert(lab, "ct-s1")):
            assert d - 0.1 < days_left(c) <= d
    # an agent's certificates are aged with its server's CA and signed anew at its next start
    age(lab, "ct-a1", 20)
    assert 19.9 < days_left(cert_at(lab, "ct-a1", f"{AGENT}/serving-kubelet.crt")) <= 20
    restart(lab, "ct-a1", "k3s-agent")
    wait_for(lambda: days_left(cert_at(lab, "ct-a1", f"{AGENT}/serving-kubelet.crt")) > 364.9, 20,
             what="the agent's kubelet certificate signed anew")


def test_renewal_window_of_newer_releases(lab, tmp_path_factory):
    """k3s v1.31.9 and later renew within 120 days: 100 days left is renewed there."""
    binary = build(tmp_path_factory, "v1.31.9+k3s1")
    lab.install_k3s("cw-s1", binary, "server", config={"token": "cw-secret"}, env=FAST)
    age(lab, "cw-s1", 100)
    r = lab.sh("cw-s1", "k3s certificate check -o table")
    lines = r.stdout.splitlines()
    assert lines[1].split() == ["FILENAME", "SUBJECT", "USAGES", "EXPIRES", "RESIDUAL", "TIME", "STATUS"]
    row = next(l for l in lines if l.startswith("client-admin.crt") and "system:admin" in l)
    assert row.split()[-1] == "WARNING" and "3 months" in row
    restart(lab, "cw-s1")
    assert 364.9 < days_left(cert_at(lab, "cw-s1", f"{TLS}/client-admin.crt")) <= 365


def test_expired_client_certificate_refused(lab, tmp_path):
    """An expired admin certificate is refused as kube-apiserver does (401), not by the TLS handshake."""
    age(lab, "ct-s1", -1)
    r = lab.kubectl("ct-s1", "get nodes", check=False)
    assert r.returncode == 1 and "x509: certificate has expired" in r.stderr     # the served certificate, first
    import shutil
    if shutil.which("kubectl"):
        from conftest import kubectl, real_kubeconfig
        r = kubectl(real_kubeconfig(lab, "ct-s1", tmp_path), "--insecure-skip-tls-verify", "get", "nodes", check=False)
        assert r.returncode == 1 and "error: You must be logged in to the server (the server has asked for the client to " \
            "provide credentials)" in r.stderr
        assert "x509: certificate has expired or is not yet valid" in lab.journal("ct-s1")
    restart(lab, "ct-s1")
    assert "ct-s1" in lab.kubectl("ct-s1", "get nodes").stdout


def test_certificate_rotate(lab):
    """rotate backs up the tls dir and removes the leaves; a running server keeps serving its certificate
    until it restarts; rotating a stopped server renews at start."""
    before = served(lab, "ct-s1").serial_number
    r = lab.sh("ct-s1", "k3s certificate rotate")
    assert "Server detected, rotating agent and server certificates" in r.stderr
    assert "Rotating certificates for admin" in r.stderr and "Rotating dynamic listener certificate" in r.stderr
    backup = r.stderr.split("Successfully backed up certificates to ")[1].split(",")[0]
    assert lab.sh("ct-s1", f"test -f {backup}/client-admin.crt && test -f {backup}/client-kubelet.crt", check=False).returncode == 0
    assert lab.sh("ct-s1", f"test -e {TLS}/client-admin.crt", check=False).returncode != 0
    assert served(lab, "ct-s1").serial_number == before and "ct-s1" in lab.kubectl("ct-s1", "get nodes").stdout
    restart(lab, "ct-s1")
    assert served(lab, "ct-s1").serial_number != before
    # while stopped, only some services
    lab.sh("ct-s1", "systemctl stop k3s")
    age_admin = cert_at(lab, "ct-s1", f"{TLS}/client-admin.crt").serial_number
    r = lab.sh("ct-s1", "k3s certificate rotate --service admin")
    assert "Rotating certificates for admin" in r.stderr and "Rotating certificates for api-server" not in r.stderr
    r = lab.sh("ct-s1", "k3s certificate rotate --service nope", check=False)
    assert r.returncode == 1 and "service nope is not recognized" in r.stderr
    lab.sh("ct-s1", "systemctl start k3s", timeout=120)
    admin = cert_at(lab, "ct-s1", f"{TLS}/client-admin.crt")
    assert admin.serial_number != age_admin and 364.9 < days_left(admin) <= 365
    assert kubeconfig_cert(lab, "ct-s1").serial_number == admin.serial_number


PODS = """apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agentd, namespace: kube-system}
spec:
  selector: {matchLabels: {app: agentd}}
  template: {metadata: {labels: {app: agentd}}, spec: {containers: [{name: a, image: agentd:1}]}}
---
apiVersion: v1
kind: Pod
metadata:
  name: agentd-x1
  namespace: kube-system
  ownerReferences: [{apiVersion: apps/v1, kind: DaemonSet, name: agentd, uid: u1, controller: true}]
spec: {nodeName: dr-a1, containers: [{name: a, image: agentd:1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: bare, namespace: shop}
spec: {nodeName: dr-a1, containers: [{name: b, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: cache
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: cache-rs, uid: u2, controller: true}]
spec: {nodeName: dr-a1, volumes: [{name: tmp, emptyDir: {}}], containers: [{name: c, image: redis}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-1
  namespace: shop
  labels: {app: web}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-rs, uid: u3, controller: true}]
spec: {nodeName: dr-a1, containers: [{name: w, image: nginx}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-2
  namespace: shop
  labels: {app: web}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-rs, uid: u3, controller: true}]
spec: {nodeName: dr-a1, containers: [{name: w, image: nginx}]}
---
apiVersion: v1
kind: Pod
metadata:
  name: other
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: other-rs, uid: u4, controller: true}]
spec: {nodeName: dr-s1, containers: [{name: o, image: nginx}]}
"""
PDB = """apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: shop}
spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}
"""


def pod_names(lab, node):
    items = json.loads(lab.kubectl("dr-s1", f"get pods -A -o json").stdout)["items"]
    return sorted(p["metadata"]["name"] for p in items if p["spec"].get("nodeName") == node)


def test_cordon_uncordon(lab, k3s_binary):
    lab.install_k3s("dr-s1", k3s_binary, "server", config={"token": "dr-secret"}, env=FAST)
    lab.install_k3s("dr-a1", k3s_binary, "agent",
                    env={**FAST, "K3S_TOKEN": "dr-secret", "K3S_URL": f"https://{lab.host('dr-s1')['address']}:6443"})
    wait_for(lambda: node_rows(lab.kubectl("dr-s1", "get nodes").stdout).get("dr-a1", [0, 0])[1] == "Ready", 20,
             what="dr-a1 Ready")
    assert lab.kubectl("dr-s1", "cordon dr-a1").stdout == "node/dr-a1 cordoned\n"
    assert node_rows(lab.kubectl("dr-s1", "get nodes").stdout)["dr-a1"][1] == "Ready,SchedulingDisabled"
    n = nodes_json(lab, "dr-s1")["dr-a1"]
    assert n["spec"]["unschedulable"] is True
    assert [t for t in n["spec"]["taints"] if t["key"] == "node.kubernetes.io/unschedulable"][0]["effect"] == "NoSchedule"
    assert lab.kubectl("dr-s1", "cordon dr-a1").stdout == "node/dr-a1 already cordoned\n"
    restart(lab, "dr-s1")                  # a cordon outlives restarts
    assert nodes_json(lab, "dr-s1")["dr-a1"]["spec"]["unschedulable"] is True
    assert lab.kubectl("dr-s1", "uncordon dr-a1").stdout == "node/dr-a1 uncordoned\n"
    n = nodes_json(lab, "dr-s1")["dr-a1"]
    assert "unschedulable" not in n["spec"] and "taints" not in n["spec"]
    wait_for(lambda: node_rows(lab.kubectl("dr-s1", "get nodes").stdout)["dr-a1"][1] == "Ready", 10,
             what="dr-a1 Ready again after the server's restart")
    assert lab.kubectl("dr-s1", "uncordon dr-a1").stdout == "node/dr-a1 already uncordoned\n"
    r = lab.kubectl("dr-s1", "cordon nope", check=False)
    assert r.returncode == 1 and 'Error from server (NotFound): nodes "nope" not found' in r.stderr


def test_drain(lab, tmp_path):
    lab.put("dr-s1", "/root/pods.yaml", PODS)
    lab.put("dr-s1", "/root/pdb.yaml", PDB)
    lab.kubectl("dr-s1", "apply -f /root/pods.yaml -f /root/pdb.yaml")
    # kubectl's refusals, nothing evicted
    r = lab.kubectl("dr-s1", "drain dr-a1", check=False)
    assert r.returncode == 1 and r.stdout == "node/dr-a1 cordoned\n"
    for e in ("cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): kube-system/agentd-x1",
              "cannot delete Pods with local storage (use --delete-emptydir-data to override): shop/cache",
              # sic: kubectl 1.30-1.33 say it so (the double embeds the kubectl of its k3s version, 1.31)
              "cannot delete cannot delete Pods that declare no controller (use --force to override): shop/bare"):
        assert "\n" + e + "\n" in r.stderr, r.stderr
    assert 'error: unable to drain node "dr-a1" due to error: [' in r.stderr
    assert "There are pending nodes to be drained:\n dr-a1\n" in r.stderr
    assert pod_names(lab, "dr-a1") == ["agentd-x1", "bare", "cache", "web-1", "web-2"]
    # with the flags: the budget lets one web pod go and holds the other until the timeout
    r = lab.kubectl("dr-s1", "drain dr-a1 --ignore-daemonsets --delete-emptydir-data --force --timeout=3s --grace-period=5",
                    check=False)
    assert r.returncode == 1
    out = r.stdout.splitlines()
    assert out[0] == "node/dr-a1 already cordoned"
    assert {"evicting pod shop/bare", "pod/bare evicted", "evicting pod shop/cache", "pod/cache evicted"} <= set(out)
    assert ("Warning: ignoring DaemonSet-managed Pods: kube-system/agentd-x1; deleting Pods that declare no "
            "controller: shop/bare\n") in r.stderr
    left = pod_names(lab, "dr-a1")
    assert left in (["agentd-x1", "web-1"], ["agentd-x1", "web-2"])
    held = left[1]
    assert f"pod/{'web-1' if held == 'web-2' else 'web-2'} evicted" in out
    assert (f'error when evicting pods/"{held}" -n "shop" (will retry after 5s): Cannot evict pod as it would violate '
            "the pod's disruption budget.") in r.stderr
    assert f'error when evicting pods/"{held}" -n "shop": global timeout reached: 3s' in r.stderr
    assert f'There are pending pods in node "dr-a1" when an error occurred' in r.stderr and f"pod/{held}\n" in r.stderr
    assert "node/dr-a1 drained" not in r.stdout
    # without the budget, and only the pods the selector names: drained
    lab.kubectl("dr-s1", "delete -f /root/pdb.yaml")
    r = lab.kubectl("dr-s1", "drain dr-a1 --pod-selector=app=web")
    assert r.stdout.splitlines() == ["node/dr-a1 already cordoned", f"evicting pod shop/{held}", f"pod/{held} evicted",
                                     "node/dr-a1 drained"]
    assert pod_names(lab, "dr-a1") == ["agentd-x1"] and pod_names(lab, "dr-s1") == ["other"]
    r = lab.kubectl("dr-s1", "drain dr-a1 --pod-selector='app in'", check=False)
    assert r.returncode == 1 and r.stderr == "error: --pod-selector=<pod_selector> must be a valid label selector\n"
    # the real kubectl drives the same API: cordon, evict, uncordon
    import shutil
    if shutil.which("kubectl"):
        from conftest import kubectl, real_kubeconfig
        kc = real_kubeconfig(lab, "dr-s1", tmp_path)
        r = kubectl(kc, "drain", "dr-s1", "--timeout=20s")
        assert r.stdout.splitlines() == ["node/dr-s1 cordoned", "evicting pod shop/other", "pod/other evicted",
                                         "node/dr-s1 drained"], (r.stdout, r.stderr)
        assert kubectl(kc, "uncordon", "dr-s1").stdout.strip() == "node/dr-s1 uncordoned"
        r = kubectl(kc, "drain", "dr-a1", check=False)
        assert r.returncode == 1 and "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): " \
            "kube-system/agentd-x1" in r.stderr
