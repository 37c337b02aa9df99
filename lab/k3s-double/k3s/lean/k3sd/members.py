"""Embedded etcd membership as k3s and etcd keep it (pkg/etcd/etcd.go, member_controller.go,
metadata_controller.go; etcd's mayRemoveMember): members named `<node>-<8 hex>`, one learner at a time,
removal through the Node (delete, or the `etcd.k3s.cattle.io/remove` annotation) under etcd's quorum rules,
and removed members that can never come back with their old data. A mixin of Cluster (its state `s`,
its `lock`, `heartbeats` and `save`)."""
import os
import time

from k3sd.log import logmsg
from k3sd.timing import LEARNER_SECONDS, NOTREADY_SECONDS

REMOVE_ANN = "etcd.k3s.cattle.io/remove"
NAME_ANN = "etcd.k3s.cattle.io/node-name"
ADDRESS_ANN = "etcd.k3s.cattle.io/node-address"
REMOVED_ANN = "etcd.k3s.cattle.io/removed-node-name"
# wrangler's OnRemove handlers hold a Node until they succeed
FINALIZERS = ["wrangler.cattle.io/node", "wrangler.cattle.io/managed-etcd-controller"]
# etcd's own words (etcdserver/api/rafthttp, api/v3rpc/rpctypes)
REMOVED = "the member has been permanently removed from the cluster"
NOT_ENOUGH_STARTED = "etcdserver: re-configuration failed due to not enough started members"
TIMED_OUT = "etcdserver: request timed out"
UNHEALTHY = "etcdserver: unhealthy cluster"
TOO_MANY_LEARNERS = "etcdserver: too many learner members in cluster"
DUPLICATE = "duplicate node name found, please use a unique name for this node"


def new_member_name(node):
    """k3s's setName: the node name and 8 hex digits of a new UUID."""
    return f"{node}-{os.urandom(4).hex()}"


def log_removed_member():
    """What embedded etcd logs when its peers answer that it was removed (etcdserver/server.go)."""
    for msg in ("server error\",\"error\":\"" + REMOVED, "data-dir used by this member must be removed"):
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z"
        os.write(2, ('{"level":"warn","ts":"%s","caller":"etcdserver/server.go:1151","msg":"%s"}\n' % (ts, msg)).encode())


class Membership:
    self_member = None          # the owner's own member (it is alive by definition)

    def members(self):
        return self.s["members"]

    def add_member(self, name, node, address, url, learner):
        self.s["members"][name] = {"node": node, "address": address, "url": url, "learner": learner,
                                   "id": int.from_bytes(os.urandom(8), "big") >> 1, "added": time.time(),
                                   "promote_at": time.time() + LEARNER_SECONDS}

    def alive(self, name):
        if name == self.self_member:
            return True
        m = self.s["members"].get(name)
        return bool(m) and time.time() - self.heartbeats.get(m["node"], 0) < NOTREADY_SECONDS

    def member_of(self, node):
        n = self.s["nodes"].get(node)
        m = n and n.get("member")
        return m if m in self.s["members"] else None

    def check_join(self, node, member):
        """A server's etcd join (k3s's join(): the duplicate node name check; etcd: one learner at a time)."""
        for name, m in self.s["members"].items():
            if name != member and m["node"] == node:
                return DUPLICATE
        if member not in self.s["members"] and any(m["learner"] for m in self.s["members"].values()):
            return TOO_MANY_LEARNERS
        return None

    def promote_learners(self):
        """The leader promotes a learner once it has caught up (here: LEARNER_SECONDS, if it is alive)."""
        changed = False
        with self.lock:
            for name, m in self.s["members"].items():
                if m["learner"] and time.time() >= m["promote_at"] and self.alive(name):
                    m["learner"] = False
                    changed = True
                    logmsg("info", f"Promoted learner {name}")
            if changed:
                self.save()

    def may_remove(self, name):
        """etcd's checks before a member removal (mayRemoveMember, IsReadyToRemoveVotingMember), then the
        conf change's commit, which needs a quorum of the current voting members."""
        if self.s["members"][name]["learner"]:
            return None
        voting = [k for k, m in self.s["members"].items() if not m["learner"]]
        others = [k for k in voting if k != name]
        if len(others) < len(others) // 2 + 1:
            return NOT_ENOUGH_STARTED
        alive = [k for k in voting if self.alive(k)]
        if len(alive) < len(voting) // 2 + 1:
            return TIMED_OUT
        if not self.alive(name):
            return None                     # a downed member is safe to remove
        if len(alive) - 1 < 1 + (len(voting) - 1) // 2:
            return UNHEALTHY                # the rest would lose quorum
        return None

    def remove_member(self, name):
        err = self.may_remove(name)
        if err:
            return err
        m = self.s["members"].pop(name)
        self.s["removed_members"].append(name)
        logmsg("info", f"Removing name={name} id={m['id']} address={m['address']} from etcd")
        if name == self.self_member:
            self.retire()
        return None

    def retire(self):
        """Set by the API: the owner's own member is gone; the datastore moves to a voting member."""

    def reconcile_node(self, node):
        """k3s's member controller: a deleted Node loses its member first (the finalizer waits until etcd
        agrees); `etcd.k3s.cattle.io/remove=true` removes the member and keeps the Node."""
        n = self.s["nodes"].get(node)
        if n is None:
            return
        ann = n.get("annotations") or {}
        remove = ann.get(REMOVE_ANN, "").lower() == "true"
        member = self.member_of(node)
        if n.get("deleting"):
            if member and not (remove and n.get("removed_member")):
                if not self.sync_error(node, self.remove_member(member)):
                    return
            if n.get("etcd_role"):
                logmsg("info", f"Removing etcd member {node} from cluster")
            del self.s["nodes"][node]
            self.heartbeats.pop(node, None)
            # pkg/node/controller.go onRemove: the node's password secret goes with it
            self.s["node_passwords"].pop(node, None)
            self.save()
        elif remove and member and not n.get("removed_member"):
            if not self.sync_error(node, self.remove_member(member)):
                return
            n["removed_member"] = member
            n["member"] = None          # the node-name and node-address annotations go; the Node stays
            self.save()

    def sync_error(self, node, err):
        """wrangler requeues a failing handler; logged once per error."""
        last = self.sync_errors.get(node)
        if err and err != last:
            logmsg("error", f"error syncing '{node}': handler managed-etcd-controller: {err}, requeuing")
        self.sync_errors[node] = err
        return err is None

    def reconcile(self):
        with self.lock:
            for node, n in list(self.s["nodes"].items()):
                if n.get("deleting") or (n.get("annotations") or {}).get(REMOVE_ANN, "").lower() == "true":
                    self.reconcile_node(node)

    def register_member(self, node, member):
        """A server starting with its etcd data: its member must still exist (etcd rejects removed ones).
        The metadata controller then writes its node-name annotation; a new name clears an earlier removal."""
        if member not in self.s["members"]:
            return REMOVED
        n = self.s["nodes"][node]
        n["member"], n["etcd_role"] = member, True
        if n.get("removed_member") and n["removed_member"] != member:
            logmsg("info", "Resetting removed node flag as removed node name did not match current node name")
            n["removed_member"] = None
            n.setdefault("annotations", {})[REMOVE_ANN] = "false"
        return None

    def etcd_annotations(self, n):
        member = self.member_of(n["name"])
        out = {}
        if member:
            out[NAME_ANN] = member
            out[ADDRESS_ANN] = self.s["members"][member]["address"]
        if n.get("removed_member"):
            out[REMOVED_ANN] = n["removed_member"]
        return out

    def etcd_condition(self, n):
        """EtcdIsVoter, as k3s's leader sets it on nodes with the etcd role (k3s PR #8724)."""
        if not n.get("etcd_role"):
            return None
        member = self.member_of(n["name"])
        if member is None:
            return "False", "NotAMember", "Node is not a member of the etcd cluster"
        if self.s["members"][member]["learner"]:
            return "False", "MemberIsLearner", "Node has not been promoted to voting member of the etcd cluster"
        if not self.alive(member):
            return "False", "Unhealthy", "failed to check etcd member status: context deadline exceeded"
        return "True", "MemberNotLearner", "Node is a voting member of the etcd cluster"

    def db_info(self):
        """/db/info: etcd's MemberList as k3s encodes it (etcdserverpb.Member, empty fields omitted)."""
        out = []
        for name, m in sorted(self.s["members"].items(), key=lambda kv: kv[1]["added"]):
            rec = {"ID": m["id"], "name": name, "peerURLs": [f"https://{m['address']}:2380"],
                   "clientURLs": [f"https://{m['address']}:2379"]}
            if m["learner"]:
                rec["isLearner"] = True
            out.append(rec)
        return {"members": out}
