"""This host as a node: name, addresses, labels, taints, node password."""
import os
import re
import socket

from k3scli.config import ConfigError
from k3sd.files import read_file, write_file
from k3sd.version import NEVER_READY, VERSION, arch_name


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


def machine_id():
    """What the kubelet reports as status.nodeInfo.machineID (cadvisor: /etc/machine-id, then dbus's)."""
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            with open(path) as f:
                return f.read().strip()
        except OSError:
            continue
    return ""


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
            "labels": labels, "taints": taints, "version": VERSION, "os_image": os_image(), "machine_id": machine_id(),
            "kernel": os.uname().release, "arch": arch_name(), "password": node_password(name),
            "hostname": socket.gethostname(), "never_ready": NEVER_READY}
