"""`k3s server`: configuration, CA and certificates, token files, kubeconfig, then the lean server."""
import base64
import json
import os
import socket
import time

from k3scli.certs import ensure_leaf, gen_ca, kubelet_certs
from k3scli.config import ConfigError, critical_settings, effective, load_config, read_token_setting
from k3scli.handoff import exec_lean
from k3scli.images import import_images
from k3scli.registries import load_registries
from k3scli.join import join_as_server
from k3scli.reset import cluster_reset
from k3scli.node import host_addresses, node_name_of, node_record
from k3sd.cluster import CRITICAL
from k3sd.files import Paths, read_file, write_file
from k3sd.log import fatal, logmsg
from k3sd.members import new_member_name
from k3sd.tokens import parse_token, secure_token
from k3sd.version import COMMIT, VERSION, renew_days


def cmd_server(args):
    try:
        cfg, pos = load_config(args, "server")
    except ConfigError as e:
        fatal(str(e))
    if cfg.get("debug"):
        logmsg("debug", "debug logging enabled")
    if cfg.get("datastore-endpoint"):
        fatal("external datastores (datastore-endpoint) are not supported by the edgeup lab's k3s double")
    if cfg.get("cluster-reset-restore-path") and not cfg.get("cluster-reset"):
        fatal("invalid flag use; --cluster-reset required with --cluster-reset-restore-path")
    P = Paths(effective(cfg, "data-dir"))
    logmsg("info", f"Starting k3s {VERSION} ({COMMIT})")
    os.makedirs(P.tls, exist_ok=True)
    os.makedirs(P.db, exist_ok=True)
    os.makedirs(P.manifests, exist_ok=True)
    try:
        token = read_token_setting(cfg)
        agent_token = read_token_setting(cfg, "agent-token")
        name = node_name_of(cfg)
        node = node_record(cfg, "server", name)
    except ConfigError as e:
        fatal(str(e))
    images = import_images(P.data)
    load_registries(cfg, P.data)
    port = int(effective(cfg, "https-listen-port"))
    crit = critical_settings(cfg)
    boot = json.loads(read_file(P.cred, b"null") or b"null")
    join_url = cfg.get("server")
    if cfg.get("cluster-reset"):
        return cluster_reset(cfg, P, boot, token, agent_token, node, crit, port)
    member = P.member()
    # the datastore on disk: etcd's member data, or the SQLite file; `rm -rf server/db` wipes either
    data = bool(boot) and (member if boot["datastore"] == "etcd" else os.path.exists(P.sqlite))
    if data and token and parse_token(token)[2] != boot["secret"]:
        # restart: the token must match the bootstrap data (k3s encrypts it with the token)
        fatal("starting kubernetes: preparing server: bootstrap data already found and encrypted with different token")
    if data and boot.get("owner"):
        logmsg("info", "Managed etcd cluster bootstrap already complete and initialized" if member else
               "Configuring sqlite3 database connection pooling: maxIdleConns=2, maxOpenConns=0, connMaxLifetime=0s")
        # the agent token may change across restarts (k3s: reconfigure and restart every server)
        boot["agent_secret"] = parse_token(agent_token)[2] if agent_token else None
        if cfg.get("cluster-init") and boot["datastore"] == "sqlite":
            migrate_sqlite(P, node["name"])
            boot["datastore"] = "etcd"
        if crit != boot["critical"]:
            diff = [k for k in CRITICAL if crit.get(k) != boot["critical"].get(k)]
            logmsg("warning", f"Cluster configuration changed on restart: {', '.join(diff)}")
            boot["critical"] = crit
        write_file(P.cred, json.dumps(boot), 0o600)
    elif data:
        logmsg("info", "Managed etcd cluster bootstrap already complete and initialized")
        if join_url and join_url.rstrip("/") != boot.get("join_url", "").rstrip("/"):
            logmsg("info", "Cluster data already exists on disk: the server flag is ignored")
    elif join_url:
        if boot:
            logmsg("info", "Managed etcd cluster not yet initialized")
        boot = join_as_server(cfg, join_url, token, node, crit, P, port)
    else:
        boot = new_cluster(cfg, P, boot, token, agent_token, node, crit)
    ca = read_file(P.ca)
    ca_key = read_file(P.ca_key)
    # the listener's certificate (SANs as configured, renewed as k3s's dynamiclistener does), the admin client
    # certificate that k3s.yaml carries, and this node's kubelet certificates
    addrs = host_addresses()
    sans = ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
            "kubernetes.default.svc." + crit["cluster-domain"], socket.gethostname(), name,
            "127.0.0.1", "::1", *node["addresses"], *addrs, service_ip(crit), *cfg.get("tls-san", [])]
    window = renew_days()
    regen = os.path.exists(P.regen_serving)
    ensure_leaf(P.serving, P.serving_key, ca, ca_key, "k3s", ("k3s",), sans, server=True, window_days=window, force=regen)
    if regen:
        os.unlink(P.regen_serving)
    ensure_leaf(P.admin, P.admin_key, ca, ca_key, "system:admin", ("system:masters",), client=True, window_days=window)
    kubelet_certs(P.agent, name, node["addresses"], ca, ca_key)
    # token files
    write_file(P.token, secure_token(ca, "server", boot["secret"]) + "\n", 0o600)
    try:
        if os.path.lexists(P.node_token):
            os.unlink(P.node_token)
        os.symlink(P.token, P.node_token)
    except OSError:
        write_file(P.node_token, secure_token(ca, "server", boot["secret"]) + "\n", 0o600)
    if boot.get("agent_secret"):
        write_file(P.agent_token, secure_token(ca, "node", boot["agent_secret"]) + "\n", 0o600)
    elif os.path.exists(P.agent_token):
        os.unlink(P.agent_token)
    # kubeconfig
    kc_path = effective(cfg, "write-kubeconfig")
    mode = effective(cfg, "write-kubeconfig-mode")
    write_kubeconfig(kc_path, ca, read_file(P.admin), read_file(P.admin_key), port,
                     int(mode, 8) if mode else 0o600)
    if cfg.get("write-kubeconfig-group"):
        import grp
        try:
            os.chown(kc_path, -1, grp.getgrnam(cfg["write-kubeconfig-group"]).gr_gid)
        except KeyError:
            pass
    logmsg("info", f"Wrote kubeconfig {kc_path}")
    for k in ("kube-apiserver-arg", "kubelet-arg"):
        for a in cfg.get(k, []):
            logmsg("info", f"Running with {k} {a}")
    after_reset = os.path.exists(P.reset_flag)
    if after_reset:
        os.unlink(P.reset_flag)
    serve = {"mode": "server", "data_dir": P.data, "port": port, "node": node, "images": images,
             "after_reset": after_reset,
             "bind": cfg.get("bind-address") or "0.0.0.0", "debug": bool(cfg.get("debug")),
             "config": {k: v for k, v in cfg.items() if not k.endswith("token") and k != "token-file"}}
    exec_lean(serve, P.data)


def new_cluster(cfg, P, boot, token, agent_token, node, crit):
    """The first server of a new cluster (or one whose server/db was wiped: its CA and token stay)."""
    etcd = bool(cfg.get("cluster-init"))
    logmsg("info", "Managed etcd cluster initializing" if etcd else
           "Configuring sqlite3 database connection pooling: maxIdleConns=2, maxOpenConns=0, connMaxLifetime=0s")
    if not os.path.exists(P.ca):
        if token and parse_token(token)[0]:
            fatal("token with CA hash given to the first server: a new cluster has no CA yet")
        ca, ca_key = gen_ca()
        write_file(P.ca, ca, 0o644)
        write_file(P.ca_key, ca_key, 0o600)
    secret = parse_token(token)[2] if token else (boot or {}).get("secret") or os.urandom(16).hex()
    boot = {"owner": True, "owner_url": None, "secret": secret,
            "agent_secret": parse_token(agent_token)[2] if agent_token else None,
            "datastore": "etcd" if etcd else "sqlite", "critical": crit,
            "cluster_id": os.urandom(8).hex(), "created": time.time()}
    if etcd:
        P.init_member(new_member_name(node["name"]))
    write_file(P.cred, json.dumps(boot), 0o600)
    return boot


def migrate_sqlite(P, node_name):
    """A SQLite server started with cluster-init: a new etcd cluster takes every key of the SQLite
    datastore, which is kept as state.db.migrated (pkg/etcd/etcd.go migrateFromSQLite)."""
    logmsg("info", "Migrating content from sqlite to etcd")
    state = read_file(P.sqlite)
    P.init_member(new_member_name(node_name))
    if state is not None:
        write_file(P.state, state, 0o600)
        os.replace(P.sqlite, P.sqlite + ".migrated")


def service_ip(crit):
    import ipaddress
    net = ipaddress.ip_network(crit["service-cidr"][0], strict=False)
    return str(net.network_address + 1)


def write_kubeconfig(path, ca, cert, key, port, mode):
    b64 = lambda x: base64.b64encode(x).decode()
    text = f"""apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: {b64(ca)}
    server: https://127.0.0.1:{port}
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {{}}
users:
- name: default
  user:
    client-certificate-data: {b64(cert)}
    client-key-data: {b64(key)}
"""
    write_file(path, text, mode)
