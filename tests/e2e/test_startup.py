"""Start-up: `loft serve --check-config` validates without serving, errors
name file:line before any port is opened, and a port already in use stops
the start with a clear message."""

import os
import re
import resource
import signal
import socket
import subprocess

import pytest

from loftserver import LoftServer, loft_bin


@pytest.fixture
def cfg(tmp_path):
    srv = LoftServer(tmp_path, listeners=["imap", "pop3s"], start=False)
    srv.assign_ports()
    srv.write_config()
    return srv


def port_is_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def test_check_config_accepts_a_good_file(cfg):
    r = cfg.run_cli("serve", "--check-config", timeout=30)
    assert r.returncode == 0, r.stderr
    # It validated and exited: nothing is listening.
    assert port_is_free(cfg.port("imap")) and port_is_free(cfg.port("pop3s"))


@pytest.mark.parametrize("old,new,key", [
    ("workers = 2", "workers = two", "workers"),
    ("workers = 2", "wrokers = 2", "wrokers"),
    ("tls = implicit", "tls = sometimes", "tls"),
    ("level = debug", "level = chatty", "level"),
])
def test_check_config_names_file_and_line(cfg, old, new, key):
    text = cfg.config_text()
    assert old in text
    cfg.write_config(raw=text.replace(old, new, 1))
    line = text[:text.index(old)].count("\n") + 1
    r = cfg.run_cli("serve", "--check-config", timeout=30)
    assert r.returncode != 0
    assert "loft.conf:%d" % line in r.stderr, r.stderr
    assert key in r.stderr, r.stderr


def test_check_config_reports_every_error(cfg):
    """Three mistakes in three sections: all three are reported, each on its
    own line with its file:line, by both `serve --check-config` and
    `config check`."""
    text = cfg.config_text()
    bad = text
    for old, new in (("workers = 2", "workers = two"), ("level = debug", "level = chatty"),
                     ("tls = implicit", "tls = sometimes")):
        assert old in bad
        bad = bad.replace(old, new, 1)
    cfg.write_config(raw=bad)
    lines = sorted(text[:text.index(old)].count("\n") + 1
                   for old in ("workers = 2", "level = debug", "tls = implicit"))
    for args in (("serve", "--check-config"), ("config", "check")):
        r = cfg.run_cli(*args, timeout=30)
        assert r.returncode != 0
        got = [ln for ln in r.stderr.splitlines() if ln.startswith("loft: ")]
        assert len(got) == 3, r.stderr
        for want, ln in zip(lines, got):
            assert "loft.conf:%d: bad value" % want in ln, r.stderr


def test_check_config_checks_files(cfg):
    text = cfg.config_text()
    cfg.write_config(raw=text.replace(cfg.cert_file, cfg.dir + "/no-such-cert.pem"))
    r = cfg.run_cli("serve", "--check-config", timeout=30)
    assert r.returncode != 0
    assert "no-such-cert.pem" in r.stderr, r.stderr


def test_serve_with_broken_config_opens_no_port(cfg):
    text = cfg.config_text()
    cfg.write_config(raw=text.replace("workers = 2", "workers = -1"))
    r = cfg.run_cli("serve", timeout=30)
    assert r.returncode != 0
    assert "loft.conf:" in r.stderr, r.stderr
    assert port_is_free(cfg.port("imap"))


def test_missing_config_file(tmp_path):
    r = subprocess.run([loft_bin(), "-c", str(tmp_path / "nope.conf"), "serve"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30)
    assert r.returncode not in (0,) and r.returncode > 0, r
    assert "nope.conf" in r.stderr, r.stderr


def test_port_in_use_fails_start(cfg):
    blocker = socket.socket()
    blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    blocker.bind(("127.0.0.1", cfg.port("pop3s")))
    blocker.listen(1)
    try:
        r = cfg.run_cli("serve", timeout=30)
    finally:
        blocker.close()
    assert r.returncode > 0, r
    assert str(cfg.port("pop3s")) in r.stderr, r.stderr
    assert "in use" in r.stderr.lower() or "eaddrinuse" in r.stderr.lower(), r.stderr


def test_version_and_help():
    r = subprocess.run([loft_bin(), "--version"], stdout=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, text=True, timeout=10)
    assert r.returncode == 0 and r.stdout.startswith("loft "), r.stdout
    r = subprocess.run([loft_bin(), "serve", "--help"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                       timeout=10)
    assert "--check-config" in r.stdout + r.stderr


def test_imap_idle_timeout_below_rfc_minimum_is_refused(cfg):
    text = cfg.config_text().replace("[limits]\n", "[limits]\nimap_idle_timeout = 5m\n")
    cfg.write_config(raw=text)
    r = cfg.run_cli("serve", "--check-config", timeout=30)
    assert r.returncode != 0
    assert "imap_idle_timeout" in r.stderr, r.stderr


def test_tls_listener_without_certificate_is_refused(cfg):
    text = cfg.config_text()
    text = "\n".join(l for l in text.splitlines()
                     if not l.startswith(("cert_file", "key_file"))) + "\n"
    cfg.write_config(raw=text)
    r = cfg.run_cli("serve", "--check-config", timeout=30)
    assert r.returncode != 0
    assert "cert" in r.stderr.lower(), r.stderr


def test_second_server_on_the_same_port_fails(make_loft, tmp_path):
    """Another process already listening on a configured port must make the
    start fail (EADDRINUSE), even when that process is another loft: with
    SO_REUSEPORT both binds could succeed and the kernel would silently
    split the connections between the two servers."""
    first = make_loft(listeners=["imap"])
    second = LoftServer(tmp_path / "second", listeners=["imap"], start=False)
    second.listeners[0]["port"] = first.port("imap")
    second.write_config()
    p = subprocess.Popen([loft_bin(), "-c", second.config_path, "serve"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=5)
        started = False
    except subprocess.TimeoutExpired:
        p.terminate()
        out, err = p.communicate(timeout=15)
        started = True
    assert not started, ("a second server started on port %d, already served by "
                         "pid %d:\n%s" % (first.port("imap"), first.pid, err[-2000:]))
    assert p.returncode > 0, err
    assert str(first.port("imap")) in err, err


def serve_with_fd_limit(cfg, limit, extra):
    """Start `loft serve` under RLIMIT_NOFILE limit (soft and hard) with
    extra settings; return its start-up log once it serves, then stop it."""
    text = cfg.config_text().replace("[limits]\n", "[limits]\n" + extra)
    cfg.write_config(raw=text)

    def lower():
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    p = subprocess.Popen([loft_bin(), "-c", cfg.config_path, "serve"], preexec_fn=lower,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    lines = []
    try:
        for line in p.stdout:
            lines.append(line)
            if " serving " in line:
                break
    finally:
        p.send_signal(signal.SIGTERM)
        rest, _ = p.communicate(timeout=30)
    assert p.returncode == 0, "".join(lines) + rest
    return "".join(lines)


def test_fd_limit_counts_cached_user_environments(cfg):
    """300 descriptors cover max_connections=200 sockets, but not with 1024
    cached user environments of 4 descriptors each: the start says so, and
    how many connections the limit really allows."""
    log = serve_with_fd_limit(cfg, 300, "max_connections = 200\n")
    m = re.search(r"warn open file limit 300 is below the (\d+) that max_connections=200 "
                  r"\(1 each\) and index_cache_size=1024 \(4 each\) need: with a full user "
                  r"cache it allows 0 connections; raise the limit", log)
    assert m, log
    assert int(m.group(1)) > 200 + 4096
    # 4200 leave 4200 - 4096 for the cache - 36 reserved (2 workers, 2
    # listeners) = 68 connections.
    log = serve_with_fd_limit(cfg, 4200, "max_connections = 200\n")
    assert "warn open file limit 4200 is below the 4332 that max_connections=200" in log, log
    assert "with a full user cache it allows 68 connections" in log, log


def test_fd_limit_that_suffices_says_so(cfg):
    log = serve_with_fd_limit(cfg, 6000, "max_connections = 200\n")
    assert re.search(r"info open file limit 6000 covers max_connections=200 \(1 each\) and "
                     r"index_cache_size=1024 \(4 each\): \d+ needed at most", log), log


def inotify_watch_limit():
    with open("/proc/sys/fs/inotify/max_user_watches") as f:
        return int(f.read())


def test_inotify_watch_limit_short_is_said(cfg):
    """Changes by other processes reach idle clients through inotify: two
    watches per connection's selected mailbox and one per cached user. A
    max_connections the kernel's fs.inotify.max_user_watches cannot cover
    gets a warning at start that says what to raise."""
    watches = inotify_watch_limit()
    mc = watches // 2 + 1                     # 2 x mc + 1024 > watches
    assert mc <= 1000000, "max_user_watches %d beyond what the test can exceed" % watches
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    limit = 1 << 20 if hard == resource.RLIM_INFINITY else hard
    log = serve_with_fd_limit(cfg, limit, "max_connections = %d\n" % mc)
    assert ("warn inotify watch limit %d is below the %d that max_connections=%d (2 each) "
            "and index_cache_size=1024 (1 each) need: changes by other processes would "
            "reach some idle clients only at their next command; raise "
            "fs.inotify.max_user_watches" % (watches, 2 * mc + 1024, mc)) in log, log


def test_inotify_watch_limit_that_suffices_says_so(cfg):
    watches = inotify_watch_limit()
    log = serve_with_fd_limit(cfg, 6000, "max_connections = 200\n")
    assert ("info inotify watch limit %d covers max_connections=200 (2 each) and "
            "index_cache_size=1024 (1 each): 1424 needed at most" % watches) in log, log


def test_idle_server_descriptors_within_reserve(make_loft):
    """The budget's reserve (16 + workers x (8 + listeners)) covers what an
    idle server holds, so the per-connection and per-user counts are what is
    left."""
    srv = make_loft(workers=2)
    n = len(os.listdir("/proc/%d/fd" % srv.pid))
    assert n <= 16 + 2 * (8 + 6), n
