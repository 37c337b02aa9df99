"""`k3s agent`: configuration, the server's CA, its kubelet certificates, then the lean agent."""
import os
import time

from k3scli.certs import csr_for
from k3scli.config import ConfigError, effective, load_config, read_token_setting
from k3scli.handoff import exec_lean
from k3scli.images import import_images
from k3scli.registries import load_registries
from k3scli.join import wait_for_cacerts
from k3scli.node import node_name_of, node_record
from k3sd.client import HTTPError, client_ctx, https
from k3sd.cluster import REJECTED
from k3sd.files import Paths, write_file
from k3sd.log import fatal, logmsg
from k3sd.tokens import basic, parse_token
from k3sd.version import COMMIT, VERSION


def cmd_agent(args):
    try:
        cfg, pos = load_config(args, "agent")
        token = read_token_setting(cfg)
    except ConfigError as e:
        fatal(str(e))
    url = cfg.get("server")
    if not url:
        fatal("--server is required")
    if not token:
        fatal("--token is required")
    data_dir = effective(cfg, "data-dir")
    P = Paths(data_dir)
    logmsg("info", f"Starting k3s agent {VERSION} ({COMMIT})")
    try:
        name = node_name_of(cfg)
        node = node_record(cfg, "agent", name)
    except ConfigError as e:
        fatal(str(e))
    h, user, secret = parse_token(token)
    images = import_images(P.data)
    load_registries(cfg, P.data)
    ca = wait_for_cacerts(url, h, "Waiting to retrieve agent configuration; server is not ready")
    node["images"] = images
    os.makedirs(P.agent, exist_ok=True)
    write_file(os.path.join(P.agent, "server-ca.crt"), ca, 0o644)
    auth = basic(user or "node", secret)
    for which in ("serving-kubelet", "client-kubelet"):
        request_kubelet_cert(url.rstrip("/"), ca, auth, node, which, P.agent)
    serve = {"mode": "agent", "data_dir": data_dir, "server": url.rstrip("/"), "node": node,
             "auth": auth, "images": images, "debug": bool(cfg.get("debug"))}
    exec_lean(serve, data_dir)


def request_kubelet_cert(url, ca, auth, node, which, agent_dir):
    """As a k3s agent at every start: a request for its own key, signed by the server (see api.kubelet_cert)."""
    csr = csr_for(os.path.join(agent_dir, which + ".key"))
    headers = {"Authorization": auth, "Content-Type": "application/x-pem-file", "k3s-Node-Name": node["name"],
               "k3s-Node-Password": node["password"], "k3s-Node-IP": ",".join(node["addresses"])}
    while True:
        try:
            _, _, pem = https("POST", f"{url}/v1-k3s/{which}.crt", csr, headers, ctx=client_ctx(ca), timeout=30)
            break
        except HTTPError as e:
            if e.status == 401:
                fatal(f"Failed to validate connection to cluster at {url}: token is not valid: 401 Unauthorized")
            if e.status == 403:
                # k3s's agent keeps asking (every 5 s) until the node's password secret matches or is gone
                logmsg("info", f"Waiting to retrieve agent configuration; server is not ready: {REJECTED}")
                time.sleep(5)
                continue
            logmsg("info", f"Waiting to retrieve agent configuration; server is not ready: {url}/v1-k3s/{which}.crt: {e}")
        except OSError as e:
            logmsg("info", f"Waiting to retrieve agent configuration; server is not ready: {e}")
        time.sleep(2)
    write_file(os.path.join(agent_dir, which + ".crt"), pem, 0o600)
