"""The cluster CA, the leaf certificates it signs (EC P-256), and k3s's renewal rule for them.

As k3s (pkg/daemons/control/deps/deps.go, dynamiclistener's cert.NewSignedCert): a leaf lasts 365 days
from its signing, its notBefore is the CA's, and a start re-signs a leaf that is expired or within the
renewal window of its end (version.renew_days), whose subject or SANs no longer cover what is wanted,
or that another CA signed; the leaf's key is kept. Each signature is logged like k3s's."""
import datetime
import ipaddress
import os
import time

from k3sd.files import read_file, write_file
from k3sd.log import logmsg

LEAF_DAYS = 365


def utcnow():
    """Naive UTC, the form this cryptography (Debian 12's 38) gives and takes certificate times in."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _x509():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    return x509, hashes, serialization, ec, ExtendedKeyUsageOID, NameOID


def key_pem(key):
    _, _, serialization, _, _, _ = _x509()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def gen_ca():
    x509, hashes, serialization, ec, _, NameOID = _x509()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"k3s-server-ca@{int(time.time())}")])
    nb = utcnow() - datetime.timedelta(minutes=5)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(nb)
            .not_valid_after(nb + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM), key_pem(key)


def go_name(name):
    """pkix.Name.String() order: the most specific attribute first (CN=...,O=...)."""
    return ",".join(f"{a.rfc4514_attribute_name}={a.value}" for a in reversed(list(name)))


def go_time(t):
    return t.strftime("%Y-%m-%d %H:%M:%S +0000 UTC")


def split_ips(names):
    dns, ips = [], []
    for n in dict.fromkeys(names):
        try:
            ips.append(ipaddress.ip_address(n))
        except ValueError:
            dns.append(n)
    return dns, ips


def sign(ca_pem, ca_key_pem, public_key, cn, orgs=(), sans=(), server=False, client=False,
         not_before=None, not_after=None):
    """A leaf for public_key; the PEM returned is the leaf followed by the CA, as k3s writes it."""
    x509, hashes, serialization, _, EKU, NameOID = _x509()
    ca = x509.load_pem_x509_certificate(ca_pem)
    ca_key = serialization.load_pem_private_key(ca_key_pem, None)
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    nb = not_before or ca.not_valid_before
    na = not_after or utcnow() + datetime.timedelta(days=LEAF_DAYS)
    b = (x509.CertificateBuilder().subject_name(x509.Name(attrs)).issuer_name(ca.subject)
         .public_key(public_key).serial_number(x509.random_serial_number())
         .not_valid_before(nb).not_valid_after(na)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True)
         .add_extension(x509.ExtendedKeyUsage(([EKU.SERVER_AUTH] if server else []) + ([EKU.CLIENT_AUTH] if client else [])),
                        critical=False))
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    dns, ips = split_ips(sans)
    if dns or ips:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns] + [x509.IPAddress(i) for i in ips]),
                            critical=False)
    cert = b.sign(ca_key, hashes.SHA256())
    logmsg("info", f"certificate {go_name(cert.subject)} signed by {go_name(ca.subject)}: "
                   f"notBefore={go_time(cert.not_valid_before)} notAfter={go_time(cert.not_valid_after)}")
    return cert.public_bytes(serialization.Encoding.PEM) + ca_pem


def load_or_generate_key(path):
    """certutil.LoadOrGenerateKeyFile: the key on disk, else a new one written 0600."""
    _, _, serialization, ec, _, _ = _x509()
    pem = read_file(path)
    if pem:
        return serialization.load_pem_private_key(pem, None)
    key = ec.generate_private_key(ec.SECP256R1())
    write_file(path, key_pem(key), 0o600)
    return key


def needs_renewal(cert_pem, ca_pem, cn, orgs, sans, window_days):
    """k3s's expired() || fieldsChanged(): within the window, other subject, missing SANs, other CA."""
    x509 = _x509()[0]
    if not cert_pem:
        return True
    cert = x509.load_pem_x509_certificate(cert_pem)
    ca = x509.load_pem_x509_certificate(ca_pem)
    if cert.not_valid_after < utcnow() + datetime.timedelta(days=window_days):
        return True
    name = cert.subject
    if [a.value for a in name.get_attributes_for_oid(x509.NameOID.COMMON_NAME)] != [cn]:
        return True
    if {a.value for a in name.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)} != set(orgs):
        return True
    try:
        have = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        have_dns, have_ips = set(have.get_values_for_type(x509.DNSName)), set(have.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        have_dns, have_ips = set(), set()
    dns, ips = split_ips(sans)
    if not set(dns) <= have_dns or not set(ips) <= have_ips:
        return True
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
        ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        return aki != ski
    except x509.ExtensionNotFound:
        return cert.issuer != ca.subject


def ensure_leaf(crt, key, ca_pem, ca_key_pem, cn, orgs=(), sans=(), server=False, client=False, window_days=120,
                force=False):
    """Keeps the leaf at crt unless it must be renewed; returns whether it was (re)signed."""
    if not force and os.path.exists(key) and not needs_renewal(read_file(crt), ca_pem, cn, orgs, sans, window_days):
        return False
    k = load_or_generate_key(key)
    write_file(crt, sign(ca_pem, ca_key_pem, k.public_key(), cn, orgs, sans, server, client), 0o644)
    return True


def kubelet_spec(which, node, ips):
    """(CN, O, SANs, serverAuth, clientAuth) of a node's kubelet certificates, as k3s's supervisor signs them."""
    if which == "serving-kubelet":
        return node, (), [node, "localhost", "127.0.0.1", *ips], True, False
    return "system:node:" + node, ("system:nodes",), (), False, True


def kubelet_certs(agent_dir, node, ips, ca_pem, ca_key_pem):
    """A server's own kubelet certificates: signed anew at every start, as k3s's agents get theirs."""
    for which in ("serving-kubelet", "client-kubelet"):
        key = load_or_generate_key(os.path.join(agent_dir, which + ".key"))
        write_file(os.path.join(agent_dir, which + ".crt"),
                   sign(ca_pem, ca_key_pem, key.public_key(), *kubelet_spec(which, node, ips)), 0o600)


def sign_csr(req):
    """`k3s __sign`: the lean server's signer for an agent's kubelet certificate request (JSON in, PEM out)."""
    x509 = _x509()[0]
    csr = x509.load_pem_x509_csr(req["csr"].encode())
    return sign(req["ca"].encode(), req["ca_key"].encode(), csr.public_key(),
                *kubelet_spec(req["which"], req["node"], req["ips"]))


def csr_for(key_path):
    """A certificate request for the key at key_path (made if missing), as k3s agents send."""
    x509, hashes, serialization, _, _, _ = _x509()
    key = load_or_generate_key(key_path)
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([])).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)
