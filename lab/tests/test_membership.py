"""Day-2 membership of the k3s double, as k3s and etcd do it: etcd members and their removal (Node delete,
the remove annotation, quorum), removed servers that rejoin only with wiped data, node-password Secrets and
replaced machines, cluster-reset and snapshot restore, SQLite restore and its migration to etcd, re-imaged
hosts, and edgeup's own killall/uninstall scripts against the double's processes."""
import json
import os
import re
import textwrap
import time

import pytest
import yaml

from conftest import LAB, kubectl, module_lab, real_kubeconfig, wait_for

SPEC = """
stores:
  - {name: em, servers: 3, agents: 1}
  - {name: pw, servers: 1, agents: 1}
  - {name: rs, servers: 2}
  - {name: sq, servers: 2}
  - {name: sr, servers: 1}
  - {name: ka, servers: 1, agents: 1}
"""
FAST = {"K3S_DOUBLE_NOTREADY_SECONDS": "4", "K3S_DOUBLE_HEARTBEAT_SECONDS": "1",
        "K3S_DOUBLE_MANIFEST_POLL_SECONDS": "1", "K3S_DOUBLE_LEARNER_SECONDS": "2"}
DB = "/var/lib/rancher/k3s/server/db"
REMOVE = "etcd.k3s.cattle.io/remove"
NODE_NAME = "etcd.k3s.cattle.io/node-name"
REMOVED_NAME = "etcd.k3s.cattle.io/removed-node-name"
REJECTED = ("Node password rejected, duplicate hostname or contents of '/etc/rancher/node/password' may not match "
            "server node-passwd entry, try enabling a unique node name with the --with-node-id flag")
RESET_DONE = ("Managed etcd cluster membership has been reset, restart without --cluster-reset flag now. Backup and "
              "delete ${datadir}/server/db on each peer etcd server and rejoin the nodes")

lab = module_lab(SPEC)


def url(lab, host):
    return f"https://{lab.host(host)['address']}:6443"


def members(lab, host):
    """The etcd member list as the product can read it on a server: `k3s kubectl get --raw /db/info`."""
    return {m["name"]: m for m in json.loads(lab.kubectl(host, "get --raw /db/info").stdout)["members"]}


def node(lab, host, name):
    r = lab.kubectl(host, f"get node {name} -o json", check=False)
    return json.loads(r.stdout) if r.returncode == 0 else None


def condition(n, kind):
    return next((c for c in n["status"]["conditions"] if c["type"] == kind), None)


def voter(lab, host, name):
    n = node(lab, host, name)
    c = n and condition(n, "EtcdIsVoter")
    return c and (c["status"], c["reason"])


def install_server(lab, binary, host, config):
    lab.install_k3s(host, binary, "server", config=config, env=FAST)


def join_server(lab, binary, host, via, token):
    install_server(lab, binary, host, {"token": token, "server": url(lab, via)})
    wait_for(lambda: voter(lab, via, host) == ("True", "MemberNotLearner"), 30, what=f"{host} a voting member")


def nrestarts(lab, host, unit="k3s"):
    return int(lab.sh(host, f"systemctl show -p NRestarts --value {unit}").stdout.strip() or 0)


def removed_member_failures(lab, host):
    j = lab.journal(host)
    return ("the member has been permanently removed from the cluster" in j
            and "data-dir used by this member must be removed" in j and 'level=fatal msg="etcd stopped"' in j)


def wipe_db_and_start(lab, host):
    lab.sh(host, f"systemctl stop k3s; rm -rf {DB} && : > /var/log/lab-journal/k3s.log && systemctl start k3s", timeout=120)


# ------------------------------------------------------------------------------------------------ etcd

def test_etcd_members_on_db_info_annotations_and_conditions(lab, k3s_binary, tmp_path):
    """Every etcd server is a member named <node>-<8 hex>; the product reads the list with
    `k3s kubectl get --raw /db/info` on a server (local clients only: the real kubectl from the operator's
    machine is refused) and on each Node's etcd annotations and EtcdIsVoter condition."""
    install_server(lab, k3s_binary, "em-s1", {"token": "em-secret", "cluster-init": True})
    join_server(lab, k3s_binary, "em-s2", "em-s1", "em-secret")
    join_server(lab, k3s_binary, "em-s3", "em-s1", "em-secret")
    lab.install_k3s("em-a1", k3s_binary, "agent", env={**FAST, "K3S_TOKEN": "em-secret", "K3S_URL": url(lab, "em-s1")})
    for host in ("em-s1", "em-s2", "em-s3"):
        ms = members(lab, host)
        assert sorted(m.rsplit("-", 1)[0] for m in ms) == ["em-s1", "em-s2", "em-s3"]
        assert all(re.fullmatch(r"em-s\d-[0-9a-f]{8}", m) and not v.get("isLearner") for m, v in ms.items())
    ms = members(lab, "em-s1")
    for host in ("em-s1", "em-s2", "em-s3"):
        n = node(lab, "em-s1", host)
        name = n["metadata"]["annotations"][NODE_NAME]
        assert name in ms and ms[name]["peerURLs"] == [f"https://{lab.host(host)['address']}:2380"]
        assert n["metadata"]["annotations"]["etcd.k3s.cattle.io/node-address"] == lab.host(host)["address"]
        assert n["metadata"]["labels"]["node-role.kubernetes.io/etcd"] == "true"
        assert "wrangler.cattle.io/managed-etcd-controller" in n["metadata"]["finalizers"]
    agent = wait_for(lambda: node(lab, "em-s1", "em-a1"), 20, what="the agent's node")
    assert NODE_NAME not in agent["metadata"]["annotations"] and condition(agent, "EtcdIsVoter") is None
    r = kubectl(real_kubeconfig(lab, "em-s1", tmp_path), "get", "--raw", "/db/info", check=False)
    assert r.returncode != 0 and "Forbidden" in r.stderr


def test_remove_annotation_removes_the_member_and_keeps_the_node(lab, k3s_binary):
    """`etcd.k3s.cattle.io/remove=true` removes the member: the Node stays (removed-node-name set,
    EtcdIsVoter NotAMember), the removed server's k3s stops as etcd does and fails at every restart with its
    old server/db; wiped, it joins again as a new member and the removal marks are reset."""
    old = node(lab, "em-s1", "em-s3")["metadata"]["annotations"][NODE_NAME]
    assert lab.kubectl("em-s1", f"annotate node em-s3 {REMOVE}=true").stdout.strip() == "node/em-s3 annotated"
    ms = wait_for(lambda: (lambda m: m if old not in m else None)(members(lab, "em-s1")), 10, what="member removed")
    assert len(ms) == 2
    n = node(lab, "em-s1", "em-s3")
    assert n["metadata"]["annotations"][REMOVED_NAME] == old and NODE_NAME not in n["metadata"]["annotations"]
    assert voter(lab, "em-s1", "em-s3") == ("False", "NotAMember")
    wait_for(lambda: removed_member_failures(lab, "em-s3"), 20, what="em-s3 stopped as a removed member")
    wait_for(lambda: nrestarts(lab, "em-s3") >= 2, 20, what="em-s3 failing again after restarts (Restart=always)")
    assert old not in members(lab, "em-s1") and node(lab, "em-s1", "em-s3") is not None
    wipe_db_and_start(lab, "em-s3")
    wait_for(lambda: voter(lab, "em-s1", "em-s3") == ("True", "MemberNotLearner"), 30, what="em-s3 back as a voter")
    n = node(lab, "em-s1", "em-s3")
    new = n["metadata"]["annotations"][NODE_NAME]
    assert new != old and new in members(lab, "em-s2") and len(members(lab, "em-s2")) == 3
    assert REMOVED_NAME not in n["metadata"]["annotations"] and n["metadata"]["annotations"][REMOVE] == "false"


def test_delete_node_removes_the_member_under_quorum(lab):
    """Deleting a server's Node removes its member (k3s's member controller); etcd refuses a removal the rest
    would lose quorum over ("etcdserver: unhealthy cluster"): the Node then waits, Terminating, until the
    cluster is healthy again. The Node's node-password Secret goes with it."""
    lab.sh("em-s3", "systemctl stop k3s")
    wait_for(lambda: voter(lab, "em-s1", "em-s3") == ("False", "Unhealthy"), 20, what="em-s3 unhealthy")
    r = lab.kubectl("em-s1", "delete node em-s2 --wait=false")
    assert r.stdout.strip() == 'node "em-s2" deleted'
    n = node(lab, "em-s1", "em-s2")
    assert n and n["metadata"].get("deletionTimestamp") and len(members(lab, "em-s1")) == 3
    wait_for(lambda: "handler managed-etcd-controller: etcdserver: unhealthy cluster, requeuing" in lab.journal("em-s1"),
             10, what="the refusal in the journal")
    assert "em-s2.node-password.k3s" in lab.kubectl("em-s1", "get secret -n kube-system").stdout
    lab.sh("em-s3", "systemctl start k3s", timeout=120)
    wait_for(lambda: node(lab, "em-s1", "em-s2") is None, 20, what="em-s2's Node gone once quorum is safe")
    assert sorted(m.rsplit("-", 1)[0] for m in members(lab, "em-s3")) == ["em-s1", "em-s3"]
    assert "em-s2.node-password.k3s" not in lab.kubectl("em-s1", "get secret -n kube-system").stdout
    wait_for(lambda: removed_member_failures(lab, "em-s2"), 20, what="em-s2 stopped as a removed member")
    # a removed member is safe to remove when it is down; a deleted agent's Node goes at once
    wipe_db_and_start(lab, "em-s2")
    wait_for(lambda: voter(lab, "em-s1", "em-s2") == ("True", "MemberNotLearner"), 30, what="em-s2 joined again")
    assert len(members(lab, "em-s1")) == 3


def test_removing_the_first_server_keeps_the_cluster(lab, k3s_binary):
    """The first server holds the double's datastore: when its member is removed (its Node deleted from
    another server), a voting member takes the datastore over, as etcd's remaining members carry on; the
    agent that joined through the first server moves to another one. The old first server, wiped, joins
    the remaining cluster once its config names a server."""
    lab.put("em-s2", "/tmp/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep-me, namespace: default}\n")
    lab.kubectl("em-s2", "apply -f /tmp/cm.yaml")
    assert lab.kubectl("em-s2", "delete node em-s1").stdout.strip() == 'node "em-s1" deleted'
    wait_for(lambda: removed_member_failures(lab, "em-s1"), 20, what="em-s1 stopped as a removed member")
    ms = wait_for(lambda: (lambda r: r.returncode == 0 and json.loads(r.stdout)["members"])(
        lab.kubectl("em-s3", "get --raw /db/info", check=False)), 20, what="the cluster on em-s2/em-s3")
    assert sorted(m["name"].rsplit("-", 1)[0] for m in ms) == ["em-s2", "em-s3"]
    assert "keep-me" in lab.kubectl("em-s3", "get cm").stdout
    time.sleep(6)                   # longer than NOTREADY_SECONDS: only heartbeats through another server count
    assert condition(node(lab, "em-s2", "em-a1"), "Ready")["status"] == "True"
    lab.sh("em-s1", "systemctl stop k3s")
    lab.put("em-s1", "/etc/rancher/k3s/config.yaml", yaml.safe_dump({"token": "em-secret", "server": url(lab, "em-s2")}), "0600")
    wipe_db_and_start(lab, "em-s1")
    wait_for(lambda: voter(lab, "em-s2", "em-s1") == ("True", "MemberNotLearner"), 30, what="em-s1 joined again")
    assert len(members(lab, "em-s1")) == 3 and "keep-me" in lab.kubectl("em-s1", "get cm").stdout


# ------------------------------------------------------------------------------------------------ node passwords

def secrets(lab, host):
    return {s["metadata"]["name"]: s for s in
            json.loads(lab.kubectl(host, "get secret -n kube-system -o json").stdout)["items"]}


def test_node_password_secrets_and_a_replaced_machine(lab, k3s_binary, tmp_path):
    """The server keeps a <node>.node-password.k3s Secret in kube-system per node. A new machine under the
    same name (another /etc/rancher/node/password) is refused with k3s's message and keeps asking; deleting
    its old Node deletes the Secret too (k3s's node controller), and the new machine joins."""
    install_server(lab, k3s_binary, "pw-s1", {"token": "pw-secret"})
    agent_env = {**FAST, "K3S_TOKEN": "pw-secret", "K3S_URL": url(lab, "pw-s1")}
    lab.install_k3s("pw-a1", k3s_binary, "agent", env=agent_env)
    wait_for(lambda: (lambda n: n and condition(n, "Ready")["status"] == "True")(node(lab, "pw-s1", "pw-a1")), 20,
             what="pw-a1 Ready")
    sec = secrets(lab, "pw-s1")
    assert {"pw-s1.node-password.k3s", "pw-a1.node-password.k3s"} <= set(sec)
    s = sec["pw-a1.node-password.k3s"]
    assert s["type"] == "Opaque" and s["immutable"] is True and set(s["data"]) == {"hash"}
    password = lab.sh("pw-a1", "cat /etc/rancher/node/password").stdout.strip()
    assert password not in json.dumps(s)
    rkc = real_kubeconfig(lab, "pw-s1", tmp_path)
    assert "pw-a1.node-password.k3s" in kubectl(rkc, "get", "secret", "-n", "kube-system").stdout
    uid = s["metadata"]["uid"]
    # the machine is replaced: same name and address, a fresh disk
    lab.tool("host", "reimage", "pw-a1")
    assert lab.sh("pw-a1", "test -e /etc/rancher/node/password", check=False).returncode != 0
    lab.install_k3s("pw-a1", k3s_binary, "agent", env=agent_env)
    wait_for(lambda: f"Waiting to retrieve agent configuration; server is not ready: {REJECTED}"
             in lab.journal("pw-a1", "k3s-agent"), 20, what="the new machine refused")
    assert lab.sh("pw-a1", "systemctl is-active k3s-agent").stdout.strip() == "active"      # it keeps asking
    assert secrets(lab, "pw-s1")["pw-a1.node-password.k3s"]["metadata"]["uid"] == uid
    assert lab.kubectl("pw-s1", "delete node pw-a1").stdout.strip() == 'node "pw-a1" deleted'
    assert "pw-a1.node-password.k3s" not in secrets(lab, "pw-s1")
    wait_for(lambda: (lambda n: n and condition(n, "Ready")["status"] == "True")(node(lab, "pw-s1", "pw-a1")), 30,
             what="the new machine joined")
    assert secrets(lab, "pw-s1")["pw-a1.node-password.k3s"]["metadata"]["uid"] != uid


def test_deleting_the_secret_alone_lets_a_new_machine_in(lab, k3s_binary):
    """With only the Secret deleted (the Node kept), the next request of the new machine creates a new one."""
    lab.tool("host", "reimage", "pw-a1")
    lab.install_k3s("pw-a1", k3s_binary, "agent", env={**FAST, "K3S_TOKEN": "pw-secret", "K3S_URL": url(lab, "pw-s1")})
    wait_for(lambda: REJECTED in lab.journal("pw-a1", "k3s-agent"), 20, what="refused")
    r = lab.kubectl("pw-s1", "delete secret pw-a1.node-password.k3s -n kube-system")
    assert r.stdout.strip() == 'secret "pw-a1.node-password.k3s" deleted'
    wait_for(lambda: "registered with the cluster" in lab.journal("pw-a1", "k3s-agent"), 30, what="the new machine joined")


# ------------------------------------------------------------------------------------------------ re-imaging

def host_state(lab, host):
    return lab.sh(host, "cat /etc/machine-id; ls /usr/local/bin /etc/rancher /var/lib/rancher 2>&1; "
                        "ls /etc/systemd/system; hostname; ip -4 -o addr show scope global").stdout


def test_reimage_gives_a_fresh_machine_with_the_same_name_and_address(lab, k3s_binary):
    """`edgeup-lab host reimage`: no k3s, no /etc/rancher, /var/lib/rancher or edgeup files, a new machine-id,
    the same name and address; the SSH host key is kept (strict known_hosts still passes) unless
    --new-host-key, and then the lab's known_hosts is left alone: ssh refuses the changed key."""
    h = "ka-s1"
    lab.install_k3s(h, k3s_binary, "server", config={"token": "ka-secret"}, env=FAST)
    lab.put(h, "/etc/rancher/k3s/edgeup-join-token", "x", "0600")
    lab.ssh(h, "touch ~/edgeup-was-here")
    before = host_state(lab, h)
    key = lab.host(h)["host_key"]
    lab.tool("host", "reimage", h)
    after = host_state(lab, h)
    assert before.split()[0] != after.split()[0]                  # machine-id
    assert "k3s" not in lab.sh(h, "ls /usr/local/bin").stdout
    for path in ("/etc/rancher", "/var/lib/rancher", "/etc/systemd/system/k3s.service", "/home/edge/edgeup-was-here"):
        assert lab.sh(h, f"test -e {path}", check=False).returncode != 0, path
    assert lab.sh(h, "pgrep -f '^/usr/local/bin/k3s '", check=False).returncode != 0
    assert lab.host(h)["host_key"] == key and h in lab.ssh(h, "hostname").stdout
    assert before.split("\n")[-2:] == after.split("\n")[-2:]       # hostname and address
    lab.tool("host", "reimage", h, "--new-host-key")
    assert lab.host(h)["host_key"] != key
    r = lab.ssh(h, "true", check=False)
    assert r.returncode == 255 and "REMOTE HOST IDENTIFICATION HAS CHANGED" in r.stderr
    assert key.split()[1] in open(os.path.join(lab.dir, "known_hosts")).read()
