"""The running agent: joins with the token, then heartbeats."""
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
    url = run["server"]
    ca = read_file(os.path.join(run["data_dir"], "agent", "server-ca.crt"))
    ctx = client_ctx(ca)
    pwh = hashlib.sha256(node["password"].encode()).hexdigest()
    joined = False
    while not joined:
        try:
            https("POST", url + "/v1-lab/node-join", node, {"Authorization": run["auth"]}, ctx=ctx, timeout=15)
            joined = True
        except HTTPError as e:
            if e.status == 401:
                fatal(f"Failed to validate connection to cluster at {url}: token is not valid: 401 Unauthorized")
            if e.status == 403:
                try:
                    fatal(json.loads(e.body)["message"])
                except ValueError:
                    fatal(e.body)
            logmsg("info", f"Waiting to retrieve agent configuration; server is not ready: {e}")
            time.sleep(2)
        except OSError as e:
            logmsg("info", f"Waiting to retrieve agent configuration; server is not ready: {e}")
            time.sleep(2)
    logmsg("info", f"Node {node['name']} registered with the cluster at {url}")
    notify_ready()
    while True:
        time.sleep(HEARTBEAT_SECONDS)
        try:
            https("POST", url + "/v1-lab/node-heartbeat", {"name": node["name"], "password_hash": pwh},
                  {"Authorization": run["auth"]}, ctx=ctx, timeout=10)
        except HTTPError as e:
            if e.status == 401:
                fatal(f"Failed to validate connection to cluster at {url}: token is not valid: 401 Unauthorized")
            if e.status == 404:           # the server forgot us (e.g. data reset): register again
                try:
                    https("POST", url + "/v1-lab/node-join", node, {"Authorization": run["auth"]}, ctx=ctx, timeout=15)
                except (OSError, HTTPError):
                    pass
            logmsg("warning", f"heartbeat failed: {e}")
        except OSError as e:
            logmsg("warning", f"Failed to connect to proxy: {e}")
