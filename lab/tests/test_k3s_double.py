"""The k3s test double, installed on lab hosts the way edgeup installs k3s (binary in /usr/local/bin,
systemd unit, config.yaml, .service.env), driven through the systemctl stand-in and checked with the
real kubectl from the machine."""
import hashlib
import json
import os
import re
import struct
import subprocess
import threading

import pytest
import yaml

from conftest import LAB, kubectl, module_lab, node_rows, real_kubeconfig, run, upper, wait_for

SPEC = """
stores:
  - {name: sa, servers: 1, agents: 2}
  - {name: ha, servers: 3, agents: 1}
  - {name: sq, servers: 2}
  - {name: mm, servers: 2}
  - {name: lan, servers: 1, agents: 1, gateway: true}
"""
FAST = {"K3S_DOUBLE_NOTREADY_SECONDS": "4", "K3S_DOUBLE_HEARTBEAT_SECONDS": "1",
        "K3S_DOUBLE_MANIFEST_POLL_SECONDS": "1", "K3S_DOUBLE_LEARNER_SECONDS": "4"}


lab = module_lab(SPEC)


# ------------------------------------------------------------------------------------------------

def test_binary_version_and_arch(lab, k3s_binary, tmp_path):
    with open(k3s_binary, "rb") as f:
        hdr = f.read(20)
    assert hdr[:4] == b"\x7fELF" and struct.unpack("<H", hdr[18:20])[0] == 62
    r = run([k3s_binary, "--version"])
    assert re.match(r"^k3s version v1\.31\.4\+k3s1 \([0-9a-f]{8}\)\ngo version go1\.\d+", r.stdout)
    for arch, em, cls in (("arm64", 183, 2), ("arm", 40, 1)):
        out = str(tmp_path / f"k3s-{arch}")
        run([os.path.join(LAB, "k3s-double", "build"), "--version", "v1.30.8+k3s1", "--arch", arch, "-o", out])
        with open(out, "rb") as f:
            h = f.read(20)
        assert h[4] == cls and struct.unpack("<H", h[18:20])[0] == em
        with pytest.raises(OSError):      # a wrong-arch binary does not run here (Exec format error)
            subprocess.run([out, "--version"], capture_output=True)


def test_server_files_certificates_and_real_kubectl(lab, k3s_binary, tmp_path):
    h = "sa-s1"
    addr = lab.host(h)["address"]
    lab.put(h, "/var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar", b"fake image tarball")
    lab.install_k3s(h, k3s_binary, "server",
                    config={"token": "sa-secret", "tls-san": ["sa.example.com"], "node-label": ["store=sa"],
                            "node-taint": ["CriticalAddonsOnly=true:NoExecute"],
                            "write-kubeconfig-mode": "0600"},
                    extra_config={"10-labels.yaml": {"node-label+": ["tier=edge"]}}, env=FAST)
    # kubeconfig
    st = os.stat(upper(lab, h, "/etc/rancher/k3s/k3s.yaml"))
    assert oct(st.st_mode & 0o777) == "0o600"
    kc = yaml.safe_load(open(upper(lab, h, "/etc/rancher/k3s/k3s.yaml")))
    assert kc["current-context"] == "default"
    assert [c["name"] for c in kc["clusters"]] == ["default"] and [u["name"] for u in kc["users"]] == ["default"]
    assert kc["contexts"][0] == {"name": "default", "context": {"cluster": "default", "user": "default"}}
    assert kc["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"
    # token: K10<sha256 of the CA PEM served at /cacerts>::server:<secret>
    ca = open(upper(lab, h, "/var/lib/rancher/k3s/server/tls/server-ca.crt"), "rb").read()
    token = lab.sh(h, "cat /var/lib/rancher/k3s/server/token").stdout.strip()
    assert token == f"K10{hashlib.sha256(ca).hexdigest()}::server:sa-secret"
    assert lab.sh(h, "cat /var/lib/rancher/k3s/server/node-token").stdout.strip() == token
    assert oct(os.stat(upper(lab, h, "/var/lib/rancher/k3s/server/token")).st_mode & 0o777) == "0o600"
    served = lab.sh("sa-a1", f"python3 -c \"import ssl; print(ssl.get_server_certificate(('{addr}', 6443)))\"").stdout
    cacerts = lab.sh("sa-a1", f"python3 -c \"import ssl,urllib.request as u; c=ssl._create_unverified_context(); "
                              f"print(u.urlopen('https://{addr}:6443/cacerts', context=c).read().decode(), end='')\"").stdout
    assert cacerts.encode() == ca
    # serving certificate SANs and the admin client certificate
    from cryptography import x509
    cert = x509.load_pem_x509_certificate(served.encode())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = {str(x) for x in san.get_values_for_type(x509.DNSName)} | {str(x) for x in san.get_values_for_type(x509.IPAddress)}
    assert {"127.0.0.1", "localhost", addr, "sa.example.com", "kubernetes.default", "kubernetes.default.svc.cluster.local",
            "10.43.0.1"} <= names
    import base64
    admin = x509.load_pem_x509_certificate(base64.b64decode(kc["users"][0]["user"]["client-certificate-data"]))
    assert admin.subject.rfc4514_string() in ("CN=system:admin,O=system:masters", "O=system:masters,CN=system:admin")
    # the real kubectl accepts it
    rkc = real_kubeconfig(lab, h, tmp_path)
    out = kubectl(rkc, "get", "nodes").stdout
    assert out.split("\n")[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    row = node_rows(out)["sa-s1"]
    assert row[1] == "Ready" and row[2] == "control-plane,master" and row[4] == "v1.31.4+k3s1"
    assert kubectl(rkc, "get", "--raw", "/readyz").stdout.strip() == "ok"
    wait_for(lambda: kubectl(rkc, "get", "serviceaccount", "default", check=False).returncode == 0, 10,
             what="default ServiceAccount")
    nj = json.loads(kubectl(rkc, "get", "node", "sa-s1", "-o", "json").stdout)
    assert nj["metadata"]["labels"]["store"] == "sa" and nj["metadata"]["labels"]["tier"] == "edge"
    assert nj["spec"]["taints"] == [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NoExecute"}]
    assert kubectl(rkc, "get", "nodes", "-o", "name").stdout.split() == ["node/sa-s1"]
    assert "INTERNAL-IP" in lab.kubectl(h, "get nodes -o wide").stdout
    assert json.loads(lab.kubectl(h, "get nodes -o json").stdout)["items"][0]["metadata"]["name"] == "sa-s1"
    assert "Imported images from /var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar" in lab.journal(h)
    # an unauthenticated client is refused
    r = kubectl(rkc, "--client-certificate=/dev/null", "get", "nodes", check=False)
    assert r.returncode != 0
    # the non-root user cannot read the kubeconfig (edgeup needs sudo)
    r = lab.ssh(h, "k3s kubectl get nodes", check=False)
    assert r.returncode != 0 and "permission denied" in r.stderr
    assert "sa-s1" in lab.ssh(h, "sudo -n k3s kubectl get nodes").stdout


def test_agent_token_checks_join_and_notready(lab, k3s_binary, tmp_path):
    server = lab.host("sa-s1")["address"]
    url = f"https://{server}:6443"
    token = lab.sh("sa-s1", "cat /var/lib/rancher/k3s/server/node-token").stdout.strip()
    cahash = token[3:].split("::")[0]
    # wrong secret: refused, the process exits non-zero and the service restarts
    lab.install_k3s("sa-a1", k3s_binary, "agent", env={"K3S_TOKEN": f"K10{cahash}::server:wrong", "K3S_URL": url},
                    check=False)
    wait_for(lambda: "token is not valid" in lab.journal("sa-a1", "k3s-agent"), 15, what="token refusal")
    wait_for(lambda: int(lab.sh("sa-a1", "systemctl show -p NRestarts --value k3s-agent").stdout.strip() or 0) >= 1,
             15, what="a restart after the refusal")
    # CA hash mismatch (a man in the middle, or another cluster): refused before sending the secret
    lab.install_k3s("sa-a2", k3s_binary, "agent",
                    env={"K3S_TOKEN": "K10" + "0" * 64 + "::server:sa-secret", "K3S_URL": url}, check=False)
    wait_for(lambda: "token CA hash does not match the Cluster CA certificate hash" in lab.journal("sa-a2", "k3s-agent"),
             15, what="CA hash refusal")
    rkc = real_kubeconfig(lab, "sa-s1", tmp_path)
    assert set(node_rows(kubectl(rkc, "get", "nodes").stdout)) == {"sa-s1"}
    # right token: both agents join and show as nodes with role <none>
    for a in ("sa-a1", "sa-a2"):
        lab.put(a, "/etc/systemd/system/k3s-agent.service.env", f"K3S_TOKEN={token}\nK3S_URL={url}\n", "0600")
        lab.sh(a, "systemctl restart k3s-agent")
    rows = wait_for(lambda: (lambda r: r if {"sa-a1", "sa-a2"} <= set(r) and r["sa-a1"][1] == "Ready" else None)(
        node_rows(kubectl(rkc, "get", "nodes").stdout)), 20, what="agents in `kubectl get nodes`")
    assert rows["sa-a1"][2] == "<none>" and rows["sa-a2"][1] == "Ready"
    # an agent whose process is gone turns NotReady (the server here uses a 4 s threshold)
    lab.sh("sa-a2", "systemctl stop k3s-agent")
    wait_for(lambda: node_rows(kubectl(rkc, "get", "nodes").stdout)["sa-a2"][1] == "NotReady", 20, what="NotReady")
    assert node_rows(kubectl(rkc, "get", "nodes").stdout)["sa-a1"][1] == "Ready"


def test_etcd_one_learner_at_a_time(lab, k3s_binary, tmp_path):
    lab.install_k3s("ha-s1", k3s_binary, "server", config={"token": "ha-secret", "cluster-init": True}, env=FAST)
    token = lab.sh("ha-s1", "cat /var/lib/rancher/k3s/server/token").stdout.strip()
    url = f"https://{lab.host('ha-s1')['address']}:6443"
    for h in ("ha-s2", "ha-s3"):
        lab.install_k3s(h, k3s_binary, "server", config={"token": token, "server": url}, env=FAST, start=False)
    results = {}

    def start(h):
        results[h] = lab.sh(h, "systemctl start k3s", check=False, timeout=120)
    ts = [threading.Thread(target=start, args=(h,)) for h in ("ha-s2", "ha-s3")]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    codes = sorted(r.returncode for r in results.values())
    assert codes == [0, 1], {h: (r.returncode, r.stderr) for h, r in results.items()}
    loser = next(h for h, r in results.items() if r.returncode != 0)
    assert "etcdserver: too many learner members in cluster" in lab.journal(loser)
    # the learner is promoted after a few seconds; the loser's restart then joins; all end up voting members
    rkc = real_kubeconfig(lab, "ha-s1", tmp_path)

    def all_members():
        rows = node_rows(kubectl(rkc, "get", "nodes").stdout)
        ok = all(h in rows and rows[h][1] == "Ready" and rows[h][2] == "control-plane,etcd,master"
                 for h in ("ha-s1", "ha-s2", "ha-s3"))
        return rows if ok else None
    wait_for(all_members, 40, interval=1, what="three etcd members")
    voters = {n["metadata"]["name"]: [c["status"] for c in n["status"]["conditions"] if c["type"] == "EtcdIsVoter"]
              for n in json.loads(kubectl(rkc, "get", "nodes", "-o", "json").stdout)["items"]}
    assert voters == {"ha-s1": ["True"], "ha-s2": ["True"], "ha-s3": ["True"]}, voters
    # an agent pointed at a joined (non-first) server registers too
    lab.install_k3s("ha-a1", k3s_binary, "agent",
                    env={"K3S_TOKEN": token, "K3S_URL": f"https://{lab.host('ha-s2')['address']}:6443"})
    wait_for(lambda: "ha-a1" in node_rows(lab.kubectl("ha-s3", "get nodes").stdout), 15, what="ha-a1 via ha-s2")
    assert lab.kubectl("ha-s2", "get --raw /readyz").stdout.strip() == "ok"


def test_sqlite_server_refuses_server_join(lab, k3s_binary):
    lab.install_k3s("sq-s1", k3s_binary, "server", config={"token": "sq-secret"}, env=FAST)
    token = lab.sh("sq-s1", "cat /var/lib/rancher/k3s/server/token").stdout.strip()
    r = lab.install_k3s("sq-s2", k3s_binary, "server",
                        config={"token": token, "server": f"https://{lab.host('sq-s1')['address']}:6443"}, check=False)
    assert r.returncode != 0
    j = lab.journal("sq-s2")
    assert "level=fatal" in j and "SQLite" in j and "cannot join" in j
    assert set(node_rows(lab.kubectl("sq-s1", "get nodes").stdout)) == {"sq-s1"}
    lab.sh("sq-s2", "systemctl stop k3s")


def test_server_join_wrong_token_and_critical_mismatch(lab, k3s_binary):
    lab.install_k3s("mm-s1", k3s_binary, "server", config={"token": "mm-secret", "cluster-init": True,
                                                           "disable": ["traefik", "servicelb"]}, env=FAST)
    token = lab.sh("mm-s1", "cat /var/lib/rancher/k3s/server/token").stdout.strip()
    url = f"https://{lab.host('mm-s1')['address']}:6443"
    r = lab.install_k3s("mm-s2", k3s_binary, "server", config={"token": "not-the-token", "server": url,
                                                               "disable": ["servicelb", "traefik"]}, check=False)
    assert r.returncode != 0 and "token is not valid" in lab.journal("mm-s2")
    lab.sh("mm-s2", "systemctl stop k3s")
    lab.put("mm-s2", "/etc/rancher/k3s/config.yaml",
            yaml.safe_dump({"token": token, "server": url, "disable": ["servicelb", "traefik"],
                            "cluster-cidr": "10.99.0.0/16"}), "0600")
    r = lab.sh("mm-s2", "systemctl start k3s", check=False)
    assert r.returncode != 0
    j = lab.journal("mm-s2")
    assert "critical configuration value mismatch" in j and "cluster-cidr" in j
    lab.sh("mm-s2", "systemctl stop k3s")
    # same settings (the disable list in another order): joins
    lab.put("mm-s2", "/etc/rancher/k3s/config.yaml",
            yaml.safe_dump({"token": token, "server": url, "disable": ["servicelb", "traefik"]}), "0600")
    lab.sh("mm-s2", "systemctl start k3s")
    wait_for(lambda: "mm-s2" in node_rows(lab.kubectl("mm-s1", "get nodes").stdout), 10, what="mm-s2 joined")


def test_config_errors(lab, k3s_binary):
    h = "sq-s2"
    lab.put(h, "/root/bad.yaml", "token: x\nnode-lable: [a=b]\n")
    r = lab.sh(h, "k3s server --config /root/bad.yaml", check=False)
    assert r.returncode != 0 and '"node-lable"' in r.stderr
    lab.put(h, "/root/bad2.yaml", "token: [unclosed\n")
    r = lab.sh(h, "k3s server --config /root/bad2.yaml", check=False)
    assert r.returncode != 0 and "failed to parse" in r.stderr
    r = lab.sh(h, "k3s server --no-such-flag", check=False)
    assert r.returncode != 0 and "flag provided but not defined" in r.stderr
    r = lab.sh(h, "K3S_URL=https://127.0.0.1:6443 k3s agent --config /root/none.yaml", check=False, timeout=20)
    assert r.returncode != 0 and "--token is required" in r.stderr
    # like the API server, no Node whose name is no RFC 1123 subdomain (a hostname with shell syntax)
    r = lab.sh(h, "k3s server --token x --node-name 'x;touch /tmp/p;'", check=False, timeout=20)
    assert r.returncode != 0 and "a lowercase RFC 1123 subdomain" in r.stderr


MANIFEST = """apiVersion: v1
kind: Namespace
metadata:
  name: demo
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: demo
data:
  color: blue
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.27}]
"""


def canon(o):
    return hashlib.sha256(json.dumps(o, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def test_kubectl_apply_is_recorded(lab):
    h = "sa-s1"
    lab.put(h, "/root/app.yaml", MANIFEST)
    r = lab.kubectl(h, "apply -f /root/app.yaml")
    assert r.stdout.split("\n")[:3] == ["namespace/demo created", "configmap/settings created", "deployment.apps/web created"]
    r = lab.kubectl(h, "apply -f /root/app.yaml")
    assert r.stdout.split("\n")[:3] == ["namespace/demo unchanged", "configmap/settings unchanged", "deployment.apps/web unchanged"]
    r = lab.sh(h, "sed 's/blue/green/' /root/app.yaml | k3s kubectl apply -f -")
    assert "configmap/settings configured" in r.stdout
    r = lab.kubectl(h, "apply --server-side --field-manager edgeup -f /root/app.yaml")
    assert "deployment.apps/web serverside-applied" in r.stdout
    r = lab.kubectl(h, "rollout status deployment/web -n demo --timeout=30s")
    assert 'deployment "web" successfully rolled out' in r.stdout
    assert "web" in lab.kubectl(h, "get deployments -n demo").stdout
    applied = json.loads(lab.kubectl(h, "get --raw /v1-lab/applied").stdout)
    docs = list(yaml.safe_load_all(MANIFEST))
    last = [a for a in applied["applied"] if a["manager"] == "edgeup"]
    assert [a["kind"] for a in last] == ["Namespace", "ConfigMap", "Deployment"]
    assert [a["hash"] for a in last] == [canon(d) for d in docs] and last[2]["content"] == docs[2]
    assert last[2]["server_side"] is True
    # errors like kubectl's: a namespace that does not exist, a kind without its CRD
    lab.put(h, "/root/bad.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: nope}\n")
    r = lab.kubectl(h, "apply -f /root/bad.yaml", check=False)
    assert r.returncode != 0 and 'namespaces "nope" not found' in r.stderr
    lab.put(h, "/root/cr.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n")
    r = lab.kubectl(h, "apply -f /root/cr.yaml", check=False)
    assert r.returncode != 0 and 'no matches for kind "Widget"' in r.stderr
    # the auto-deploy folder is applied and recorded the same way
    lab.put(h, "/var/lib/rancher/k3s/server/manifests/baseline.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: baseline}\n")
    wait_for(lambda: any(a.get("source") == "manifests/baseline.yaml" for a in
                         json.loads(lab.kubectl(h, "get --raw /v1-lab/applied").stdout)["applied"]), 15,
             what="auto-deployed manifest")
    assert "baseline" in lab.kubectl(h, "get namespaces").stdout
    r = lab.kubectl(h, "delete -f /root/app.yaml")
    assert r.stdout.split("\n")[:3] == ['namespace "demo" deleted', 'configmap "settings" deleted', 'deployment.apps "web" deleted']
    r = lab.kubectl(h, "rollout status deployment/web -n demo --timeout=2s", check=False)
    assert r.returncode != 0 and "not found" in r.stderr


def test_token_rotate_and_restart_with_old_token(lab):
    h = "sq-s1"
    r = lab.sh(h, "k3s token rotate --token sq-secret --new-token sq-new")
    assert "Token rotated" in r.stdout
    assert lab.sh(h, "cat /var/lib/rancher/k3s/server/token").stdout.strip().endswith("::server:sq-new")
    # the server restarted with the old token in its config refuses to start (bootstrap data mismatch)
    r = lab.sh(h, "systemctl restart k3s", check=False)
    assert r.returncode != 0
    assert "encrypted with different token" in lab.journal(h)
    lab.put(h, "/etc/rancher/k3s/config.yaml", yaml.safe_dump({"token": "sq-new"}), "0600")
    lab.sh(h, "systemctl restart k3s")
    created = lab.sh(h, "k3s token create --ttl 1h").stdout.strip()
    assert re.match(r"^K10[0-9a-f]{64}::[0-9a-f]{6}\.[0-9a-f]{16}$", created)
    assert created.split("::")[1].split(".")[0] in lab.sh(h, "k3s token list").stdout


def test_cluster_survives_host_restart(lab, tmp_path):
    # k3s is enabled: it starts again at boot and keeps its state (nodes, applied objects)
    lab.tool("host", "restart", "sa-s1")
    rkc = real_kubeconfig(lab, "sa-s1", tmp_path)
    rows = wait_for(lambda: (lambda r: r if r.returncode == 0 else None)(kubectl(rkc, "get", "nodes", check=False)),
                    20, what="API after restart")
    assert {"sa-s1", "sa-a1"} <= set(node_rows(rows.stdout))
    assert "baseline" in lab.kubectl("sa-s1", "get ns").stdout
    # the agent reconnects by itself
    wait_for(lambda: node_rows(kubectl(rkc, "get", "nodes").stdout)["sa-a1"][1] == "Ready", 20, what="agent Ready")


DOUBLE = os.path.join(LAB, "k3s-double", "k3s")


def load_double():
    """The double's config and token modules, from the source tree, on the paths its __main__.py sets."""
    import sys
    for p in (os.path.join(DOUBLE, "lean"), DOUBLE):
        if p not in sys.path:
            sys.path.insert(0, p)
    from k3scli import config
    from k3sd import tokens
    return config, tokens


def test_config_precedence_unit(tmp_path):
    """defaults < env < config.yaml < config.yaml.d/*.yaml (alphabetical, key+ appends) < CLI."""
    config, tokens = load_double()
    cfg = tmp_path / "config.yaml"
    cfg.write_text("token: from-file\nnode-name: file-name\nnode-label: [a=1]\ndisable: traefik,servicelb\n"
                   "write-kubeconfig-mode: 0644\n")
    d = tmp_path / "config.yaml.d"
    d.mkdir()
    (d / "20-b.yaml").write_text("node-label+: [c=3]\nnode-name: dropin-b\n")
    (d / "10-a.yaml").write_text("node-label+: [b=2]\nnode-name: dropin-a\n")
    (d / "ignored.txt").write_text("garbage: [")
    env = {"K3S_TOKEN": "from-env", "K3S_URL": "https://env:6443", "K3S_NODE_NAME": "env-name"}
    c, _ = config.load_config(["--config", str(cfg)], "server", env)
    assert c["token"] == "from-file" and c["server"] == "https://env:6443"
    assert c["node-name"] == "dropin-b"
    assert c["node-label"] == ["a=1", "b=2", "c=3"]
    assert c["disable"] == ["traefik", "servicelb"]
    assert c["write-kubeconfig-mode"] == "0644"
    c, _ = config.load_config(["--config", str(cfg), "--node-name", "cli", "--node-label=x=9", "--cluster-init"], "server", env)
    assert c["node-name"] == "cli" and c["node-label"] == ["x=9"] and c["cluster-init"] is True
    # an agent skips server-only keys with a warning; unknown keys are errors naming the key
    (d / "30-server-only.yaml").write_text("tls-san: [x.example.com]\n")
    c, _ = config.load_config(["--config", str(cfg)], "agent", env)
    assert "tls-san" not in c
    (d / "40-typo.yaml").write_text("tls-sans: [x]\n")
    with pytest.raises(config.ConfigError, match='"tls-sans"'):
        config.load_config(["--config", str(cfg)], "server", env)
    assert tokens.parse_token("K10abc::server:s3cret") == ("abc", "server", "s3cret")
    assert tokens.parse_token("plain") == (None, None, "plain")


def test_lean_part_imports_alone():
    """The long-running server/agent runs lean/ alone under `python3 -I -S`: every lean module imports
    there, and none pulls in the CLI's modules or a third-party package."""
    code = """if True:
        import importlib, os, sys
        sys.path.insert(0, sys.argv[1])
        for f in os.listdir(os.path.join(sys.argv[1], "k3sd")):
            if f.endswith(".py") and f != "__init__.py":
                importlib.import_module("k3sd." + f[:-3])
        print(" ".join(sys.modules))"""
    mods = set(run(["/usr/bin/python3", "-I", "-S", "-c", code, os.path.join(DOUBLE, "lean")]).stdout.split())
    assert {"k3sd.serve", "k3sd.server", "k3sd.agent", "k3sd.api"} <= mods
    assert not [m for m in mods if m.split(".")[0] in ("k3scli", "yaml", "cryptography")]


def test_cluster_on_a_store_lan_behind_a_gateway(lab, k3s_binary):
    """Joins over a store-private network (192.168.50.0/24, like every gateway store), with a
    non-default API port, the installer's kubectl symlink and `journalctl -xeu`."""
    lab.install_k3s("lan-s1", k3s_binary, "server", config={"token": "lan-secret", "https-listen-port": 6444}, env=FAST)
    assert lab.host("lan-s1")["address"] == "192.168.50.11"
    assert "https://127.0.0.1:6444" in lab.sh("lan-s1", "cat /etc/rancher/k3s/k3s.yaml").stdout
    token = lab.sh("lan-s1", "cat /var/lib/rancher/k3s/server/token").stdout.strip()
    lab.install_k3s("lan-a1", k3s_binary, "agent", env={"K3S_TOKEN": token, "K3S_URL": "https://192.168.50.11:6444"})
    lab.sh("lan-s1", "ln -sf /usr/local/bin/k3s /usr/local/bin/kubectl")
    rows = wait_for(lambda: (lambda r: r if "lan-a1" in r else None)(node_rows(lab.sh("lan-s1", "kubectl get nodes").stdout)),
                    15, what="lan-a1 joined over the store LAN")
    assert rows["lan-s1"][2] == "control-plane,master"
    assert "Node lan-a1 registered" in lab.sh("lan-a1", "journalctl -xeu k3s-agent.service --no-pager").stdout
    # reached from outside only through the gateway
    r = lab.ssh("lan-s1", "sudo -n k3s kubectl get nodes -o name")
    assert sorted(r.stdout.split()) == ["node/lan-a1", "node/lan-s1"]


def test_agent_token_changes_with_a_server_restart(lab):
    """k3s lets the agent token change when the servers restart with the new one: agents join with
    it (never able to join a server), and the old agent secret stops working."""
    h = "lan-s1"
    lab.sh(h, "mkdir -p /etc/rancher/k3s/config.yaml.d && printf 'agent-token: lan-agent-1\\n' > /etc/rancher/k3s/config.yaml.d/50-agent.yaml")
    lab.sh(h, "systemctl restart k3s")
    first = lab.sh(h, "cat /var/lib/rancher/k3s/server/agent-token").stdout.strip()
    assert first.endswith("::node:lan-agent-1")
    lab.sh(h, "printf 'agent-token: lan-agent-2\\n' > /etc/rancher/k3s/config.yaml.d/50-agent.yaml && systemctl restart k3s")
    second = lab.sh(h, "cat /var/lib/rancher/k3s/server/agent-token").stdout.strip()
    assert second.endswith("::node:lan-agent-2")
    lab.put("lan-a1", "/etc/systemd/system/k3s-agent.service.env",
            f"K3S_TOKEN={first}\nK3S_URL=https://192.168.50.11:6444\n", "0600")
    lab.sh("lan-a1", "systemctl restart k3s-agent", check=False)
    wait_for(lambda: "token is not valid" in lab.journal("lan-a1", "k3s-agent"), 20, what="the old agent token refused")
    lab.put("lan-a1", "/etc/systemd/system/k3s-agent.service.env",
            f"K3S_TOKEN={second}\nK3S_URL=https://192.168.50.11:6444\n", "0600")
    lab.sh("lan-a1", "systemctl restart k3s-agent")
    wait_for(lambda: node_rows(lab.sh(h, "kubectl get nodes").stdout).get("lan-a1", [None, None])[1] == "Ready", 20,
             what="lan-a1 Ready with the new agent token")
    lab.sh(h, "rm /etc/rancher/k3s/config.yaml.d/50-agent.yaml && systemctl restart k3s")
    assert lab.sh(h, "test -e /var/lib/rancher/k3s/server/agent-token", check=False).returncode != 0
