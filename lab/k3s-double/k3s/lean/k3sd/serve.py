"""Entry of the long-running server/agent: the run file written by `k3s server|agent` says which."""
import json
import threading

from k3sd.agent import agent_loop
from k3sd.server import server_loop
from k3sd.service import set_comm


def serve(run_path):
    with open(run_path) as f:
        run = json.load(f)
    threading.stack_size(256 * 1024)
    if run["mode"] == "agent":
        set_comm("k3s-agent")
        return agent_loop(run)
    set_comm("k3s-server")
    return server_loop(run)
