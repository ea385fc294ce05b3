"""Input and connection limits: overlong lines get the protocol's error and
the session goes on, connections per address are capped with the protocol's
refusal, pipelined commands are answered in order, and a client that never
reads cannot make the server buffer unbounded output."""

import re
import select
import time

import pytest

LONG = 100 * 1024   # above every default line limit


# ---- overlong lines --------------------------------------------------------

def test_imap_overlong_line(loft):
    with loft.connect("imap") as c:
        c.readline()
        c.send(b"a1 NOOP " + b"x" * LONG + b"\r\n")
        line = c.readline(timeout=10)
        assert re.match(rb"(a1|\*) BAD", line), line
        c.sendline("a2 NOOP")
        lines = c.read_until_tag("a2", timeout=10)
        assert lines[-1].startswith(b"a2 OK"), lines
        # nothing of the long line was taken as a command
        assert all(l.startswith((b"a2 ", b"* ")) for l in lines), lines


def test_imap_overlong_line_in_tls(loft):
    with loft.connect("imaps") as c:
        c.readline()
        c.send(b"a1 NOOP " + b"y" * LONG + b"\r\n")
        line = c.readline(timeout=10)
        assert re.match(rb"(a1|\*) BAD", line), line
        c.sendline("a2 NOOP")
        assert c.read_until_tag("a2", timeout=10)[-1].startswith(b"a2 OK")


def test_imap_huge_literal_before_login_is_refused(loft):
    with loft.connect("imap") as c:
        c.readline()
        c.sendline("a1 LOGIN {999999999}")
        line = c.readline(timeout=10)
        # No "+ go ahead" for a literal far above the pre-login line limit.
        assert not line.startswith(b"+"), line
        assert re.match(rb"(a1|\*) (BAD|NO|BYE)", line), line


def test_pop3_overlong_line(loft):
    with loft.connect("pop3") as c:
        c.readline()
        c.send(b"USER " + b"x" * LONG + b"\r\n")
        line = c.readline(timeout=10)
        assert line.startswith(b"-ERR"), line
        c.sendline("CAPA")
        lines = c.read_multiline(timeout=10)
        assert lines[0].startswith(b"+OK") and lines[-1] == b".\r\n", lines
        assert c.pending(0.3) == b""


@pytest.mark.parametrize("name", ["smtp", "lmtp"])
def test_smtp_overlong_line(make_loft, name):
    srv = make_loft(listeners=[name], config_extra={"limits": {"max_line_length_preauth": 1024}})
    with srv.connect(name) as c:
        c.read_smtp_reply()
        # Under the configured limit (and RFC 5321's 512): accepted.
        c.sendline("NOOP " + "n" * 400)
        assert c.read_smtp_reply()[0].startswith(b"250")
        # Over it: 500 (RFC 5321 4.5.3.1.4), then the session goes on.
        c.send(b"NOOP " + b"x" * 4000 + b"\r\n")
        reply = c.read_smtp_reply(timeout=10)
        assert reply[0].startswith(b"500"), reply
        c.sendline("NOOP")
        reply = c.read_smtp_reply(timeout=10)
        assert reply[0].startswith(b"250"), reply
        c.send(b"NOOP " + b"z" * LONG + b"\r\n")
        assert c.read_smtp_reply(timeout=10)[0].startswith(b"500")
        c.sendline("NOOP")
        assert c.read_smtp_reply(timeout=10)[0].startswith(b"250")
        assert c.pending(0.3) == b""


# ---- connections per address ---------------------------------------------

def open_n_greeted(srv, name, want, n, timeout=3.0):
    """n greeted connections. A refusal is retried for a while: the server
    counts a closed connection (e.g. the harness' readiness probes) until
    its close completes, a moment after the client sees EOF."""
    return [accepted_within(srv, name, want, timeout) for _ in range(n)]


def expect_refused(srv, name, want):
    c = srv.connect(name)
    try:
        data = c.read_eof(timeout=5)
    finally:
        c.close()
    assert data.startswith(want), (name, data)
    return data


def accepted_within(srv, name, want, timeout=3.0):
    """A new connection is greeted normally within timeout (the server may
    take a moment to notice a closed connection)."""
    deadline = time.monotonic() + timeout
    while True:
        c = srv.connect(name)
        line = c.readline()
        if line.startswith(want):
            return c
        c.close()
        if time.monotonic() > deadline:
            raise AssertionError("not accepted again: %r" % line)
        time.sleep(0.1)


def test_connection_limit_per_address(make_loft):
    srv = make_loft(listeners=["imap", "pop3", "smtp", "lmtp"],
                    config_extra={"limits": {"max_connections_per_ip": 3}})
    held = open_n_greeted(srv, "imap", b"* OK", 3)
    try:
        expect_refused(srv, "imap", b"* BYE")
        expect_refused(srv, "pop3", b"-ERR")
        expect_refused(srv, "smtp", b"421")
        expect_refused(srv, "lmtp", b"421")
        # The held connections are unaffected.
        for i, c in enumerate(held):
            c.sendline("h%d NOOP" % i)
            assert c.read_until_tag("h%d" % i)[-1].startswith(b"h%d OK" % i)
        held.pop().close()
        held.append(accepted_within(srv, "pop3", b"+OK"))
        expect_refused(srv, "imap", b"* BYE")
    finally:
        for c in held:
            c.close()
    srv.wait_log(r"limit|too many|refus", timeout=2)


# ---- pipelining and output back-pressure ---------------------------------

def test_imap_pipelined_commands_answered_in_order(loft):
    with loft.connect("imap") as c:
        c.readline()
        cmds = []
        for i in range(40):
            # two bad commands only: servers may drop clients after many
            verb = "BOGUS" if i in (7, 29) else ("NOOP", "CAPABILITY")[i % 2]
            cmds.append(("p%02d" % i, verb))
        c.send(b"".join(("%s %s\r\n" % (t, v)).encode() for t, v in cmds))
        for tag, verb in cmds:
            lines = c.read_until_tag(tag, timeout=10)
            tagged = [l for l in lines if not l.startswith(b"* ")]
            assert len(tagged) == 1, (tag, lines)
            if verb == "CAPABILITY":
                assert any(l.startswith(b"* CAPABILITY ") for l in lines), lines
                assert tagged[0].startswith(tag.encode() + b" OK")
            elif verb == "NOOP":
                assert tagged[0].startswith(tag.encode() + b" OK")
            else:
                assert tagged[0].startswith(tag.encode() + b" BAD")


def test_pop3_and_smtp_pipelined(loft):
    with loft.connect("pop3") as c:
        c.readline()
        c.send(b"CAPA\r\nXYZZY\r\nCAPA\r\n")
        capa = c.read_multiline()
        assert capa[0].startswith(b"+OK") and capa[-1] == b".\r\n"
        assert c.readline().startswith(b"-ERR")
        assert c.read_multiline() == capa
    with loft.connect("smtp") as c:
        c.read_smtp_reply()
        c.send(b"EHLO a.example\r\nNOOP\r\nRSET\r\nNOOP\r\n")
        ehlo = c.read_smtp_reply()
        assert ehlo[0].startswith(b"250") and len(ehlo) > 1, ehlo
        assert any(b"PIPELINING" in l for l in ehlo), ehlo
        for _ in range(3):
            assert c.read_smtp_reply()[0].startswith(b"250")


def test_client_that_never_reads_cannot_grow_server_memory(make_loft):
    srv = make_loft(listeners=["imap"],
                    config_extra={"limits": {"max_output_buffer": "64K"}})
    c = srv.connect("imap")
    c.readline()
    c.sendline("w0 NOOP")
    c.read_until_tag("w0")
    rss0 = srv.rss_kb()
    sock = c.sock
    sock.setblocking(False)
    batch = b"".join(b"c%06d CAPABILITY\r\n" % i for i in range(2000))
    sent = 0
    limit = 16 * 1024 * 1024   # ~1M commands: ~300 MB of replies if unbounded
    stalled_since = None
    closed = False
    pending = memoryview(batch)
    while sent < limit:
        try:
            n = sock.send(pending)
        except BlockingIOError:
            n = 0
        except (BrokenPipeError, ConnectionResetError):
            closed = True   # the server gave up on this client: also bounded
            break
        if n:
            sent += n
            pending = pending[n:] if n < len(pending) else memoryview(batch)
            stalled_since = None
            continue
        now = time.monotonic()
        if stalled_since is None:
            stalled_since = now
        elif now - stalled_since > 1.5:
            break
        select.select([], [sock], [], 0.1)
    rss1 = srv.rss_kb()
    sock.close()
    assert closed or sent < limit, \
        "server kept reading %d bytes from a client that never reads" % sent
    assert rss1 - rss0 < 64 * 1024, \
        "server RSS grew from %d kB to %d kB (%d bytes sent)" % (rss0, rss1, sent)
    # The server is fine afterwards.
    with srv.connect("imap") as c2:
        assert c2.readline().startswith(b"* OK")
        c2.sendline("z NOOP")
        assert c2.read_until_tag("z")[-1].startswith(b"z OK")
