#!/usr/bin/env python3
"""Connections per second to one store's API: each connection is a full TLS handshake with the
store's CA and client certificate, one GET /version, and close — directly, or through a SOCKS5
proxy (edgeup proxy) by name, as kubectl does.

  connections.py CONTEXT [--proxy HOST:PORT] [-n 300] [-c 10]

Reads the context's server, proxy-url, tls-server-name and credentials from `kubectl config view
--raw`. Prints one line: connections, concurrency, wall, connections/s, latency median and p90."""
import argparse, base64, json, os, socket, ssl, statistics, struct, subprocess, tempfile, threading, time
from urllib.parse import urlparse


def load(context):
    cfg = json.loads(subprocess.run(["kubectl", "config", "view", "--raw", "-o", "json"], check=True,
                                    capture_output=True, text=True).stdout)
    ctx = next(c["context"] for c in cfg["contexts"] if c["name"] == context)
    cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
    user = next(u["user"] for u in cfg["users"] if u["name"] == ctx["user"])
    return cluster, user


def socks_connect(proxy, host, port):
    s = socket.create_connection(proxy)
    s.sendall(b"\x05\x01\x00")
    assert s.recv(2) == b"\x05\x00", "proxy refused the greeting"
    name = host.encode()
    s.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + struct.pack(">H", port))
    reply = b""
    while len(reply) < 10:
        chunk = s.recv(10 - len(reply))
        if not chunk:
            raise OSError("proxy closed")
        reply += chunk
    if reply[1] != 0:
        raise OSError(f"proxy reply {reply[1]}")
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("context")
    ap.add_argument("-n", type=int, default=300)
    ap.add_argument("-c", type=int, default=10)
    args = ap.parse_args()
    cluster, user = load(args.context)
    url = urlparse(cluster["server"])
    proxy = urlparse(cluster["proxy-url"]) if cluster.get("proxy-url") else None
    server_name = cluster.get("tls-server-name") or url.hostname
    folder = tempfile.mkdtemp()
    paths = {}
    for key, field in [("ca", cluster["certificate-authority-data"]), ("cert", user["client-certificate-data"]),
                       ("key", user["client-key-data"])]:
        paths[key] = os.path.join(folder, key)
        with open(paths[key], "wb") as f:
            f.write(base64.b64decode(field))
    tls = ssl.create_default_context(cafile=paths["ca"])
    tls.load_cert_chain(paths["cert"], paths["key"])
    for p in paths.values():
        os.unlink(p)
    os.rmdir(folder)

    latencies, failures, lock = [], [], threading.Lock()
    counter = iter(range(args.n))

    def worker():
        while True:
            with lock:
                if next(counter, None) is None:
                    return
            start = time.monotonic()
            try:
                raw = socks_connect((proxy.hostname, proxy.port), url.hostname, url.port) if proxy \
                    else socket.create_connection((url.hostname, url.port))
                with tls.wrap_socket(raw, server_hostname=server_name) as s:
                    s.sendall(f"GET /version HTTP/1.1\r\nHost: {url.hostname}\r\nConnection: close\r\n\r\n".encode())
                    body = b""
                    while chunk := s.recv(65536):
                        body += chunk
                    if b" 200 " not in body.split(b"\r\n", 1)[0]:
                        raise OSError(body.split(b"\r\n", 1)[0].decode())
                with lock:
                    latencies.append(time.monotonic() - start)
            except Exception as e:  # counted and reported, never hidden
                with lock:
                    failures.append(str(e))

    began = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(args.c)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - began
    lat = sorted(latencies)
    p90 = lat[int(len(lat) * 0.9) - 1] if lat else float("nan")
    print(f"{args.context:<24} {'socks5' if proxy else 'plain':<7} {len(lat):>5} ok {len(failures):>3} failed  "
          f"c={args.c:<3} {wall:6.2f} s  {len(lat) / wall:7.1f} conn/s  "
          f"median {statistics.median(lat) * 1000 if lat else float('nan'):6.1f} ms  p90 {p90 * 1000:6.1f} ms")
    if failures:
        print("  first failure:", failures[0])


if __name__ == "__main__":
    main()
