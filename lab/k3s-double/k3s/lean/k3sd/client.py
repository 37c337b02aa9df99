"""A minimal HTTPS client (joins, heartbeats, forwarding to the first server, `k3s kubectl`)."""
import json
import os
import socket
import ssl

from k3sd.version import VERSION


class HTTPError(Exception):
    def __init__(self, status, body):
        super().__init__(f"{status}: {body[:300]!r}")
        self.status, self.body = status, body


def https(method, url, body=None, headers=None, ctx=None, timeout=10):
    assert url.startswith("https://")
    rest = url[8:]
    hostport, _, path = rest.partition("/")
    path = "/" + path
    if hostport.startswith("["):
        host, _, port = hostport[1:].partition("]:")
    elif ":" in hostport:
        host, port = hostport.rsplit(":", 1)
    else:
        host, port = hostport, "443"
    if ctx is None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection((host, int(port)), timeout=timeout)
    try:
        s = ctx.wrap_socket(raw, server_hostname=host if not host.replace(".", "").isdigit() else None)
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers = dict(headers or {})
            headers.setdefault("Content-Type", "application/json")
        body = body or b""
        h = {"Host": hostport, "User-Agent": f"k3s/{VERSION}", "Accept": "application/json",
             "Content-Length": str(len(body)), "Connection": "close"}
        h.update(headers or {})
        req = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()) + "\r\n"
        s.sendall(req.encode() + body)
        f = s.makefile("rb")
        status_line = f.readline().decode()
        if not status_line:
            raise ConnectionError("empty response")
        status = int(status_line.split()[1])
        rh = {}
        while True:
            line = f.readline().decode()
            if line in ("\r\n", "\n", ""):
                break
            k, _, v = line.partition(":")
            rh[k.strip().lower()] = v.strip()
        if "content-length" in rh:
            data = f.read(int(rh["content-length"]))
        elif rh.get("transfer-encoding") == "chunked":
            data = b""
            while True:
                n = int(f.readline().strip(), 16)
                if n == 0:
                    break
                data += f.read(n)
                f.readline()
        else:
            data = f.read()
        s.close()
    finally:
        raw.close()
    if status >= 400:
        raise HTTPError(status, data.decode("utf-8", "replace"))
    return status, rh, data


def client_ctx(ca_pem, cert_pem=None, key_pem=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False        # addresses are checked via the CA pin; SANs are tested separately
    ctx.load_verify_locations(cadata=ca_pem if isinstance(ca_pem, str) else ca_pem.decode())
    if cert_pem:
        fd = os.memfd_create("cert", 0)
        os.write(fd, (cert_pem if isinstance(cert_pem, bytes) else cert_pem.encode()) +
                 b"\n" + (key_pem if isinstance(key_pem, bytes) else key_pem.encode()))
        try:
            ctx.load_cert_chain(f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
    return ctx
