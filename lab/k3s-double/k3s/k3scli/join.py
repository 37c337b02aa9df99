"""Joining a cluster: the CA pinned by the token's hash, a server's bootstrap."""
import hashlib
import json
import time

from k3sd.client import HTTPError, client_ctx, https
from k3sd.files import read_file, write_file
from k3sd.members import new_member_name
from k3sd.log import fatal, logmsg
from k3sd.tokens import basic, parse_token


def fetch_cacerts(server_url, token_hash):
    """GET /cacerts and verify its hash against the secure token's (k3s: protection against MITM)."""
    _, _, ca = https("GET", server_url.rstrip("/") + "/cacerts", timeout=5)
    got = hashlib.sha256(ca).hexdigest()
    if token_hash and got != token_hash:
        fatal(f"Failed to validate connection to cluster at {server_url}: token CA hash does not match the "
              f"Cluster CA certificate hash: {token_hash} != {got}")
    return ca


def wait_for_cacerts(server_url, token_hash, waiting):
    """The server's CA, retried every 2 s while the server is not up yet (as k3s does)."""
    while True:
        try:
            return fetch_cacerts(server_url, token_hash)
        except (OSError, HTTPError) as e:
            logmsg("info", f"{waiting}: {e}")
            time.sleep(2)


def join_as_server(cfg, url, token, node, crit, P, port):
    if not token:
        fatal("starting kubernetes: preparing server: failed to normalize server token; must be in format K10<CA-HASH>::<USERNAME>:<PASSWORD> or <PASSWORD>")
    h, user, secret = parse_token(token)
    if user and user != "server":
        fatal(f"Failed to validate connection to cluster at {url}: token is not valid for a server join (user {user})")
    logmsg("info", f"Joining cluster at {url}")
    ca = wait_for_cacerts(url, h, f"Waiting to join cluster at {url}")
    ctx = client_ctx(ca)
    # the etcd member this server becomes: a new name unless an earlier attempt named it (k3s's name file)
    member = (read_file(P.member_name) or new_member_name(node["name"]).encode()).decode()
    write_file(P.member_name, member, 0o600)
    body = {"node": node, "critical": crit, "member": member, "url": f"https://{node['addresses'][0]}:{port}"}
    try:
        _, _, data = https("POST", url.rstrip("/") + "/v1-k3s/server-bootstrap", body,
                           {"Authorization": basic("server", secret)}, ctx=ctx, timeout=30)
    except HTTPError as e:
        if e.status == 401:
            fatal(f"starting kubernetes: preparing server: failed to get CA certs: {url}/v1-k3s/server-bootstrap: 401 Unauthorized: token is not valid")
        try:
            msg = json.loads(e.body).get("message", e.body)
        except ValueError:
            msg = e.body
        fatal(f"starting kubernetes: preparing server: {msg}")
    except OSError as e:
        fatal(f"starting kubernetes: preparing server: failed to join {url}: {e}")
    b = json.loads(data)
    write_file(P.ca, b["ca"].encode(), 0o644)
    write_file(P.ca_key, b["ca_key"].encode(), 0o600)
    boot = {"owner": False, "owner_url": b["owner_url"], "join_url": url, "secret": b["secret"],
            "agent_secret": b.get("agent_secret"), "datastore": b["datastore"], "critical": crit,
            "cluster_id": b["cluster_id"], "created": time.time()}
    write_file(P.cred, json.dumps(boot), 0o600)
    P.init_member(b["member"])
    logmsg("info", f"Starting etcd to join cluster with members: added {b['member']} as a learner; waiting for promotion")
    return boot
