"""The kubeconfig-based API client of `k3s kubectl` and `k3s token`, and kubectl's way of failing."""
import base64
import json
import ssl
import sys

from k3sd.client import HTTPError, client_ctx, https


class Kube:
    def __init__(self, kubeconfig):
        import yaml
        try:
            with open(kubeconfig) as f:
                kc = yaml.safe_load(f)
        except PermissionError:
            die(f'error: error loading config file "{kubeconfig}": open {kubeconfig}: permission denied')
        except FileNotFoundError:
            die("The connection to the server localhost:8080 was refused - did you specify the right host or port?")
        ctxname = kc.get("current-context")
        ctxs = {c["name"]: c["context"] for c in kc.get("contexts", [])}
        c = ctxs.get(ctxname)
        if c is None:
            die(f'error: current-context "{ctxname}" not found in {kubeconfig}')
        cl = {x["name"]: x["cluster"] for x in kc.get("clusters", [])}[c["cluster"]]
        us = {x["name"]: x["user"] for x in kc.get("users", [])}[c["user"]]
        self.server = cl["server"].rstrip("/")
        ca = base64.b64decode(cl["certificate-authority-data"])
        self.ctx = client_ctx(ca, base64.b64decode(us["client-certificate-data"]), base64.b64decode(us["client-key-data"]))

    def req(self, method, path, body=None, accept="application/json", content_type=None):
        h = {"Accept": accept, **({"Content-Type": content_type} if content_type else {})}
        try:
            return https(method, self.server + path, body, h, ctx=self.ctx, timeout=30)[2]
        except HTTPError as e:
            try:
                msg = json.loads(e.body).get("message", e.body)
            except ValueError:
                msg = e.body
            raise KubeError(e.status, msg)
        except ssl.SSLCertVerificationError as e:
            raise KubeError(0, f"Unable to connect to the server: tls: failed to verify certificate: x509: {e.verify_message}")
        except OSError:
            hp = self.server[8:]
            raise KubeError(0, f"The connection to the server {hp} was refused - did you specify the right host or port?")


class KubeError(Exception):
    def __init__(self, status, msg):
        super().__init__(msg)
        self.status, self.msg = status, msg


def die(msg, code=1):
    sys.stderr.write(msg.rstrip("\n") + "\n")
    sys.exit(code)
