"""Timeouts: an idle client that has not logged in is disconnected after
preauth_timeout (LMTP and SMTP, which have no login: [delivery]
command_timeout) with the protocol's goodbye; activity keeps it alive; after
login the longer idle_timeout applies; a client that stalls the TLS
handshake is dropped after handshake_timeout."""

import re
import time

import pytest

from loftserver import LineClient

# Each test can tell which timer fired: the one it is about is 1 s, the
# other 4 s, and the close reason in the log names it.
CFG = {"limits": {"preauth_timeout": "1s"}, "tls": {"handshake_timeout": "4s"},
       "delivery": {"command_timeout": "1s"}, "smtp": {"greeting_delay": "0"}}
TLS_CFG = {"limits": {"preauth_timeout": "4s"}, "tls": {"handshake_timeout": "1s"}}

GOODBYE = {"imap": b"* BYE", "pop3": b"-ERR", "smtp": b"421", "lmtp": b"421"}
GREETING = {"imap": b"* OK", "pop3": b"+OK", "smtp": b"220", "lmtp": b"220"}


@pytest.fixture
def srv(make_loft):
    return make_loft(listeners=["imap", "pop3", "smtp", "lmtp", "imaps"], config_extra=CFG)


@pytest.fixture
def tls_srv(make_loft):
    return make_loft(listeners=["imap", "imaps"], config_extra=TLS_CFG)


def closed_by(srv, mark, reason):
    """The one connection closed since mark, closed for reason."""
    srv.wait_log(r'disconnect reason="', timeout=5, since=mark)
    reasons = re.findall(r'disconnect reason="([^"]*)"', srv.log_text(mark))
    assert reasons == [reason], srv.log_text(mark)


@pytest.mark.parametrize("name", ["imap", "pop3", "smtp", "lmtp"])
def test_preauth_idle_timeout(srv, name):
    mark = srv.log_mark()
    with srv.connect(name) as c:
        t0 = time.monotonic()
        assert c.readline().startswith(GREETING[name])
        rest = c.read_eof(timeout=6)
        elapsed = time.monotonic() - t0
        assert elapsed >= 0.8, "closed after %.2fs, before the 1s timeout" % elapsed
        assert elapsed < 3.5, "closed after %.2fs: not the 1s timer" % elapsed
        assert rest.startswith(GOODBYE[name]), rest
        assert rest.endswith(b"\r\n"), rest
    closed_by(srv, mark, "timeout")


def test_activity_keeps_preauth_connection(srv):
    with srv.connect("imap") as c:
        c.readline()
        for i in range(6):   # 3 s of activity, three times the timeout
            time.sleep(0.5)
            c.sendline("k%d NOOP" % i)
            assert c.read_until_tag("k%d" % i)[-1].startswith(b"k%d OK" % i)
        rest = c.read_eof(timeout=6)
        assert rest.startswith(b"* BYE"), rest


def test_implicit_tls_handshake_timeout(tls_srv):
    mark = tls_srv.log_mark()
    with LineClient.open("127.0.0.1", tls_srv.port("imaps")) as c:
        t0 = time.monotonic()
        c.read_eof(timeout=6)   # never send a ClientHello
        elapsed = time.monotonic() - t0
        assert 0.8 <= elapsed < 3.5, "closed after %.2fs: not the 1s timer" % elapsed
    closed_by(tls_srv, mark, "tls handshake timeout")


def test_starttls_handshake_timeout(tls_srv):
    with tls_srv.connect("imap") as c:
        c.readline()
        c.sendline("a STARTTLS")
        assert c.readline().startswith(b"a OK")
        mark = tls_srv.log_mark()
        t0 = time.monotonic()
        data = c.read_eof(timeout=6)   # never start the handshake
        elapsed = time.monotonic() - t0
        assert 0.8 <= elapsed < 3.5, "closed after %.2fs: not the 1s timer" % elapsed
        # Anything sent now would have to be TLS: no plaintext BYE.
        assert b"BYE" not in data, data
    closed_by(tls_srv, mark, "tls handshake timeout")


def test_timeouts_leave_server_healthy(srv):
    conns = [srv.connect(n) for n in ("imap", "pop3", "smtp", "lmtp")]
    for c in conns:
        c.readline()
    for c in conns:
        c.read_eof(timeout=6)
        c.close()
    with srv.connect("imap") as c:
        assert c.readline().startswith(b"* OK")


def test_idle_timeout_after_login(make_loft):
    """After login the (longer) idle_timeout applies instead of
    preauth_timeout, and it too ends with a BYE."""
    srv = make_loft(listeners=["imaps"], users={"alice": "pw"},
                    config_extra={"limits": {"preauth_timeout": "1s", "idle_timeout": "3s"}})
    mark = srv.log_mark()
    with srv.connect("imaps") as c:
        c.readline()
        c.sendline("l LOGIN alice pw")
        assert c.read_until_tag("l")[-1].startswith(b"l OK")
        t0 = time.monotonic()
        rest = c.read_eof(timeout=10)
        elapsed = time.monotonic() - t0
        assert elapsed >= 2.5, "closed after %.1fs: preauth_timeout still applied" % elapsed
        assert re.search(rb"^\* BYE", rest, re.M), rest
    closed_by(srv, mark, "timeout")
