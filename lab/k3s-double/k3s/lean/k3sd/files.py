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
        self.state = os.path.join(self.db, "state.json")
        # k3s's SQLite file name: tools copy it (and its -wal/-shm) while k3s is stopped
        self.sqlite = os.path.join(self.db, "state.db")
        self.manifests = os.path.join(self.server, "manifests")
        self.agent = os.path.join(data_dir, "agent")
        self.agent_state = os.path.join(self.agent, "double-agent.json")

    def datastore(self, kind):
        """The owner's datastore file: state.db on SQLite; on etcd the double's own file, which
        takes over state.db's content the first time a SQLite server starts with cluster-init (k3s
        migrates SQLite to etcd then)."""
        if kind == "sqlite":
            return self.sqlite
        if not os.path.exists(self.state) and os.path.exists(self.sqlite):
            os.replace(self.sqlite, self.state)
        return self.state
