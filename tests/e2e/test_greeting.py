"""Greetings: every protocol greets correctly on plain, STARTTLS and implicit
TLS listeners, on IPv6 loopback, and many concurrent clients across the
worker threads all get greeted."""

import re
import socket
import threading

import pytest

from loftserver import LineClient, have_ipv6_loopback


def test_imap_greeting(loft):
    with loft.connect("imap") as c:
        line = c.readline()
        assert re.match(rb"^\* OK[ \[]", line), line
        assert line.endswith(b"\r\n")
        # A CAPABILITY response code in the greeting must list IMAP4rev1.
        m = re.search(rb"\[CAPABILITY ([^\]]*)\]", line)
        if m:
            assert b"IMAP4rev1" in m.group(1).split(), line


def test_imaps_greeting(loft):
    with loft.connect("imaps") as c:
        line = c.readline()
        assert re.match(rb"^\* OK[ \[]", line), line
        assert c.sock.version() in ("TLSv1.2", "TLSv1.3")


def test_pop3_greeting(loft):
    with loft.connect("pop3") as c:
        line = c.readline()
        assert line.startswith(b"+OK"), line
        assert line.endswith(b"\r\n")


def test_pop3s_greeting(loft):
    with loft.connect("pop3s") as c:
        line = c.readline()
        assert line.startswith(b"+OK"), line


def test_smtp_greeting(loft):
    with loft.connect("smtp") as c:
        lines = c.read_smtp_reply()
        assert lines[0].startswith(b"220"), lines
        # RFC 5321 4.2: the greeting starts with the server's domain name.
        assert re.match(rb"^220[ -]localhost\b", lines[0]), lines
        assert b"ESMTP" in lines[0], lines


def test_lmtp_greeting(loft):
    with loft.connect("lmtp") as c:
        lines = c.read_smtp_reply()
        assert re.match(rb"^220[ -]localhost\b", lines[0]), lines
        assert b"LMTP" in lines[0], lines


def test_stdlib_clients_greeting(loft):
    imap = loft.imap()
    assert imap.welcome.startswith(b"* OK")
    imap.logout()
    pop = loft.pop3()
    assert pop.getwelcome().startswith(b"+OK")
    pop.quit()
    smtp = loft.smtp()
    code, _ = smtp.noop()
    assert code == 250
    smtp.quit()
    lmtp = loft.lmtp()
    code, _ = lmtp.noop()
    assert code == 250
    lmtp.quit()


def test_logout_and_quit(loft):
    with loft.connect("imap") as c:
        c.readline()
        c.sendline("a1 LOGOUT")
        rest = c.read_eof()
        assert re.search(rb"^\* BYE", rest, re.M), rest
        assert re.search(rb"^a1 OK", rest, re.M), rest
        assert rest.index(b"* BYE") < rest.index(b"a1 OK")
    with loft.connect("pop3") as c:
        c.readline()
        c.sendline("QUIT")
        rest = c.read_eof()
        assert rest.startswith(b"+OK"), rest
    for name in ("smtp", "lmtp"):
        with loft.connect(name) as c:
            c.read_smtp_reply()
            c.sendline("QUIT")
            rest = c.read_eof()
            assert rest.startswith(b"221"), (name, rest)


@pytest.mark.skipif(not have_ipv6_loopback(), reason="no IPv6 loopback")
def test_ipv6_loopback_listener(make_loft):
    srv = make_loft(listeners=[
        {"name": "imap6", "protocol": "imap", "tls": "starttls", "address": "::1"},
        {"name": "pop36", "protocol": "pop3", "tls": "implicit", "address": "::1"},
    ])
    s = socket.create_connection(("::1", srv.port("imap6")), timeout=5)
    with LineClient(s) as c:
        assert c.readline().startswith(b"* OK")
        c.sendline("a NOOP")
        assert c.read_until_tag("a")[-1].startswith(b"a OK")
    s = socket.create_connection(("::1", srv.port("pop36")), timeout=5)
    with LineClient(s) as c:
        c.starttls(srv.client_context(), server_hostname="localhost")
        assert c.readline().startswith(b"+OK")


def test_many_concurrent_connections(make_loft):
    """workers = 2: 40 clients connected at once all get their greeting."""
    srv = make_loft(listeners=["imap", "pop3"],
                    config_extra={"limits": {"max_connections_per_ip": 100}})
    results = [None] * 40
    barrier = threading.Barrier(40)

    def client(i):
        name = "imap" if i % 2 == 0 else "pop3"
        try:
            with LineClient.open("127.0.0.1", srv.port(name), timeout=10) as c:
                barrier.wait(timeout=15)   # all 40 are connected now
                results[i] = c.readline()
                barrier.wait(timeout=15)   # hold until every one got its line
        except Exception as e:  # reported below
            results[i] = e

    threads = [threading.Thread(target=client, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(40)
    for i, r in enumerate(results):
        want = b"* OK" if i % 2 == 0 else b"+OK"
        assert isinstance(r, bytes) and r.startswith(want), (i, r)
