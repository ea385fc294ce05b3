"""Start Loft and Debian's Dovecot side by side on loopback for benchmarks.

Each peer runs from its own temporary directory on free ports and is
stopped by the context manager. Benchmarks import this module; it is not a
test. Needs root (Dovecot drops privileges to the bench user it creates).
"""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time

BENCH_USER = "loftbench"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=15.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open")


KEY_TYPES = {
    "ecdsa-p256": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "rsa2048": ["-newkey", "rsa:2048"],
}


def make_cert(d, kind="ecdsa-p256"):
    """A self-signed certificate for localhost with a key of `kind` (see
    KEY_TYPES). Returns (cert, key) paths; pass them to both servers so a
    comparison uses the same certificate."""
    os.makedirs(d, exist_ok=True)
    cert, key = os.path.join(d, f"cert-{kind}.pem"), os.path.join(d, f"key-{kind}.pem")
    subprocess.run(["openssl", "req", "-x509", *KEY_TYPES[kind], "-nodes", "-days", "30",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


def ensure_bench_user():
    try:
        return pwd.getpwnam(BENCH_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", BENCH_USER], check=True)
        return pwd.getpwnam(BENCH_USER)


class Peer:
    """A running server: .name, .pids() (all its processes), .ports."""

    def __init__(self, name, proc, ports, log):
        self.name, self.proc, self.ports, self.log = name, proc, ports, log

    def pids(self):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
                             capture_output=True, text=True).stdout.split()
        return [self.proc.pid] + [int(p) for p in out]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_loft(loft_bin, d, workers=1, users=(("bench", "secret"),), cert=None, hashes=None):
    """cert: (cert, key) paths; default a new ECDSA P-256 certificate.
    hashes: {user: "{SCHEME}..."} stored as given (users then only names
    the passwords for the callers); without it `loft user add` hashes each
    password with Loft's default scheme."""
    os.makedirs(d, exist_ok=True)
    cert, key = cert or make_cert(d)
    ports = {n: free_port() for n in ("imap", "imaps", "pop3", "pop3s", "lmtp")}
    conf = os.path.join(d, "loft.conf")
    with open(conf, "w") as f:
        f.write(f"""[server]
hostname = localhost
workers = {workers}
state_dir = {d}
mail_dir = {d}/mail
users_file = {d}/users
local_domains = localhost
plaintext_auth = always
[tls]
cert_file = {cert}
key_file = {key}
[limits]
max_connections = 200000
max_connections_per_ip = 200000
preauth_timeout = 10m
[log]
level = warn
""")
        for name, tls in (("imap", "starttls"), ("imaps", "implicit"),
                          ("pop3", "starttls"), ("pop3s", "implicit"),
                          ("lmtp", "none")):
            proto = name.rstrip("s") if name != "imaps" else "imap"
            proto = {"imap": "imap", "pop3": "pop3", "lmtp": "lmtp"}[proto]
            f.write(f"[listener {name}]\nprotocol = {proto}\naddress = 127.0.0.1\n"
                    f"port = {ports[name]}\ntls = {tls}\n")
    if hashes:
        with open(os.path.join(d, "users"), "w") as f:
            for user, _pw in users:
                f.write(f"{user}:{hashes[user]}\n")
    else:
        for user, pw in users:
            subprocess.run([loft_bin, "-c", conf, "user", "add", user, "--password", pw],
                           check=False, capture_output=True)
    log = open(os.path.join(d, "loft.log"), "wb")
    proc = subprocess.Popen([loft_bin, "-c", conf, "serve"], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=log)
    for p in ports.values():
        wait_port(p)
    return Peer("loft", proc, ports, log)


def start_dovecot(d, users=(("bench", "secret"),), cert=None, hashes=None, extra=""):
    """Dovecot in its documented high-performance login mode
    (service_count = 0, one login process per core). cert: (cert, key)
    paths; default a new ECDSA P-256 certificate. hashes: {user:
    "{SCHEME}..."} in its passwd-file instead of {PLAIN} passwords. extra:
    more configuration text, appended."""
    bu = ensure_bench_user()
    os.makedirs(d, exist_ok=True)
    cert, key = cert or make_cert(d)
    for sub in ("run", "state", "mail"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    shutil.chown(os.path.join(d, "mail"), bu.pw_uid, bu.pw_gid)
    os.chmod(d, 0o755)
    with open(os.path.join(d, "users"), "w") as f:
        for user, pw in users:
            stored = hashes[user] if hashes else "{PLAIN}" + pw
            f.write(f"{user}:{stored}:{bu.pw_uid}:{bu.pw_gid}::{d}/mail/{user}::\n")
    ports = {n: free_port() for n in ("imap", "imaps", "pop3", "pop3s", "lmtp")}
    ncpu = os.cpu_count() or 1
    conf = os.path.join(d, "dovecot.conf")
    with open(conf, "w") as f:
        f.write(f"""base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap pop3 lmtp
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = {bu.pw_uid}
passdb {{
  driver = passwd-file
  args = {d}/users
}}
userdb {{
  driver = passwd-file
  args = {d}/users
}}
service imap-login {{
  inet_listener imap {{
    port = {ports['imap']}
  }}
  inet_listener imaps {{
    port = {ports['imaps']}
    ssl = yes
  }}
  service_count = 0
  process_min_avail = {ncpu}
  vsz_limit = 1G
  client_limit = 100000
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {ports['pop3']}
  }}
  inet_listener pop3s {{
    port = {ports['pop3s']}
    ssl = yes
  }}
  service_count = 0
  process_min_avail = {ncpu}
  client_limit = 100000
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {ports['lmtp']}
  }}
}}
default_client_limit = 100000
default_process_limit = 100000
""" + extra)
    log = open(os.path.join(d, "dovecot.out"), "wb")
    proc = subprocess.Popen(["dovecot", "-F", "-c", conf], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=log)
    for p in ports.values():
        wait_port(p)
    return Peer("dovecot", proc, ports, log)


def pss_kib(pids):
    """Sum of proportional set sizes (KiB) of the given processes."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total
