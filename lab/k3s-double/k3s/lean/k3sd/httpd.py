"""The HTTPS server on :6443 (one thread per connection, keep-alive)."""
import os
import ssl
import threading

from k3sd.log import logmsg
from k3sd.views import status_json


REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 500: "Internal Server Error", 503: "Service Unavailable"}


def serve_conn(api, ctx, raw, addr):
    try:
        raw.settimeout(30)
        conn = ctx.wrap_socket(raw, server_side=True)
    except (OSError, ssl.SSLError):
        raw.close()
        return
    peer_cn = None
    try:
        cert = conn.getpeercert()
        if cert:
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        peer_cn = v
    except (OSError, ValueError):
        pass
    f = conn.makefile("rb")
    try:
        while True:
            line = f.readline(65536)
            if not line:
                break
            parts = line.decode("latin-1").split()
            if len(parts) < 2:
                break
            method, path = parts[0], parts[1]
            headers = {}
            while True:
                h = f.readline(65536).decode("latin-1")
                if h in ("\r\n", "\n", ""):
                    break
                k, _, v = h.partition(":")
                headers[k.strip().lower()] = v.strip()
            body = b""
            if "content-length" in headers:
                body = f.read(int(headers["content-length"]))
            elif headers.get("transfer-encoding") == "chunked":
                while True:
                    n = int(f.readline().strip(), 16)
                    if n == 0:
                        f.readline()
                        break
                    body += f.read(n)
                    f.readline()
            try:
                status, ctype, data = api.handle(method, path, headers, body, peer_cn)
            except Exception as e:  # noqa: a bug must not kill the server
                logmsg("error", f"handler error for {method} {path}: {type(e).__name__}: {e}")
                status, ctype, data = 500, "application/json", status_json(500, "InternalError", str(e))
            if api.run.get("debug"):
                logmsg("debug", f"{method} {path} {status} ({peer_cn or 'anonymous'})")
            close = headers.get("connection", "").lower() == "close"
            resp = (f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}\r\nContent-Type: {ctype}\r\n"
                    f"Content-Length: {len(data)}\r\nAudit-Id: {os.urandom(8).hex()}\r\n"
                    f"Cache-Control: no-cache, private\r\n{'Connection: close' + chr(13) + chr(10) if close else ''}\r\n")
            conn.sendall(resp.encode() + data)
            if close:
                break
    except (OSError, ssl.SSLError, ValueError):
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


def accept_loop(ls, api, ctx):
    while True:
        try:
            c, a = ls.accept()
        except OSError:
            continue
        threading.Thread(target=serve_conn, args=(api, ctx, c, a), daemon=True).start()
