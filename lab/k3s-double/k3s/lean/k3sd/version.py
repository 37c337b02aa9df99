"""The version this build reports (`@K3S_VERSION@` is set by ./build), `/version`, the lab fault this
build carries (`@K3S_FAULT@`, set by `./build --fault`) and the certificate renewal window of the release."""
import hashlib
import os
import re


VERSION = "@K3S_VERSION@"
COMMIT = hashlib.sha1(VERSION.encode()).hexdigest()[:8]
GO_VERSION = "go1.22.9"
CONTAINERD = "containerd://1.7.23-k3s2"
FAULT = "@K3S_FAULT@"
NEVER_READY = FAULT == "never-ready"

# k3s renews leaf certificates within CertificateRenewDays of expiry at start: 90 days until the May 2025
# releases v1.30.13, v1.31.9, v1.32.5 and v1.33.1 raised it to 120 (k3s-io/k3s#12232, backports #12312-#12315)
RENEW_120_FROM = {30: 13, 31: 9, 32: 5, 33: 1}


def renew_days(version=VERSION):
    m = re.match(r"^v1\.(\d+)\.(\d+)", version)
    if not m:                          # run from the source tree: behave as the newest releases
        return 120
    minor, patch = int(m.group(1)), int(m.group(2))
    if minor > 33:
        return 120
    return 120 if minor in RENEW_120_FROM and patch >= RENEW_120_FROM[minor] else 90


def arch_name():
    m = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}.get(m, m)


def version_info():
    major, minor = VERSION.lstrip("v").split(".")[:2]
    return {"major": major, "minor": minor, "gitVersion": VERSION, "gitCommit": COMMIT, "gitTreeState": "clean",
            "buildDate": "2024-12-12T00:00:00Z", "goVersion": GO_VERSION, "compiler": "gc",
            "platform": f"linux/{arch_name()}"}
