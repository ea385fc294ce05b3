"""A real Postfix (Debian's package) relaying mail into Loft over LMTP, the
way administrators deploy it: the test runs its own Postfix instance from a
temporary configuration directory (loopback ports only, its own queue; the
system's Postfix is never touched) with `virtual_transport =
lmtp:inet:127.0.0.1:PORT` for one domain and a transport map entry
`lmtp:unix:PATH` for another (a socket owned by the postfix user, mode
0600). Mail handed to Postfix over SMTP must reach the Maildir
byte-identical apart from the trace lines Postfix and Loft add, an unknown
user must bounce (Loft's 550 5.1.1 is permanent for Postfix) and a full
mailbox too, and Postfix's queue must end empty. Root is needed to run a
Postfix master; CI runs as root."""

import os
import pwd
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time

import pytest

from delivery_util import messages, split_trace, users_text

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
POSTQUEUE = shutil.which("postqueue") or "/usr/sbin/postqueue"

MASTER_CF = """\
{smtp_addr} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
local     unix  - n n -  - local
virtual   unix  - n n -  - virtual
lmtp      unix  - - n -  - lmtp
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postfix:
    """A private Postfix instance in directory d."""

    def __init__(self, d, lmtp_port, lmtp_socket):
        self.dir = d
        self.conf = os.path.join(d, "conf")
        self.queue = os.path.join(d, "queue")
        self.log = os.path.join(d, "maillog")
        self.port = free_port()
        os.makedirs(self.conf)
        os.makedirs(self.queue)
        data = os.path.join(d, "data")
        os.makedirs(data)
        pf = pwd.getpwnam("postfix")
        os.chown(data, pf.pw_uid, pf.pw_gid)
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = postfix.test
mydestination =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = loft.test unix.test
virtual_mailbox_maps = static:ok
virtual_transport = lmtp:inet:127.0.0.1:{lmtp_port}
transport_maps = inline:{{ unix.test=lmtp:unix:{lmtp_socket} }}
smtputf8_enable = yes
maillog_file = {self.log}
maillog_file_prefixes = {d}
biff = no
""")
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(smtp_addr="127.0.0.1:%d" % self.port))

    def run(self, *args, check=True):
        p = subprocess.run([POSTFIX, "-c", self.conf] + list(args), capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL)
        if check:
            assert p.returncode == 0, "postfix %s: %s%s\n%s" % (
                " ".join(args), p.stdout, p.stderr, self.log_text())
        return p

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    def start(self):
        self.run("check")
        self.run("start")
        end = time.monotonic() + 20
        while time.monotonic() < end:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("postfix did not listen:\n" + self.log_text())

    def stop(self):
        self.run("stop", check=False)
        pidfile = os.path.join(self.queue, "pid", "master.pid")
        end = time.monotonic() + 10
        while os.path.exists(pidfile) and time.monotonic() < end:
            time.sleep(0.1)

    def queue_empty(self, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            p = subprocess.run([POSTQUEUE, "-c", self.conf, "-p"], capture_output=True,
                               text=True, timeout=30)
            if "Mail queue is empty" in p.stdout:
                return True
            time.sleep(0.3)
        return False


@pytest.fixture
def chain(make_loft):
    if os.geteuid() != 0:
        pytest.skip("running a Postfix master needs root (CI runs as root)")
    # the socket's directory must be searchable by the postfix user
    sockdir = tempfile.mkdtemp(prefix="loft-postfix-", dir="/tmp")
    os.chmod(sockdir, 0o755)
    sock = os.path.join(sockdir, "lmtp")
    users = {"alice": ("pw", ""), "bob": ("pw", ""), "sender": ("pw", ""),
             "full": ("pw", "quota_messages=1")}
    srv = make_loft(listeners=["lmtp-plain", "imap"], users=users_text(users), config_extra={
        "server": {"local_domains": "loft.test unix.test"},
        "listener unix": {"protocol": "lmtp", "socket": sock, "socket_mode": "0600",
                          "socket_owner": "postfix"}})
    pfdir = tempfile.mkdtemp(prefix="loft-pf-", dir="/tmp")
    os.chmod(pfdir, 0o755)
    pf = Postfix(pfdir, srv.port("lmtp-plain"), sock)
    pf.start()
    try:
        yield srv, pf
    finally:
        pf.stop()
        shutil.rmtree(pfdir, ignore_errors=True)
        srv.stop()
        shutil.rmtree(sockdir, ignore_errors=True)


def message(n, extra=b""):
    return (b"From: Sender <sender@loft.test>\r\nTo: alice@loft.test\r\n"
            b"Subject: through postfix %d\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n"
            b"Message-ID: <pf-%d@loft.test>\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
            b"\r\nHello through Postfix.\r\n.a dot line\r\n" % (n, n)
            + "Gr\u00fc\u00dfe \u20ac\r\n".encode() + extra)


def wait_messages(srv, user, n, mailbox="INBOX", timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        got = messages(srv, user, mailbox)
        if len(got) >= n:
            return got
        time.sleep(0.2)
    return messages(srv, user, mailbox)


def test_postfix_relays_into_loft(chain):
    srv, pf = chain
    big = b"".join(b"line %06d of a big message, long enough to matter\r\n" % i
                   for i in range(8000))
    sent = [message(1), message(2, big), message(3)]
    with smtplib.SMTP("127.0.0.1", pf.port, timeout=30) as s:
        s.ehlo("client.example")
        # alice and bob over TCP, one of them twice in one message
        assert s.sendmail("sender@loft.test", ["alice@loft.test", "bob@loft.test"],
                          sent[0]) == {}
        assert s.sendmail("sender@loft.test", ["alice@loft.test"], sent[1]) == {}
        # over the UNIX socket
        assert s.sendmail("sender@loft.test", ["alice@unix.test"], sent[2]) == {}
    assert pf.queue_empty(), pf.log_text()
    got = wait_messages(srv, "alice", 3)
    assert len(got) == 3, got
    by_id = {m.split(b"Message-ID: ")[1].split(b"\r\n")[0]: m for m in sent}
    via_unix = None
    for path, data in got:   # Postfix delivers in parallel: match by Message-ID
        fields, rest = split_trace(data)
        orig = by_id.pop(rest.split(b"Message-ID: ")[1].split(b"\r\n")[0])
        if orig is sent[2]:
            via_unix = fields
        # Loft's lines, then Postfix's Received, then the message as sent
        assert [f[0] for f in fields][-3:] == ["Return-Path", "Received", "Received"], fields
        assert fields[-3][1] == "<sender@loft.test>"
        assert " (Loft) with LMTP id " in fields[-2][1], fields
        assert " (Postfix) with ESMTP id " in fields[-1][1], fields
        assert rest == orig
    assert by_id == {}
    assert via_unix[-2][1].startswith("from postfix.test (unix) by "), via_unix
    assert len(wait_messages(srv, "bob", 1)) == 1
    # the index knows them too
    with srv.imap() as m:
        m.login("alice", "pw")
        typ, data = m.status("INBOX", "(MESSAGES)")
        assert typ == "OK" and b"MESSAGES 3" in data[0], data
    log = pf.log_text()
    assert "status=sent (250 2.0.0 <alice@loft.test> Delivered)" in log, log
    assert "relay=127.0.0.1[127.0.0.1]:%d" % srv.port("lmtp-plain") in log


def test_postfix_bounces_what_loft_refuses(chain):
    srv, pf = chain
    with smtplib.SMTP("127.0.0.1", pf.port, timeout=30) as s:
        s.ehlo("client.example")
        # Postfix accepts (static:ok); Loft refuses at RCPT with 550 5.1.1
        assert s.sendmail("sender@loft.test", ["nobody@loft.test", "alice@loft.test"],
                          message(10)) == {}
        # full mailbox: the second message is refused with 552 5.2.2
        s.sendmail("sender@loft.test", ["full@loft.test"], message(11))
        s.sendmail("sender@loft.test", ["full@loft.test"], message(12))
    assert pf.queue_empty(), pf.log_text()
    assert len(wait_messages(srv, "alice", 1)) == 1
    assert len(messages(srv, "full")) == 1
    # Postfix sent the bounces back to the sender, who is a Loft user
    bounces = wait_messages(srv, "sender", 2)
    assert len(bounces) == 2, pf.log_text()
    texts = b"\n".join(b for _, b in bounces)
    assert b"5.1.1" in texts and b"nobody@loft.test" in texts
    assert b"5.2.2" in texts and b"full@loft.test" in texts
    log = pf.log_text()
    assert "to=<nobody@loft.test>" in log and "status=bounced" in log
