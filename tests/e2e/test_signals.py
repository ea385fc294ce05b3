"""Signals: SIGHUP reloads reloadable settings for new connections while
existing ones continue, refuses a broken or non-reloadable config and keeps
the old one; SIGTERM/SIGINT drain sessions with the protocol's goodbye and
exit 0 within the shutdown timeout."""

import re
import signal
import socket
import time

import pytest

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
    srv.wait_log(r"reload rejected: \S*loft\.conf:\d+: \[server\] workers changed from "
                 r"'2' to '3', which a reload cannot apply; restart loft to use it; "
                 r"keeping the running configuration", timeout=5, since=mark)
    assert srv.running()
    with srv.connect("imap") as c:
        assert c.readline().startswith(b"* OK")
    assert "configuration applied" not in srv.log_text(mark), srv.log_text(mark)


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
    srv.wait_log(r"reload rejected: \S*loft\.conf:\d+: \[listener pop3\] was added, removed "
                 r"or changed, which a reload cannot apply; restart loft to use it; "
                 r"keeping the running configuration", timeout=5, since=mark)
    with srv.connect("pop3") as c:     # still on the old port
        assert c.readline().startswith(b"+OK")
    with pytest.raises(ConnectionRefusedError):   # and not on the new one
        socket.create_connection(("127.0.0.1", new), timeout=5).close()
    assert "configuration applied" not in srv.log_text(mark), srv.log_text(mark)


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


def stalled_reader(srv, name="imap"):
    """A client that pipelines commands and never reads the replies, so its
    output backs up and the drain must wait for it (up to shutdown_timeout)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((srv.address(name), srv.port(name)))
    s.setblocking(False)
    burst = b"".join(b"c%d CAPABILITY\r\n" % i for i in range(2000))
    sent = 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:   # until the server stops reading
        try:
            sent += s.send(burst)
        except BlockingIOError:
            break
    assert sent > 0
    return s


def test_sighup_during_drain_does_not_kill(make_loft):
    """A SIGHUP (a log rotation) while SIGTERM's drain waits for a slow
    client: the process still drains and exits 0 instead of dying of the
    signal's default action."""
    srv = make_loft(listeners=["imap"],
                    config_extra={"server": {"shutdown_timeout": "3s"},
                                  "limits": {"max_output_buffer": "16K"}})
    s = stalled_reader(srv)
    try:
        time.sleep(0.3)
        mark = srv.log_mark()
        srv.proc.send_signal(signal.SIGTERM)
        srv.wait_log(r"stopping", timeout=5, since=mark)
        time.sleep(0.3)
        assert srv.proc.poll() is None, "exited before the drain: nothing to test"
        srv.proc.send_signal(signal.SIGHUP)
        srv.proc.send_signal(signal.SIGTERM)
        rc = srv.proc.wait(10)
    finally:
        s.close()
    assert rc == 0, "exit %r: %s" % (rc, srv.log_tail())
    # The slow client was closed by the drain, which then finished.
    log = srv.log_text(mark)
    assert re.search(r'disconnect reason="server shutdown" in=[1-9]', log), log
    assert log.rstrip().endswith("stopped"), log
