"""Where this program's archive is, to run its CLI again: the auto-deploy folder runs `k3s kubectl apply`,
agents' certificate requests are signed by `k3s __sign` (the lean part has no cryptography)."""
import os


# the launcher's memfd, or (run from a source tree) the tree: this file is <tree>/lean/k3sd/program.py
SCRIPT = (os.environ.get("K3S_DOUBLE_SCRIPT")
          or os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__)))))
SCRIPT_FD = int(os.environ.get("K3S_DOUBLE_FD", "-1"))
# the launcher runs the machine's Python with its own argv[0] (`/usr/local/bin/k3s`), so every process of
# the double shows in ps and pkill -f as k3s's do; Python's own path is fixed
PYTHON = "/usr/bin/python3"
with open("/proc/self/cmdline", "rb") as _f:
    ARGV0 = _f.read().split(b"\0")[0].decode()


def run_cli(args, stdin=None):
    import subprocess
    kw = {"pass_fds": (SCRIPT_FD,)} if SCRIPT_FD >= 0 else {}
    return subprocess.run([ARGV0, "-I", SCRIPT, *args], executable=PYTHON, input=stdin, capture_output=True,
                          text=True, **kw)
