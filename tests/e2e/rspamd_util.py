"""A real rspamd (Debian's package) for the end-to-end tests of the spam
integration (server/spam/), run on loopback from a configuration written
into a fresh temporary directory:

    with Rspamd() as r:            # starts, waits until it answers
        r.scan_port, r.controller_port, r.password
        r.stat()                   # the controller's /stat as a dict
        r.suspend() / r.resume()   # SIGSTOP/SIGCONT: a rspamd that does not answer
        r.log_text()

The configuration loads rspamd's own rules, metrics, actions and groups
from /etc/rspamd but only the modules that need no network: the built-in
GTUBE check, regexp rules, chartable, the Bayes classifier (sqlite3, in the
temporary directory, so learning needs no Redis), and SPF, DKIM and DMARC
with the http_headers module, so they score the results Loft passes in its
request headers instead of looking anything up. Its resolver points at
127.0.0.1:1, so even a lookup never leaves the machine. As root (CI) it
runs as Debian's _rspamd user; otherwise as the current user."""

import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request

from loftserver import free_port

RSPAMD = shutil.which("rspamd") or "/usr/bin/rspamd"

CONFIG = """
lua = "$RULESDIR/rspamd.lua"
.include "$CONFDIR/metrics.conf"
.include "$CONFDIR/actions.conf"
.include "$CONFDIR/groups.conf"
.include "$CONFDIR/composites.conf"
options {{
  pidfile = "$RUNDIR/rspamd.pid";
  filters = "chartable,regexp,dkim";
  dns {{ nameserver = ["127.0.0.1:1"]; timeout = 0.2s; retransmits = 1; }}
  local_addrs = [];
  hs_cache_dir = "$DBDIR/";
  stats_file = "$DBDIR/stats.ucl";
  history_file = "$DBDIR/rspamd.history";
  control_socket = "$DBDIR/rspamd.sock mode=0600";
  tempdir = "$DBDIR";
  explicit_modules = ["settings"];
  # no hyperscan database to compile: rspamd answers seconds after start
  disable_hyperscan = true;
  # a short public-suffix list: compiling rspamd's full one takes ~25 s
  url_tld = "{tld}";
}}
modules {{ path = "${{PLUGINSDIR}}"; }}
logging {{ type = "file"; filename = "$LOGDIR/rspamd.log"; level = "info"; }}
classifier "bayes" {{
  tokenizer {{ name = "osb"; }}
  # rspamd's own default for the learn cache is its system directory
  cache {{ path = "$DBDIR/learn_cache.sqlite"; }}
  backend = "sqlite3";
  min_tokens = 11;
  min_learns = 1;
  statfile {{ symbol = "BAYES_HAM"; spam = false; path = "$DBDIR/bayes.ham.sqlite"; }}
  statfile {{ symbol = "BAYES_SPAM"; spam = true; path = "$DBDIR/bayes.spam.sqlite"; }}
}}
http_headers {{ }}
spf {{ }}
dkim {{ }}
dmarc {{ }}
worker "normal" {{ bind_socket = "127.0.0.1:{scan}"; mime = true; count = 1; }}
worker "controller" {{
  bind_socket = "127.0.0.1:{controller}"; count = 1;
  password = "{password}"; enable_password = "{password}"; secure_ip = [];
}}
"""


TLDS = ["com", "org", "net", "edu", "gov", "de", "uk", "co.uk", "fr", "jp", "ru", "cz",
        "info", "biz", "io", "example", "test", "localhost", "invalid"]


class Rspamd:
    def __init__(self, start=True):
        self.dir = tempfile.mkdtemp(prefix="loft-rspamd-")
        os.chmod(self.dir, 0o755)
        self.scan_port = free_port()
        self.controller_port = free_port()
        self.password = "learn-secret"
        self.proc = None
        for sub in ("db", "run", "log"):
            os.mkdir(os.path.join(self.dir, sub))
        self.user = None
        if os.geteuid() == 0:
            self.user = "_rspamd"
            pw = pwd.getpwnam(self.user)
            for sub in ("db", "run", "log"):
                os.chown(os.path.join(self.dir, sub), pw.pw_uid, pw.pw_gid)
        tld = os.path.join(self.dir, "tld.dat")
        with open(tld, "w") as f:
            f.write("\n".join(TLDS) + "\n")
        self.config = os.path.join(self.dir, "rspamd.conf")
        with open(self.config, "w") as f:
            f.write(CONFIG.format(scan=self.scan_port, controller=self.controller_port,
                                  password=self.password, tld=tld))
        if start:
            self.start()

    def start(self, timeout=120):
        """Start and wait until it answers and can learn. Its normal worker
        and its controller create the Bayes sqlite files at the same moment,
        and the loser of that race gives up on the backend for good (a
        learn answers 404 "cannot find statfile backend"): then it is
        restarted once the files exist."""
        for attempt in range(3):
            self._start(timeout)
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    if self.learn_ready():
                        return
                except (OSError, ValueError):
                    pass
                time.sleep(0.2)
            self._kill()
        raise RuntimeError("rspamd cannot learn: " + self.tail())

    def _start(self, timeout):
        cmd = [RSPAMD, "-f", "-c", self.config,
               "--var", "DBDIR=" + os.path.join(self.dir, "db"),
               "--var", "RUNDIR=" + os.path.join(self.dir, "run"),
               "--var", "LOGDIR=" + os.path.join(self.dir, "log"),
               "--var", "LOCAL_CONFDIR=" + self.dir]
        if self.user:
            cmd += ["-u", self.user, "-g", self.user]
        self.out = open(os.path.join(self.dir, "stdout.txt"), "w")
        # its own process group, so suspend() reaches every worker
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("rspamd exited: " + self.tail())
            try:
                if self.ping():
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("rspamd did not answer within %ds: %s" % (timeout, self.tail()))

    def ping(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/ping" % self.scan_port,
                                    timeout=2) as r:
            return r.status == 200

    def learn_ready(self):
        """Whether the controller has its Bayes statfiles loaded: until
        then a learn answers 404 "cannot find statfile backend"."""
        st = self.stat()
        names = {f.get("symbol") for f in st.get("statfiles", [])}
        return {"BAYES_SPAM", "BAYES_HAM"} <= names

    def stat(self):
        req = urllib.request.Request("http://127.0.0.1:%d/stat" % self.controller_port,
                                     headers={"Password": self.password})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def suspend(self):
        os.killpg(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.killpg(self.proc.pid, signal.SIGCONT)

    def log_text(self):
        try:
            with open(os.path.join(self.dir, "log", "rspamd.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def tail(self, n=30):
        try:
            with open(os.path.join(self.dir, "stdout.txt"), errors="replace") as f:
                out = f.read()
        except OSError:
            out = ""
        return "\n".join((out + self.log_text()).splitlines()[-n:])

    def stop(self):
        self._kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGCONT)
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc is not None:
            self.out.close()
        self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
