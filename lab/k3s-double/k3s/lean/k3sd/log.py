"""k3s's log lines (logrus text format) and its fatal exit."""
import sys
import time


def now_rfc3339(t=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t if t is not None else time.time()))


def logmsg(level, msg):
    sys.stderr.write(f'time="{now_rfc3339()}" level={level} msg="{msg}"\n')
    sys.stderr.flush()


def fatal(msg, code=1):
    logmsg("fatal", msg)
    sys.exit(code)
