"""Helpers of the IMAP end-to-end tests (test_imap_*.py).

  USER, PASSWORD            the user every IMAP test server knows
  imap_server(make_loft, **kw)
                            a LoftServer with that user (kw as make_loft)
  login(srv)                imaplib.IMAP4 on the "imap" listener, logged in
  raw_login(srv)            LineClient logged in (raw lines, exact replies)
  cmd(c, tag, line)         send "tag line" on a LineClient, return the
                            reply lines (bytes, CRLF stripped) up to the
                            tagged one
  message(i, body_lines=1, eol="\\r\\n")
                            a small RFC 5322 message as bytes
  append(c, msgs, mailbox="INBOX", flags=None)
                            APPEND each message with imaplib; their UIDs
  drop_maildir(srv, n, mailbox_dir="")
                            write n messages straight into the user's
                            Maildir new/ (another program delivering): the
                            store gives them UIDs at the next SELECT; the
                            fast way to fill a mailbox with thousands
  create_mailbox(srv, name) a mailbox made through the store (store-ctl),
                            for COPY/MOVE targets; delete_mailbox(srv, name)
                            removes one the same way
  fetch_literals(c, tag, line)
                            send a FETCH on a LineClient; (the response lines
                            with each literal shown as <lit>, the literals)
  check_literal_items(c, cases)
                            FETCH 1 each (item, response name, literal) and
                            assert the response is exactly that one literal
  read_slowly(srv, c, n, peak)
                            read the n literal bytes that follow on c a slice
                            at a time with pauses; (sha256 hex of them, the
                            largest server RSS seen, starting from peak)
  untagged(lines, word)     the untagged lines whose second or third token
                            is word ("EXISTS", "FETCH", "EXPUNGE", ...)
  corpus(source, n)         the first n messages (bytes, by path) of a
                            source folder of the shared corpus
  sanitizer_build()         whether the loft binary is built with ASan
                            (its allocations carry redzones and freed
                            memory is quarantined: memory bounds differ)
"""

import hashlib
import os
import re
import subprocess
import time

from storage_util import loft_bin, tool_bin

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus", "mail")
USER = "alice"
PASSWORD = "pw"


def imap_server(make_loft, **kw):
    """A server for the selected-state tests: the user starts with INBOX
    only (no initial special-use mailboxes), so tests make what they use."""
    kw.setdefault("users", {USER: PASSWORD})
    extra = kw.setdefault("config_extra", {})
    extra.setdefault("storage", {}).setdefault("initial_mailboxes", "")
    return make_loft(**kw)


def login(srv):
    c = srv.imap()
    c.login(USER, PASSWORD)
    return c


def cmd(c, tag, line, timeout=None):
    c.sendline("%s %s" % (tag, line))
    return [ln.rstrip(b"\r\n") for ln in c.read_until_tag(tag, timeout=timeout)]


def raw_login(srv, timeout=10.0, listener="imap"):
    c = srv.connect(listener, timeout=timeout)
    assert c.readline().startswith(b"* OK")
    r = cmd(c, "l", "LOGIN %s %s" % (USER, PASSWORD))
    assert r[-1].startswith(b"l OK"), r
    return c


def message(i, body_lines=1, eol="\r\n", subject=None):
    lines = ["From: sender%d@example.org" % i, "To: %s@example.org" % USER,
             "Subject: %s" % (subject or "message %d" % i),
             "Message-ID: <m%d@example.org>" % i, ""]
    lines += ["body line %d of message %d" % (k, i) for k in range(body_lines)]
    return (eol.join(lines) + eol).encode()


def append(c, msgs, mailbox="INBOX", flags=None):
    uids = []
    for m in msgs:
        typ, data = c.append(mailbox, flags, None, m)
        assert typ == "OK", data
        uids.append(int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1)))
    return uids


def drop_maildir(srv, n, mailbox_dir="", body=None):
    d = os.path.join(srv.mail_dir, USER, mailbox_dir, "new")
    os.makedirs(d, exist_ok=True)
    for i in range(n):
        with open(os.path.join(d, "%d.drop%07d.test" % (1700000000 + i, i)), "wb") as f:
            f.write(body if body is not None else message(i))


def _store_ctl(srv, op, name):
    p = subprocess.run([tool_bin("store-ctl"), "-d", srv.mail_dir, "-u", USER, op, name],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, p.stderr.decode()


def create_mailbox(srv, name):
    _store_ctl(srv, "create", name)


def delete_mailbox(srv, name):
    _store_ctl(srv, "delete", name)


def untagged(lines, word):
    out = []
    for ln in lines:
        if not ln.startswith(b"* "):
            continue
        t = ln.split(b" ")
        if (len(t) > 1 and t[1].upper() == word.encode()) or \
           (len(t) > 2 and t[2].upper() == word.encode()):
            out.append(ln)
    return out


def corpus(source, n):
    top = os.path.join(CORPUS, source)
    paths = sorted(os.path.join(d, f) for d, _, files in os.walk(top)
                   for f in files if f.endswith(".eml"))[:n]
    assert len(paths) == n, "corpus %s has %d messages" % (source, len(paths))
    return [(p, open(p, "rb").read()) for p in paths]


def sanitizer_build():
    with open(loft_bin(), "rb") as f:
        return b"__asan_init" in f.read()


def fetch_literals(c, tag, line):
    """Send a FETCH; return (response lines with each literal shown as
    <lit>, the literals)."""
    c.sendline("%s %s" % (tag, line))
    lines, lits = [], []
    pending = b""
    while True:
        ln = pending + c.readline()
        pending = b""
        m = re.search(rb"\{(\d+)\}\r\n$", ln)
        if m:
            n = int(m.group(1))
            while len(c.buf) < n:
                c._fill()
            lits.append(c.buf[:n])
            c.buf = c.buf[n:]
            pending = ln.rstrip(b"\r\n") + b"<lit>"
            continue
        lines.append(ln.rstrip(b"\r\n"))
        if ln.startswith(tag.encode() + b" "):
            return lines, lits


def check_literal_items(c, cases):
    for i, (item, name, want) in enumerate(cases):
        lines, lits = fetch_literals(c, "f%d" % i, "FETCH 1 (%s)" % item)
        assert lines[0] == b"* 1 FETCH (" + name + b" {%d}<lit>)" % len(want), (item, lines)
        assert lits == [want], item
        assert lines[-1] == b"f%d OK FETCH completed." % i


def read_slowly(srv, c, n, peak):
    h = hashlib.sha256(c.buf[:n])
    total = min(len(c.buf), n)
    c.buf = c.buf[total:]
    while total < n:
        chunk = c.sock.recv(min(65536, n - total))
        assert chunk
        h.update(chunk)
        total += len(chunk)
        if total % (2 << 20) < 65536:
            peak = max(peak, srv.rss_kb())
            time.sleep(0.05)              # and then reads slowly
    return h.hexdigest(), peak
