"""Being a systemd service: READY=1 on NOTIFY_SOCKET, the process name."""
import os
import socket

from k3sd.log import logmsg


def notify_ready():
    ns = os.environ.get("NOTIFY_SOCKET")
    if not ns:
        return
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.sendto(b"READY=1\nSTATUS=running", ns if not ns.startswith("@") else "\0" + ns[1:])
    except OSError as e:
        logmsg("warning", f"failed to notify systemd: {e}")
    finally:
        s.close()


def set_comm(name):
    try:
        with open("/proc/self/comm", "w") as f:
            f.write(name)
    except OSError:
        pass
