"""The session engine seen from outside: blocking work (password hashing,
store calls, message uploads) runs on work pools while the event loops keep
serving, commands pipelined behind a command in flight answer in order,
literals are streamed or bounded (never a whole upload in memory), and a
client that leaves while its command runs is cleaned up."""

import re
import socket
import threading
import time

from loftserver import LineClient


def login(c, user="alice", pw="pw", tag="l"):
    c.readline()
    c.sendline("%s LOGIN %s %s" % (tag, user, pw))
    last = c.read_until_tag(tag, timeout=20)[-1]
    assert last.startswith(tag.encode() + b" OK"), last


def test_pipelined_commands_answer_in_order_behind_a_login(make_loft):
    srv = make_loft(listeners=["imap"], users={"alice": "pw"})
    with srv.connect("imap") as c:
        c.readline()
        # LOGIN waits for the hash pool; NOOP and CAPABILITY sent in the
        # same packet wait behind it and answer after it, in order.
        c.send(b"a LOGIN alice pw\r\nb NOOP\r\nc CAPABILITY\r\nd NOOP\r\n")
        lines = c.read_until_tag("d", timeout=20)
        tags = [l.split(b" ")[0] for l in lines if not l.startswith(b"*")]
        assert tags == [b"a", b"b", b"c", b"d"], lines
        assert lines[0].startswith(b"a OK"), lines


def test_slow_hashes_do_not_stall_other_connections(make_loft):
    """16 clients log in and out as fast as they can with a slow hash while
    another connection measures CAPABILITY round trips: hashing runs on the
    hash pool, so no round trip waits for a hash (a hash on a loop thread
    would stall it for the whole queue of logins on that worker)."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
        # A deliberately slow hash (~0.1 s) so that a stall behind hashing
        # stands far apart from scheduling noise.
        slow = "{SHA512-CRYPT}" + crypt.crypt(
            "pw", crypt.mksalt(crypt.METHOD_SHA512, rounds=300000))
    srv = make_loft(listeners=["imap"], users="alice:%s\n" % slow,
                    config_extra={"server": {"hash_threads": 1, "workers": 2}})
    stop = threading.Event()
    logins = [0]
    errors = []

    def hammer():
        try:
            while not stop.is_set():
                with srv.connect("imap", timeout=30) as c:
                    login(c)
                    c.sendline("z LOGOUT")
                    c.read_until_tag("z", timeout=30)
                    logins[0] += 1
        except Exception as e:  # surfaced below
            errors.append(e)

    # How long one hash takes here: one login alone.
    t0 = time.monotonic()
    with srv.connect("imap") as c:
        login(c)
    one_login = time.monotonic() - t0

    threads = [threading.Thread(target=hammer) for _ in range(16)]
    for t in threads:
        t.start()
    worst = 0.0
    with srv.connect("imap") as c:
        c.readline()
        deadline = time.monotonic() + 5
        i = 0
        while time.monotonic() < deadline:
            i += 1
            t = time.monotonic()
            c.sendline("c%d CAPABILITY" % i)
            c.read_until_tag("c%d" % i, timeout=20)
            worst = max(worst, time.monotonic() - t)
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors
    assert logins[0] >= 8, logins
    # With 16 logins queued on one hash thread, a round trip that waited
    # behind hashing on its loop would take several hash times (8 clients
    # per worker); one that does not stays within scheduling noise.
    assert worst < 2 * one_login, (worst, one_login, logins[0])


def test_literal_flood_before_login_costs_no_memory(make_loft):
    """A client that sends LOGIN followed by thousands of {8000+} literals
    before logging in is stopped at max_literal_total_preauth; the literals
    after that are skipped unread, and the server does not grow."""
    srv = make_loft(listeners=["imap"], users={"alice": "pw"})
    base = srv.rss_kb()
    chunk = b"{8000+}\r\n" + b"x" * 8000 + b" "
    with srv.connect("imap", timeout=60) as c:
        c.readline()
        c.send(b"a LOGIN ")
        for _ in range(2000):
            c.send(chunk)
        c.send(b"x\r\n")
        line = c.readline(timeout=60)
        assert re.match(rb"a BAD \[TOOBIG\]", line), line
        peak = srv.rss_kb()
        c.sendline("b NOOP")
        assert c.read_until_tag("b")[-1].startswith(b"b OK")
    # 16 MB were sent; the server kept at most one command's 64 KiB worth.
    assert peak - base < 4096, (base, peak)


def test_literal_total_after_login(make_loft):
    srv = make_loft(listeners=["imap"], users={"alice": "pw"},
                    config_extra={"limits": {"max_literal_total": "100K"}})
    with srv.connect("imap") as c:
        login(c)
        c.send(b"s NOOP {60000+}\r\n" + b"y" * 60000 + b" {60000+}\r\n" + b"y" * 60000
               + b"\r\n")
        line = c.readline(timeout=20)
        assert line.startswith(b"s BAD [TOOBIG]"), line
        c.sendline("n NOOP")
        assert c.read_until_tag("n")[-1].startswith(b"n OK")


def test_append_is_streamed_not_buffered(make_loft):
    """A 50 MB APPEND goes to the store in chunks through the storage pool:
    the server's memory stays far below the message size while it arrives,
    and the message is stored byte for byte."""
    srv = make_loft(listeners=["imap"], users={"alice": "pw"})
    size = 50 * 1024 * 1024
    line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n"
    body = b"Subject: big\r\n\r\n" + line * ((size - 16) // len(line))
    body += b"x" * (size - len(body))
    with srv.connect("imap", timeout=60) as c:
        login(c)
        base = srv.rss_kb()
        c.sendline("a APPEND INBOX {%d}" % len(body))
        assert c.readline().startswith(b"+")
        peak = 0
        view = memoryview(body)
        for off in range(0, len(body), 1 << 20):
            c.send(bytes(view[off:off + (1 << 20)]))
            peak = max(peak, srv.rss_kb())
        c.send(b"\r\n")
        last = c.read_until_tag("a", timeout=60)[-1]
        assert last.startswith(b"a OK"), last
    assert peak - base < 16 * 1024, (base, peak)
    import glob, os
    files = glob.glob(os.path.join(srv.mail_dir, "alice", "cur", "*"))
    assert len(files) == 1, files
    with open(files[0], "rb") as f:
        assert f.read() == body


def test_append_too_big_is_refused_before_upload(make_loft):
    srv = make_loft(listeners=["imap"], users={"alice": "pw"},
                    config_extra={"limits": {"max_literal_size": "1M"}})
    with srv.connect("imap") as c:
        login(c)
        # {n}: refused at once, no "+": the client sends nothing.
        c.sendline("a APPEND INBOX {2000000}")
        line = c.readline(timeout=10)
        assert line.startswith(b"a NO [TOOBIG]"), line
        # {n+}: the bytes come anyway, are skipped unstored, then BAD.
        c.send(b"b APPEND INBOX {2000000+}\r\n" + b"z" * 2000000 + b"\r\n")
        line = c.readline(timeout=20)
        assert line.startswith(b"b BAD [TOOBIG]"), line
        c.sendline("c APPEND Nowhere {5}")
        line = c.readline(timeout=10)
        assert line.startswith(b"c NO [TRYCREATE]"), line
        c.sendline("d NOOP")
        assert c.read_until_tag("d")[-1].startswith(b"d OK")
    import glob, os
    assert glob.glob(os.path.join(srv.mail_dir, "alice", "cur", "*")) == []
    assert glob.glob(os.path.join(srv.mail_dir, "alice", "tmp", "*")) == []


def test_disconnect_during_append_leaves_nothing(make_loft):
    """A client that disconnects in the middle of an APPEND: the session is
    freed after its pool work returns and the half-written file is removed
    (the sanitizer build checks the freeing order)."""
    srv = make_loft(listeners=["imap"], users={"alice": "pw"})
    with srv.connect("imap", timeout=30) as c:
        login(c)
        c.sendline("a APPEND INBOX {5000000}")
        assert c.readline().startswith(b"+")
        c.send(b"q" * 3000000)
    # the server notices the EOF once it reads again
    srv.wait_log(r"disconnect reason=\"eof\"", timeout=10)
    import glob, os
    for _ in range(100):
        if not glob.glob(os.path.join(srv.mail_dir, "alice", "tmp", "*")):
            break
        time.sleep(0.05)
    assert glob.glob(os.path.join(srv.mail_dir, "alice", "tmp", "*")) == []
    assert glob.glob(os.path.join(srv.mail_dir, "alice", "cur", "*")) == []


def test_sigterm_waits_for_command_in_flight(make_loft):
    """SIGTERM during an APPEND commit: the command finishes and answers
    before the goodbye."""
    srv = make_loft(listeners=["imap"], users={"alice": "pw"})
    with srv.connect("imap", timeout=30) as c:
        login(c)
        msg = b"Subject: x\r\n\r\n" + b"b" * 200000
        c.sendline("a APPEND INBOX {%d}" % len(msg))
        assert c.readline().startswith(b"+")
        c.send(msg[:-10])
        time.sleep(0.2)
        srv.proc.send_signal(15)
        time.sleep(0.2)
        c.send(msg[-10:] + b"\r\n")
        rest = c.read_eof(timeout=15)
        lines = rest.split(b"\r\n")
        assert lines[0].startswith(b"a OK"), rest
        assert b"* BYE" in rest, rest
    assert srv.proc.wait(15) == 0
