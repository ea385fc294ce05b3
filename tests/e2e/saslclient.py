"""Client sides of SASL for the end-to-end tests, written from the RFCs (not
from Loft's code): SCRAM-SHA-1/-SHA-256 and their -PLUS variants (RFC 5802,
7677, 5056), the tls-server-end-point channel binding of a server
certificate (RFC 5929 4.1), SCRAM stored keys in Dovecot's
{SCRAM-SHA-256} format, and an `openssl s_client` session that reports the
RFC 9266 tls-exporter bytes (Python's ssl module has no exporter API).

    c = ScramClient("alice", "pw", cb_type="tls-server-end-point", cb_data=h)
    first = c.first()                       # bytes, send base64
    final = c.final(server_first)           # server_first: decoded bytes
    assert c.verify(server_final)           # "v=..." decoded

Only the Python standard library and Debian's openssl binary are used.
"""

import base64
import hashlib
import hmac
import os
import re
import selectors
import subprocess
import time

HASHES = {"SCRAM-SHA-1": "sha1", "SCRAM-SHA-256": "sha256"}


def saslname(name):
    return name.replace("=", "=3D").replace(",", "=2C")


def scram_keys(password, salt, iterations, hashname="sha256"):
    """(StoredKey, ServerKey, ClientKey) of RFC 5802 section 3."""
    salted = hashlib.pbkdf2_hmac(hashname, password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashname).digest()
    server_key = hmac.new(salted, b"Server Key", hashname).digest()
    stored_key = hashlib.new(hashname, client_key).digest()
    return stored_key, server_key, client_key


def dovecot_scram(password, hashname="sha256", iterations=4096, salt=None):
    """A stored credential as `doveadm pw -s SCRAM-SHA-256` writes it:
    {SCRAM-SHA-256}iterations,salt,StoredKey,ServerKey (base64)."""
    salt = salt or os.urandom(16)
    stored, server, _ = scram_keys(password, salt, iterations, hashname)
    scheme = "SCRAM-SHA-256" if hashname == "sha256" else "SCRAM-SHA-1"
    b64 = lambda b: base64.b64encode(b).decode()
    return "{%s}%d,%s,%s,%s" % (scheme, iterations, b64(salt), b64(stored), b64(server))


class ScramClient:
    """One SCRAM exchange. mech: SCRAM-SHA-256(-PLUS) or SCRAM-SHA-1(-PLUS).
    With cb_type the GS2 flag is p=<cb_type> and cb_data is bound; flag
    overrides the flag letter otherwise ("n" or "y")."""

    def __init__(self, user, password, mech="SCRAM-SHA-256", cb_type=None, cb_data=b"",
                 flag=None, authzid=""):
        self.hashname = HASHES[mech.replace("-PLUS", "")]
        self.password = password
        if cb_type:
            cbflag = "p=" + cb_type
        else:
            cbflag = flag or "n"
        self.gs2 = ("%s,%s," % (cbflag, ("a=" + saslname(authzid)) if authzid else "")).encode()
        self.cb_data = cb_data if cb_type else b""
        self.nonce = base64.b64encode(os.urandom(18)).decode()
        self.first_bare = ("n=%s,r=%s" % (saslname(user), self.nonce)).encode()
        self.server_signature = None

    def first(self):
        return self.gs2 + self.first_bare

    def final(self, server_first, cb_data=None):
        attrs = dict(a.split("=", 1) for a in server_first.decode().split(","))
        assert attrs["r"].startswith(self.nonce), (attrs, self.nonce)
        salt = base64.b64decode(attrs["s"])
        stored, server_key, client_key = scram_keys(self.password, salt, int(attrs["i"]),
                                                    self.hashname)
        cb = self.cb_data if cb_data is None else cb_data
        without_proof = ("c=%s,r=%s" % (base64.b64encode(self.gs2 + cb).decode(),
                                        attrs["r"])).encode()
        auth_message = self.first_bare + b"," + server_first + b"," + without_proof
        signature = hmac.new(stored, auth_message, self.hashname).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        self.server_signature = hmac.new(server_key, auth_message, self.hashname).digest()
        return without_proof + b",p=" + base64.b64encode(proof)

    def verify(self, server_final):
        return server_final == b"v=" + base64.b64encode(self.server_signature)


def cert_signature_hash(der):
    """The hash RFC 5929 4.1 uses for tls-server-end-point: that of the
    certificate's signature algorithm, SHA-256 for MD5 and SHA-1."""
    r = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-text"], input=der,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True,
                       timeout=30)
    m = re.search(rb"Signature Algorithm: (\S+)", r.stdout)
    alg = m.group(1).decode().lower()
    for name in ("sha512", "sha384", "sha256", "sha224"):
        if name in alg.replace("-", ""):
            return name
    if "sha1" in alg.replace("-", "") or "md5" in alg:
        return "sha256"
    raise AssertionError("no tls-server-end-point hash for %s" % alg)


def tls_server_end_point(sslsock):
    """RFC 5929 tls-server-end-point bytes of the server's certificate."""
    der = sslsock.getpeercert(binary_form=True)
    return hashlib.new(cert_signature_hash(der), der).digest()


class SClient:
    """`openssl s_client` to an implicit-TLS port, TLS 1.3, printing the RFC
    9266 tls-exporter bytes (label EXPORTER-Channel-Binding, 32 bytes, no
    context) before the application data. Lines are read with a deadline."""

    def __init__(self, port, ca_file, timeout=10.0):
        self.timeout = timeout
        self.proc = subprocess.Popen(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
             "-servername", "localhost", "-CAfile", ca_file, "-verify_return_error",
             "-tls1_3", "-crlf", "-ign_eof",
             "-keymatexport", "EXPORTER-Channel-Binding", "-keymatexportlen", "32"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.buf = b""
        self.exporter = None
        while True:
            line = self.readline()
            m = re.match(rb"\s*Keying material: ([0-9A-Fa-f]+)", line)
            if m:
                self.exporter = bytes.fromhex(m.group(1).decode())
            if line.startswith(b"* OK"):
                self.greeting = line
                break
        assert self.exporter is not None and len(self.exporter) == 32, self.exporter

    def readline(self):
        deadline = time.monotonic() + self.timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sel.select(left):
                raise TimeoutError("s_client: no line; got %r" % self.buf[-300:])
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                out, self.buf = self.buf, b""
                return out
            self.buf += chunk
        i = self.buf.index(b"\n") + 1
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def sendline(self, line):
        if isinstance(line, str):
            line = line.encode()
        self.proc.stdin.write(line + b"\n")   # -crlf makes it CRLF
        self.proc.stdin.flush()

    def read_until_tag(self, tag):
        lines = []
        while True:
            line = self.readline()
            if not line:
                raise EOFError("s_client closed before %r: %r" % (tag, lines))
            lines.append(line)
            if line.startswith(tag.encode() + b" ") or line.startswith(b"+"):
                return lines

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.kill()
        self.proc.wait()
        self.sel.close()
