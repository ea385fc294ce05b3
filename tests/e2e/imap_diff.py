"""Differential LIST/LSUB/STATUS check against Debian's Dovecot.

The same mailbox tree is built on a server with SETUP, then every command
in QUERIES runs and its responses are normalized (see normalize()) so that
only what the RFCs pin down is compared: which names come back, with which
attributes, extended data and STATUS values, and whether the command
succeeded. test_imap_dovecot_diff.py runs this against Loft and compares
with fixtures/dovecot-list.json, recorded from Dovecot by

    sudo /usr/bin/python3 tests/e2e/imap_diff.py --record

(needs dovecot-imapd, root, and a free loopback port; it starts Dovecot
from a temporary directory with the "/" separator and stops it again), so
CI needs no Dovecot. Normalizing drops, knowingly:
- the text of tagged replies and response codes (Dovecot 2.3 sends no
  [NONEXISTENT] on STATUS, Loft does): only OK/NO/BAD is compared;
- \\Marked/\\UnMarked (optional, RFC 9051 7.3.1; Loft never sends them);
- \\HasChildren/\\HasNoChildren in an extended LIST without
  RETURN (CHILDREN): RFC 5258 section 4 lets a server send them always,
  and Loft does, while Dovecot leaves them out;
- the quoting of CHILDINFO's tag (both forms are valid, RFC 5258 6);
- UIDVALIDITY values, which differ between any two servers.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "fixtures", "dovecot-list.json")

MESSAGE = ("From: a@example.org\r\nTo: b@example.org\r\nSubject: diff %d\r\n"
           "Message-ID: <diff-%d@example.org>\r\n\r\nBody %d\r\n")

SETUP = [
    "CREATE Fruit", "CREATE Fruit/Apple", "CREATE Fruit/Banana", "CREATE Fruit/Peach",
    "CREATE Tofu", "CREATE Vegetable", "CREATE Vegetable/Broccoli",
    "CREATE Vegetable/Corn", 'CREATE "Tom &- Jerry"', "CREATE Caf&AOk-",
    "CREATE &ZeVnLIqe-", "CREATE Lists", "CREATE Lists/2024", "CREATE Lists/2024/Q1",
    "CREATE Lists/2024/Q2", 'CREATE "say \\"hi\\""', "CREATE Archive]",
    "SUBSCRIBE INBOX", "SUBSCRIBE Fruit/Banana", "SUBSCRIBE Fruit/Peach",
    "SUBSCRIBE Vegetable", "SUBSCRIBE Vegetable/Broccoli", "SUBSCRIBE Lists/2024/Q1",
    "SUBSCRIBE Caf&AOk-", 'SUBSCRIBE "Tom &- Jerry"',
    "DELETE Fruit/Peach",
    ("APPEND", "INBOX", "(\\Seen)", 1), ("APPEND", "INBOX", "()", 2),
    ("APPEND", "INBOX", "(\\Flagged)", 3), ("APPEND", "Fruit/Apple", "(\\Deleted)", 4),
]

QUERIES = [
    'LIST "" ""',
    'LIST Fruit ""',
    'LIST "" *',
    'LIST "" %',
    'LIST "" Fruit/%',
    'LIST Fruit/ %',
    'LIST "" %/%',
    'LIST "" Lists/*',
    'LIST "" *e*',
    'LIST "" *2*',
    'LIST "" inbox',
    'LIST "" In%',
    'LIST "" Caf*',
    'LIST "" Nothing',
    'LIST "" ("Fruit" "Vegetable/*")',
    'LIST "" (% Lists/%) RETURN (CHILDREN)',
    'LIST "" % RETURN (CHILDREN)',
    'LIST () "" %',
    'LIST (REMOTE) "" %',
    'LIST (SUBSCRIBED) "" *',
    'LIST (SUBSCRIBED) "" %',
    'LIST (SUBSCRIBED) "" Fruit/*',
    'LIST (SUBSCRIBED RECURSIVEMATCH) "" %',
    'LIST (SUBSCRIBED RECURSIVEMATCH) "" Lists/%',
    'LIST (SUBSCRIBED RECURSIVEMATCH) "" * RETURN (CHILDREN)',
    'LIST "" * RETURN (SUBSCRIBED CHILDREN)',
    'LIST "" % RETURN (SUBSCRIBED)',
    'LIST "" % RETURN (STATUS (MESSAGES UNSEEN UIDNEXT))',
    'LIST (SUBSCRIBED) "" * RETURN (STATUS (MESSAGES))',
    'LIST (RECURSIVEMATCH) "" %',
    'LIST (NOSUCH) "" %',
    'LIST "" % RETURN (NOSUCH)',
    'LSUB "" *',
    'LSUB "" %',
    'LSUB "" Fruit',
    'LSUB "" Fruit/%',
    'LSUB "" Lists/%',
    'LSUB "" Lists/%/%',
    'LSUB Lists/ %',
    'LSUB "" T%',
    'STATUS INBOX (MESSAGES RECENT UIDNEXT UNSEEN SIZE)',
    'STATUS inbox (UIDVALIDITY MESSAGES)',
    'STATUS Fruit/Apple (MESSAGES UNSEEN UIDNEXT SIZE RECENT)',
    'STATUS Caf&AOk- (MESSAGES UNSEEN)',
    'STATUS "Tom &- Jerry" (UIDNEXT)',
    'STATUS Fruit/Peach (MESSAGES)',
    'STATUS Nothing (MESSAGES)',
    'STATUS INBOX (NOSUCH)',
    'STATUS INBOX ()',
]


class Session:
    """A raw IMAP connection that returns every line up to the tagged one."""

    def __init__(self, host, port, user, password, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.f = self.sock.makefile("rb")
        self.n = 0
        greeting = self.f.readline()
        if not greeting.startswith(b"* OK"):
            raise RuntimeError("no greeting: %r" % greeting)
        lines = self.command("LOGIN %s %s" % (user, password))
        if not lines[-1].split(b" ")[1:2] == [b"OK"]:
            raise RuntimeError("login failed: %r" % lines)

    def command(self, line, literal=None):
        self.n += 1
        tag = b"d%d" % self.n
        if literal is None:
            self.sock.sendall(tag + b" " + line.encode() + b"\r\n")
        else:
            self.sock.sendall(tag + b" " + line.encode() + b" {%d}\r\n" % len(literal))
            cont = self.f.readline()
            if not cont.startswith(b"+"):
                raise RuntimeError("no continuation: %r" % cont)
            self.sock.sendall(literal + b"\r\n")
        out = []
        while True:
            l = self.f.readline()
            if not l:
                raise RuntimeError("connection closed after %r" % line)
            out.append(l.rstrip(b"\r\n"))
            if l.startswith(tag + b" "):
                return out

    def close(self):
        try:
            self.command("LOGOUT")
        except (OSError, RuntimeError):
            pass
        self.sock.close()


def build_tree(s):
    for step in SETUP:
        if isinstance(step, tuple):
            _, box, flags, n = step
            lines = s.command("APPEND %s %s" % (box, flags),
                              (MESSAGE % (n, n, n)).encode())
        else:
            lines = s.command(step)
        if lines[-1].split(b" ")[1] != b"OK":
            raise RuntimeError("setup %r failed: %r" % (step, lines))


# ---- normalizing ----

def _words(text):
    """Split IMAP data into atoms, quoted strings (unquoted) and (...)."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == " ":
            i += 1
        elif c == '"':
            j, buf = i + 1, ""
            while text[j] != '"':
                if text[j] == "\\":
                    j += 1
                buf += text[j]
                j += 1
            out.append(buf)
            i = j + 1
        elif c == "(":
            depth, j = 0, i
            while True:
                if text[j] == "(":
                    depth += 1
                elif text[j] == ")":
                    depth -= 1
                    if depth == 0:
                        break
                elif text[j] == '"':
                    j += 1
                    while text[j] != '"':
                        j += 2 if text[j] == "\\" else 1
                j += 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            j = i
            while j < len(text) and text[j] not in ' ("':
                j += 1
            out.append(text[i:j])
            i = j
    return out


def normalize(query, lines):
    extended = query.startswith("LIST (") or ' (' in query[5:] or "RETURN" in query
    children_asked = "CHILDREN" in query
    result = []
    for raw in lines[:-1]:
        line = raw.decode("utf-8", "replace")
        m = re.match(r"\* (LIST|LSUB) \((.*?)\) (\S+) (.*)$", line)
        if m:
            kind, attrs, delim, rest = m.groups()
            words = _words(rest)
            name, ext = words[0], " ".join(words[1:])
            keep = sorted(a for a in attrs.split()
                          if a.lower() not in ("\\marked", "\\unmarked"))
            if extended and not children_asked:
                keep = [a for a in keep if a.lower() not in ("\\haschildren",
                                                             "\\hasnochildren")]
            ext = ext.replace('"', "").upper()
            result.append("%s (%s) %s %r%s" % (kind, " ".join(keep).lower(), delim, name,
                                               " " + ext if ext else ""))
            continue
        m = re.match(r"\* STATUS (.*) \((.*)\)$", line)
        if m:
            name = _words(m.group(1))[0]
            items = m.group(2).split()
            pairs = dict(zip(items[0::2], items[1::2]))
            if "UIDVALIDITY" in pairs:
                pairs["UIDVALIDITY"] = "*"
            result.append("STATUS %r %s" % (name, " ".join(
                "%s %s" % kv for kv in sorted(pairs.items()))))
            continue
        result.append("untagged " + line)
    result.sort()
    result.append(lines[-1].decode().split(" ")[1])
    return result


def run_queries(host, port, user, password):
    s = Session(host, port, user, password)
    try:
        build_tree(s)
        return {q: normalize(q, s.command(q)) for q in QUERIES}
    finally:
        s.close()


# ---- recording from Dovecot ----

DOVECOT_CONF = """base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:~/Maildir
first_valid_uid = {uid}
namespace inbox {{
  inbox = yes
  separator = /
}}
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
    address = 127.0.0.1
    port = {port}
  }}
}}
"""


def with_dovecot(run, conf_extra=""):
    """Start Debian's Dovecot from a temporary directory (user alice,
    password secret, "/" separator; conf_extra appended to its
    configuration) and return (its version, run(host, port, user,
    password))."""
    import pwd
    user = "loftbench"   # the unprivileged user bench/peers.py also uses
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", user], check=True)
        pw = pwd.getpwnam(user)
    d = tempfile.mkdtemp(prefix="loft-dovecot-")
    os.chmod(d, 0o755)
    for sub in ("run", "state", "mail"):
        os.makedirs(os.path.join(d, sub))
    shutil.chown(os.path.join(d, "mail"), pw.pw_uid, pw.pw_gid)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with open(os.path.join(d, "users"), "w") as f:
        f.write("alice:{PLAIN}secret:%d:%d::%s/mail/alice::\n" % (pw.pw_uid, pw.pw_gid, d))
    conf = os.path.join(d, "dovecot.conf")
    with open(conf, "w") as f:
        f.write(DOVECOT_CONF.format(d=d, uid=pw.pw_uid, port=port) + conf_extra)
    proc = subprocess.Popen(["dovecot", "-F", "-c", conf], stdin=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        results = run("127.0.0.1", port, "alice", "secret")
        version = subprocess.run(["dovecot", "--version"], capture_output=True,
                                 text=True).stdout.strip()
    finally:
        proc.terminate()
        proc.wait(20)
        shutil.rmtree(d, ignore_errors=True)
    return version, results


def record(fixture=FIXTURE, run=run_queries, conf_extra=""):
    """Record run's results from Dovecot into fixture."""
    version, results = with_dovecot(run, conf_extra)
    os.makedirs(os.path.dirname(fixture), exist_ok=True)
    with open(fixture, "w") as f:
        json.dump({"dovecot": version, "results": results}, f, indent=1, sort_keys=True,
                  ensure_ascii=False)
        f.write("\n")
    print("recorded %d queries from Dovecot %s into %s" % (len(results), version, fixture))


def compare(srv, fixture=FIXTURE, queries=QUERIES, run=run_queries):
    """Run the queries against srv (user alice, password secret) and
    assert that every answer is the one recorded from Dovecot."""
    with open(fixture, encoding="utf-8") as f:
        want = json.load(f)["results"]
    got = run("127.0.0.1", srv.port("imap"), "alice", "secret")
    assert sorted(got) == sorted(want), "the fixture and QUERIES differ: re-record"
    diffs = ["%s\n  dovecot: %s\n  loft:    %s" % (q, want[q], got[q])
             for q in queries if got[q] != want[q]]
    assert not diffs, "\n".join(diffs)


if __name__ == "__main__":
    if sys.argv[1:] == ["--record"]:
        record()
    else:
        print(__doc__)
        sys.exit(2)
