"""End-to-end harness: runs the real `loft serve` on ephemeral loopback ports.

Usage (every tests/e2e/test_*.py can use this; conftest.py provides fixtures):

    def test_something(loft):                     # default listeners, see below
        with loft.imap() as c:                    # imaplib.IMAP4 on the "imap" port
            c.starttls(loft.client_context())
            assert c.capability()[0] == "OK"

    def test_custom(make_loft):
        srv = make_loft(listeners=["imap", "pop3s"],
                        config_extra={"limits": {"max_connections_per_ip": 3}},
                        users={"alice": "secret"})
        s = srv.connect("imap")                   # LineClient (raw lines)
        assert s.readline().startswith(b"* OK")

Outside pytest: `with LoftServer(tmp_dir, ...) as srv:` does the same and
stops the server on exit (raising if it crashed or a sanitizer complained).

LoftServer(tmp_path, listeners=None, config_extra=None, users=None,
           workers=2, start=True)
  listeners     list of preset names ("imap", "imaps", "pop3", "pop3s",
                "lmtp", "lmtps", "smtp", "smtps", "imap-plain", "pop3-plain",
                "lmtp-plain", "smtp-plain", "sieve", "sieve-plain") and/or dicts {"name": ...,
                "protocol": ..., "tls": "none|starttls|implicit",
                "address": "127.0.0.1"}; default: imap, imaps, pop3, pop3s,
                lmtp, smtp (the plain protocols with STARTTLS).
  config_extra  {"section": {"key": value}} merged over the defaults; a value
                of None removes a default key. Listener sections are
                "listener NAME". The defaults set [smtp] greeting_delay to
                100ms (the server's default is 1s) and [mailauth] checks to
                none (the server's default checks SPF, DKIM and DMARC, asking
                the system's DNS resolver).
  users         {"name": "password"} written as Dovecot passwd-file lines
                with {SHA512-CRYPT} hashes, or a str written verbatim.

Attributes: config_path, log_path, state_dir, mail_dir, users_file,
  ca_file (the session's self-signed certificate, also its own CA),
  proc (subprocess.Popen), pid.
Methods:
  port(name) / address(name)     where a listener listens
  log_text(since=0) / log_mark() server log (stderr) and an offset into it
  wait_log(regex, timeout=5, since=0) -> re.Match (raises on timeout)
  assign_ports()                 choose free ports (start() does it)
  write_config(config_extra=None, raw=None)  rewrite the config file
  reload()                       SIGHUP (after write_config for new settings)
  stop(timeout=15) -> exit code  SIGTERM and wait (negative: killed by signal)
  kill()                         SIGKILL (an intentional crash: not an error)
  restart()                      stop if running, start again on the same
                                 ports and config (e.g. after kill())
  write_users(users)             rewrite the users file (same forms as users=)
  rss_kb()                       VmRSS of the server process
  connect(name, tls=None, timeout=5) -> LineClient (implicit TLS listeners
                                 are wrapped automatically)
  imap(name="imap") / pop3(name="pop3") / smtp(name="smtp") / lmtp(name="lmtp")
                                 stdlib clients (imaps/pop3s names get the
                                 *_SSL classes with client_context())
  client_context(**kw)           ssl.SSLContext verifying against ca_file
  check_health()                 raise if the process died by a signal or the
                                 log holds a sanitizer report (done at stop)
  run_cli(*args, input=None, timeout=60) -> subprocess.CompletedProcess
                                 `loft -c CONFIG ARGS...` (text mode), e.g.
                                 srv.run_cli("user", "list") or
                                 srv.run_cli("serve", "--check-config");
                                 raises ServerError on a sanitizer report

LineClient (raw socket, optional TLS): send(bytes|str), sendline(str),
  readline(timeout=None), read_until_tag(tag) (IMAP), read_smtp_reply(),
  read_multiline() (POP3), pending(wait) (bytes arriving unasked),
  read_eof(timeout) (all until the peer closes), starttls(context), close().

Module functions: session_tls() -> (cert, key); make_cert(dir, cn, san, stem);
  client_context(ca_file, ...); tls11_context(); expect_tls11_refused(sock);
  hash_password(pw); free_port(address); have_ipv6_loopback(); loft_bin().

Environment: LOFT_BIN (the binary; default $LOFT_BUILD_DIR/loft, then
build/loft in the source tree). Only the Python standard library is used.
"""

import atexit
import imaplib
import os
import poplib
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("LOFT_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))

SANITIZER_PATTERNS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer",
                      "ERROR: ThreadSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")

PRESET_LISTENERS = {
    "imap": ("imap", "starttls"),
    "imaps": ("imap", "implicit"),
    "pop3": ("pop3", "starttls"),
    "pop3s": ("pop3", "implicit"),
    "lmtp": ("lmtp", "starttls"),
    "lmtps": ("lmtp", "implicit"),
    "smtp": ("smtp", "starttls"),
    "smtps": ("smtp", "implicit"),
    "imap-plain": ("imap", "none"),
    "pop3-plain": ("pop3", "none"),
    "lmtp-plain": ("lmtp", "none"),
    "smtp-plain": ("smtp", "none"),
    "sieve": ("sieve", "starttls"),
    "sieve-plain": ("sieve", "none"),
}
DEFAULT_LISTENERS = ["imap", "imaps", "pop3", "pop3s", "lmtp", "smtp"]

START_TIMEOUT = 10.0


def loft_bin():
    """Path of the loft binary under test."""
    b = os.environ.get("LOFT_BIN")
    if b:
        return b
    build = os.environ.get("LOFT_BUILD_DIR")
    if build:
        return os.path.join(build, "loft")
    return os.path.join(SOURCE_DIR, "build", "loft")


_session_dir = None


def make_cert(directory, cn="localhost", san="DNS:localhost,IP:127.0.0.1", stem="cert"):
    """Write a self-signed P-256 certificate and key into directory as
    STEM.pem and STEM.key; returns (cert_file, key_file)."""
    cert = os.path.join(str(directory), stem + ".pem")
    key = os.path.join(str(directory), stem + ".key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
         "-subj", "/CN=" + cn, "-addext", "subjectAltName=" + san,
         "-keyout", key, "-out", cert],
        check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, timeout=60)
    return cert, key


def session_tls():
    """(cert_file, key_file) of a self-signed P-256 certificate for localhost
    and 127.0.0.1, made once per Python process. The certificate is its own
    CA: verify clients with cafile=cert_file."""
    global _session_dir
    if _session_dir is None:
        d = tempfile.mkdtemp(prefix="loft-e2e-tls-")
        atexit.register(shutil.rmtree, d, True)
        make_cert(d)
        _session_dir = d
    return (os.path.join(_session_dir, "cert.pem"), os.path.join(_session_dir, "cert.key"))


def client_context(ca_file=None, **kw):
    """A TLS client context that verifies the server against ca_file
    (default: the session certificate). kw: minimum_version/maximum_version
    (ssl.TLSVersion), ciphers (str)."""
    ctx = ssl.create_default_context(cafile=ca_file or session_tls()[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if "ciphers" in kw:
            ctx.set_ciphers(kw.pop("ciphers"))
        if "minimum_version" in kw:
            ctx.minimum_version = kw.pop("minimum_version")
        if "maximum_version" in kw:
            ctx.maximum_version = kw.pop("maximum_version")
    if kw:
        raise TypeError("unknown client_context options: %s" % ", ".join(kw))
    return ctx


def hash_password(password):
    """Dovecot-compatible {SHA512-CRYPT} entry (5000 rounds: fast for tests)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
        salt = crypt.mksalt(crypt.METHOD_SHA512, rounds=5000)
        return "{SHA512-CRYPT}" + crypt.crypt(password, salt)


def free_port(address="127.0.0.1"):
    """A TCP port that was free on address a moment ago (bind port 0)."""
    fam = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class ServerError(AssertionError):
    """The server failed to start, crashed, or a sanitizer reported."""


class LineClient:
    """A blocking line-oriented client over a raw socket, optionally TLS.
    readline() returns bytes including CRLF, b"" at EOF; raises
    socket.timeout when nothing arrives in time."""

    def __init__(self, sock, timeout=5.0):
        self.sock = sock
        self.sock.settimeout(timeout)
        self.buf = b""

    @classmethod
    def open(cls, address, port, timeout=5.0):
        return cls(socket.create_connection((address, port), timeout=timeout), timeout)

    def settimeout(self, t):
        self.sock.settimeout(t)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def sendline(self, line):
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buf += chunk
        return True

    def readline(self, timeout=None):
        old = self.sock.gettimeout()
        if timeout is not None:
            self.sock.settimeout(timeout)
        try:
            while b"\n" not in self.buf:
                if not self._fill():
                    out, self.buf = self.buf, b""
                    return out
            i = self.buf.index(b"\n") + 1
            out, self.buf = self.buf[:i], self.buf[i:]
            return out
        finally:
            if timeout is not None:
                self.sock.settimeout(old)

    def read_until_tag(self, tag, timeout=None):
        """IMAP: lines up to and including the tagged response for tag."""
        lines = []
        t = tag.encode() if isinstance(tag, str) else tag
        while True:
            line = self.readline(timeout)
            if not line:
                raise EOFError("connection closed before %r; got %r" % (tag, lines))
            lines.append(line)
            if line.startswith(t + b" "):
                return lines

    def read_smtp_reply(self, timeout=None):
        """SMTP/LMTP: the lines of one reply (up to "NNN " without dash)."""
        lines = []
        while True:
            line = self.readline(timeout)
            if not line:
                raise EOFError("connection closed mid-reply; got %r" % lines)
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                return lines

    def read_multiline(self, timeout=None):
        """POP3: a +OK status line and the body up to the "." line."""
        first = self.readline(timeout)
        lines = [first]
        if not first.startswith(b"+OK"):
            return lines
        while True:
            line = self.readline(timeout)
            if not line:
                raise EOFError("connection closed mid-list; got %r" % lines)
            lines.append(line)
            if line == b".\r\n":
                return lines

    def pending(self, wait=0.5):
        """Bytes that arrive within `wait` seconds without sending anything
        (b"" if none; includes anything already buffered)."""
        old = self.sock.gettimeout()
        self.sock.settimeout(wait)
        try:
            while self._fill():
                pass
        except (socket.timeout, ssl.SSLWantReadError):
            pass
        finally:
            self.sock.settimeout(old)
        out, self.buf = self.buf, b""
        return out

    def read_eof(self, timeout=5.0):
        """Everything until the peer closes; raises socket.timeout if it
        does not close within timeout."""
        deadline = time.monotonic() + timeout
        out = self.buf
        self.buf = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("peer did not close; got %r" % out[-500:])
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLEOFError):
                return out
            if not chunk:
                return out
            out += chunk

    def starttls(self, context, server_hostname="localhost"):
        """Upgrade in place. Bytes already buffered are returned (there
        should be none: the server must not send more before the handshake)."""
        leftover, self.buf = self.buf, b""
        self.sock = context.wrap_socket(self.sock, server_hostname=server_hostname)
        return leftover

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _fmt(v):
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


class LoftServer:
    def __init__(self, tmp_path, listeners=None, config_extra=None, users=None,
                 workers=2, start=True):
        self.dir = str(tmp_path)
        self.state_dir = os.path.join(self.dir, "state")
        self.mail_dir = os.path.join(self.dir, "mail")
        self.users_file = os.path.join(self.dir, "users")
        self.config_path = os.path.join(self.dir, "loft.conf")
        self.log_path = os.path.join(self.dir, "loft.log")
        self.cert_file, self.key_file = session_tls()
        self.ca_file = self.cert_file
        self.workers = workers
        self.listeners = [self._listener(l) for l in (listeners or DEFAULT_LISTENERS)]
        self.config_extra = config_extra or {}
        self.proc = None
        self.killed = False
        self.exit_code = None
        self._log_fh = None
        os.makedirs(self.state_dir, exist_ok=True)
        os.makedirs(self.mail_dir, exist_ok=True)
        self.write_users(users or {})
        if start:
            self.start()

    # ---- configuration -------------------------------------------------
    @staticmethod
    def _listener(spec):
        if isinstance(spec, str):
            if spec not in PRESET_LISTENERS:
                raise ValueError("unknown listener preset %r" % spec)
            proto, tls = PRESET_LISTENERS[spec]
            return {"name": spec, "protocol": proto, "tls": tls,
                    "address": "127.0.0.1", "port": 0}
        d = dict(spec)
        d.setdefault("tls", "none")
        d.setdefault("address", "127.0.0.1")
        d.setdefault("port", 0)
        if "name" not in d or "protocol" not in d:
            raise ValueError("listener needs name and protocol: %r" % spec)
        return d

    def write_users(self, users):
        if isinstance(users, str):
            text = users
        else:
            text = "".join("%s:%s\n" % (u, hash_password(p)) for u, p in users.items())
        with open(self.users_file, "w") as f:
            f.write(text)
        os.chmod(self.users_file, 0o600)

    def _sections(self, config_extra):
        secs = {
            "server": {"state_dir": self.state_dir, "mail_dir": self.mail_dir,
                       "users_file": self.users_file, "workers": self.workers,
                       "hostname": "localhost", "local_domains": "localhost"},
            "tls": {"cert_file": self.cert_file, "key_file": self.key_file},
            "limits": {},
            "log": {"level": "debug"},
            # A short early-talker wait keeps SMTP tests quick (default 1s).
            "smtp": {"greeting_delay": "100ms"},
            # No sender checks unless a test asks (they query DNS: see
            # test_smtp_checks.py, which points [dns] at dnsserver.py).
            "mailauth": {"checks": "none"},
        }
        for l in self.listeners:
            secs["listener " + l["name"]] = {"protocol": l["protocol"],
                                             "address": l["address"],
                                             "port": l["port"], "tls": l["tls"]}
        for sec, kv in config_extra.items():
            cur = secs.setdefault(sec, {})
            for k, v in kv.items():
                if v is None:
                    cur.pop(k, None)
                else:
                    cur[k] = v
        return secs

    def config_text(self, config_extra=None):
        extra = self.config_extra if config_extra is None else config_extra
        out = ["# written by tests/e2e/loftserver.py"]
        for sec, kv in self._sections(extra).items():
            out.append("")
            out.append("[%s]" % sec)
            for k, v in kv.items():
                out.append("%s = %s" % (k, _fmt(v)))
        return "\n".join(out) + "\n"

    def write_config(self, config_extra=None, raw=None):
        """Rewrite the config file: raw text verbatim, or the harness config
        with config_extra (which then becomes the current extra)."""
        if raw is None:
            if config_extra is not None:
                self.config_extra = config_extra
            raw = self.config_text()
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(raw)
        os.replace(tmp, self.config_path)

    # ---- process ---------------------------------------------------------
    def start(self):
        last = ""
        for _attempt in range(4):
            self.assign_ports()
            self.write_config()
            self._spawn()
            try:
                self._wait_ready()
                shared = self._foreign_listeners()
                if not shared:
                    return self
                last = "ports %s shared with another process" % shared
                self.stop()
                self.proc = None
                continue
            except ServerError as e:
                last = str(e)
                if self.proc.poll() is None:
                    self.killed = True   # by the harness, not a crash
                    self.proc.kill()
                    self.proc.wait()
                if not re.search(r"in use|EADDRINUSE", self.log_text(settle=0), re.I):
                    raise
                self.proc = None
        raise ServerError("could not bind free ports after retries:\n" + last)

    def assign_ports(self):
        """Pick free, distinct ports for every listener (start() does this;
        call it before write_config() to use the config without starting).
        The probe sockets stay bound until all ports are chosen so no two
        listeners get the same one."""
        held = []
        try:
            for l in self.listeners:
                fam = socket.AF_INET6 if ":" in l["address"] else socket.AF_INET
                s = socket.socket(fam, socket.SOCK_STREAM)
                held.append(s)
                s.bind((l["address"], 0))
                l["port"] = s.getsockname()[1]
        finally:
            for s in held:
                s.close()

    def _foreign_listeners(self):
        """Ports of ours on which a socket of another process listens too
        (loft binds with SO_REUSEPORT, so a parallel test's server could
        share a port without either bind failing)."""
        ours = set()
        fd_dir = "/proc/%d/fd" % self.proc.pid
        try:
            for fd in os.listdir(fd_dir):
                try:
                    link = os.readlink(os.path.join(fd_dir, fd))
                except OSError:
                    continue
                if link.startswith("socket:["):
                    ours.add(link[8:-1])
        except OSError:
            return []
        ports = {l["port"] for l in self.listeners}
        foreign = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(table) as f:
                    next(f)
                    for line in f:
                        cols = line.split()
                        if cols[3] != "0A":      # LISTEN
                            continue
                        port = int(cols[1].rsplit(":", 1)[1], 16)
                        if port in ports and cols[9] not in ours:
                            foreign.add(port)
            except OSError:
                continue
        return sorted(foreign)

    def _spawn(self):
        if self._log_fh:
            self._log_fh.close()
        self._log_fh = open(self.log_path, "ab")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        self.killed = False
        self.exit_code = None
        self.proc = subprocess.Popen([loft_bin(), "-c", self.config_path, "serve"],
                                     stdin=subprocess.DEVNULL, stdout=self._log_fh,
                                     stderr=self._log_fh, cwd=self.dir, env=env)

    @property
    def pid(self):
        return self.proc.pid

    def _probe(self, l, deadline):
        fam = socket.AF_INET6 if ":" in l["address"] else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(0.5)
        try:
            s.connect((l["address"], l["port"]))
        except OSError:
            s.close()
            return False
        # Close from our side and wait for the server to close too, so the
        # probe no longer counts against per-address connection limits.
        try:
            s.shutdown(socket.SHUT_WR)
            end = min(deadline, time.monotonic() + 2.0)
            while time.monotonic() < end:
                if not s.recv(4096):
                    break
        except OSError:
            pass
        finally:
            s.close()
        return True

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        pending = list(self.listeners)
        while pending:
            if self.proc.poll() is not None:
                raise ServerError("loft exited with %s before listening\n%s"
                                  % (self.proc.returncode, self.log_tail()))
            if time.monotonic() > deadline:
                raise ServerError("loft not accepting on %s within %ss\n%s"
                                  % ([l["name"] for l in pending], START_TIMEOUT,
                                     self.log_tail()))
            if self._probe(pending[0], deadline):
                pending.pop(0)
            else:
                time.sleep(0.05)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def reload(self):
        self.proc.send_signal(signal.SIGHUP)

    def stop(self, timeout=15.0):
        """SIGTERM, wait up to timeout; returns the exit code (negative:
        signal). Kills and raises ServerError if it does not exit in time."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.exit_code = self.proc.returncode
                raise ServerError("loft did not exit within %ss of SIGTERM\n%s"
                                  % (timeout, self.log_tail()))
        self.exit_code = self.proc.returncode
        return self.exit_code

    def restart(self):
        """Start again with the same ports and config file (after stop() or
        kill(), or to restart a running server)."""
        if self.running():
            self.stop()
        self._spawn()
        self._wait_ready()
        return self

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.killed = True
            self.proc.kill()
            self.proc.wait()
        self.exit_code = self.proc.returncode

    def run_cli(self, *args, input=None, timeout=60, config=True):
        """Run `loft [-c CONFIG] ARGS...` to completion (stdout/stderr as
        text). A sanitizer report in its stderr raises ServerError."""
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        argv = [loft_bin()] + (["-c", self.config_path] if config else []) + list(args)
        r = subprocess.run(argv, input=input, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=timeout,
                           cwd=self.dir, env=env,
                           stdin=None if input is not None else subprocess.DEVNULL)
        for p in SANITIZER_PATTERNS:
            if p in r.stderr:
                raise ServerError("sanitizer report from %s:\n%s" % (argv, r.stderr[-4000:]))
        if r.returncode < 0:
            raise ServerError("%s died by signal %d:\n%s" % (argv, -r.returncode, r.stderr[-4000:]))
        return r

    def rss_kb(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise ServerError("no VmRSS for pid %d" % self.pid)

    def sanitizer_report(self):
        text = self.log_text()
        for p in SANITIZER_PATTERNS:
            i = text.find(p)
            if i >= 0:
                return text[max(0, i - 200):i + 3000]
        return None

    def check_health(self):
        rep = self.sanitizer_report()
        if rep:
            raise ServerError("sanitizer report in the server log:\n" + rep)
        rc = self.proc.poll() if self.proc else None
        if rc is not None and rc < 0 and not self.killed:
            raise ServerError("loft died by signal %d\n%s" % (-rc, self.log_tail()))

    def close(self, expect_clean=True):
        """Stop (if running) and check health. With expect_clean, a server
        still running at this point must exit 0 on SIGTERM."""
        try:
            if self.running():
                rc = self.stop()
                if expect_clean and rc != 0 and not self.killed:
                    raise ServerError("loft exited with %s on SIGTERM at teardown\n%s"
                                      % (rc, self.log_tail()))
            if self.proc is not None:
                self.check_health()
        finally:
            if self._log_fh:
                self._log_fh.close()
                self._log_fh = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- log -------------------------------------------------------------
    def log_text(self, since=0, settle=0.15):
        """The server log from offset since. The server writes its log from
        a thread of its own (lib/log.c), so lines of what just happened may
        still be on their way: wait until the file stops growing for
        `settle` seconds (2 s at most; 0 reads at once)."""
        if settle and self.running():
            deadline = time.monotonic() + 2.0
            last = -1
            while time.monotonic() < deadline:
                size = self.log_mark()
                if size == last:
                    break
                last = size
                time.sleep(settle)
        try:
            with open(self.log_path, "rb") as f:
                f.seek(since)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_mark(self):
        try:
            return os.path.getsize(self.log_path)
        except FileNotFoundError:
            return 0

    def log_tail(self, n=60):
        lines = self.log_text().splitlines()
        return "---- server log (last %d lines) ----\n%s" % (n, "\n".join(lines[-n:]))

    def wait_log(self, regex, timeout=5.0, since=0, flags=re.I | re.M):
        rx = re.compile(regex, flags)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.log_text(since, settle=0))
            if m:
                return m
            if time.monotonic() > deadline:
                raise AssertionError("log did not match /%s/ within %ss\n%s"
                                     % (regex, timeout, self.log_tail()))
            time.sleep(0.05)

    # ---- clients ---------------------------------------------------------
    def _find(self, name):
        for l in self.listeners:
            if l["name"] == name:
                return l
        raise KeyError("no listener %r (have %s)" % (name, [l["name"] for l in self.listeners]))

    def port(self, name):
        return self._find(name)["port"]

    def address(self, name):
        return self._find(name)["address"]

    def client_context(self, **kw):
        return client_context(self.ca_file, **kw)

    def connect(self, name, tls=None, timeout=5.0, context=None):
        """LineClient to listener name; TLS from the first byte when the
        listener is implicit (or tls=True)."""
        l = self._find(name)
        c = LineClient.open(l["address"], l["port"], timeout)
        if tls or (tls is None and l["tls"] == "implicit"):
            c.starttls(context or self.client_context(),
                       server_hostname="localhost")
        return c

    def imap(self, name="imap", timeout=10):
        l = self._find(name)
        if l["tls"] == "implicit":
            return imaplib.IMAP4_SSL(l["address"], l["port"],
                                     ssl_context=self.client_context(), timeout=timeout)
        return imaplib.IMAP4(l["address"], l["port"], timeout=timeout)

    def pop3(self, name="pop3", timeout=10):
        l = self._find(name)
        if l["tls"] == "implicit":
            return poplib.POP3_SSL(l["address"], l["port"], timeout=timeout,
                                   context=self.client_context())
        return poplib.POP3(l["address"], l["port"], timeout=timeout)

    def smtp(self, name="smtp", timeout=10):
        l = self._find(name)
        if l["tls"] == "implicit":
            return smtplib.SMTP_SSL(l["address"], l["port"], timeout=timeout,
                                    context=self.client_context())
        return smtplib.SMTP(l["address"], l["port"], timeout=timeout)

    def lmtp(self, name="lmtp", timeout=10):
        l = self._find(name)
        return smtplib.LMTP(l["address"], l["port"], timeout=timeout)


def tls11_context(ca_file=None):
    """A client context that offers TLS 1.0/1.1 only (security level 0 so
    OpenSSL really sends such a ClientHello). A Loft server must refuse it."""
    return client_context(ca_file, ciphers="DEFAULT:@SECLEVEL=0",
                          minimum_version=ssl.TLSVersion.TLSv1,
                          maximum_version=ssl.TLSVersion.TLSv1_1)


def expect_tls11_refused(sock, server_hostname="localhost"):
    """Try a TLS 1.0/1.1-only handshake on sock; raise AssertionError unless
    the server refused it (alert or closed connection; a local 'no protocols
    available' would prove nothing)."""
    ctx = tls11_context()
    try:
        t = ctx.wrap_socket(sock, server_hostname=server_hostname)
    except ssl.SSLError as e:
        assert "NO_PROTOCOLS_AVAILABLE" not in str(e), e
        return str(e)
    except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError) as e:
        return str(e)
    v = t.version()
    t.close()
    raise AssertionError("server accepted a %s handshake" % v)
