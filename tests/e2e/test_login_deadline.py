"""Deadlines a busy client cannot stretch, and the per-network connection
cap. A client that drips a byte at a time never lets preauth_timeout (an
inactivity timeout) expire, so login_deadline bounds the time from connect
to login for IMAP and POP3 (not for LMTP/SMTP, which have no login);
handshake_timeout bounds the TLS handshake from its start however slowly
the ClientHello trickles in; max_connections_per_ip counts a whole client
network (per_ip_ipv4_prefix / per_ip_ipv6_prefix), here shown with IPv4
loopback addresses of one /8."""

import socket
import ssl
import time

import pytest

from loftserver import LineClient

DEADLINE_S = 1.5
CFG = {"limits": {"preauth_timeout": "20s", "login_deadline": "1500ms"},
       "tls": {"handshake_timeout": "1s"}}

GREETING = {"imap": b"* OK", "pop3": b"+OK", "smtp": b"220", "lmtp": b"220"}
GOODBYE = {"imap": b"* BYE", "pop3": b"-ERR"}
# A command that answers before login, dripped one byte at a time.
NOOP = {"imap": b"a NOOP\r\n", "pop3": b"CAPA\r\n", "smtp": b"NOOP\r\n", "lmtp": b"NOOP\r\n"}


@pytest.fixture
def srv(make_loft):
    return make_loft(listeners=["imap", "pop3", "smtp", "lmtp", "imaps"], config_extra=CFG)


def drip(c, data, gap=0.1):
    """Send data one byte at a time; False once the server has closed."""
    for i in range(len(data)):
        try:
            c.send(data[i:i + 1])
        except (BrokenPipeError, ConnectionResetError):
            return False
        time.sleep(gap)
    return True


@pytest.mark.parametrize("name", ["imap", "pop3"])
def test_dripping_client_is_closed_at_login_deadline(srv, name):
    with srv.connect(name) as c:
        t0 = time.monotonic()
        assert c.readline().startswith(GREETING[name])
        c.settimeout(0.05)
        received = b""
        # Keep the connection busy (never idle for 0.1 s) for up to 6 s.
        while time.monotonic() - t0 < 6:
            if not drip(c, NOOP[name]):
                break
            try:
                chunk = c.sock.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
        elapsed = time.monotonic() - t0
        assert elapsed < 5, "still open after %.1fs of dripping" % elapsed
        assert elapsed >= DEADLINE_S - 0.2, "closed after %.2fs" % elapsed
        # Commands were answered until the deadline, then the goodbye.
        assert GOODBYE[name] in received, received[-300:]
    srv.wait_log(r"login deadline passed after \d+ ms")


@pytest.mark.parametrize("name", ["smtp", "lmtp"])
def test_delivery_protocols_have_no_login_deadline(srv, name):
    with srv.connect(name) as c:
        t0 = time.monotonic()
        c.read_smtp_reply()
        while time.monotonic() - t0 < DEADLINE_S + 1.0:
            assert drip(c, NOOP[name], gap=0.05)
            assert c.read_smtp_reply(timeout=3)[0].startswith(b"250")
        c.sendline("QUIT")
        assert c.read_smtp_reply(timeout=3)[0].startswith(b"221")


def client_hello():
    """The bytes of a real TLS ClientHello (Python's ssl over memory BIOs)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    out = ssl.MemoryBIO()
    obj = ctx.wrap_bio(ssl.MemoryBIO(), out, server_side=False)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return out.read()


def test_tls_handshake_timeout_counts_from_its_start(srv):
    hello = client_hello()
    assert len(hello) > 100
    with LineClient.open("127.0.0.1", srv.port("imaps")) as c:
        t0 = time.monotonic()
        # 0.1 s a byte: the ClientHello would take far longer than the 1 s
        # handshake_timeout, but the server never waits 0.1 s for input.
        finished = drip(c, hello[:60])
        elapsed = time.monotonic() - t0
        assert not finished or elapsed < 7
        c.read_eof(timeout=3)
        elapsed = time.monotonic() - t0
        assert 0.8 <= elapsed < 3.5, elapsed
    srv.wait_log(r"tls handshake timeout after 1000 ms")


def connect_from(srv, source, name="imap"):
    s = socket.create_connection(("127.0.0.1", srv.port(name)), timeout=5,
                                 source_address=(source, 0))
    return LineClient(s)


@pytest.mark.parametrize("prefix,third_refused", [(8, True), (32, False)])
def test_per_ip_cap_counts_the_network(make_loft, prefix, third_refused):
    srv = make_loft(listeners=["imap"], config_extra={
        "limits": {"max_connections_per_ip": 2, "per_ip_ipv4_prefix": prefix}})
    held = []
    try:
        for src in ("127.0.0.2", "127.0.0.3"):
            c = connect_from(srv, src)
            held.append(c)
            assert c.readline().startswith(b"* OK")
        c = connect_from(srv, "127.0.0.4")
        held.append(c)
        line = c.readline()
        if third_refused:
            assert line.startswith(b"* BYE"), line
            assert c.read_eof(timeout=3) == b""
            srv.wait_log(r"max_connections_per_ip reached .*network=127\.0\.0\.0/8")
        else:
            assert line.startswith(b"* OK"), line
            # Each address is its own network with /32: a fourth from .4 fits,
            # a third from .2 does not.
            d = connect_from(srv, "127.0.0.4")
            held.append(d)
            assert d.readline().startswith(b"* OK")
            e = connect_from(srv, "127.0.0.2")
            held.append(e)
            assert e.readline().startswith(b"* OK")
            e2 = connect_from(srv, "127.0.0.2")
            held.append(e2)
            assert e2.readline().startswith(b"* BYE")
    finally:
        for c in held:
            c.close()


def test_logged_in_sessions_outlive_the_login_deadline(make_loft):
    """The deadline bounds the time to log in only: an IMAP or POP3 session
    that logged in keeps working past it (idle_timeout applies then)."""
    srv = make_loft(listeners=["imap", "pop3"], config_extra=CFG, users={"alice": "pw"})
    imap = srv.imap()
    imap.login("alice", "pw")
    pop = srv.pop3()
    pop.user("alice")
    pop.pass_("pw")
    time.sleep(DEADLINE_S + 1.0)
    assert imap.noop()[0] == "OK"
    assert pop.noop().startswith(b"+OK")
    imap.logout()
    pop.quit()
