"""The HTTPS server on :6443 (one thread per connection, keep-alive)."""
import os
import ssl
import threading
import time

from k3sd.log import logmsg, now_rfc3339
from k3sd.views import status_json


X509_V_FLAG_NO_CHECK_TIME = 0x200000    # OpenSSL's; Python's ssl has no name for it
REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           405: "Method Not Allowed", 409: "Conflict", 410: "Gone", 422: "Unprocessable Entity",
           500: "Internal Server Error", 503: "Service Unavailable"}


def serve_conn(api, ctx, raw, addr):
    try:
        raw.settimeout(30)
        conn = ctx.wrap_socket(raw, server_side=True)
    except (OSError, ssl.SSLError):
        raw.close()
        return
    peer_cn, cert_error = None, None
    try:
        cert = conn.getpeercert()
        if cert:
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        peer_cn = v
            cert_error = validity_error(cert)
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
                status, ctype, data = api.handle(method, path, headers, body, peer_cn, cert_error, addr[0])
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


def validity_error(cert):
    """The handshake leaves dates to us (see server_context): Go's x509 error for a client certificate
    outside its validity, which the API server refuses as it does (401)."""
    now = time.time()
    nb, na = ssl.cert_time_to_seconds(cert["notBefore"]), ssl.cert_time_to_seconds(cert["notAfter"])
    if nb <= now <= na:
        return None
    rel, when = ("after", na) if now > na else ("before", nb)
    return (f"x509: certificate has expired or is not yet valid: current time {now_rfc3339(now)} is {rel} "
            f"{now_rfc3339(when)}")


def server_context(P):
    """TLS for :6443 from the certificate files (read again on SIGHUP). Client certificates are verified
    against the CA, but not their dates: like kube-apiserver, an expired one completes the handshake and is
    then refused with 401, not with a TLS alert."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(P.serving, P.serving_key)
    ctx.load_verify_locations(P.ca)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.verify_flags |= X509_V_FLAG_NO_CHECK_TIME
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def accept_loop(ls, api):
    while True:
        try:
            c, a = ls.accept()
        except OSError:
            continue
        threading.Thread(target=serve_conn, args=(api, api.tls, c, a), daemon=True).start()
