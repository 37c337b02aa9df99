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


# ------------------------------------------------------------------------------------------------ cluster-reset

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: default}}\n"


def apply_cm(lab, host, name):
    lab.put(host, f"/tmp/{name}.yaml", CM.format(name=name))
    lab.kubectl(host, f"apply -f /tmp/{name}.yaml")


def reset(lab, host, args="", check=True):
    return lab.sh(host, f"k3s server --cluster-reset {args}", check=check, timeout=120)


def test_cluster_reset_with_a_snapshot(lab, k3s_binary):
    """Restore: `--cluster-reset --cluster-reset-restore-path=FILE` on a stopped server brings the snapshot's
    datastore back with this server as the only member, leaves server/db/reset-flag and exits 0 with k3s's
    message; it needs the cluster's token; the other server, not wiped, is a removed member until its
    server/db is deleted."""
    install_server(lab, k3s_binary, "rs-s1", {"token": "rs-secret", "cluster-init": True})
    join_server(lab, k3s_binary, "rs-s2", "rs-s1", "rs-secret")
    apply_cm(lab, "rs-s1", "before")
    out = lab.sh("rs-s1", "k3s etcd-snapshot save --name pre").stderr
    snap = f"{DB}/snapshots/" + re.search(r"Snapshot (pre-rs-s1-\d+) saved", out).group(1)
    apply_cm(lab, "rs-s1", "after")
    r = reset(lab, "rs-s1", f"--cluster-reset-restore-path={snap}", check=False)
    assert r.returncode == 1 and "listen tcp :6443: bind: address already in use" in r.stderr
    for h in ("rs-s2", "rs-s1"):
        lab.sh(h, "systemctl stop k3s")
    r = lab.sh("rs-s1", f"k3s server --cluster-reset-restore-path={snap}", check=False)
    assert r.returncode == 1 and "invalid flag use; --cluster-reset required with --cluster-reset-restore-path" in r.stderr
    r = reset(lab, "rs-s1", f"--cluster-reset-restore-path={DB}/snapshots/nope", check=False)
    assert r.returncode == 1 and f"etcd: snapshot path does not exist: {DB}/snapshots/nope" in r.stderr
    # another token than the one the snapshot's bootstrap data was encrypted with
    r = reset(lab, "rs-s1", f"--cluster-reset-restore-path={snap} --token other-secret", check=False)
    assert r.returncode == 1 and 'level=fatal msg="bootstrap data already found and encrypted with different token"' in r.stderr
    r = reset(lab, "rs-s1", f"--cluster-reset-restore-path={snap}")
    assert r.returncode == 0 and RESET_DONE in r.stderr
    assert lab.sh("rs-s1", f"test -f {DB}/reset-flag && ls -d {DB}/etcd-old-*").returncode == 0
    lab.sh("rs-s1", "systemctl start k3s", timeout=120)
    assert lab.sh("rs-s1", f"test -e {DB}/reset-flag", check=False).returncode != 0
    cms = lab.kubectl("rs-s1", "get cm").stdout
    assert "before" in cms and "after" not in cms
    assert [m.rsplit("-", 1)[0] for m in members(lab, "rs-s1")] == ["rs-s1"]
    lab.sh("rs-s2", "systemctl start k3s --no-block")
    wait_for(lambda: removed_member_failures(lab, "rs-s2"), 20, what="rs-s2 refused with its old data")
    wipe_db_and_start(lab, "rs-s2")
    wait_for(lambda: voter(lab, "rs-s1", "rs-s2") == ("True", "MemberNotLearner"), 30, what="rs-s2 joined again")
    assert "before" in lab.kubectl("rs-s2", "get cm").stdout and len(members(lab, "rs-s2")) == 2


def test_cluster_reset_without_a_snapshot(lab):
    """Reset alone keeps the data, makes this server the only member; a second reset is refused while the
    reset-flag is there; a server whose config names a server cannot be reset."""
    r = reset(lab, "rs-s2", check=False)
    assert r.returncode == 1 and ("cannot perform cluster-reset while server URL is set - remove server from "
                                  "configuration before resetting") in r.stderr
    lab.sh("rs-s1", "systemctl stop k3s")
    assert RESET_DONE in reset(lab, "rs-s1").stderr
    r = reset(lab, "rs-s1", check=False)
    assert r.returncode == 1 and ("cluster-reset was successfully performed, please remove the cluster-reset flag and "
                                  f"start k3s normally, if you need to perform another cluster reset, you must first "
                                  f"manually delete the {DB}/reset-flag file") in r.stderr
    lab.sh("rs-s1", "systemctl start k3s", timeout=120)
    assert "before" in lab.kubectl("rs-s1", "get cm").stdout
    assert [m.rsplit("-", 1)[0] for m in members(lab, "rs-s1")] == ["rs-s1"]
    wait_for(lambda: removed_member_failures(lab, "rs-s2"), 20, what="rs-s2 no member any more")


# ------------------------------------------------------------------------------------------------ SQLite

def test_sqlite_restore_from_a_copy_of_state_db(lab, k3s_binary):
    """A SQLite store's datastore is server/db/state.db: a copy put back while k3s is stopped is what the
    server serves at its next start."""
    install_server(lab, k3s_binary, "sq-s1", {"token": "sq-secret"})
    apply_cm(lab, "sq-s1", "first")
    lab.sh("sq-s1", f"systemctl stop k3s && cp -a {DB}/state.db /root/state.db.copy && systemctl start k3s", timeout=120)
    apply_cm(lab, "sq-s1", "second")
    lab.sh("sq-s1", f"systemctl stop k3s && cp -a /root/state.db.copy {DB}/state.db && systemctl start k3s", timeout=120)
    cms = lab.kubectl("sq-s1", "get cm").stdout
    assert "first" in cms and "second" not in cms


def test_sqlite_grows_into_etcd(lab, k3s_binary):
    """Restarted with cluster-init, a SQLite server migrates every object into embedded etcd (state.db is kept
    as state.db.migrated); servers can join it afterwards and see the same objects."""
    lab.put("sq-s1", "/tmp/objs.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n"
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
            "spec: {replicas: 2, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, "
            "spec: {containers: [{name: w, image: nginx}]}}}\n")
    lab.kubectl("sq-s1", "apply -f /tmp/objs.yaml")
    before = json.loads(lab.kubectl("sq-s1", "get --raw /v1-lab/applied").stdout)["objects"]
    r = lab.sh("sq-s1", "k3s etcd-snapshot save", check=False)
    assert r.returncode == 1 and "etcd datastore disabled" in r.stderr
    lab.put("sq-s1", "/etc/rancher/k3s/config.yaml.d/50-etcd.yaml", yaml.safe_dump({"cluster-init": True}), "0600")
    lab.sh("sq-s1", "systemctl restart k3s", timeout=120)
    assert "Migrating content from sqlite to etcd" in lab.journal("sq-s1")
    assert lab.sh("sq-s1", f"test -f {DB}/state.db.migrated && ! test -e {DB}/state.db").returncode == 0
    after = json.loads(lab.kubectl("sq-s1", "get --raw /v1-lab/applied").stdout)["objects"]
    assert {(o["kind"], o["namespace"], o["name"], o["hash"]) for o in before} == \
           {(o["kind"], o["namespace"], o["name"], o["hash"]) for o in after}
    assert "web" in lab.kubectl("sq-s1", "get deploy -n shop").stdout
    assert list(members(lab, "sq-s1"))[0].startswith("sq-s1-")
    join_server(lab, k3s_binary, "sq-s2", "sq-s1", "sq-secret")
    assert "first" in lab.kubectl("sq-s2", "get cm").stdout and len(members(lab, "sq-s2")) == 2
    assert re.search(r"Snapshot on-demand-sq-s1-\d+ saved\.", lab.sh("sq-s1", "k3s etcd-snapshot save").stderr)


def test_cluster_reset_on_sqlite(lab, k3s_binary):
    """On SQLite, --cluster-reset turns on managed etcd (k3s sets cluster-init for a reset) and resets it,
    without migrating (k3s migrates only outside a reset): the next start serves an empty etcd datastore,
    the SQLite file is left in place, unused."""
    install_server(lab, k3s_binary, "sr-s1", {"token": "sr-secret"})
    apply_cm(lab, "sr-s1", "lost")
    lab.sh("sr-s1", "systemctl stop k3s")
    assert RESET_DONE in reset(lab, "sr-s1").stderr
    lab.sh("sr-s1", "systemctl start k3s", timeout=120)
    assert "lost" not in lab.kubectl("sr-s1", "get cm").stdout
    assert lab.sh("sr-s1", f"test -f {DB}/state.db").returncode == 0
    assert [m.rsplit("-", 1)[0] for m in members(lab, "sr-s1")] == ["sr-s1"]


# ------------------------------------------------------------------------------------------------ uninstall scripts

HOST_SCRIPTS = os.path.join(os.path.dirname(LAB), "Sources", "EdgeupKit", "K3s", "HostScripts.swift")
PATHS = os.path.join(os.path.dirname(LAB), "Sources", "EdgeupKit", "K3s", "K3sPaths.swift")


def swift_literal(source, opening):
    """The Swift multi-line string literal that follows `opening` (its indentation removed, as Swift does)."""
    start = source.index('"""', source.index(opening)) + 3
    body = source[start:source.index('"""', start)]
    return textwrap.dedent(body.split("\n", 1)[1]).rstrip(" ")


def edgeup_scripts(role):
    """edgeup's k3s-killall.sh and k3s(-agent)-uninstall.sh as Sources/EdgeupKit/K3s/HostScripts.swift writes
    them (read, never changed here): the interpolations are K3sPaths' values."""
    src, paths = open(HOST_SCRIPTS).read(), open(PATHS).read()
    const = dict(re.findall(r'static let (\w+) = "([^"]*)"', paths))
    name = "k3s" if role == "server" else "k3s-agent"
    values = {"name": name, "K3sPaths.killallScript": const["killallScript"], "K3sPaths.binary": const["binary"],
              "K3sPaths.systemdUnit(for: role)": f"/etc/systemd/system/{name}.service",
              "K3sPaths.systemdEnvironment(for: role)": f"/etc/systemd/system/{name}.service.env",
              "K3sPaths.openRCScript(for: role)": f"/etc/init.d/{name}",
              "K3sPaths.openRCEnvironment(for: role)": f"/etc/rancher/k3s/{name}.env",
              'K3sPaths.links.joined(separator: " ")': "/usr/local/bin/kubectl /usr/local/bin/crictl /usr/local/bin/ctr",
              "dataRemoval": ("rm -rf /etc/rancher/k3s /var/lib/rancher/k3s /var/lib/kubelet" if role == "server" else
                              "rm -rf /etc/rancher/k3s /var/lib/rancher/k3s/agent /var/lib/kubelet")}

    def render(text):
        out = re.sub(r"\\\(((?:[^()]|\([^()]*\))*)\)", lambda m: values[m.group(1)], text)
        assert "\\(" not in out, f"an interpolation of HostScripts.swift this test does not know: {out}"
        return out
    return render(swift_literal(src, "static let killall")), render(swift_literal(src, "func uninstall(role: Role)"))


def double_processes(lab, host):
    """Every process of the double on a host: k3s's names, or the double's Python running from its memfd."""
    out = lab.sh(host, "ps -e -o pid=,comm=,args=").stdout
    return [l for l in out.splitlines() if l.split()[1] in ("k3s", "k3s-server", "k3s-agent", "kubectl")
            or "/proc/self/fd/" in l]


def test_edgeup_killall_and_uninstall_scripts_stop_the_double(lab, k3s_binary):
    """The double's processes look like k3s's (`/usr/local/bin/k3s ...`, comm k3s-server/k3s-agent/k3s), so
    edgeup's own killall and uninstall scripts (upload mode) leave none of them behind: the services, a
    server started by hand and a CLI left waiting."""
    killall, uninstall = edgeup_scripts("server")
    lab.install_k3s("ka-s1", k3s_binary, "server", config={"token": "ka-secret"}, env=FAST)
    lab.install_k3s("ka-a1", k3s_binary, "agent", env={**FAST, "K3S_TOKEN": "ka-secret", "K3S_URL": url(lab, "ka-s1")})
    pid = lab.sh("ka-s1", "systemctl show -p MainPID --value k3s").stdout.strip()
    comm, args = lab.sh("ka-s1", f"ps -o comm=,args= -p {pid}").stdout.split(None, 1)
    assert comm == "k3s-server" and args.startswith("/usr/local/bin/k3s ") and " server " in args
    apid = lab.sh("ka-a1", "systemctl show -p MainPID --value k3s-agent").stdout.strip()
    wait_for(lambda: lab.sh("ka-a1", f"ps -o comm= -p {apid}").stdout.strip() == "k3s-agent", 20,
             what="the agent past its bootstrap (the CLI's comm is k3s, the running agent's k3s-agent)")
    # strays: a second server started by hand outside systemd, a CLI waiting on a rollout
    lab.sh("ka-s1", "setsid /usr/local/bin/k3s server --https-listen-port 6445 --data-dir /tmp/stray "
                    "--token ka-secret >/tmp/stray.log 2>&1 < /dev/null &")
    lab.sh("ka-s1", "setsid k3s kubectl wait --for=condition=Never node/ka-s1 --timeout=300s >/dev/null 2>&1 </dev/null &")
    wait_for(lambda: len(double_processes(lab, "ka-s1")) >= 3, 20, what="the double's processes")
    for host, role in (("ka-s1", "server"), ("ka-a1", "agent")):
        killall, uninstall = edgeup_scripts(role)
        lab.put(host, "/usr/local/bin/k3s-killall.sh", killall, "0755")
        lab.put(host, f"/usr/local/bin/{'k3s' if role == 'server' else 'k3s-agent'}-uninstall.sh", uninstall, "0755")
    lab.sh("ka-a1", "/usr/local/bin/k3s-killall.sh")
    wait_for(lambda: not double_processes(lab, "ka-a1"), 10, what="no double process on ka-a1")
    lab.sh("ka-s1", "/usr/local/bin/k3s-uninstall.sh")
    wait_for(lambda: not double_processes(lab, "ka-s1"), 10, what="no double process on ka-s1")
    for path in ("/usr/local/bin/k3s", "/var/lib/rancher/k3s", "/etc/rancher/k3s", "/etc/systemd/system/k3s.service",
                 "/usr/local/bin/k3s-killall.sh", "/usr/local/bin/k3s-uninstall.sh"):
        assert lab.sh("ka-s1", f"test -e {path}", check=False).returncode != 0, path
    lab.sh("ka-a1", "/usr/local/bin/k3s-agent-uninstall.sh")
    assert lab.sh("ka-a1", "test -e /var/lib/rancher/k3s/agent || test -e /usr/local/bin/k3s", check=False).returncode != 0
