"""`k3s agent`: configuration, the server's CA, then the lean agent."""
import os

from k3scli.config import ConfigError, effective, load_config, read_token_setting
from k3scli.handoff import exec_lean
from k3scli.images import import_images
from k3scli.join import wait_for_cacerts
from k3scli.node import node_name_of, node_record
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
    ca = wait_for_cacerts(url, h, "Waiting to retrieve agent configuration; server is not ready")
    node["images"] = images
    os.makedirs(P.agent, exist_ok=True)
    write_file(os.path.join(P.agent, "server-ca.crt"), ca, 0o644)
    serve = {"mode": "agent", "data_dir": data_dir, "server": url.rstrip("/"), "node": node,
             "auth": basic(user or "node", secret), "images": images, "debug": bool(cfg.get("debug"))}
    exec_lean(serve, data_dir)
