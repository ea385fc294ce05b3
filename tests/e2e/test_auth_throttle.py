"""Failed-login throttling seen from IMAP clients: a scripted burst of wrong
passwords from one address earns growing delays (per address and per user
name, the larger counts) (waited on a timer: other
connections are served meanwhile), then NO [UNAVAILABLE] for every login
from that address, even with the right password, until the block time is
over; a success clears the count; another address is not affected; and a
flood of failures from thousands of addresses neither grows the server nor
frees a blocked address (the throttle's tables have a fixed size).

Source addresses: Linux routes all of 127.0.0.0/8 to the loopback device,
so a client socket bound to 127.0.0.2 or 127.1.x.y is another address to
the server (IPv4 failures are counted per /32 here)."""

import os
import re
import socket
import threading
import time

from loftserver import LineClient

BASE_MS, MAX_MS, LIMIT, BLOCK_S = 200, 800, 6, 3
CFG = {"auth": {"fail_delay": "%dms" % BASE_MS, "fail_delay_max": "%dms" % MAX_MS,
                "fail_limit_address": LIMIT, "fail_limit_user": 1000,
                "fail_block_time": "%ds" % BLOCK_S, "fail_forget_time": "10m"}}


def connect_from(srv, source, name="imap"):
    s = socket.create_connection((srv.address(name), srv.port(name)), timeout=10,
                                 source_address=(source, 0))
    c = LineClient(s, timeout=10)
    assert c.readline().startswith(b"* OK")
    return c


def login(c, tag, user, pw):
    """(tagged reply, seconds it took)."""
    t0 = time.monotonic()
    c.sendline("%s LOGIN %s %s" % (tag, user, pw))
    last = c.read_until_tag(tag)[-1]
    return last, time.monotonic() - t0


def delays_logged(srv, since, addr, count):
    """The delays of the failures from addr logged since the mark (the log
    is written by a thread of its own: wait until count are there)."""
    rx = re.compile(r"login failed service=imap mech=password user=\S+ addr=%s "
                    r"result=EFAIL delay_ms=(\d+)" % re.escape(addr))
    deadline = time.monotonic() + 5
    while True:
        found = [int(d) for d in rx.findall(srv.log_text(since))]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_burst_delays_then_refusal(make_loft):
    srv = make_loft(listeners=["imap"], users={"alice": "pw", "bob": "bobpw"},
                    config_extra=CFG)
    mark = srv.log_mark()
    with connect_from(srv, "127.0.0.1") as c:
        # Meanwhile another client is served without waiting for the delays.
        other_ok = []

        def other():
            with connect_from(srv, "127.0.0.3") as o:
                for i in range(5):
                    o.sendline("n%d NOOP" % i)
                    t0 = time.monotonic()
                    o.read_until_tag("n%d" % i)
                    other_ok.append(time.monotonic() - t0)
                    time.sleep(0.1)

        t = threading.Thread(target=other)
        t.start()
        took = []
        for i in range(LIMIT):
            last, secs = login(c, "f%d" % i, "alice", "wrong")
            assert last.startswith(b"f%d NO [AUTHENTICATIONFAILED]" % i), last
            took.append(secs)
        t.join()
        want = [min(BASE_MS << i, MAX_MS) for i in range(LIMIT)]
        assert delays_logged(srv, mark, "127.0.0.1", len(want)) == want
        # each reply really waited its delay
        for secs, ms in zip(took, want):
            assert secs >= ms / 1000 * 0.9, (took, want)
        assert len(other_ok) == 5 and max(other_ok) < MAX_MS / 1000, other_ok
        # past the limit: refused, whatever the password, at once
        for i, pw in enumerate(("wrong", "pw")):
            last, _ = login(c, "r%d" % i, "alice", pw)
            assert last.startswith(b"r%d NO [UNAVAILABLE]" % i), last
            assert re.search(rb"try again in \d+ seconds", last), last
        assert tagged_noop(c)
    srv.wait_log(r"login refused service=imap mech=password user=alice addr=127\.0\.0\.1 "
                 r"reason=throttled", since=mark)
    # another address: unaffected, and its first failure has the base delay
    # (with another user: failures count per user too, alice's are many)
    mark2 = srv.log_mark()
    with connect_from(srv, "127.0.0.2") as c:
        assert login(c, "a", "bob", "wrong")[0].startswith(b"a NO [AUTHENTICATIONFAILED]")
        assert login(c, "b", "bob", "bobpw")[0].startswith(b"b OK")
        assert login(c, "c", "alice", "pw")[0].startswith(b"c BAD")   # logged in already
    with connect_from(srv, "127.0.0.2") as c:
        assert login(c, "d", "alice", "pw")[0].startswith(b"d OK")
    assert delays_logged(srv, mark2, "127.0.0.2", 1) == [BASE_MS]
    # after the block time the right password works again, and the success
    # clears the count: the next failure starts from the base delay
    time.sleep(BLOCK_S + 0.2)
    mark3 = srv.log_mark()
    with connect_from(srv, "127.0.0.1") as c:
        assert login(c, "a", "alice", "pw")[0].startswith(b"a OK")
    with connect_from(srv, "127.0.0.1") as c:
        assert login(c, "b", "alice", "wrong")[0].startswith(b"b NO [AUTHENTICATIONFAILED]")
    assert delays_logged(srv, mark3, "127.0.0.1", 1) == [BASE_MS]


def tagged_noop(c):
    c.sendline("z NOOP")
    return c.read_until_tag("z")[-1].startswith(b"z OK")


def test_success_resets_before_block(make_loft):
    srv = make_loft(listeners=["imap"], users={"alice": "pw"}, config_extra=CFG)
    mark = srv.log_mark()
    with connect_from(srv, "127.0.0.1") as c:
        for i in range(3):
            assert login(c, "f%d" % i, "alice", "wrong")[0].startswith(b"f%d NO" % i)
        assert login(c, "ok", "alice", "pw")[0].startswith(b"ok OK")
    with connect_from(srv, "127.0.0.1") as c:
        for i in range(2):
            assert login(c, "g%d" % i, "alice", "wrong")[0].startswith(b"g%d NO" % i)
    assert delays_logged(srv, mark, "127.0.0.1", 5) == [200, 400, 800, 200, 400]


def test_flood_from_many_addresses_stays_bounded(make_loft, monkeypatch):
    """3000 addresses fail once each, 4 times the throttle's slots: the
    server's memory stays put and the address blocked before the flood is
    still blocked after it (refusing entries are evicted last). Under ASan
    its quarantine of freed memory is turned off for this server, or RSS
    would measure the quarantine."""
    monkeypatch.setenv("ASAN_OPTIONS", ":".join(
        filter(None, [os.environ.get("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1"),
                      "quarantine_size_mb=0", "thread_local_quarantine_size_kb=0"])))
    cfg = {"auth": dict(CFG["auth"], fail_delay="0s", throttle_entries=512,
                        fail_block_time="10m")}
    srv = make_loft(listeners=["imap"], users={"alice": "pw"}, config_extra=cfg)
    with connect_from(srv, "127.0.0.1") as c:
        for i in range(LIMIT):
            login(c, "f%d" % i, "alice", "wrong")
        assert login(c, "r", "alice", "pw")[0].startswith(b"r NO [UNAVAILABLE]")

    def flood(first, count, errors):
        try:
            for n in range(first, first + count):
                with connect_from(srv, "127.1.%d.%d" % (n // 250, n % 250 + 1)) as f:
                    last, _ = login(f, "x", "mallory%d" % n, "guess")
                    assert last.startswith(b"x NO [AUTHENTICATIONFAILED]"), last
        except Exception as e:  # reported by the main thread
            errors.append(e)

    def run(first, total):
        errors = []
        threads = [threading.Thread(target=flood, args=(first + k * total // 6, total // 6,
                                                        errors)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors[:3]

    run(0, 600)      # warm up: pools, buffers, allocator arenas
    rss_before = srv.rss_kb()
    run(600, 2400)
    rss_after = srv.rss_kb()
    assert rss_after - rss_before < 4096, (rss_before, rss_after)
    with connect_from(srv, "127.0.0.1") as c:
        assert login(c, "r", "alice", "pw")[0].startswith(b"r NO [UNAVAILABLE]")
    with connect_from(srv, "127.0.0.2") as c:
        assert login(c, "ok", "alice", "pw")[0].startswith(b"ok OK")
