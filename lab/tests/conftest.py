"""Fixtures for the lab's integration tests (root, Linux). Every lab is torn down by a finalizer, even
when a test fails, and the finalizer checks that nothing (namespaces, links, processes) is left."""
import json
import os
import random
import shlex
import subprocess
import time

import pytest
import yaml

LAB = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
TOOL = os.path.join(LAB, "edgeup-lab")
K3S_VERSION = "v1.31.4+k3s1"

K3S_SERVICE = """[Unit]
Description=Lightweight Kubernetes
Documentation=https://k3s.io
Wants=network-online.target
After=network-online.target

[Install]
WantedBy=multi-user.target

[Service]
Type=notify
EnvironmentFile=-/etc/default/%N
EnvironmentFile=-/etc/sysconfig/%N
EnvironmentFile=-/etc/systemd/system/{unit}.service.env
KillMode=process
Delegate=yes
User=root
LimitNOFILE=1048576
TasksMax=infinity
TimeoutStartSec=0
Restart=always
RestartSec=2s
ExecStartPre=/bin/sh -xc '! /usr/bin/systemctl is-enabled --quiet nm-cloud-setup.service 2>/dev/null'
ExecStartPre=-/sbin/modprobe br_netfilter
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/k3s \\
    {cmd} \\
"""

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root")


def run(cmd, check=True, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise AssertionError(f"{cmd} failed ({r.returncode}):\nstdout: {r.stdout}\nstderr: {r.stderr}")
    return r


class Lab:
    def __init__(self, d):
        self.dir = d
        self.reload()

    def reload(self):
        with open(os.path.join(self.dir, "hosts.json")) as f:
            self.info = json.load(f)
        self.hosts = {h["name"]: h for h in self.info["hosts"]}

    def host(self, name):
        return self.hosts[name]

    def tool(self, *args, check=True, timeout=120):
        r = run([TOOL, *args[:1], "--dir", self.dir, *args[1:]], check=check, timeout=timeout)
        self.reload()
        return r

    def sh(self, host, script, check=True, input=None, timeout=60):
        """Runs a shell script as root inside a host (nsenter into its namespaces)."""
        pid = self.hosts[host]["init_pid"]
        r = subprocess.run(["nsenter", "-t", str(pid), "-m", "-u", "-n", "-p", "--", "/bin/sh", "-c", script],
                           capture_output=True, text=True, input=input, timeout=timeout, cwd="/",
                           env={"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"})
        if check and r.returncode != 0:
            raise AssertionError(f"[{host}] {script!r} failed ({r.returncode}):\nstdout: {r.stdout}\nstderr: {r.stderr}")
        return r

    def put(self, host, path, data, mode="0644"):
        if isinstance(data, str):
            data = data.encode()
        pid = self.hosts[host]["init_pid"]
        r = subprocess.run(["nsenter", "-t", str(pid), "-m", "-u", "-n", "-p", "--", "/bin/sh", "-c",
                            f"mkdir -p $(dirname {shlex.quote(path)}) && cat > {shlex.quote(path)} && chmod {mode} {shlex.quote(path)}"],
                           input=data, capture_output=True, cwd="/")
        assert r.returncode == 0, r.stderr

    def ssh(self, host, cmd, check=True, timeout=30, user=None, extra=()):
        args = ["ssh", "-F", os.path.join(self.dir, "ssh_config"), *extra]
        if user:
            args += ["-l", user]
        r = subprocess.run(args + [host, cmd], capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"ssh {host} {cmd!r} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    # ---- k3s double helpers ----
    def install_k3s(self, host, binary, role="server", config=None, env=None, extra_config=None, start=True, check=True):
        self.put(host, "/usr/local/bin/k3s", open(binary, "rb").read(), "0755")
        unit = "k3s" if role == "server" else "k3s-agent"
        unit_text = K3S_SERVICE.format(cmd=role, unit=unit)
        if role == "agent":             # as k3s's installer writes it
            unit_text = unit_text.replace("Type=notify", "Type=exec")
        self.put(host, f"/etc/systemd/system/{unit}.service", unit_text)
        if config is not None:
            self.put(host, "/etc/rancher/k3s/config.yaml", yaml.safe_dump(config), "0600")
        for name, cfg in (extra_config or {}).items():
            self.put(host, f"/etc/rancher/k3s/config.yaml.d/{name}", yaml.safe_dump(cfg), "0600")
        self.put(host, f"/etc/systemd/system/{unit}.service.env",
                 "".join(f"{k}={v}\n" for k, v in (env or {}).items()), "0600")
        self.sh(host, f"systemctl daemon-reload && systemctl enable {unit} 2>/dev/null")
        if start:
            return self.sh(host, f"systemctl start {unit}", check=check, timeout=120)

    def kubectl(self, host, args, check=True):
        return self.sh(host, f"k3s kubectl {args}", check=check)

    def journal(self, host, unit="k3s"):
        return self.sh(host, f"journalctl -u {unit} --no-pager -o cat", check=False).stdout


def lab_leftovers(lab_id):
    pre = "l" + lab_id
    ns = [l.split()[0] for l in run(["ip", "netns", "list"]).stdout.splitlines() if l.startswith(pre + "-")]
    links = []
    for l in run(["ip", "-o", "link", "show"]).stdout.splitlines():
        n = l.split(":")[1].strip().split("@")[0]
        if n.startswith(pre) and len(n) > len(pre) and n[len(pre)] in "mvrs":
            links.append(n)
    return ns + links


def procs_of(pids, wait=5.0):
    """PIDs still running (zombies waiting to be reaped by the machine's init don't count)."""
    def running(p):
        try:
            with open(f"/proc/{p}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return False
    deadline = time.time() + wait
    while True:
        left = [p for p in pids if p and running(p)]
        if not left or time.time() > deadline:
            return left
        time.sleep(0.1)


def free_subnet():
    """A random 10.X.0.0/16 (X in 100..250) that no address of this machine is in: another lab on the
    machine (a concurrent test run) holds its subnet's root address."""
    taken = set()
    for line in subprocess.run(["ip", "-o", "-4", "addr"], capture_output=True, text=True).stdout.splitlines():
        parts = line.split()
        if "inet" in parts:
            addr = parts[parts.index("inet") + 1].split(".")
            if addr[0] == "10":
                taken.add(int(addr[1]))
    return f"10.{random.choice([x for x in range(100, 251) if x not in taken])}.0.0/16"


def make_lab(tmp_path_factory, spec_text=None, stores=None):
    d = str(tmp_path_factory.mktemp("lab"))
    last = None
    for attempt in range(5):
        # EDGEUP_LAB_SUBNET pins the subnet, so engineers sharing a machine keep their labs apart
        subnet = os.environ.get("EDGEUP_LAB_SUBNET") or free_subnet()
        args = [TOOL, "up", "--dir", d, "--subnet", subnet]
        if spec_text is not None:
            spec = os.path.join(d, "spec.yaml")
            with open(spec, "w") as f:
                f.write(spec_text)
            args += ["--spec", spec]
        else:
            args += ["--stores", str(stores or 1)]
        r = subprocess.run(args, capture_output=True, text=True, timeout=300)
        if r.returncode == 0:
            return Lab(d)
        last = r.stderr
        if "overlaps" not in r.stderr:
            break
    raise AssertionError(f"edgeup-lab up failed: {last}")


def destroy_lab(lab):
    lab_id = lab.info["id"]
    pids = [h["init_pid"] for h in lab.info["hosts"]]
    r = subprocess.run([TOOL, "down", "--dir", lab.dir], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"down failed: {r.stderr}"
    time.sleep(0.2)
    left = lab_leftovers(lab_id)
    assert not left, f"down left: {left}"
    alive = procs_of(pids)
    assert not alive, f"host PID 1s still alive after down: {alive}"


def module_lab(spec_text):
    """A module-scoped `lab` fixture: a lab from `spec_text`, torn down and checked clean after."""
    @pytest.fixture(scope="module")
    def lab(tmp_path_factory):
        lab = make_lab(tmp_path_factory, spec_text)
        try:
            yield lab
        finally:
            destroy_lab(lab)
    return lab


@pytest.fixture(scope="session")
def k3s_binary(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("k3s") / "k3s")
    run([os.path.join(LAB, "k3s-double", "build"), "--version", K3S_VERSION, "-o", out])
    return out


@pytest.fixture(scope="session")
def lab_factory(tmp_path_factory):
    labs = []

    def make(spec_text=None, stores=None):
        lab = make_lab(tmp_path_factory, spec_text, stores)
        labs.append(lab)
        return lab
    yield make
    errors = []
    for lab in labs:
        try:
            if os.path.exists(os.path.join(lab.dir, "lab.json")):
                destroy_lab(lab)
        except AssertionError as e:
            errors.append(str(e))
    assert not errors, errors


# ---- helpers of the k3s double's tests ----

def wait_for(fn, timeout=30, interval=0.3, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def upper(lab, host, path):
    return os.path.join(lab.host(host)["upper_dir"], path.lstrip("/"))


def real_kubeconfig(lab, host, tmp_path):
    """k3s.yaml copied out, its server rewritten (YAML-parsed) to the host's address."""
    kc = yaml.safe_load(lab.sh(host, "cat /etc/rancher/k3s/k3s.yaml").stdout)
    kc["clusters"][0]["cluster"]["server"] = f"https://{lab.host(host)['address']}:6443"
    p = tmp_path / f"{host}.kubeconfig"
    p.write_text(yaml.safe_dump(kc))
    return str(p)


def kubectl(kc, *args, check=True):
    """The machine's real kubectl (package `kubectl` on this image)."""
    import shutil
    if shutil.which("kubectl") is None:
        pytest.skip("no kubectl on this machine: the checks with a real kubectl cannot run")
    return run(["kubectl", "--kubeconfig", kc, *args], check=check)


def node_rows(text):
    return {l.split()[0]: l.split() for l in text.strip().splitlines()[1:]}
