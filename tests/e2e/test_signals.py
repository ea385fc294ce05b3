"""Signals: SIGHUP reloads reloadable settings for new connections while
existing ones continue, refuses a broken or non-reloadable config and keeps
the old one; SIGTERM/SIGINT drain sessions with the protocol's goodbye and
exit 0 within the shutdown timeout."""

import signal
import time

from test_limits import accepted_within, expect_refused, open_n_greeted


def reload_and_wait(srv, pattern=r"reload"):
    mark = srv.log_mark()
    srv.reload()
    return srv.wait_log(pattern, timeout=5, since=mark)


def test_sighup_applies_new_connection_limit(make_loft):
    srv = make_loft(listeners=["imap"],
                    config_extra={"limits": {"max_connections_per_ip": 3}})
    held = open_n_greeted(srv, "imap", b"* OK", 3)
    try:
        expect_refused(srv, "imap", b"* BYE")
        srv.write_config({"limits": {"max_connections_per_ip": 5}})
        reload_and_wait(srv)
        # The connections opened before the reload still work.
        for i, c in enumerate(held):
            c.sendline("h%d NOOP" % i)
            assert c.read_until_tag("h%d" % i)[-1].startswith(b"h%d OK" % i)
        held.append(accepted_within(srv, "imap", b"* OK"))
        held.append(accepted_within(srv, "imap", b"* OK"))
        expect_refused(srv, "imap", b"* BYE")
        held[0].sendline("z NOOP")
        assert held[0].read_until_tag("z")[-1].startswith(b"z OK")
    finally:
        for c in held:
            c.close()


def test_sighup_changes_log_level(make_loft):
    srv = make_loft(listeners=["imap"], config_extra={"log": {"level": "warn"}})
    mark = srv.log_mark()
    with srv.connect("imap") as c:
        c.readline()
        c.sendline("a LOGOUT")
        c.read_eof()
    time.sleep(0.3)
    quiet = srv.log_text(mark)
    assert "conn=" not in quiet, quiet
    srv.write_config({"log": {"level": "debug"}})
    srv.reload()
    # The reload is asynchronous: connect until a connection gets logged.
    deadline = time.monotonic() + 5
    while True:
        mark = srv.log_mark()
        with srv.connect("imap") as c:
            c.readline()
            c.sendline("a LOGOUT")
            c.read_eof()
        time.sleep(0.2)
        if "conn=" in srv.log_text(mark):
            break
        assert time.monotonic() < deadline, srv.log_tail()


def test_sighup_broken_config_keeps_old_one(make_loft):
    srv = make_loft(listeners=["imap"],
                    config_extra={"limits": {"max_connections_per_ip": 3}})
    keep = accepted_within(srv, "imap", b"* OK")
    good = srv.config_text()
    broken = good.replace("max_connections_per_ip = 3", "max_connections_per_ip = banana")
    assert broken != good
    srv.write_config(raw=broken)
    mark = srv.log_mark()
    srv.reload()
    # The error names the file and line, and says the old config stays.
    srv.wait_log(r"loft\.conf:\d+", timeout=5, since=mark)
    assert srv.running()
    keep.sendline("k NOOP")
    assert keep.read_until_tag("k")[-1].startswith(b"k OK")
    # Still the old limit (3), not a default.
    held = [keep] + [accepted_within(srv, "imap", b"* OK") for _ in range(2)]
    try:
        expect_refused(srv, "imap", b"* BYE")
    finally:
        for c in held:
            c.close()
    # A good config afterwards is taken again.
    srv.write_config({"limits": {"max_connections_per_ip": 5}})
    reload_and_wait(srv)
    held = [accepted_within(srv, "imap", b"* OK")]
    try:
        held += [accepted_within(srv, "imap", b"* OK") for _ in range(4)]
        expect_refused(srv, "imap", b"* BYE")
    finally:
        for c in held:
            c.close()


def test_sighup_refuses_non_reloadable_change(make_loft):
    srv = make_loft(listeners=["imap"])
    text = srv.config_text()
    srv.write_config(raw=text.replace("workers = 2", "workers = 3"))
    mark = srv.log_mark()
    srv.reload()
    srv.wait_log(r"workers", timeout=5, since=mark)
    assert srv.running()
    with srv.connect("imap") as c:
        assert c.readline().startswith(b"* OK")


def test_sigterm_drains_with_goodbyes(make_loft):
    srv = make_loft(listeners=["imap", "imaps", "pop3", "smtp", "lmtp"],
                    config_extra={"server": {"shutdown_timeout": "2s"}})
    want = {"imap": b"* BYE", "imaps": b"* BYE", "pop3": b"-ERR",
            "smtp": b"421", "lmtp": b"421"}
    conns = {}
    for name in want:
        c = srv.connect(name)
        assert c.readline()
        conns[name] = c
    t0 = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    try:
        for name, c in conns.items():
            data = c.read_eof(timeout=8)
            assert data.startswith(want[name]), (name, data)
        rc = srv.proc.wait(8)
        elapsed = time.monotonic() - t0
    finally:
        for c in conns.values():
            c.close()
    assert rc == 0, srv.log_tail()
    assert elapsed < 2 + 4, "exit took %.1fs" % elapsed


def test_sigterm_lets_a_command_finish(make_loft):
    """Commands in flight at SIGTERM: the client sees whole replies, and the
    BYE is the last line."""
    srv = make_loft(listeners=["imap"], config_extra={"server": {"shutdown_timeout": "2s"}})
    with srv.connect("imap") as c:
        c.readline()
        c.send(b"".join(b"p%d CAPABILITY\r\n" % i for i in range(50)))
        srv.proc.send_signal(signal.SIGTERM)
        data = c.read_eof(timeout=8)
    # Whatever was answered is complete lines, ending with the BYE.
    lines = data.split(b"\r\n")
    assert lines[-1] == b"", data[-200:]
    assert lines[-2].startswith(b"* BYE"), data[-200:]
    assert srv.proc.wait(8) == 0


def test_sigint_exits_cleanly(make_loft):
    srv = make_loft(listeners=["pop3"])
    srv.proc.send_signal(signal.SIGINT)
    assert srv.proc.wait(10) == 0, srv.log_tail()


def test_sighup_refuses_listener_change(make_loft):
    srv = make_loft(listeners=["imap", "pop3"])
    old = srv.port("pop3")
    text = srv.config_text()
    new = old + 1 if old < 65000 else old - 1
    srv.write_config(raw=text.replace("port = %d" % old, "port = %d" % new))
    mark = srv.log_mark()
    srv.reload()
    srv.wait_log(r"restart", timeout=5, since=mark)
    with srv.connect("pop3") as c:     # still on the old port
        assert c.readline().startswith(b"+OK")


def test_sighup_storm_while_serving(make_loft):
    srv = make_loft(listeners=["imap", "pop3s"])
    keep = srv.connect("imap")
    keep.readline()
    for i in range(20):
        srv.reload()
        with srv.connect("pop3s" if i % 2 else "imap") as c:
            assert c.readline()[:1] in (b"*", b"+")
    keep.sendline("k NOOP")
    assert keep.read_until_tag("k")[-1].startswith(b"k OK")
    keep.close()
    assert srv.running()
