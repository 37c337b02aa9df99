"""The lean program: the long-running k3s server or agent, exec'd by `k3s server|agent` (k3scli.handoff)
as `python3 -I -S <archive>/lean server|agent RUN.json` (with k3s's argv[0]: see k3sd.program)."""
import sys

from k3sd.serve import serve

if sys.argv[1:2] in (["server"], ["agent"]):
    sys.exit(serve(sys.argv[2]))
