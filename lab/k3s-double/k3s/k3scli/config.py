"""Configuration: k3s's flags, env vars, config.yaml + config.yaml.d/*.yaml, the CLI."""
import os

from k3sd.cluster import CRITICAL
from k3sd.log import fatal, logmsg


CONFIG_FILE = "/etc/rancher/k3s/config.yaml"


FLAGS = {
    "config": ("s", "B"), "debug": ("b", "B"), "v": ("i", "B"), "vmodule": ("s", "B"), "log": ("s", "B"),
    "alsologtostderr": ("b", "B"), "data-dir": ("s", "B"), "token": ("s", "B"), "token-file": ("s", "B"),
    "server": ("s", "B"), "node-name": ("s", "B"), "with-node-id": ("b", "B"), "node-label": ("l", "B"),
    "node-taint": ("l", "B"), "node-ip": ("l", "B"), "node-external-ip": ("l", "B"), "resolv-conf": ("s", "B"),
    "flannel-iface": ("s", "B"), "flannel-conf": ("s", "B"), "kubelet-arg": ("l", "B"), "kube-proxy-arg": ("l", "B"),
    "protect-kernel-defaults": ("b", "B"), "selinux": ("b", "B"), "lb-server-port": ("i", "B"),
    "private-registry": ("s", "B"), "pause-image": ("s", "B"), "snapshotter": ("s", "B"), "docker": ("b", "B"),
    "container-runtime-endpoint": ("s", "B"), "prefer-bundled-bin": ("b", "B"), "airgap-extra-registry": ("l", "B"),
    "image-credential-provider-bin-dir": ("s", "B"), "image-credential-provider-config": ("s", "B"),
    "node-external-dns": ("l", "B"), "bind-address": ("s", "B"), "vpn-auth": ("s", "B"), "vpn-auth-file": ("s", "B"),
    "rootless": ("b", "B"), "default-runtime": ("s", "B"), "disable-default-registry-endpoint": ("b", "B"),
    "nonroot-devices": ("b", "B"),
    # server only
    "agent-token": ("s", "S"), "agent-token-file": ("s", "S"), "cluster-init": ("b", "S"), "cluster-reset": ("b", "S"),
    "cluster-reset-restore-path": ("s", "S"), "tls-san": ("l", "S"), "tls-san-security": ("b", "S"),
    "disable": ("l", "S"), "cluster-cidr": ("l", "S"), "service-cidr": ("l", "S"), "cluster-dns": ("l", "S"),
    "cluster-domain": ("s", "S"), "service-node-port-range": ("s", "S"), "flannel-backend": ("s", "S"),
    "flannel-ipv6-masq": ("b", "S"), "flannel-external-ip": ("b", "S"), "secrets-encryption": ("b", "S"),
    "secrets-encryption-provider": ("s", "S"), "write-kubeconfig": ("s", "S"), "write-kubeconfig-mode": ("s", "S"),
    "write-kubeconfig-group": ("s", "S"), "https-listen-port": ("i", "S"), "advertise-address": ("s", "S"),
    "advertise-port": ("i", "S"), "embedded-registry": ("b", "S"), "kube-apiserver-arg": ("l", "S"),
    "kube-scheduler-arg": ("l", "S"), "kube-controller-manager-arg": ("l", "S"),
    "kube-cloud-controller-manager-arg": ("l", "S"), "etcd-arg": ("l", "S"), "etcd-expose-metrics": ("b", "S"),
    "etcd-disable-snapshots": ("b", "S"), "etcd-snapshot-schedule-cron": ("s", "S"),
    "etcd-snapshot-name": ("s", "S"), "etcd-snapshot-compress": ("b", "S"),
    "etcd-snapshot-retention": ("i", "S"), "etcd-snapshot-dir": ("s", "S"), "etcd-s3": ("b", "S"),
    "datastore-endpoint": ("s", "S"), "datastore-cafile": ("s", "S"), "datastore-certfile": ("s", "S"),
    "datastore-keyfile": ("s", "S"), "disable-network-policy": ("b", "S"), "disable-kube-proxy": ("b", "S"),
    "disable-cloud-controller": ("b", "S"), "disable-helm-controller": ("b", "S"), "disable-scheduler": ("b", "S"),
    "disable-apiserver": ("b", "S"), "disable-controller-manager": ("b", "S"), "disable-etcd": ("b", "S"),
    "default-local-storage-path": ("s", "S"), "system-default-registry": ("s", "S"), "servicelb-namespace": ("s", "S"),
    "egress-selector-mode": ("s", "S"), "supervisor-metrics": ("b", "S"), "helm-job-image": ("s", "S"),
    "kine-tls": ("b", "S"), "cluster-domain-suffix": ("s", "S"), "node-port-range": ("s", "S"),
    "embedded-registry-mirror": ("l", "S"), "disable-agent": ("b", "S"), "kube-controller-arg": ("l", "S"),
}
ALIASES = {"c": "config", "t": "token", "s": "server", "d": "data-dir", "o": "write-kubeconfig",
           "write-kubeconfig-mode": "write-kubeconfig-mode"}
ENV_FLAGS = {"K3S_TOKEN": "token", "K3S_TOKEN_FILE": "token-file", "K3S_URL": "server", "K3S_NODE_NAME": "node-name",
             "K3S_AGENT_TOKEN": "agent-token", "K3S_AGENT_TOKEN_FILE": "agent-token-file",
             "K3S_CLUSTER_INIT": "cluster-init", "K3S_KUBECONFIG_OUTPUT": "write-kubeconfig",
             "K3S_KUBECONFIG_MODE": "write-kubeconfig-mode", "K3S_DATA_DIR": "data-dir",
             "K3S_CONFIG_FILE": "config", "K3S_DATASTORE_ENDPOINT": "datastore-endpoint",
             "K3S_SELINUX": "selinux", "K3S_RESOLV_CONF": "resolv-conf", "K3S_FLANNEL_IFACE": "flannel-iface"}
DEFAULTS = {"cluster-cidr": ["10.42.0.0/16"], "service-cidr": ["10.43.0.0/16"], "cluster-dns": ["10.43.0.10"],
            "cluster-domain": "cluster.local", "flannel-backend": "vxlan", "secrets-encryption": False,
            "disable": [], "disable-network-policy": False, "disable-kube-proxy": False,
            "egress-selector-mode": "agent", "service-node-port-range": "30000-32767",
            "disable-helm-controller": False, "https-listen-port": 6443, "data-dir": "/var/lib/rancher/k3s",
            "write-kubeconfig": "/etc/rancher/k3s/k3s.yaml", "write-kubeconfig-mode": ""}


class ConfigError(Exception):
    pass


def to_bool(v):
    if isinstance(v, bool):
        return v
    return str(v).lower() in ("true", "1", "yes", "y", "on")


def coerce(name, v):
    t = FLAGS[name][0]
    if name == "write-kubeconfig-mode" and isinstance(v, int) and not isinstance(v, bool):
        v = "0%o" % v                     # an unquoted 0644 in YAML is the integer 420
    if t == "b":
        return to_bool(v)
    if t == "i":
        return int(v)
    if t == "l":
        if isinstance(v, list):
            out = []
            for x in v:
                out.append(str(x))
            return out
        return [str(v)]
    if isinstance(v, (list, dict)):
        raise ConfigError(f"invalid value for {name}: expected a string")
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def parse_cli(args, cmd):
    """Returns (flags dict, positional args). Lists accumulate across repeated flags."""
    out, pos = {}, []
    i = 0
    while i < len(args):
        a = args[i]
        i += 1
        if a == "--":
            pos += args[i:]
            break
        if not a.startswith("-") or a == "-":
            pos.append(a)
            continue
        name = a.lstrip("-")
        val = None
        if "=" in name:
            name, val = name.split("=", 1)
        name = ALIASES.get(name, name)
        if name not in FLAGS:
            raise ConfigError(f"flag provided but not defined: -{name}")
        if FLAGS[name][1] == "S" and cmd == "agent":
            raise ConfigError(f"flag provided but not defined: -{name}")
        t = FLAGS[name][0]
        if val is None:
            if t == "b":
                val = "true"
            else:
                if i >= len(args):
                    raise ConfigError(f"flag needs an argument: -{name}")
                val = args[i]
                i += 1
        if t == "l":
            out.setdefault(name, []).extend(coerce(name, val) if not isinstance(val, str) else [val])
        else:
            out[name] = coerce(name, val)
    return out, pos


def config_files(path):
    files = []
    if os.path.exists(path):
        files.append(path)
    d = path + ".d"
    if os.path.isdir(d):
        for fn in sorted(os.listdir(d)):
            if fn.endswith(".yaml") or fn.endswith(".yml"):
                files.append(os.path.join(d, fn))
    return files


def load_config(args, cmd, env=None):
    """defaults < env < config files (alphabetical; key+ appends) < CLI."""
    env = os.environ if env is None else env
    cli, pos = parse_cli(args, cmd)
    cfg = {}
    for ev, name in ENV_FLAGS.items():
        if env.get(ev):
            if FLAGS[name][1] == "S" and cmd == "agent":
                continue
            cfg[name] = coerce(name, env[ev])
    path = cli.get("config") or cfg.get("config") or CONFIG_FILE
    import yaml
    for f in config_files(path):
        try:
            with open(f) as fh:
                data = yaml.safe_load(fh)
        except yaml.YAMLError as e:
            raise ConfigError(f"failed to parse {f}: {e}".replace("\n", " "))
        except OSError as e:
            raise ConfigError(f"failed to read {f}: {e}")
        if data is None:
            continue
        if not isinstance(data, dict):
            raise ConfigError(f"{f}: config file must be a YAML mapping")
        for k, v in data.items():
            k = str(k)
            append = k.endswith("+")
            name = k[:-1] if append else k
            name = ALIASES.get(name, name)
            if name not in FLAGS:
                raise ConfigError(f'unknown configuration key "{k}" in {f}')
            if FLAGS[name][1] == "S" and cmd == "agent":
                logmsg("warning", f"Unknown flag --{name} found in config.yaml, skipping")
                continue
            val = coerce(name, v)
            if append and FLAGS[name][0] == "l":
                cfg[name] = list(cfg.get(name, [])) + val
            else:
                cfg[name] = val
    for k, v in cli.items():
        cfg[k] = v
    # comma-separated list values are split like k3s's StringSlice flags
    for k, v in list(cfg.items()):
        if FLAGS.get(k, ("s",))[0] == "l" and k in ("disable", "cluster-cidr", "service-cidr", "cluster-dns", "tls-san", "node-ip"):
            cfg[k] = [x.strip() for item in v for x in item.split(",") if x.strip()]
    return cfg, pos


def effective(cfg, key):
    if key in cfg:
        return cfg[key]
    return DEFAULTS.get(key, [] if FLAGS.get(key, ("s",))[0] == "l" else ("" if FLAGS.get(key, ("s",))[0] == "s" else False))


def critical_settings(cfg):
    out = {}
    for k in CRITICAL:
        v = effective(cfg, k)
        if isinstance(v, list):
            v = sorted(v) if k == "disable" else v
        out[k] = v
    return out


def read_token_setting(cfg, which="token"):
    tok = cfg.get(which)
    tf = cfg.get(which + "-file")
    if not tok and tf:
        try:
            with open(tf) as f:
                tok = f.read().strip()
        except OSError as e:
            raise ConfigError(f"failed to read {which} file {tf}: {e.strerror}")
    return tok or None


def subcommand_config(path, flags):
    """What `k3s etcd-snapshot|certificate` take from the config files: the keys that are flags of the
    subcommand (flags: name → (kind, canonical name)); the others are skipped with k3s's warning."""
    import yaml
    out = {}
    for f in config_files(path):
        try:
            with open(f) as fh:
                data = yaml.safe_load(fh) or {}
        except OSError as e:
            fatal(f"open {f}: {e.strerror.lower()}")
        for k, v in data.items():
            k = str(k).rstrip("+")
            if k not in flags or flags[k][1] == "config":
                logmsg("warning", f"Unknown flag --{k} found in config.yaml, skipping")
                continue
            out[flags[k][1]] = v
    return out


def resolve_data_dir(value):
    """k3s's datadir.Resolve: without --data-dir, a non-root user gets ~/.rancher/k3s."""
    if value:
        return value
    return "/var/lib/rancher/k3s" if os.geteuid() == 0 else os.path.join(os.path.expanduser("~"), ".rancher", "k3s")
