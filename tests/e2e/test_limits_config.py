"""The command-shape limits and the TLS cipher settings, end to end.

[limits] max_bad_commands, max_nesting_depth and max_arguments come from the
configuration (each connection uses the snapshot it started with, so a
reload applies to new connections), and a misspelt [tls] ciphers or
ciphersuites value is refused with file:line by --check-config, at start
and on reload, before anything listens."""

import re
import socket

import pytest


def hello(c):
    line = c.readline(timeout=10)
    assert line.startswith(b"* OK"), line


def send_garbage(c, n, first=1):
    """n invalid IMAP commands, each answered with its own tagged BAD."""
    for i in range(first, first + n):
        c.sendline("g%d XYZZY%d" % (i, i))
        line = c.readline(timeout=10)
        assert line.startswith(b"g%d BAD " % i), line


def expect_imap_bye(c):
    rest = c.read_eof(timeout=10)
    assert rest.startswith(b"* BYE Too many invalid IMAP commands."), rest
    assert rest.count(b"\r\n") == 1, rest


# ---- max_bad_commands ------------------------------------------------------

def test_imap_bad_commands_end_the_connection(make_loft):
    srv = make_loft(listeners=["imap"], config_extra={"limits": {"max_bad_commands": 3}})
    with srv.connect("imap") as c:
        hello(c)
        send_garbage(c, 3)
        expect_imap_bye(c)
    srv.wait_log(r"too many invalid commands")

    # Parse errors count too, and so does an untagged one.
    with srv.connect("imap") as c:
        hello(c)
        c.sendline("p1 NOOP )")
        assert c.readline(timeout=10).startswith(b"p1 BAD Unexpected ')'")
        c.sendline("+x NOOP")
        assert c.readline(timeout=10).startswith(b"* BAD Invalid tag")
        c.sendline("p3 NOOP extra")
        assert c.readline(timeout=10).startswith(b"p3 BAD NOOP takes no arguments.")
        expect_imap_bye(c)


def test_imap_bad_commands_count_in_a_row_only(make_loft):
    srv = make_loft(listeners=["imap"], config_extra={"limits": {"max_bad_commands": 3}})
    with srv.connect("imap") as c:
        hello(c)
        for round_ in range(3):
            send_garbage(c, 2, first=10 * round_)
            c.sendline("ok%d NOOP" % round_)
            assert c.read_until_tag("ok%d" % round_, timeout=10)[-1].startswith(
                b"ok%d OK" % round_)
        # the counter restarted at every good command: one more bad line
        # is the first of a new run, not the seventh
        send_garbage(c, 1, first=99)
        assert c.pending(0.3) == b""
        c.sendline("z LOGOUT")
        lines = c.read_until_tag("z", timeout=10)
        assert lines[-1].startswith(b"z OK"), lines


def test_max_bad_commands_of_one(make_loft):
    srv = make_loft(listeners=["imap"], config_extra={"limits": {"max_bad_commands": 1}})
    with srv.connect("imap") as c:
        hello(c)
        c.sendline("a NOOP")
        assert c.readline(timeout=10).startswith(b"a OK")
        send_garbage(c, 1)
        expect_imap_bye(c)


def test_pop3_and_smtp_bad_commands_end_the_connection(make_loft):
    srv = make_loft(listeners=["pop3", "smtp", "lmtp"],
                    config_extra={"limits": {"max_bad_commands": 3}})
    with srv.connect("pop3") as c:
        assert c.readline(timeout=10).startswith(b"+OK")
        for i in range(3):
            c.sendline("XYZZY%d" % i)
            assert c.readline(timeout=10).startswith(b"-ERR"), i
        rest = c.read_eof(timeout=10)
        assert rest == b"-ERR Too many bad commands.\r\n", rest
    for name in ("smtp", "lmtp"):
        with srv.connect(name) as c:
            assert c.read_smtp_reply(timeout=10)[0].startswith(b"220")
            for i in range(3):
                c.sendline("XYZZY%d" % i)
                reply = c.read_smtp_reply(timeout=10)
                assert reply[0][:1] == b"5", (name, i, reply)
            rest = c.read_eof(timeout=10)
            assert re.match(rb"421 4\.7\.0 \S+ Too many bad commands", rest), (name, rest)


def test_default_allows_twenty(make_loft):
    srv = make_loft(listeners=["imap"])
    with srv.connect("imap") as c:
        hello(c)
        send_garbage(c, 19)
        c.sendline("a NOOP")
        assert c.readline(timeout=10).startswith(b"a OK")
        send_garbage(c, 20, first=100)
        expect_imap_bye(c)


def test_reload_applies_to_new_connections(make_loft):
    srv = make_loft(listeners=["imap"], config_extra={"limits": {"max_bad_commands": 3}})
    old = srv.connect("imap")
    try:
        hello(old)
        mark = srv.log_mark()
        srv.write_config({"limits": {"max_bad_commands": 2}})
        srv.reload()
        srv.wait_log(r"reload: configuration applied", since=mark)
        with srv.connect("imap") as c:
            hello(c)
            send_garbage(c, 2)
            expect_imap_bye(c)
        # the connection from before the reload keeps its own snapshot
        send_garbage(old, 2)
        assert old.pending(0.3) == b""
        send_garbage(old, 1, first=3)
        expect_imap_bye(old)
    finally:
        old.close()


# ---- max_nesting_depth and max_arguments ------------------------------------

def test_nesting_depth_limit_keeps_the_connection(make_loft):
    srv = make_loft(listeners=["imap"], config_extra={"limits": {"max_nesting_depth": 2}})
    with srv.connect("imap") as c:
        hello(c)
        # two levels parse and reach the command (which wants no arguments)
        c.sendline("d1 NOOP ((a) b)")
        assert c.readline(timeout=10).startswith(b"d1 BAD NOOP takes no arguments.")
        # three levels are refused by the parser
        c.sendline("d2 NOOP (((a)))")
        assert c.readline(timeout=10).startswith(b"d2 BAD Lists nested too deeply")
        # also when the deep list arrives after a literal
        c.sendline("d3 NOOP {3+}")
        c.send(b"abc ((((x))))\r\n")
        assert c.readline(timeout=10).startswith(b"d3 BAD Lists nested too deeply")
        c.sendline("d4 NOOP")
        assert c.readline(timeout=10).startswith(b"d4 OK")
        c.sendline("d5 CAPABILITY")
        lines = c.read_until_tag("d5", timeout=10)
        assert lines[-1].startswith(b"d5 OK"), lines


def test_nesting_depth_default(make_loft):
    srv = make_loft(listeners=["imap"])
    with srv.connect("imap") as c:
        hello(c)
        c.sendline("d1 NOOP " + "(" * 32 + "x" + ")" * 32)
        assert c.readline(timeout=10).startswith(b"d1 BAD NOOP takes no arguments.")
        c.sendline("d2 NOOP " + "(" * 33 + "x" + ")" * 33)
        assert c.readline(timeout=10).startswith(b"d2 BAD Lists nested too deeply")
        c.sendline("d3 NOOP")
        assert c.readline(timeout=10).startswith(b"d3 OK")


def test_argument_limit(make_loft):
    srv = make_loft(listeners=["imap"], config_extra={"limits": {"max_arguments": 32}})
    with srv.connect("imap") as c:
        hello(c)
        c.sendline("a1 NOOP " + " ".join(str(i) for i in range(32)))
        assert c.readline(timeout=10).startswith(b"a1 BAD NOOP takes no arguments.")
        c.sendline("a2 NOOP " + " ".join(str(i) for i in range(33)))
        assert c.readline(timeout=10).startswith(b"a2 BAD Too many arguments")
        # a list and its members: 1 + 31 fit, 1 + 32 do not
        c.sendline("a3 NOOP (" + " ".join(str(i) for i in range(31)) + ")")
        assert c.readline(timeout=10).startswith(b"a3 BAD NOOP takes no arguments.")
        c.sendline("a4 NOOP (" + " ".join(str(i) for i in range(32)) + ")")
        assert c.readline(timeout=10).startswith(b"a4 BAD Too many arguments")
        c.sendline("a5 NOOP")
        assert c.readline(timeout=10).startswith(b"a5 OK")


@pytest.mark.parametrize("key,value,allowed", [
    ("max_nesting_depth", 1, "2..256"),
    ("max_arguments", 31, "32..1000000"),
    ("max_bad_commands", 0, "1..1000"),
])
def test_out_of_range_is_refused(make_loft, key, value, allowed):
    srv = make_loft(listeners=["imap"])
    srv.write_config({"limits": {key: value}})
    line = config_line(srv, "%s = " % key)
    r = srv.run_cli("serve", "--check-config")
    assert r.returncode != 0
    assert "%s:%d: bad value for '%s' in [limits]: '%d' is out of range; use %s" % (
        srv.config_path, line, key, value, allowed) in r.stderr, r.stderr


# ---- TLS cipher settings --------------------------------------------------------

def config_line(srv, prefix):
    with open(srv.config_path) as f:
        for n, text in enumerate(f, 1):
            if text.startswith(prefix):
                return n
    raise AssertionError("%r not in %s" % (prefix, srv.config_path))


BAD_CIPHERS = [
    ("ciphers", "ECDHE+AESGCM:ECDHE+CHACHA2O",
     "[tls] ciphers: 'ECDHE+CHACHA2O' matches no TLS 1.2 cipher"),
    ("ciphersuites", "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA265",
     "[tls] ciphersuites: 'TLS_AES_128_GCM_SHA265' is not a TLS 1.3 cipher suite"),
]


@pytest.mark.parametrize("key,value,message", BAD_CIPHERS)
def test_misspelt_cipher_fails_check_config(make_loft, key, value, message):
    srv = make_loft(listeners=["imap", "imaps"])
    r = srv.run_cli("serve", "--check-config")
    assert r.returncode == 0, r.stderr
    srv.write_config({"tls": {key: value}})
    want = "%s:%d: %s" % (srv.config_path, config_line(srv, key + " = "), message)
    r = srv.run_cli("serve", "--check-config")
    assert r.returncode != 0
    assert want in r.stderr, r.stderr
    r = srv.run_cli("config", "check")
    assert r.returncode != 0
    assert want in r.stderr, r.stderr


@pytest.mark.parametrize("key,value,message", BAD_CIPHERS)
def test_misspelt_cipher_stops_start_and_reload(make_loft, key, value, message):
    srv = make_loft(listeners=["imap", "imaps"])
    port = srv.port("imaps")
    srv.write_config({"tls": {key: value}})
    want = "%s:%d: %s" % (srv.config_path, config_line(srv, key + " = "), message)

    # reload: refused, the running configuration stays and TLS still works
    mark = srv.log_mark()
    srv.reload()
    m = srv.wait_log(r"reload rejected: (.*)", since=mark)
    assert want in m.group(1), m.group(0)
    with srv.imap("imaps") as c:
        assert c.noop()[0] == "OK"

    # start: refused before the ports are opened
    srv.stop()
    r = srv.run_cli("serve", timeout=30)
    assert r.returncode != 0
    assert want in r.stderr, r.stderr
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_valid_cipher_settings_are_used(make_loft):
    srv = make_loft(listeners=["imaps"], config_extra={"tls": {
        "ciphers": "ECDHE+AESGCM:!aNULL:@STRENGTH",
        "ciphersuites": "TLS_AES_128_GCM_SHA256"}})
    r = srv.run_cli("serve", "--check-config")
    assert r.returncode == 0, r.stderr
    ctx = srv.client_context()
    with srv.connect("imaps", context=ctx) as c:
        hello(c)
        assert c.sock.cipher()[0] == "TLS_AES_128_GCM_SHA256", c.sock.cipher()
