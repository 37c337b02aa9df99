"""Private registries: registries.yaml, read once at start (k3s's agent/containerd setup), rendered
into containerd's per-registry hosts.toml files as k3s does. A change takes effect only at the next
start; a file that is not registries.yaml's shape stops k3s, as real k3s refuses it."""
import os
import shutil

from k3sd.log import fatal, logmsg

DEFAULT_FILE = "/etc/rancher/k3s/registries.yaml"
MIRROR_KEYS = {"endpoint", "rewrite"}
CONFIG_KEYS = {"auth", "tls"}
DOCKER_HUB = "https://registry-1.docker.io"


def load_registries(cfg, data_dir):
    """Reads registries.yaml (the private-registry flag, else the default path) and writes
    agent/etc/containerd/certs.d/<registry>/hosts.toml; returns the mirrored registries."""
    import yaml
    path = cfg.get("private-registry") or DEFAULT_FILE
    certs = os.path.join(data_dir, "agent", "etc", "containerd", "certs.d")
    shutil.rmtree(certs, ignore_errors=True)
    if not os.path.exists(path):
        return None
    try:
        with open(path) as fh:
            doc = yaml.safe_load(fh) or {}
    except (OSError, yaml.YAMLError) as e:
        fatal(f"failed to validate private registry configuration: {path}: {e}")
    if not isinstance(doc, dict) or set(doc) - {"mirrors", "configs"}:
        fatal(f"failed to validate private registry configuration: {path}: unknown fields {sorted(set(doc) - {'mirrors', 'configs'}) if isinstance(doc, dict) else doc!r}")
    mirrors = doc.get("mirrors") or {}
    configs = doc.get("configs") or {}
    for section, allowed in ((mirrors, MIRROR_KEYS), (configs, CONFIG_KEYS)):
        for name, body in section.items():
            if not isinstance(body, dict) or set(body) - allowed:
                fatal(f"failed to validate private registry configuration: {path}: registry {name}: unexpected fields")
    logmsg("info", f"Using private registry config file at {path}")
    for name, body in mirrors.items():
        folder = os.path.join(certs, "_default" if name == "*" else name)
        os.makedirs(folder, exist_ok=True)
        server = DOCKER_HUB if name == "docker.io" else f"https://{name}"
        lines = [f'server = "{server}"', ""]
        for endpoint in body.get("endpoint") or []:
            lines.append(f'[host."{endpoint}"]')
            lines.append('  capabilities = ["pull", "resolve"]')
            auth = (configs.get(endpoint.split("://", 1)[-1].rstrip("/")) or {}).get("auth")
            if auth:
                lines.append("  # auth configured")
            for pattern, replacement in (body.get("rewrite") or {}).items():
                lines.append(f'  [host."{endpoint}".rewrite]')
                lines.append(f'    "{pattern}" = "{replacement}"')
            lines.append("")
        with open(os.path.join(folder, "hosts.toml"), "w") as fh:
            fh.write("\n".join(lines))
    return sorted(mirrors)
