"""`loft demo DIR`: one command from nothing to a running server.

Runs the real binary in the background (stdin closed) on a random port base
whose seven ports were free a moment before, waits for the listeners, checks
the files it made (configuration, certificate for localhost/127.0.0.1 used by
the implicit-TLS IMAP port, users file, saved password), the CLI against the
generated configuration, that a second run reuses everything, and that
SIGTERM stops it with exit code 0.
"""

import hashlib
import os
import random
import re
import signal
import socket
import ssl
import stat
import subprocess
import time

import pytest

from loftserver import loft_bin

OFFSETS = {"imap": 143, "imaps": 993, "pop3": 110, "pop3s": 995, "lmtp": 24, "smtp": 25,
           "sieve": 190}
START_TIMEOUT = 30.0


def port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_base():
    for _ in range(200):
        base = random.randint(20000, 60000)
        if all(port_free(base + off) for off in OFFSETS.values()):
            return base
    pytest.fail("no port base with seven free ports found")


class Demo:
    """One `loft demo` process; output goes to files in the test's tmp dir."""

    def __init__(self, tmp_path, demo_dir, args, tag):
        self.out_path = tmp_path / ("%s.out" % tag)
        self.err_path = tmp_path / ("%s.err" % tag)
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen([loft_bin(), "demo", str(demo_dir), *args],
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err)

    def output(self):
        return self.out_path.read_text(errors="replace")

    def errors(self):
        return self.err_path.read_text(errors="replace")

    def wait_listening(self, ports):
        deadline = time.monotonic() + START_TIMEOUT
        pending = set(ports)
        while pending:
            if self.proc.poll() is not None:
                pytest.fail("loft demo exited with %s\nstdout:\n%s\nstderr:\n%s"
                            % (self.proc.returncode, self.output(), self.errors()))
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail("ports %s not listening after %ss\nstdout:\n%s\nstderr:\n%s"
                            % (sorted(pending), START_TIMEOUT, self.output(), self.errors()))
            for p in list(pending):
                try:
                    socket.create_connection(("127.0.0.1", p), timeout=1).close()
                    pending.discard(p)
                except OSError:
                    pass
            time.sleep(0.1)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail("loft demo did not stop within 20 s of SIGTERM")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def banner_value(self, key):
        m = re.search(r"^%s:\s+(\S+)\s*$" % key, self.output(), re.M)
        return m.group(1) if m else None


@pytest.fixture
def demos():
    running = []
    yield running
    for d in running:
        d.kill()


def start(demos, tmp_path, demo_dir, args, tag, base):
    d = Demo(tmp_path, demo_dir, args, tag)
    demos.append(d)
    d.wait_listening([base + off for off in OFFSETS.values()])
    return d


def run_loft(*args):
    return subprocess.run([loft_bin(), *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)


def imaps_greeting(port, cafile, server_hostname):
    """Connect with certificate and host name verification; return the
    greeting, the decoded peer certificate and the DER fingerprint."""
    ctx = ssl.create_default_context(cafile=str(cafile))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_hostname) as s:
            s.settimeout(10)
            greeting = b""
            while not greeting.endswith(b"\n"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                greeting += chunk
            der = s.getpeercert(binary_form=True)
            return greeting, s.getpeercert(), hashlib.sha256(der).hexdigest()


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_demo_creates_serves_and_reuses(demos, tmp_path):
    base = free_port_base()
    demo_dir = tmp_path / "demo" / "nested"       # parents created too
    args = ["--port-base", str(base), "--user", "alice", "--password", "secret"]
    d = start(demos, tmp_path, demo_dir, args, "first", base)

    # files
    for name in ("loft.conf", "cert.pem", "key.pem", "users", "demo-password"):
        assert (demo_dir / name).is_file(), name
    assert (demo_dir / "mail").is_dir()
    assert mode(demo_dir / "key.pem") == 0o600
    assert mode(demo_dir / "users") == 0o600
    assert mode(demo_dir / "demo-password") == 0o600
    assert (demo_dir / "demo-password").read_text().strip() == "secret"
    conf = (demo_dir / "loft.conf").read_text()
    for name, off in OFFSETS.items():
        assert re.search(r"^\[listener %s\]\s*$" % name, conf, re.M), name
        assert re.search(r"^port = %d$" % (base + off), conf, re.M), name
    assert "users_file = users" in conf and "state_dir = ." in conf

    # banner
    out = d.output()
    assert d.banner_value("User") == "alice"
    assert d.banner_value("Password") == "secret"
    assert "127.0.0.1:%d" % (base + 993) in out
    assert "openssl s_client -connect 127.0.0.1:%d" % (base + 993) in out

    # the certificate: verified by Python's ssl for both names it claims
    greeting, cert, fp1 = imaps_greeting(base + 993, demo_dir / "cert.pem", "localhost")
    assert greeting.startswith(b"* OK"), greeting
    subject = dict(x[0] for x in cert["subject"])
    assert subject["commonName"] == "localhost"
    san = cert["subjectAltName"]
    assert ("DNS", "localhost") in san
    assert ("IP Address", "127.0.0.1") in san
    greeting, _, fp_ip = imaps_greeting(base + 993, demo_dir / "cert.pem", "127.0.0.1")
    assert greeting.startswith(b"* OK")
    assert fp_ip == fp1
    not_after = ssl.cert_time_to_seconds(cert["notAfter"])
    assert 700 * 86400 < not_after - time.time() < 735 * 86400

    # the CLI against the generated configuration
    conf_path = str(demo_dir / "loft.conf")
    r = run_loft("-c", conf_path, "user", "list")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["alice"]
    r = run_loft("-c", conf_path, "serve", "--check-config")
    assert r.returncode == 0, r.stdout + r.stderr

    assert d.stop() == 0, d.errors()

    # second run, no user options: everything reused, same password printed
    cert_before = (demo_dir / "cert.pem").read_bytes()
    users_before = (demo_dir / "users").read_text()
    d2 = start(demos, tmp_path, demo_dir, ["--port-base", str(base)], "second", base)
    assert "reusing" in d2.output()
    assert d2.banner_value("User") == "alice"
    assert d2.banner_value("Password") == "secret"
    _, _, fp2 = imaps_greeting(base + 993, demo_dir / "cert.pem", "localhost")
    assert fp2 == fp1
    assert (demo_dir / "cert.pem").read_bytes() == cert_before
    assert (demo_dir / "users").read_text() == users_before
    assert d2.stop() == 0, d2.errors()


def test_demo_default_user_random_password(demos, tmp_path):
    base = free_port_base()
    demo_dir = tmp_path / "d"
    d = start(demos, tmp_path, demo_dir, ["--port-base", str(base)], "first", base)
    assert d.banner_value("User") == "demo"
    pw = d.banner_value("Password")
    assert pw is not None and len(pw) == 16 and pw.isalnum()
    assert (demo_dir / "demo-password").read_text().strip() == pw
    r = run_loft("-c", str(demo_dir / "loft.conf"), "user", "list")
    assert r.stdout.splitlines() == ["demo"]
    assert d.stop() == 0, d.errors()

    # Another --port-base against the existing file: said so, old ports kept.
    other = free_port_base()
    d2 = Demo(tmp_path, demo_dir, ["--port-base", str(other)], "second")
    demos.append(d2)
    d2.wait_listening([base + off for off in OFFSETS.values()])
    assert "differs" in d2.output()
    assert d2.banner_value("Password") == pw
    assert d2.stop() == 0, d2.errors()


def test_demo_bad_arguments(tmp_path):
    for args in (["--port-base", "65000"], ["--port-base", "x"], ["--user", "../evil"],
                 ["--bogus"]):
        r = run_loft("demo", str(tmp_path / "d"), *args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
    r = run_loft("demo")
    assert r.returncode == 2
