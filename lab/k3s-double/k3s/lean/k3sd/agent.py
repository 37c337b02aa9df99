"""The running agent: joins with the token, then heartbeats; like k3s's agent load balancer, it moves to
another server when its server stops answering."""
import hashlib
import json
import os
import time

from k3sd.client import HTTPError, client_ctx, https
from k3sd.files import read_file
from k3sd.log import fatal, logmsg
from k3sd.service import notify_ready
from k3sd.timing import HEARTBEAT_SECONDS


def agent_loop(run):
    node = run["node"]
    servers = [run["server"]]
    ca = read_file(os.path.join(run["data_dir"], "agent", "server-ca.crt"))
    ctx = client_ctx(ca)
    pwh = hashlib.sha256(node["password"].encode()).hexdigest()

    def call(path, body, timeout):
        """POST to the first server that answers; the others are tried in turn (the load balancer)."""
        for url in list(servers):
            try:
                _, _, data = https("POST", url + path, body, {"Authorization": run["auth"]}, ctx=ctx, timeout=timeout)
            except OSError:
                servers.remove(url)
                servers.append(url)
                continue
            known = json.loads(data).get("servers") or []
            servers[:] = [url] + [u for u in known if u != url] + [u for u in servers if u not in known and u != url]
            return
        raise ConnectionError(f"no server of {servers} answers")

    while True:
        try:
            call("/v1-lab/node-join", node, 15)
            break
        except HTTPError as e:
            if e.status == 401:
                fatal(f"Failed to validate connection to cluster at {servers[0]}: token is not valid: 401 Unauthorized")
            msg = e.body
            if e.status == 403:
                try:
                    msg = json.loads(e.body)["message"]
                except ValueError:
                    pass
            logmsg("info", f"Waiting to retrieve agent configuration; server is not ready: {msg}")
            time.sleep(5)
        except OSError as e:
            logmsg("info", f"Waiting to retrieve agent configuration; server is not ready: {e}")
            time.sleep(2)
    logmsg("info", f"Node {node['name']} registered with the cluster at {servers[0]}")
    notify_ready()
    said = None
    while True:
        time.sleep(HEARTBEAT_SECONDS)
        try:
            call("/v1-lab/node-heartbeat", {"name": node["name"], "password_hash": pwh}, 10)
            said = None
        except HTTPError as e:
            if e.status == 401:
                fatal(f"Failed to validate connection to cluster at {servers[0]}: token is not valid: 401 Unauthorized")
            # a deleted Node stays gone: the kubelet registers only when it starts
            if e.body != said:
                logmsg("warning", f"Error updating node status, will retry: {e}")
            said = e.body
        except OSError as e:
            logmsg("warning", f"Failed to connect to proxy: {e}")
