"""Helpers of the POP3 end-to-end tests (test_pop3_*.py).

  pop3_server(make_loft, pop3=None, users=None, **kw)
                        a started LoftServer with listeners pop3 (STLS),
                        pop3s and imap, users alice/bob ("secret") and the
                        [pop3] settings given as a dict
  deliver(srv, user, data, flags=None)
                        `loft deliver` (bytes in, exit 0 asserted)
  login(srv, user="alice", name="pop3")
                        a poplib client after USER/PASS
  raw_login(srv, user="alice")
                        a LineClient after USER/PASS (for exact bytes)
  read_body(c)          the raw bytes after a +OK status line up to and
                        without the "\\r\\n.\\r\\n" terminator, un-stuffed
  crlf(data)            the CRLF form the server counts (bare LF -> CRLF)
  top_of(data, n)       what TOP n must send for data (CRLF form)
  dump(srv, user)       {uid: (flags, keywords)} of INBOX via store-ctl
"""
import os
import re
import subprocess

from loftserver import LineClient, loft_bin
from storage_util import tool_bin

USERS = {"alice": "secret", "bob": "secret"}


def pop3_server(make_loft, pop3=None, users=None, listeners=None, extra=None):
    # failed logins answer at once here (tests/e2e/test_auth_throttle.py
    # covers the delays)
    cfg = {"pop3": dict(pop3 or {}), "auth": {"fail_delay": "0s"}}
    for sec, kv in (extra or {}).items():
        cfg.setdefault(sec, {}).update(kv)
    return make_loft(listeners=listeners or ["pop3", "pop3s", "imap"],
                     config_extra=cfg, users=users or USERS)


def deliver(srv, user, data, flags=None):
    if isinstance(data, str):
        data = data.encode()
    args = [loft_bin(), "-c", srv.config_path, "deliver", "-u", user]
    if flags:
        args += ["-f", flags]
    p = subprocess.run(args, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    assert p.returncode == 0, p.stderr.decode(errors="replace")


def login(srv, user="alice", name="pop3", password="secret"):
    c = srv.pop3(name)
    c.user(user)
    c.pass_(password)
    return c


def raw_login(srv, user="alice", password="secret"):
    c = srv.connect("pop3")
    assert c.readline().startswith(b"+OK")
    c.sendline("USER " + user)
    assert c.readline().startswith(b"+OK")
    c.sendline("PASS " + password)
    line = c.readline()
    assert line.startswith(b"+OK"), line
    return c


def read_body(c, timeout=10):
    """Raw multi-line body (after the status line was read): bytes up to the
    terminator, with the stuffed dots removed."""
    out = []
    while True:
        line = c.readline(timeout)
        if not line:
            raise EOFError("connection closed inside a multi-line reply")
        if line == b".\r\n":
            break
        assert line.endswith(b"\r\n"), line
        if line.startswith(b"."):
            assert line.startswith(b".."), "unstuffed dot line %r" % line
            line = line[1:]
        out.append(line)
    return b"".join(out)


def crlf(data):
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


def top_of(data, n):
    """The CRLF form of data cut after the header, its blank line and n body
    lines (a message without a blank line is all header)."""
    out, in_body, left = [], False, n
    for piece in re.findall(rb"(?s).*?\r\n|.+\Z", crlf(data)):
        if in_body:
            if left == 0:
                break
            left -= 1
        out.append(piece)
        if not in_body and piece == b"\r\n":
            in_body = True
    return b"".join(out)


def dump(srv, user):
    """{uid: (flags, keywords)} of INBOX as the index says (store-ctl)."""
    p = subprocess.run([tool_bin("store-ctl"), "-d", srv.mail_dir, "-u", user, "dump",
                        "INBOX"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    out = {}
    for line in p.stdout.decode().splitlines():
        f = line.split("\t")
        if f[0] == "M":
            out[int(f[1])] = ("" if f[4] == "-" else f[4], "" if f[5] == "-" else f[5])
    return out


def user_dir(srv, user):
    return os.path.join(srv.mail_dir, user)
