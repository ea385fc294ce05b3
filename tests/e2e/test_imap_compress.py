"""COMPRESS=DEFLATE (RFC 4978) end to end with Python's zlib (raw DEFLATE,
wbits=-15, both ways) over a raw socket, plain and over TLS: the OK is
uncompressed and everything after it compressed; a second COMPRESS is
NO [COMPRESSIONACTIVE]; bytes pipelined after the command are inflated;
a thousand pipelined commands, a streamed 4 MB APPEND and a LIST larger
than the output buffer that the client reads late all come through intact.
curl has no COMPRESS support (it never sends the command), so only raw
clients can test it."""

import os
import socket
import zlib

import pytest

from imap_raw import zconnect, zlogin

USERS = {"alice": "secret"}
NO_INITIAL = {"storage": {"initial_mailboxes": '""'}}


@pytest.fixture
def srv(make_loft):
    return make_loft(listeners=["imap", "imaps"], users=USERS, config_extra=NO_INITIAL)


def test_advertised_after_login_only(srv):
    with zconnect(srv) as c:
        assert b"COMPRESS=DEFLATE" not in c.readline()
        _, tagged = c.cmd("a COMPRESS DEFLATE")
        assert tagged == "a BAD Log in first."
        _, tagged = c.cmd("L LOGIN alice secret")
        assert " COMPRESS=DEFLATE " in tagged
        untagged, _ = c.cmd("c CAPABILITY")
        assert "COMPRESS=DEFLATE" in untagged[0].split()


def test_compress_then_commands(srv):
    with zconnect(srv) as c:
        zlogin(c)
        assert c.compress("z") == "z OK DEFLATE active."
        _, tagged = c.cmd("a NOOP")
        assert tagged == "a OK NOOP completed."
        untagged, tagged = c.cmd("b CAPABILITY")
        assert "COMPRESS=DEFLATE" in untagged[0] and tagged.startswith("b OK")
        # The replies really were compressed (not plaintext passed through).
        assert c.zbytes_in > 0
        _, tagged = c.cmd("d COMPRESS DEFLATE")
        assert tagged == "d NO [COMPRESSIONACTIVE] DEFLATE is active already."
        _, tagged = c.cmd('e CREATE "Compressed/Box"')
        assert tagged.startswith("e OK")
        untagged, tagged = c.cmd('f LIST "" "Compressed/*"')
        assert untagged == ['* LIST (\\HasNoChildren) "/" Compressed/Box']
        c.sendline("g LOGOUT")
        lines = c.read_until_tag("g")
        assert lines[0].startswith(b"* BYE")
        assert c.eof()


def test_bad_arguments(srv):
    with zconnect(srv) as c:
        zlogin(c)
        for line, reply in (("a COMPRESS", "a BAD COMPRESS needs a mechanism name."),
                            ("b COMPRESS GZIP", "b BAD Unknown compression mechanism"),
                            ("c COMPRESS DEFLATE X", "c BAD COMPRESS needs a mechanism name."),
                            ('d COMPRESS "DEFLATE"', "d BAD COMPRESS needs a mechanism name.")):
            _, tagged = c.cmd(line)
            assert tagged.startswith(reply), tagged
        # Nothing was turned on by the refusals.
        _, tagged = c.cmd("e NOOP")
        assert tagged.startswith("e OK")


def test_bytes_pipelined_after_compress_are_inflated(srv):
    with zconnect(srv) as c:
        zlogin(c)
        comp = zlib.compressobj(6, zlib.DEFLATED, -15)
        pipelined = comp.compress(b"p1 NOOP\r\np2 NOOP\r\n") + comp.flush(zlib.Z_SYNC_FLUSH)
        c.send_raw(b"z COMPRESS DEFLATE\r\n" + pipelined)
        assert c.readline() == b"z OK DEFLATE active.\r\n"
        c.start_compression(comp)
        assert c.read_until_tag("p1")[-1].startswith(b"p1 OK")
        assert c.read_until_tag("p2")[-1].startswith(b"p2 OK")


def test_pipelined_thousand_commands(srv):
    with zconnect(srv) as c:
        zlogin(c)
        c.compress()
        c.send("".join("t%d NOOP\r\n" % i for i in range(1000)))
        for i in range(1000):
            line = c.read_until_tag("t%d" % i)[-1]
            assert line == b"t%d OK NOOP completed.\r\n" % i


def test_over_tls(srv):
    with zconnect(srv, "imaps", tls=True) as c:
        zlogin(c)
        assert c.compress() == "z OK DEFLATE active."
        c.send("".join("t%d NOOP\r\n" % i for i in range(200)))
        for i in range(200):
            assert c.read_until_tag("t%d" % i)[-1].startswith(b"t%d OK" % i)
        _, tagged = c.cmd('s STATUS INBOX (MESSAGES)')
        assert tagged.startswith("s OK")


def test_starttls_cannot_follow(srv):
    # STARTTLS is only valid before login, COMPRESS only after: the
    # capability list after COMPRESS never offers STARTTLS again.
    with zconnect(srv) as c:
        zlogin(c)
        c.compress()
        untagged, _ = c.cmd("a CAPABILITY")
        assert "STARTTLS" not in untagged[0]
        _, tagged = c.cmd("b STARTTLS")
        assert tagged.startswith("b BAD")


@pytest.mark.parametrize("tls", [False, True])
def test_streamed_append_with_back_pressure(srv, tls):
    """A 4 MB message through the compressed stream: the APPEND sink
    pauses input while the pool writes, and inflating must resume with
    the bytes the layer kept."""
    body = b"".join(b"Line %07d of a long message, with some text to compress.\r\n" % i
                    for i in range(70000))
    msg = b"Subject: big\r\n\r\n" + body
    # Incompressible noise too, so the compressed stream is large as well.
    msg += os.urandom(600000).hex().encode() + b"\r\n"
    with zconnect(srv, "imaps" if tls else "imap", tls=tls) as c:
        zlogin(c)
        c.compress()
        c.send(b"a APPEND INBOX {%d+}\r\n" % len(msg))
        step = 256 * 1024
        for off in range(0, len(msg), step):
            c.send(msg[off:off + step])
        c.send(b"\r\n")
        tagged = c.read_until_tag("a")[-1]
        assert tagged.startswith(b"a OK"), tagged
        untagged, tagged = c.cmd("s STATUS INBOX (MESSAGES SIZE)")
        assert untagged == ["* STATUS INBOX (MESSAGES 1 SIZE %d)" % len(msg)]


def test_large_output_read_late(make_loft):
    """Listings far beyond max_output_buffer and the socket buffers, of
    names that do not compress well, while the client does not read: the
    server stops reading and writing commands, and goes on as the client
    reads; every reply arrives complete and in order."""
    srv = make_loft(listeners=["imap"], users=USERS,
                    config_extra={"storage": {"initial_mailboxes": '""'},
                                  "limits": {"max_output_buffer": "64K"}})
    n = 300
    names = [os.urandom(60).hex() for _ in range(n)]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    sock.connect((srv.address("imap"), srv.port("imap")))
    from imap_raw import ZClient
    with ZClient(sock, timeout=30) as c:
        zlogin(c)
        c.compress()
        c.send("".join('c%d CREATE "Box/%s"\r\n' % (i, names[i]) for i in range(n)))
        for i in range(n):
            assert c.read_until_tag("c%d" % i)[-1].startswith(b"c%d OK" % i)
        rounds = 300
        c.send("".join('l%d LIST "" "*"\r\n' % k for k in range(rounds)) + "x NOOP\r\n")
        # Read nothing until the server has had to stop.
        srv.wait_log(r"output paused", timeout=60)
        want = sorted(names)
        for k in range(rounds):
            lines = c.read_until_tag("l%d" % k)
            assert lines[-1].startswith(b"l%d OK" % k)
            got = [l.decode().rstrip("\r\n").rsplit("/", 1)[1] for l in lines
                   if l.startswith(b'* LIST (\\HasNoChildren) "/" Box/')]
            assert sorted(got) == want
        assert c.read_until_tag("x")[-1].startswith(b"x OK")
        assert c.zbytes_in > 5 * 1024 * 1024
    srv.wait_log(r"output resumed")


def test_corrupt_stream_closes(srv):
    with zconnect(srv) as c:
        zlogin(c)
        c.compress()
        c.send_raw(b"\xff\xff\xff\xff")
        assert c.eof()
    srv.wait_log(r"invalid compressed input")


def test_client_final_block_closes(srv):
    with zconnect(srv) as c:
        zlogin(c)
        c.compress()
        c.send_raw(c.comp.compress(b"a NOOP\r\n") + c.comp.flush(zlib.Z_FINISH))
        lines = []
        try:
            lines = c.read_until_tag("a")
        except (EOFError, socket.timeout):
            pass
        assert lines and lines[-1].startswith(b"a OK")
        assert c.eof()
