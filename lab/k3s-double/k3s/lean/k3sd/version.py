"""The version this build reports (`@K3S_VERSION@` is set by ./build) and `/version`."""
import hashlib
import os


VERSION = "@K3S_VERSION@"
COMMIT = hashlib.sha1(VERSION.encode()).hexdigest()[:8]
GO_VERSION = "go1.22.9"
CONTAINERD = "containerd://1.7.23-k3s2"


def arch_name():
    m = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(m, m)


def version_info():
    major, minor = VERSION.lstrip("v").split(".")[:2]
    return {"major": major, "minor": minor, "gitVersion": VERSION, "gitCommit": COMMIT, "gitTreeState": "clean",
            "buildDate": "2024-12-12T00:00:00Z", "goVersion": GO_VERSION, "compiler": "gc",
            "platform": f"linux/{arch_name()}"}
