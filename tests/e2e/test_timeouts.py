"""Timeouts: an idle client that has not logged in is disconnected after
preauth_timeout with the protocol's goodbye; activity keeps it alive; a
client that stalls the TLS handshake is dropped after handshake_timeout."""

import time

import pytest

from loftserver import LineClient

CFG = {"limits": {"preauth_timeout": "1s"}, "tls": {"handshake_timeout": "1s"}}

GOODBYE = {"imap": b"* BYE", "pop3": b"-ERR", "smtp": b"421", "lmtp": b"421"}
GREETING = {"imap": b"* OK", "pop3": b"+OK", "smtp": b"220", "lmtp": b"220"}


@pytest.fixture
def srv(make_loft):
    return make_loft(listeners=["imap", "pop3", "smtp", "lmtp", "imaps"], config_extra=CFG)


@pytest.mark.parametrize("name", ["imap", "pop3", "smtp", "lmtp"])
def test_preauth_idle_timeout(srv, name):
    with srv.connect(name) as c:
        t0 = time.monotonic()
        assert c.readline().startswith(GREETING[name])
        rest = c.read_eof(timeout=6)
        elapsed = time.monotonic() - t0
        assert elapsed >= 0.8, "closed after %.2fs, before the 1s timeout" % elapsed
        assert rest.startswith(GOODBYE[name]), rest
        assert rest.endswith(b"\r\n"), rest


def test_activity_keeps_preauth_connection(srv):
    with srv.connect("imap") as c:
        c.readline()
        for i in range(6):   # 3 s of activity, three times the timeout
            time.sleep(0.5)
            c.sendline("k%d NOOP" % i)
            assert c.read_until_tag("k%d" % i)[-1].startswith(b"k%d OK" % i)
        rest = c.read_eof(timeout=6)
        assert rest.startswith(b"* BYE"), rest


def test_implicit_tls_handshake_timeout(srv):
    with LineClient.open("127.0.0.1", srv.port("imaps")) as c:
        t0 = time.monotonic()
        c.read_eof(timeout=6)   # never send a ClientHello
        assert time.monotonic() - t0 >= 0.8


def test_starttls_handshake_timeout(srv):
    with srv.connect("imap") as c:
        c.readline()
        c.sendline("a STARTTLS")
        assert c.readline().startswith(b"a OK")
        t0 = time.monotonic()
        data = c.read_eof(timeout=6)   # never start the handshake
        assert time.monotonic() - t0 >= 0.8
        # Anything sent now would have to be TLS: no plaintext BYE.
        assert b"BYE" not in data, data


def test_timeouts_leave_server_healthy(srv):
    conns = [srv.connect(n) for n in ("imap", "pop3", "smtp", "lmtp")]
    for c in conns:
        c.readline()
    for c in conns:
        c.read_eof(timeout=6)
        c.close()
    with srv.connect("imap") as c:
        assert c.readline().startswith(b"* OK")
