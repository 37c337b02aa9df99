"""k3s tokens: `K10<CA hash>::<user>:<secret>` or a bare secret, and the Basic auth they are sent with."""
import base64
import hashlib


def parse_token(tok):
    """K10<hash>::<user>:<password> | <password> → (cahash or None, user or None, password)."""
    if tok.startswith("K10") and "::" in tok:
        h, cred = tok[3:].split("::", 1)
        if ":" in cred:
            user, pw = cred.split(":", 1)
        else:
            user, pw = None, cred
        return h, user, pw
    return None, None, tok


def secure_token(ca_pem, user, secret):
    return f"K10{hashlib.sha256(ca_pem).hexdigest()}::{user}:{secret}"


def basic(user, pw):
    return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()
