"""Handing over to the lean program for the long-running server/agent."""
import json
import os
import sys

from k3sd.files import write_file
from k3sd.program import ARGV0, PYTHON, SCRIPT


def exec_lean(serve, data_dir):
    p = os.path.join(data_dir, "double-run.json")
    write_file(p, json.dumps(serve), 0o600)
    sys.stdout.flush()
    sys.stderr.flush()
    # the archive's lean/ folder, run as the script, is the only one of its folders on sys.path: the
    # server imports no CLI module, and with -S no site-packages either; argv[0] stays k3s's
    os.execv(PYTHON, [ARGV0, "-I", "-S", os.path.join(SCRIPT, "lean"), serve["mode"], p])
