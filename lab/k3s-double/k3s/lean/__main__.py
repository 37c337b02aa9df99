"""The lean program: the long-running k3s server or agent, exec'd by `k3s server|agent` (k3scli.handoff)
as `python3 -I -S <archive>/lean __serve RUN.json`."""
import sys

from k3sd.serve import serve

if sys.argv[1:2] == ["__serve"]:
    sys.exit(serve(sys.argv[2]))
