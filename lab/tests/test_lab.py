"""The lab itself: topology, files it writes, isolation between hosts, gateways, fault tools, teardown."""
import json
import os
import subprocess
import time

import yaml

from conftest import TOOL, free_subnet, lab_leftovers, module_lab, procs_of

SPEC = """
bastions: [{name: bastion-eu}]
stores:
  - {name: store-001, servers: 1, agents: 0, labels: {region: eu}}
  - {name: store-002, servers: 1, agents: 0}
  - {name: store-ha, servers: 3, agents: 1, gateway: true, via: bastion-eu}
  - {name: store-gw, servers: 1, agents: 0, gateway: true}
"""


lab = module_lab(SPEC)


def test_generated_files(lab):
    inv = yaml.safe_load(open(os.path.join(lab.dir, "inventory.yaml")))
    assert inv["defaults"]["ssh"] == {"user": "edge", "port": 22, "identityFile": "./id_ed25519",
                                      "knownHostsFile": "./known_hosts", "hostKeyPolicy": "strict", "sudo": True}
    gws = {g["name"]: g for g in inv["gateways"]}
    assert set(gws) == {"bastion-eu", "store-ha-gw", "store-gw-gw"}
    assert gws["store-ha-gw"]["via"] == "bastion-eu" and "via" not in gws["bastion-eu"]
    stores = {s["name"]: s for s in inv["stores"]}
    assert stores["store-001"]["datastore"] == "sqlite" and stores["store-001"]["labels"] == {"region": "eu"}
    assert stores["store-ha"]["datastore"] == "etcd" and stores["store-ha"]["via"] == "store-ha-gw"
    ha = {h["name"]: h for h in stores["store-ha"]["hosts"]}
    assert ha["store-ha-s1"] == {"name": "store-ha-s1", "address": "192.168.50.11", "role": "server"}
    assert ha["store-ha-a1"]["role"] == "agent"
    # every store LAN uses the same private subnet, as real stores do
    assert stores["store-gw"]["hosts"][0]["address"] == "192.168.50.11"
    # known_hosts: one line per host, keyed by the name edgeup uses: the address for direct hosts,
    # the route (gateways outermost first, then the address) behind gateways
    kh = [l.split() for l in open(os.path.join(lab.dir, "known_hosts")).read().splitlines()]
    assert len(kh) == len(lab.hosts)
    for h in lab.hosts.values():
        assert [h["known_hosts_name"], "ssh-ed25519", h["host_key"].split()[1]] in kh
    names = {h["name"]: h["known_hosts_name"] for h in lab.hosts.values()}
    assert names["store-001-s1"] == lab.host("store-001-s1")["address"]
    assert names["store-ha-gw"] == "bastion-eu/" + lab.host("store-ha-gw")["address"]
    assert names["store-ha-s1"] == "bastion-eu/store-ha-gw/192.168.50.11"
    assert names["store-gw-s1"] == "store-gw-gw/192.168.50.11"
    config = open(os.path.join(lab.dir, "ssh_config")).read()
    assert "Host store-ha-s1\n  HostName 192.168.50.11\n  ProxyJump store-ha-gw\n  HostKeyAlias bastion-eu/store-ha-gw/192.168.50.11\n" in config
    assert oct(os.stat(os.path.join(lab.dir, "id_ed25519")).st_mode & 0o777) == "0o600"
    for h in lab.hosts.values():
        assert h["init_pid"] and os.path.isdir(h["upper_dir"]) and h["netns"].startswith("l" + lab.info["id"])
        for v in h["veths"]:
            assert len(v) <= 15


def test_ssh_strict_host_keys_edge_user_and_sudo(lab):
    r = lab.ssh("store-001-s1", "id -un; sudo -n id -u; hostname; cat /etc/machine-id")
    user, root, hostname, mid = r.stdout.split()
    assert (user, root, hostname) == ("edge", "0", "store-001-s1")
    mid2 = lab.ssh("store-002-s1", "cat /etc/machine-id").stdout.strip()
    assert mid != mid2 and len(mid) == 32
    r = lab.ssh("store-001-s1", "id -u", user="root")
    assert r.stdout.strip() == "0"
    # every host has its own host key: a host's key presented for another address is refused
    kh = os.path.join(lab.dir, "known_hosts_swapped")
    a, b = lab.host("store-001-s1"), lab.host("store-002-s1")
    with open(kh, "w") as f:
        f.write(f"{a['address']} {b['host_key']}\n")
    r = subprocess.run(["ssh", "-F", os.path.join(lab.dir, "ssh_config"), "-o", f"UserKnownHostsFile={kh}",
                        "store-001-s1", "true"], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "HOST IDENTIFICATION HAS CHANGED" in r.stderr


def test_filesystem_isolation(lab):
    lab.ssh("store-001-s1", "echo one | sudo tee /etc/lab-marker >/dev/null; echo x | sudo tee /var/lib/lab-marker >/dev/null;"
                            "sudo mkdir -p /usr/local/bin && echo y | sudo tee /usr/local/bin/lab-marker >/dev/null")
    for p in ("/etc/lab-marker", "/var/lib/lab-marker", "/usr/local/bin/lab-marker"):
        assert lab.sh("store-002-s1", f"test -e {p}", check=False).returncode == 1
        assert not os.path.exists(p), "a host's write reached the real machine"
    up = lab.host("store-001-s1")["upper_dir"]
    assert open(os.path.join(up, "etc/lab-marker")).read() == "one\n"
    # the operator's files are not visible: private /root, lab dir (keys) hidden, machine host keys hidden
    r = lab.sh("store-001-s1", f"ls -A /root; test -e {lab.dir}/id_ed25519 && echo KEY-VISIBLE; "
                               "ls /etc/ssh/ | grep -c host_rsa; true")
    assert "KEY-VISIBLE" not in r.stdout
    assert r.stdout.split()[-1] == "0"
    assert ".ssh" in r.stdout
    assert lab.sh("store-001-s1", "ls /home").stdout.split() == ["edge"]


def test_pid_isolation(lab):
    a, b = "store-001-s1", "store-002-s1"
    for h in (a, b):
        lab.sh(h, "setsid sleep 1234 >/dev/null 2>&1 < /dev/null &")
    time.sleep(0.3)
    assert lab.sh(a, "cat /proc/1/comm").stdout.strip() == "tini"
    lab.sh(a, "pkill -f '[s]leep 1234'")
    time.sleep(0.3)
    assert lab.sh(a, "pgrep -f '[s]leep 1234'", check=False).returncode == 1
    assert lab.sh(b, "pgrep -f '[s]leep 1234'").stdout.strip()
    lab.sh(b, "pkill -f '[s]leep 1234'")


def test_store_lan_only_through_gateway(lab):
    # the root namespace has no address or route on any store LAN / region network (checked
    # without sending a packet: such traffic must never leave the lab)
    r = subprocess.run(["ip", "-o", "addr", "show"], capture_output=True, text=True).stdout
    assert "192.168.50." not in r and "172.30.1." not in r
    lab_links = [l for l in subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout.split("\n")
                 if ("l" + lab.info["id"]) in l]
    dev = subprocess.run(["ip", "route", "get", "192.168.50.11"], capture_output=True, text=True).stdout
    assert not any(("l" + lab.info["id"]) in dev for _ in lab_links)
    # from a host on the lab network, the store LAN is unreachable: its default route ends in
    # the dummy air-gap interface, which drops everything
    route = lab.sh("store-001-s1", "ip route get 192.168.50.11").stdout
    assert "dev airgap0" in route, route
    r = lab.sh("store-001-s1", "timeout 3 bash -c '</dev/tcp/192.168.50.11/22' 2>&1", check=False)
    assert r.returncode != 0
    # the gateway does not forward
    assert lab.sh("store-gw-gw", "cat /proc/sys/net/ipv4/ip_forward").stdout.strip() == "0"
    # through the gateway (ssh -J), and through bastion → store gateway for store-ha
    assert lab.ssh("store-gw-s1", "hostname").stdout.strip() == "store-gw-s1"
    assert lab.ssh("store-ha-a1", "hostname").stdout.strip() == "store-ha-a1"
    kh, key = os.path.join(lab.dir, "known_hosts"), os.path.join(lab.dir, "id_ed25519")
    o = ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={kh}", "-i", key]
    gw = lab.host("store-gw-gw")["address"]
    r = subprocess.run(["ssh", *o, "-o", f"ProxyCommand=ssh {' '.join(o)} -W %h:%p edge@{gw}",
                        "-o", "HostKeyAlias=store-gw-gw/192.168.50.11", "edge@192.168.50.11", "hostname"],
                       capture_output=True, text=True, timeout=30)
    assert r.stdout.strip() == "store-gw-s1", r.stderr
    # without its route, the store host's key is not known under its bare LAN address
    r = subprocess.run(["ssh", *o, "-o", f"ProxyCommand=ssh {' '.join(o)} -W %h:%p edge@{gw}",
                        "edge@192.168.50.11", "hostname"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 255 and "Host key verification failed" in r.stderr, r.stderr
    # the store gateway behind the bastion is not reachable from the root namespace's network either
    r = lab.sh("store-001-s1", f"timeout 3 bash -c '</dev/tcp/{lab.host('store-ha-gw')['address']}/22' 2>&1", check=False)
    assert r.returncode != 0


def test_cut_restore_kill_sshd(lab):
    h = "store-002-s1"
    lab.tool("host", "cut", h)
    r = lab.ssh(h, "true", check=False, extra=("-o", "ConnectTimeout=2"))
    assert r.returncode == 255
    st = json.loads(lab.tool("status", "--json").stdout)
    assert {x["name"]: x["link"] for x in st["hosts"]}[h] == "cut"
    lab.tool("host", "restore", h)
    assert lab.ssh(h, "hostname").stdout.strip() == h
    lab.tool("host", "kill-sshd", h)
    r = lab.ssh(h, "true", check=False, extra=("-o", "ConnectTimeout=3"))
    assert r.returncode == 255 and "refused" in r.stderr
    lab.tool("host", "start-sshd", h)
    assert lab.ssh(h, "hostname").stdout.strip() == h


def test_restart_host_keeps_disk_clears_run_and_tmp(lab):
    h = "store-002-s1"
    lab.sh(h, "echo keep > /etc/keep-me; echo gone > /tmp/gone; echo gone > /run/gone; setsid sleep 999 </dev/null >/dev/null 2>&1 &")
    old = lab.host(h)["init_pid"]
    lab.tool("host", "restart", h)
    new = lab.host(h)["init_pid"]
    assert new != old and procs_of([old]) == []
    r = lab.sh(h, "cat /etc/keep-me; test -e /tmp/gone || echo no-tmp; test -e /run/gone || echo no-run; "
                  "pgrep -f '[s]leep 999' || echo no-proc")
    assert r.stdout.split() == ["keep", "no-tmp", "no-run", "no-proc"]
    assert lab.ssh(h, "hostname").stdout.strip() == h
    lab.tool("host", "stop", h)
    st = {x["name"]: x for x in json.loads(lab.tool("status", "--json").stdout)["hosts"]}
    assert st[h]["running"] is False
    lab.tool("host", "start", h)
    assert lab.ssh(h, "hostname").stdout.strip() == h


def test_down_is_idempotent_and_cleans_a_half_created_lab(tmp_path):
    d = str(tmp_path / "half")
    # a lab whose creation is interrupted (killed) right after it started creating namespaces
    p = subprocess.Popen([TOOL, "up", "--dir", d, "--stores", "30", "--subnet", free_subnet()],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 30
    while time.time() < deadline and not os.path.exists(os.path.join(d, "lab.json")):
        time.sleep(0.01)
    time.sleep(0.15)
    p.kill()
    _, err = p.communicate()
    assert os.path.exists(os.path.join(d, "lab.json")), f"the lab did not start: {err.decode()}"
    lab_id = json.load(open(os.path.join(d, "lab.json")))["id"]
    for _ in range(2):
        r = subprocess.run([TOOL, "down", "--dir", d], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    assert lab_leftovers(lab_id) == []
    r = subprocess.run(["pgrep", "-f", f"init.sh {d}/"], capture_output=True, text=True)
    assert r.stdout.strip() == ""
