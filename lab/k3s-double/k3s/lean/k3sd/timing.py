"""The lab's timing knobs (K3S_DOUBLE_*_SECONDS), short in tests."""
import os


LEARNER_SECONDS = float(os.environ.get("K3S_DOUBLE_LEARNER_SECONDS", "5"))
NOTREADY_SECONDS = float(os.environ.get("K3S_DOUBLE_NOTREADY_SECONDS", "15"))
HEARTBEAT_SECONDS = float(os.environ.get("K3S_DOUBLE_HEARTBEAT_SECONDS", "3"))
MANIFEST_POLL_SECONDS = float(os.environ.get("K3S_DOUBLE_MANIFEST_POLL_SECONDS", "5"))
SA_DELAY_SECONDS = float(os.environ.get("K3S_DOUBLE_SA_DELAY_SECONDS", "1"))
