"""The data dir's layout and file helpers (atomic writes)."""
import hashlib
import os


def sha256_file(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def write_file(path, data, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.write(fd, data if isinstance(data, bytes) else data.encode())
    os.close(fd)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def read_file(path, default=None):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return default


class Paths:
    def __init__(self, data_dir):
        self.data = data_dir
        self.server = os.path.join(data_dir, "server")
        self.tls = os.path.join(self.server, "tls")
        self.ca = os.path.join(self.tls, "server-ca.crt")
        self.ca_key = os.path.join(self.tls, "server-ca.key")
        self.serving = os.path.join(self.tls, "serving-kube-apiserver.crt")
        self.serving_key = os.path.join(self.tls, "serving-kube-apiserver.key")
        self.admin = os.path.join(self.tls, "client-admin.crt")
        self.admin_key = os.path.join(self.tls, "client-admin.key")
        self.regen_serving = os.path.join(self.tls, "dynamic-cert-regenerate")   # left by `certificate rotate`
        self.token = os.path.join(self.server, "token")
        self.node_token = os.path.join(self.server, "node-token")
        self.agent_token = os.path.join(self.server, "agent-token")
        self.cred = os.path.join(self.server, "cred", "double-bootstrap.json")
        self.db = os.path.join(self.server, "db")
        # embedded etcd's data dir as k3s lays it out: the member's name, its WAL (k3s: "initialized"),
        # and here the double's datastore file; k3s's SQLite file name (tools copy it, and its -wal/-shm,
        # while k3s is stopped); the marker a cluster-reset leaves
        self.etcd = os.path.join(self.db, "etcd")
        self.member_name = os.path.join(self.etcd, "name")
        self.wal = os.path.join(self.etcd, "member", "wal")
        self.state = os.path.join(self.etcd, "state.json")
        self.sqlite = os.path.join(self.db, "state.db")
        self.reset_flag = os.path.join(self.db, "reset-flag")
        self.manifests = os.path.join(self.server, "manifests")
        self.agent = os.path.join(data_dir, "agent")

    def datastore(self, kind):
        return self.sqlite if kind == "sqlite" else self.state

    def member(self):
        """This server's etcd member name, if its etcd data exists (k3s's IsInitialized: the WAL dir)."""
        name = read_file(self.member_name)
        return name.decode() if name and os.path.isdir(self.wal) else None

    def init_member(self, name):
        os.makedirs(self.wal, 0o700, exist_ok=True)
        os.chmod(self.etcd, 0o700)
        write_file(self.member_name, name, 0o600)
