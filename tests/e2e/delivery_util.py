"""Helpers of the delivery tests (test_lmtp.py, test_smtp.py, test_postfix.py,
test_delivery_durability.py): reading what landed in a user's Maildir,
telling the trace headers Loft adds from the message, raw LMTP/SMTP
transactions, a users file with extra fields, and a sink SMTP server.

  messages(srv, user, mailbox="INBOX") -> [(path, bytes)] in delivery order
                                 (cur/ and new/, sorted by UID)
  split_trace(data) -> ([(name, value)], rest)  the leading Delivered-To,
                                 Return-Path and Received fields (unfolded)
                                 and the message as the client sent it
  spool_files(srv)               what is left in the delivery spool
  users_text(spec)               passwd-file text: {name: (password, extra)}
  hello(c, verb="LHLO")          greeting and hello on a LineClient
  transaction(c, sender, rcpts, body, lmtp=True, mail_params="",
              rcpt_params="")    MAIL, RCPT..., DATA with the body
                                 dot-stuffed; returns (mail, [rcpt...],
                                 data, [final...]): one final reply per
                                 accepted recipient on LMTP, one on SMTP
  SinkServer()                   an SMTP server in a thread that takes every
                                 message (.port, .messages: [(mail_from,
                                 [rcpts], bytes)], .wait(n), .close())
"""

import os
import re
import socket
import threading
import time

from loftserver import hash_password
from storage_util import parse_name

TRACE_FIELDS = ("delivered-to", "return-path", "received")


def mailbox_dir(srv, user, mailbox="INBOX"):
    d = os.path.join(srv.mail_dir, user)
    if mailbox.upper() == "INBOX":
        return d
    parts = [p.replace("%", "%25").replace(".", "%2E") for p in mailbox.split("/")]
    return os.path.join(d, "." + ".".join(parts))


def messages(srv, user, mailbox="INBOX"):
    d = mailbox_dir(srv, user, mailbox)
    out = []
    for sub in ("cur", "new"):
        p = os.path.join(d, sub)
        if not os.path.isdir(p):
            continue
        for name in os.listdir(p):
            if name.startswith("."):
                continue
            with open(os.path.join(p, name), "rb") as f:
                out.append((parse_name(name)[1] or 0, os.path.join(p, name), f.read()))
    out.sort()
    return [(path, data) for _, path, data in out]


def split_trace(data):
    fields = []
    rest = data
    while True:
        m = re.match(rb"^([A-Za-z-]+):[ \t]*((?:[^\r\n]*\r?\n[ \t][^\r\n]*)*[^\r\n]*)\r?\n", rest)
        if not m or m.group(1).decode().lower() not in TRACE_FIELDS:
            break
        value = re.sub(rb"\r?\n[ \t]+", b" ", m.group(2)).decode("utf-8", "replace")
        fields.append((m.group(1).decode(), value))
        rest = rest[m.end():]
    return fields, rest


def spool_files(srv):
    d = os.path.join(srv.mail_dir, ".loft-spool", "tmp")
    return os.listdir(d) if os.path.isdir(d) else []


def users_text(spec):
    lines = []
    for name, (pw, extra) in spec.items():
        lines.append("%s:%s::::::%s\n" % (name, hash_password(pw), extra or ""))
    return "".join(lines)


def stuff(body):
    """Dot-stuff body (CRLF lines) and end it with CRLF.CRLF."""
    lines = body.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines = lines[:-1]
    return b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines) + b".\r\n"


def hello(c, verb="LHLO"):
    assert c.read_smtp_reply(timeout=10)[0].startswith(b"220")
    c.sendline(verb + " client.example")
    r = c.read_smtp_reply()
    assert r[-1].startswith(b"250 "), r
    return [l[4:].decode().strip() for l in r[1:]]


def transaction(c, sender, rcpts, body, lmtp=True, mail_params="", rcpt_params=""):
    c.sendline("MAIL FROM:<%s>%s" % (sender, mail_params))
    mail = c.read_smtp_reply()[0]
    got = []
    for r in rcpts:
        c.sendline("RCPT TO:<%s>%s" % (r, rcpt_params))
        got.append(c.read_smtp_reply()[0])
    c.sendline("DATA")
    data = c.read_smtp_reply()[0]
    final = []
    if data.startswith(b"354"):
        c.send(stuff(body))
        n = sum(1 for r in got if r.startswith(b"250")) if lmtp else 1
        final = [c.read_smtp_reply(timeout=30)[0] for _ in range(n)]
    return mail, got, data, final


class SinkServer:
    """A minimal SMTP server (RFC 5321 server side, enough for one client
    at a time) that keeps every message it is given."""

    def __init__(self, reject_rcpt=False):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.messages = []
        self.transcripts = []
        self.reject_rcpt = reject_rcpt
        self.cond = threading.Condition()
        self.closed = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            try:
                self._session(conn)
            except OSError:
                pass
            finally:
                conn.close()

    def _session(self, conn):
        f = conn.makefile("rb")
        log = []

        def say(line):
            conn.sendall(line.encode() + b"\r\n")

        say("220 sink ESMTP")
        sender, rcpts = None, []
        while True:
            line = f.readline()
            if not line:
                return
            log.append(line)
            cmd = line.strip().decode("utf-8", "replace")
            up = cmd.upper()
            if up.startswith("EHLO"):
                conn.sendall(b"250-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING\r\n")
            elif up.startswith("HELO"):
                say("250 sink")
            elif up.startswith("MAIL FROM:"):
                sender = cmd[10:].split(">")[0].lstrip(" <")
                rcpts = []
                say("250 2.1.0 ok")
            elif up.startswith("RCPT TO:"):
                if self.reject_rcpt:
                    say("550 5.1.1 no")
                else:
                    rcpts.append(cmd[8:].split(">")[0].lstrip(" <"))
                    say("250 2.1.5 ok")
            elif up == "DATA":
                say("354 go")
                data = b""
                while True:
                    l = f.readline()
                    if not l or l == b".\r\n":
                        break
                    data += l[1:] if l.startswith(b".") else l
                with self.cond:
                    self.messages.append((sender, rcpts, data))
                    self.cond.notify_all()
                say("250 2.0.0 queued")
            elif up == "QUIT":
                say("221 bye")
                with self.cond:
                    self.transcripts.append(log)
                return
            else:
                say("250 ok")

    def wait(self, n, timeout=15):
        end = time.monotonic() + timeout
        with self.cond:
            while len(self.messages) < n and time.monotonic() < end:
                self.cond.wait(0.2)
            return len(self.messages) >= n

    def close(self):
        self.closed = True
        self.sock.close()
