"""Changes made by other sessions and processes, as an IMAP session sees
them (RFC 9051 5.2, 7.5.1, RFC 3501 7.4.1, RFC 2177 IDLE): FETCH FLAGS,
EXISTS/RECENT and EXPUNGE on NOOP, CHECK and other commands; no EXPUNGE
while a FETCH or STORE by sequence number runs (sequence numbers stay put),
UID commands may; IDLE pushes changes from another connection and from
`loft deliver` in another process at once; the IDLE timeout."""

import time

import pytest

from imap_util import (USER, append, cmd, imap_server, login, message, raw_login,
                       sanitizer_build, untagged)


def two(make_loft, n=4, **kw):
    srv = imap_server(make_loft, **kw)
    im = login(srv)
    append(im, [message(i) for i in range(n)])
    a, b = raw_login(srv), raw_login(srv)
    cmd(a, "s", "SELECT INBOX")
    cmd(b, "s", "SELECT INBOX")
    cmd(a, "r", "FETCH 1:* FLAGS")
    return srv, im, a, b


def test_flag_changes_of_others_on_noop(make_loft):
    srv, im, a, b = two(make_loft)
    cmd(b, "x", "STORE 2 +FLAGS.SILENT (\\Flagged $Seen2)")
    r = cmd(a, "n", "NOOP")
    assert r[0] == b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Seen2)"
    assert r[2] == b"* 2 FETCH (UID 2 FLAGS (\\Flagged $Seen2 \\Recent))"
    assert r[-1] == b"n OK NOOP completed."
    assert cmd(a, "n2", "NOOP") == [b"n2 OK NOOP completed."]
    # a .SILENT STORE of one's own still shows what others changed
    cmd(b, "y", "STORE 3 +FLAGS.SILENT (\\Answered)")
    r = cmd(a, "z", "STORE 1 +FLAGS.SILENT (\\Seen)")
    assert r == [b"* 3 FETCH (UID 3 FLAGS (\\Answered \\Recent))", b"z OK STORE completed."]


def test_new_messages_on_noop_and_after_append(make_loft):
    srv, im, a, b = two(make_loft)
    append(im, [message(10)])
    assert cmd(a, "n", "NOOP") == [b"* 5 EXISTS", b"* 5 RECENT", b"n OK NOOP completed."]
    # an APPEND to the selected mailbox reports EXISTS before its OK
    a.sendline("p APPEND INBOX {%d+}" % len(message(11)))
    a.send(message(11) + b"\r\n")
    r = [ln.rstrip(b"\r\n") for ln in a.read_until_tag("p")]
    assert r[0] == b"* 6 EXISTS" and r[-1].startswith(b"p OK [APPENDUID ")
    assert b"* 6 EXISTS" in cmd(b, "n", "NOOP")


def test_no_expunge_during_fetch_or_store_by_number(make_loft):
    srv, im, a, b = two(make_loft)
    cmd(b, "d", "STORE 2 +FLAGS.SILENT (\\Deleted)")
    assert cmd(b, "x", "EXPUNGE")[0] == b"* 2 EXPUNGE"
    # A still numbers 4 messages: 2 is gone, the others keep their numbers
    r = cmd(a, "f", "FETCH 1:4 (UID)")
    assert untagged(r, "EXPUNGE") == []
    assert untagged(r, "FETCH") == [b"* 1 FETCH (UID 1)", b"* 3 FETCH (UID 3)",
                                    b"* 4 FETCH (UID 4)"]
    assert r[-1] == b"f OK [EXPUNGEISSUED] FETCH completed; some messages were expunged meanwhile."
    r = cmd(a, "g", "STORE 3:4 +FLAGS (\\Seen)")
    assert untagged(r, "EXPUNGE") == []
    assert untagged(r, "FETCH") == [b"* 3 FETCH (FLAGS (\\Seen \\Recent))",
                                    b"* 4 FETCH (FLAGS (\\Seen \\Recent))"]
    assert cmd(a, "h", "FETCH 4 UID")[0] == b"* 4 FETCH (UID 4)"
    # a UID command may report it (after its own data), and then the
    # numbers move
    r = cmd(a, "u", "UID FETCH 4 UID")
    assert r == [b"* 4 FETCH (UID 4)", b"* 2 EXPUNGE", b"u OK FETCH completed."]
    assert cmd(a, "v", "FETCH 3 UID")[0] == b"* 3 FETCH (UID 4)"
    assert cmd(a, "n", "NOOP") == [b"n OK NOOP completed."]


def test_held_expunges_come_with_the_next_command(make_loft):
    srv, im, a, b = two(make_loft)
    cmd(b, "d", "STORE 1 +FLAGS.SILENT (\\Deleted)")
    cmd(b, "x", "EXPUNGE")
    assert untagged(cmd(a, "f", "FETCH 1:* UID"), "EXPUNGE") == []
    # CAPABILITY reports nothing itself: the update runs before it
    r = cmd(a, "c", "CAPABILITY")
    assert r[0] == b"* 1 EXPUNGE" and r[1].startswith(b"* CAPABILITY ")
    cmd(b, "y", "STORE 1 +FLAGS.SILENT (\\Flagged)")
    # once the change has reached A's session, its next command reports it
    for i in range(50):
        r = cmd(a, "c%d" % i, "CAPABILITY")
        if len(r) > 2:
            break
        time.sleep(0.1)
    assert r[0] == b"* 1 FETCH (UID 2 FLAGS (\\Flagged \\Recent))"
    assert r[1].startswith(b"* CAPABILITY ")


def read_pushed(c, want, timeout=5.0):
    """Lines the server pushes until one equals want (within timeout)."""
    got = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        ln = c.readline(timeout=deadline - time.time()).rstrip(b"\r\n")
        got.append(ln)
        if ln == want:
            return got
    raise AssertionError("no %r in %r" % (want, got))


def test_idle_pushes_changes_of_another_connection(make_loft):
    srv, im, a, b = two(make_loft, n=2)
    a.sendline("i IDLE")
    assert a.readline() == b"+ idling\r\n"
    append(im, [message(5)])
    assert read_pushed(a, b"* 3 EXISTS") == [b"* 3 EXISTS"]
    assert a.readline() == b"* 3 RECENT\r\n"
    cmd(b, "f", "STORE 1 +FLAGS.SILENT (\\Flagged)")
    read_pushed(a, b"* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))")
    cmd(b, "d", "STORE 2 +FLAGS.SILENT (\\Deleted)")
    read_pushed(a, b"* 2 FETCH (UID 2 FLAGS (\\Deleted \\Recent))")
    cmd(b, "x", "EXPUNGE")
    read_pushed(a, b"* 2 EXPUNGE")
    a.sendline("DONE")
    assert a.read_until_tag("i") == [b"i OK IDLE terminated.\r\n"]
    r = cmd(a, "f", "FETCH 1:* UID")
    assert untagged(r, "FETCH") == [b"* 1 FETCH (UID 1)", b"* 2 FETCH (UID 3)"]


def test_idle_pushes_a_delivery_by_another_process(make_loft):
    srv, im, a, b = two(make_loft, n=1)
    a.sendline("i IDLE")
    assert a.readline() == b"+ idling\r\n"
    p = srv.run_cli("deliver", "-u", USER, input=message(7).decode())
    assert p.returncode == 0, p.stderr
    assert read_pushed(a, b"* 2 EXISTS") == [b"* 2 EXISTS"]
    a.sendline("done")                     # DONE in any case
    assert a.read_until_tag("i")[-1] == b"i OK IDLE terminated.\r\n"


def test_idle_reports_what_is_pending_and_ends_cleanly(make_loft):
    srv, im, a, b = two(make_loft, n=1)
    append(im, [message(2)])
    a.sendline("i IDLE")
    assert a.readline() == b"+ idling\r\n"
    assert read_pushed(a, b"* 2 EXISTS")
    # a line other than DONE ends IDLE with BAD; pipelined commands follow
    a.send(b"NOPE\r\nn NOOP\r\n")
    assert a.read_until_tag("i")[-1] == b"i BAD Expected DONE.\r\n"
    assert a.read_until_tag("n")[-1] == b"n OK NOOP completed.\r\n"
    a.send(b"j IDLE\r\n")
    assert a.readline() == b"+ idling\r\n"
    a.send(b"DONE\r\nk NOOP\r\n")
    assert a.read_until_tag("j") == [b"j OK IDLE terminated.\r\n"]
    assert a.read_until_tag("k") == [b"k OK NOOP completed.\r\n"]
    assert cmd(a, "l", "IDLE x") == [b"l BAD IDLE takes no arguments."]


def test_idle_uses_the_idle_timeout(make_loft):
    """idle_timeout (1 s here) ends a quiet session; in IDLE the longer
    imap_idle_timeout applies instead (RFC 2177: at least 29 minutes)."""
    srv = imap_server(make_loft, config_extra={"limits": {"idle_timeout": "1s"}})
    quiet, idler = raw_login(srv), raw_login(srv)
    idler.sendline("i IDLE")
    assert idler.readline() == b"+ idling\r\n"
    assert quiet.readline(timeout=5) == b"* BYE Disconnected for inactivity.\r\n"
    time.sleep(1.5)
    idler.sendline("DONE")
    assert idler.read_until_tag("i") == [b"i OK IDLE terminated.\r\n"]
    assert idler.readline(timeout=5) == b"* BYE Disconnected for inactivity.\r\n"


def test_shutdown_ends_idle_at_once(make_loft):
    srv, im, a, b = two(make_loft, n=1)
    a.sendline("i IDLE")
    assert a.readline() == b"+ idling\r\n"
    t = time.time()
    srv.stop()
    assert a.readline(timeout=5) == b"* BYE Server shutting down.\r\n"
    assert time.time() - t < 5


@pytest.mark.parametrize("listener,kib", [("imap", 32), ("imaps", 24)])
def test_idle_sessions_cost_little_and_all_get_pushes(make_loft, monkeypatch, listener, kib):
    """300 sessions idling on one mailbox: each holds its view and little
    else (no read or write buffer while nothing is pending, and over TLS
    no record buffers either: OpenSSL releases them), and every one gets
    the EXISTS of a new message."""
    # ASan builds: a small quarantine, so freed memory does not count as live
    monkeypatch.setenv("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1:quarantine_size_mb=1")
    srv = imap_server(make_loft, config_extra={"limits": {"max_connections_per_ip": 1000}})
    im = login(srv)
    append(im, [message(i) for i in range(20)])
    warm = [raw_login(srv, listener=listener) for _ in range(10)]
    for c in warm:
        cmd(c, "s", "SELECT INBOX")
    base = srv.rss_kb()
    n = 300
    idlers = []
    for i in range(n):
        c = raw_login(srv, listener=listener)
        cmd(c, "s", "SELECT INBOX")
        c.sendline("i IDLE")
        assert c.readline() == b"+ idling\r\n"
        idlers.append(c)
    per = (srv.rss_kb() - base) / n
    # about 3 KiB measured plain, 17 KiB over TLS (31 KiB if OpenSSL kept
    # its record buffers); ASan adds redzones around every allocation
    assert per < (8 * kib if sanitizer_build() else kib), "%.1f KiB per idle session" % per
    append(im, [message(99)])
    for c in idlers:
        assert c.readline(timeout=10) == b"* 21 EXISTS\r\n"
    for c in idlers:
        c.sendline("DONE")
        assert c.read_until_tag("i")[-1] == b"i OK IDLE terminated.\r\n"
