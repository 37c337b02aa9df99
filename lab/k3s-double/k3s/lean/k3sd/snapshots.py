"""On-demand etcd snapshots, as k3s's /db/snapshot handler serves them to `k3s etcd-snapshot` (pkg/etcd/
snapshot_handler.go, snapshot.go): files `<name>-<node>-<unix time>` in the snapshot dir, mode 0600, each
a consistent dump of the cluster datastore taken from the first server."""
import base64
import hashlib
import json
import os
import time

from k3sd.log import logmsg, now_rfc3339


class SnapshotError(Exception):
    pass


def snapshot_dir(P, configured, requested, create):
    """Only the default dir is created; a dir the user names must exist (as k3s's snapshotDir)."""
    default = os.path.join(P.db, "snapshots")
    d = requested or configured or default
    if not os.path.exists(d):
        if d == default and create:
            os.makedirs(d, 0o700, exist_ok=True)
            return d
        raise SnapshotError(f"failed to get etcd-snapshot-dir: stat {d}: no such file or directory")
    if not os.path.isdir(d):
        raise SnapshotError(f"failed to get etcd-snapshot-dir: {d} is not a directory")
    return d


def created_at(path, fn):
    """The unix time at the end of the name, else the file's mtime (as k3s's listLocalSnapshots)."""
    base = fn[:-4] if fn.endswith(".zip") else fn
    try:
        return int(base.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return int(os.path.getmtime(path))


def save(d, name, node, dump, compress):
    now = int(round(time.time()))
    sname = f"{name}-{node}-{now}"
    path = os.path.join(d, sname)
    logmsg("info", f"Saving etcd snapshot to {path}")
    try:
        fd = os.open(path + ".part", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(dump)
        os.replace(path + ".part", path)
    except OSError as e:
        # k3s records the failure and answers without a created snapshot: the CLI prints nothing, exits 0
        logmsg("error", f"Failed to take etcd snapshot: {e}")
        return {"created": None, "deleted": None}
    if compress:
        import zipfile
        logmsg("info", f"Compressing etcd snapshot file: {sname}")
        with zipfile.ZipFile(path + ".zip", "w", zipfile.ZIP_DEFLATED) as z:
            z.write(path, sname)
        os.chmod(path + ".zip", 0o600)
        os.unlink(path)
        sname += ".zip"
        logmsg("info", f"Compressed snapshot: {path}.zip")
    return {"created": [sname], "deleted": None}


def listing(d, node):
    """An ETCDSnapshotFileList of the local snapshots (k3s lists local files, not the API's objects)."""
    items = []
    for fn in sorted(os.listdir(d)):
        p = os.path.join(d, fn)
        if not os.path.isfile(p) or fn.endswith(".part"):
            continue
        items.append({"apiVersion": "k3s.cattle.io/v1", "kind": "ETCDSnapshotFile",
                      "metadata": {"name": "local-" + fn.lower().replace("_", "-")},
                      "spec": {"snapshotName": fn, "nodeName": node, "location": "file://" + p},
                      "status": {"size": str(os.path.getsize(p)), "creationTime": now_rfc3339(created_at(p, fn)),
                                 "readyToUse": True}})
    return {"apiVersion": "v1", "kind": "List", "items": items}


def delete(d, names):
    for n in names:
        if os.path.basename(n) != n:
            raise SnapshotError("invalid snapshot name: path traversal not allowed")
    deleted = []
    for n in names:
        try:
            os.unlink(os.path.join(d, n))
        except FileNotFoundError:
            logmsg("info", f"Snapshot {n} not found locally")
            continue
        deleted.append(n)
        logmsg("info", f"Snapshot {n} deleted locally")
    return {"created": None, "deleted": deleted or None}


def prune(d, prefix, retention):
    if retention < 1:
        return {"created": None, "deleted": None}
    logmsg("info", f"Applying snapshot retention={retention} to local snapshots with prefix {prefix} in {d}")
    files = [(created_at(os.path.join(d, fn), fn), fn) for fn in os.listdir(d)
             if fn.startswith(prefix) and os.path.isfile(os.path.join(d, fn))]
    files.sort(reverse=True)
    deleted = []
    for _, fn in files[retention:]:
        logmsg("info", f"Removing local snapshot {os.path.join(d, fn)}")
        os.unlink(os.path.join(d, fn))
        deleted.append(fn)
    return {"created": None, "deleted": deleted or None}


def handle(req, P, cfg, node, get_dump):
    """One /db/snapshot request; what the CLI leaves unset takes the server's etcd-snapshot-* settings."""
    op = req.get("operation")
    d = snapshot_dir(P, cfg.get("etcd-snapshot-dir"), req.get("dir"), create=op in ("save", "list"))
    names = req.get("name") or []
    if op == "save":
        compress = req["compress"] if req.get("compress") is not None else bool(cfg.get("etcd-snapshot-compress"))
        return save(d, names[0] if names else "on-demand", node, get_dump(), compress)
    if op == "list":
        return listing(d, node)
    if op == "delete":
        return delete(d, names)
    if op == "prune":
        retention = req["retention"] if req.get("retention") is not None else int(cfg.get("etcd-snapshot-retention", 5))
        return prune(d, names[0] if names else "on-demand", retention)
    raise SnapshotError("invalid snapshot operation")


def seal(secret, data):
    """The bootstrap data (CA certificate and key) as k3s keeps it in the datastore: encrypted with a key
    derived from the server token (here a SHA-256 keystream, not k3s's AES-GCM); the same call opens it."""
    key = hashlib.sha256(b"k3s-double-bootstrap:" + secret.encode()).digest()
    stream = b"".join(hashlib.sha256(key + i.to_bytes(8, "big")).digest() for i in range(len(data) // 32 + 1))
    return bytes(a ^ b for a, b in zip(data, stream))


def dump_state(cluster, boot, ca, ca_key):
    """The datastore as a snapshot holds it: taken under the cluster lock, so it is consistent; with the
    bootstrap data, which only the cluster's token opens."""
    boot_data = json.dumps({"ca": ca.decode(), "ca_key": ca_key.decode()}).encode()
    with cluster.lock:
        return json.dumps({"kind": "K3sDoubleSnapshot", "version": 2, "cluster_id": boot["cluster_id"],
                           "taken": time.time(), "critical": boot["critical"], "token_hash": cluster.s["token_hash"],
                           "bootstrap": base64.b64encode(seal(boot["secret"], boot_data)).decode(),
                           "state": cluster.s}, separators=(",", ":")).encode()


def read_snapshot(path):
    """A snapshot file (plain or .zip, as `save` writes them), or None if it is no snapshot of the double."""
    import zipfile
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                data = z.read(z.namelist()[0])
        else:
            with open(path, "rb") as f:
                data = f.read()
        snap = json.loads(data)
    except (OSError, ValueError, IndexError, zipfile.BadZipFile):
        return None
    return snap if isinstance(snap, dict) and snap.get("kind") == "K3sDoubleSnapshot" and snap.get("version") == 2 else None


def open_bootstrap(snap, secret):
    return json.loads(seal(secret, base64.b64decode(snap["bootstrap"])))
