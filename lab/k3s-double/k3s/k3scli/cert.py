"""`k3s certificate check|rotate`, as k3s's pkg/cli/cert: the files of each service (pkg/util/services),
checked against the renewal window, or backed up and removed so that the next start signs new ones
(rotate does not look at whether k3s runs: a running server keeps serving its certificates until restart)."""
import datetime
import json
import os
import shutil
import time

from k3scli.certs import utcnow
from k3scli.config import CONFIG_FILE, resolve_data_dir, subcommand_config
from k3sd.log import fatal, logmsg
from k3sd.version import renew_days

FLAGS = {"debug": ("b", "debug"), "config": ("s", "config"), "c": ("s", "config"), "data-dir": ("s", "data-dir"),
         "d": ("s", "data-dir"), "service": ("l", "service"), "s": ("l", "service"), "output": ("s", "output"),
         "o": ("s", "output")}
SERVER = ["api-server", "admin", "auth-proxy", "cloud-controller", "controller-manager", "etcd", "scheduler",
          "supervisor", "k3s-server"]
AGENT = ["kube-proxy", "kubelet", "k3s-controller"]
TLS = {  # service → its files, relative to the server's tls dir ("agent/" for the agent's)
    "admin": ["client-admin.crt", "client-admin.key"],
    "api-server": ["client-kube-apiserver.crt", "client-kube-apiserver.key", "serving-kube-apiserver.crt",
                   "serving-kube-apiserver.key"],
    "controller-manager": ["client-controller.crt", "client-controller.key"],
    "scheduler": ["client-scheduler.crt", "client-scheduler.key"],
    "etcd": ["etcd/client.crt", "etcd/client.key", "etcd/server-client.crt", "etcd/server-client.key",
             "etcd/peer-server-client.crt", "etcd/peer-server-client.key"],
    "cloud-controller": ["client-k3s-cloud-controller.crt", "client-k3s-cloud-controller.key"],
    "k3s-controller": ["client-k3s-controller.crt", "client-k3s-controller.key", "agent/client-k3s-controller.crt",
                       "agent/client-k3s-controller.key"],
    "supervisor": ["client-supervisor.crt", "client-supervisor.key"],
    "auth-proxy": ["client-auth-proxy.crt", "client-auth-proxy.key"],
    "kubelet": ["client-kubelet.key", "serving-kubelet.key", "agent/client-kubelet.crt", "agent/client-kubelet.key",
                "agent/serving-kubelet.crt", "agent/serving-kubelet.key"],
    "kube-proxy": ["client-kube-proxy.crt", "client-kube-proxy.key", "agent/client-kube-proxy.crt",
                   "agent/client-kube-proxy.key"],
    "k3s-server": [],            # the listener's certificate: rotate leaves a trigger file instead
}


def parse(args):
    opts, i = {}, 0
    while i < len(args):
        name, eq, val = args[i].lstrip("-").partition("=")
        i += 1
        if not args[i - 1].startswith("-") or name not in FLAGS:
            fatal(f"flag provided but not defined: -{name}")
        kind, canon = FLAGS[name]
        if not eq and kind != "b":
            if i >= len(args):
                fatal(f"flag needs an argument: -{name}")
            val, i = args[i], i + 1
        if kind == "l":
            opts.setdefault(canon, []).extend(x for x in val.split(",") if x)
        else:
            opts[canon] = True if kind == "b" else val
    return opts


def files_for(data, services):
    tls, agent = os.path.join(data, "server", "tls"), os.path.join(data, "agent")
    return {s: [os.path.join(agent, f[6:]) if f.startswith("agent/") else os.path.join(tls, f) for f in TLS[s]]
            for s in services}


def certs_in(path):
    """Every certificate in a PEM file (a leaf and its CA, as k3s writes them); none for a key file."""
    from cryptography import x509
    try:
        with open(path, "rb") as f:
            blocks = f.read().split(b"-----END CERTIFICATE-----")
    except OSError:
        return []
    return [x509.load_pem_x509_certificate(b + b"-----END CERTIFICATE-----\n")
            for b in blocks if b"-----BEGIN CERTIFICATE-----" in b]


def common_name(name):
    from cryptography.x509.oid import NameOID
    cn = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return cn[0].value if cn else ""


def usages(cert):
    from cryptography import x509
    out = []
    try:
        if cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign:
            out.append("CertSign")
    except x509.ExtensionNotFound:
        pass
    try:
        for eku in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value:
            out.append({"1.3.6.1.5.5.7.3.1": "ServerAuth", "1.3.6.1.5.5.7.3.2": "ClientAuth"}.get(eku.dotted_string, ""))
    except x509.ExtensionNotFound:
        pass
    return [u for u in out if u] or ["Unknown"]


def rel_time(seconds):
    """go-humanize's RelTime(now, now+d, "", ""), as `certificate check -o table` prints RESIDUAL TIME."""
    day, month = 86400, 30 * 86400
    d = abs(seconds)
    for limit, fmt, div in ((1, "now", 1), (2, "1 second ", 1), (60, "{} seconds ", 1), (120, "1 minute ", 1),
                            (3600, "{} minutes ", 60), (7200, "1 hour ", 1), (day, "{} hours ", 3600),
                            (2 * day, "1 day ", 1), (7 * day, "{} days ", day), (14 * day, "1 week ", 1),
                            (month, "{} weeks ", 7 * day), (2 * month, "1 month ", 1), (12 * month, "{} months ", month),
                            (18 * month, "1 year ", 1), (24 * month, "2 years ", 1), (37 * 12 * month, "{} years ", 12 * month)):
        if d < limit:
            return fmt.format(int(d // div))
    return "a long while "


def nanoseconds(td):
    """A time.Duration as Go's JSON has it."""
    return (td.days * 86400 + td.seconds) * 10**9 + td.microseconds * 1000


def cmd_certificate(args):
    if not args or args[0] not in ("check", "rotate"):
        fatal(f"No help topic for '{args[0]}'" if args else "certificate: check or rotate")
    sub, opts = args[0], parse(args[1:])
    conf = subcommand_config(opts.get("config") or os.environ.get("K3S_CONFIG_FILE") or CONFIG_FILE, FLAGS)
    conf.update(opts)
    data = resolve_data_dir(conf.get("data-dir"))
    services = conf.get("service") or []
    for s in services:
        if s not in TLS:
            fatal(f"service {s} is not recognized")
    verb = "checking" if sub == "check" else "rotating"
    if not services:
        # a server has a server data dir; an agent only its agent dir
        if os.path.isdir(os.path.join(data, "server")):
            logmsg("info", f"Server detected, {verb} agent and server certificates")
            services = SERVER + AGENT
        else:
            logmsg("info", f"Agent detected, {verb} agent certificates")
            services = AGENT
    if sub == "check":
        return check(files_for(data, services), conf.get("output", "text"))
    return rotate(data, services, files_for(data, services))


def check(files, fmt):
    if fmt not in ("text", "table", "json"):
        fatal(f"invalid output format {fmt}")
    now, window = utcnow(), renew_days()
    rows = []
    for paths in files.values():
        for p in paths:
            for c in certs_in(p):
                status = ("NOT YET VALID" if now < c.not_valid_before else "EXPIRED" if now > c.not_valid_after
                          else "WARNING" if now + datetime.timedelta(days=window) > c.not_valid_after else "OK")
                rows.append({"Filename": os.path.basename(p), "Subject": common_name(c.subject),
                             "Issuer": common_name(c.issuer),
                             "Usages": usages(c),
                             "ExpiryTime": (c.not_valid_before if status == "NOT YET VALID" else c.not_valid_after),
                             "ResidualTime": c.not_valid_after - now, "Status": status})
    if fmt == "json":
        print(json.dumps({"Certificates": [dict(r, ExpiryTime=r["ExpiryTime"].strftime("%Y-%m-%dT%H:%M:%SZ"),
                                                ResidualTime=nanoseconds(r["ResidualTime"])) for r in rows]},
                         separators=(",", ":")))
        return 0
    if fmt == "table":
        table = [["FILENAME", "SUBJECT", "USAGES", "EXPIRES", "RESIDUAL TIME", "STATUS"],
                 ["--------", "-------", "------", "-------", "-------------", "------"]]
        table += [[r["Filename"], r["Subject"], ",".join(r["Usages"]), r["ExpiryTime"].strftime("%b %d, %Y %H:%M UTC"),
                   rel_time(r["ResidualTime"].total_seconds()), r["Status"]] for r in rows]
        widths = [max(len(t[i]) for t in table) + 3 for i in range(5)]     # Go's tabwriter, padding 3
        print()
        for t in table:
            print("".join(t[i].ljust(widths[i]) for i in range(5)) + t[5])
        return 0
    for r in rows:
        head = f"{r['Filename']}: certificate {r['Subject']} ({','.join(r['Usages'])})"
        at = r["ExpiryTime"].strftime("%Y-%m-%dT%H:%M:%SZ")
        if r["Status"] == "NOT YET VALID":
            logmsg("error", f"{head} is not valid before {at}")
        elif r["Status"] == "EXPIRED":
            logmsg("error", f"{head} expired at {at}")
        elif r["Status"] == "WARNING":
            logmsg("warning", f"{head} will expire within {window} days at {at}")
        else:
            logmsg("info", f"{head} is ok, expires at {at}")
    return 0


def rotate(data, services, files):
    server_dir, agent_dir = os.path.join(data, "server"), os.path.join(data, "agent")
    name = f"tls-{int(time.time())}"
    backup = os.path.join(agent_dir, name)
    if os.path.isdir(os.path.join(server_dir, "tls")):
        backup = os.path.join(server_dir, name)
        # a second rotate within the same second merges into the same backup, as k3s's copy does
        shutil.copytree(os.path.join(server_dir, "tls"), backup, dirs_exist_ok=True)
    os.makedirs(backup, exist_ok=True)
    for paths in files.values():
        for p in paths:
            if p.startswith(agent_dir + "/") and os.path.exists(p):
                shutil.copy2(p, os.path.join(backup, os.path.basename(p)))
    if "k3s-server" in services:
        fd = os.open(os.path.join(server_dir, "tls", "dynamic-cert-regenerate"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)
        logmsg("info", "Rotating dynamic listener certificate")
    for s, paths in files.items():
        if s == "k3s-server":
            continue
        logmsg("info", f"Rotating certificates for {s}")
        for p in paths:
            if os.path.exists(p):
                os.unlink(p)
    logmsg("info", f"Successfully backed up certificates to {backup}, please restart k3s server or agent to rotate certificates")
    return 0
