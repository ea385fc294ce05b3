"""POP3 commands end to end with Python's poplib and raw sockets (RFC 1939,
2449, 3206): every command of both states, exact octet counts and bytes of
RETR/TOP on real mail, byte stuffing, pipelining, CAPA, and the -ERR of
every kind of bad input (unknown, wrong state, out of range, overlong)."""
import os
import poplib
import re

import pytest

from pop3_util import (crlf, deliver, login, pop3_server, raw_login, read_body,
                       top_of)

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus", "mail")


def msg(i, body="hello"):
    return "Subject: m%d\r\nFrom: a@example.org\r\n\r\n%s %d\r\n" % (i, body, i)


def test_every_command(make_loft):
    srv = pop3_server(make_loft)
    for i in range(1, 4):
        deliver(srv, "alice", msg(i))
    c = login(srv)
    size = len(msg(1).encode())
    assert c.stat() == (3, 3 * size)
    resp, lines, _ = c.list()
    assert resp.startswith(b"+OK") and lines == [b"%d %d" % (i, size) for i in (1, 2, 3)]
    assert c.list(2) == b"+OK 2 %d" % size
    resp, uidls, _ = c.uidl()
    ids = [l.split()[1] for l in uidls]
    assert [l.split()[0] for l in uidls] == [b"1", b"2", b"3"] and len(set(ids)) == 3
    assert c.uidl(3).split()[1:] == [b"3", ids[2]]
    resp, lines, octets = c.retr(2)
    assert resp == b"+OK %d octets" % size and octets == size
    assert lines == [b"Subject: m2", b"From: a@example.org", b"", b"hello 2"]
    resp, lines, _ = c.top(1, 0)
    assert lines == [b"Subject: m1", b"From: a@example.org", b""]
    assert c.noop().startswith(b"+OK")
    assert c.dele(1).startswith(b"+OK")
    assert c.stat() == (2, 2 * size)
    assert [l.split()[0] for l in c.list()[1]] == [b"2", b"3"]
    with pytest.raises(poplib.error_proto, match=r"deleted"):
        c.retr(1)
    assert c.rset().startswith(b"+OK")
    assert c.stat() == (3, 3 * size)
    assert c.dele(3).startswith(b"+OK")
    assert c.quit().startswith(b"+OK")
    c = login(srv)
    assert c.stat() == (2, 2 * size)
    assert [l.split()[1] for l in c.uidl()[1]] == ids[:2]
    c.quit()


def corpus_messages():
    """A spread of the corpus: every line-end kind, dot lines, the largest
    message (several RETR chunks), a message without a final line end."""
    picked = []
    with open(os.path.join(CORPUS, "MANIFEST.tsv")) as f:
        rows = [l.rstrip("\n").split("\t") for l in f][1:]
    by_eol = {}
    for r in rows:
        by_eol.setdefault(r[2], []).append(r[0])
    for eol, files in sorted(by_eol.items()):
        picked += files[:8]
    picked.append(max(rows, key=lambda r: int(r[1]))[0])
    out = []
    for name in picked:
        with open(os.path.join(CORPUS, name), "rb") as f:
            out.append((name, f.read()))
    return out


def test_octets_and_bytes_match_on_real_mail(make_loft):
    """LIST/STAT octets are exactly the bytes RETR sends (CRLF form, before
    stuffing; a message without a final line end gets the CRLF of the
    terminator only), and TOP sends the header plus n body lines."""
    srv = pop3_server(make_loft, pop3={"retr_chunk_size": "4K"})
    msgs = corpus_messages()
    for _, data in msgs:
        deliver(srv, "alice", data)
    c = raw_login(srv)
    c.sendline("STAT")
    count, total = (int(x) for x in c.readline().split()[1:3])
    assert count == len(msgs)
    assert total == sum(len(crlf(d)) for _, d in msgs)
    for i, (name, data) in enumerate(msgs, 1):
        want = crlf(data)
        c.sendline("LIST %d" % i)
        assert c.readline() == b"+OK %d %d\r\n" % (i, len(want)), name
        c.sendline("RETR %d" % i)
        assert c.readline() == b"+OK %d octets\r\n" % len(want), name
        got = read_body(c)
        if not want.endswith(b"\r\n"):
            want += b"\r\n"
        assert got == want, name
        for n in (0, 3):
            c.sendline("TOP %d %d" % (i, n))
            assert c.readline().startswith(b"+OK"), name
            want_top = top_of(data, n)
            if want_top and not want_top.endswith(b"\r\n"):
                want_top += b"\r\n"
            assert read_body(c) == want_top, (name, n)
    c.sendline("QUIT")
    assert c.readline().startswith(b"+OK")


def test_byte_stuffing_on_the_wire(make_loft):
    srv = pop3_server(make_loft)
    data = b"Subject: dots\r\n\r\n.\r\n..\r\n.x\r\nx.\r\n. \r\nend"
    deliver(srv, "alice", data)
    c = raw_login(srv)
    c.sendline("RETR 1")
    assert c.readline() == b"+OK %d octets\r\n" % len(data)
    raw = b""
    while not raw.endswith(b"\r\n.\r\n"):
        line = c.readline()
        assert line, raw
        raw += line
    assert raw == b"Subject: dots\r\n\r\n..\r\n...\r\n..x\r\nx.\r\n.. \r\nend\r\n.\r\n"
    c.sendline("TOP 1 1")
    assert c.readline().startswith(b"+OK")
    assert read_body(c) == b"Subject: dots\r\n\r\n.\r\n"


def test_pipelined_commands_answered_in_order(make_loft):
    srv = pop3_server(make_loft)
    for i in range(1, 4):
        deliver(srv, "alice", msg(i))
    c = srv.connect("pop3")
    c.readline()
    c.send("USER alice\r\nPASS secret\r\nSTAT\r\nRETR 1\r\nDELE 1\r\nLIST\r\n"
           "RETR 9\r\nUIDL 2\r\nTOP 3 0\r\nNOOP\r\nQUIT\r\n")
    assert c.readline().startswith(b"+OK")          # USER
    assert c.readline().startswith(b"+OK Logged in")
    assert c.readline().startswith(b"+OK 3 ")
    assert c.readline().startswith(b"+OK")
    assert read_body(c) == msg(1).encode()
    assert c.readline().startswith(b"+OK")          # DELE
    assert c.readline().startswith(b"+OK 2 messages")
    assert [l.split()[0] for l in read_body(c).splitlines()] == [b"2", b"3"]
    assert c.readline().startswith(b"-ERR")         # RETR 9
    assert c.readline().startswith(b"+OK 2 ")       # UIDL 2
    assert c.readline().startswith(b"+OK")
    assert read_body(c).endswith(b"\r\n\r\n")
    assert c.readline() == b"+OK\r\n"               # NOOP
    assert c.readline().startswith(b"+OK")          # QUIT
    assert c.read_eof() == b""


def expect_err(c, line, pattern=None):
    c.sendline(line)
    got = c.readline()
    assert got.startswith(b"-ERR"), (line, got)
    if pattern:
        assert re.search(pattern, got.decode()), (line, got)


def test_bad_input_gets_err_and_the_session_goes_on(make_loft):
    srv = pop3_server(make_loft, extra={"limits": {"max_bad_commands": 1000}})
    deliver(srv, "alice", msg(1))
    deliver(srv, "alice", msg(2))
    c = srv.connect("pop3")
    c.readline()
    # TRANSACTION commands before login, PASS without USER
    for line in ("STAT", "LIST", "RETR 1", "DELE 1", "RSET", "TOP 1 1", "UIDL", "NOOP",
                 "PASS secret"):
        expect_err(c, line)
    # unknown commands, LAST is not offered, APOP not offered, keyword shape
    for line in ("XYZZY", "LAST", "APOP alice 0123", "RETRIEVE 1", "", "   ", "R1"):
        expect_err(c, line)
    expect_err(c, "USER", "user name")
    expect_err(c, "USER a b")
    expect_err(c, "CAPA x")
    expect_err(c, "STLS now")
    c.send(b"NOOP\x00\r\n")
    assert c.readline().startswith(b"-ERR")
    c.send(b"USER " + b"a" * 9000 + b"\r\n")
    assert c.readline().startswith(b"-ERR Line too long")
    c.sendline("USER alice")
    assert c.readline().startswith(b"+OK")
    c.sendline("PASS secret")
    assert c.readline().startswith(b"+OK")
    for line in ("RETR", "RETR 0", "RETR 3", "RETR -1", "RETR +1", "RETR 1x", "RETR 4294967296",
                 "RETR 99999999999", "DELE", "DELE 3", "LIST 0", "LIST 3", "LIST 1 2",
                 "UIDL 0", "UIDL x", "TOP 1", "TOP 1 x", "TOP 3 1", "TOP 1 -1",
                 "TOP 1 2 3", "STAT 1", "NOOP 1", "RSET 1", "USER bob", "PASS x", "STLS",
                 "AUTH PLAIN", "QUIT now"):
        expect_err(c, line)
    c.sendline("DELE 1")
    assert c.readline().startswith(b"+OK")
    for line in ("RETR 1", "DELE 1", "LIST 1", "UIDL 1", "TOP 1 0"):
        expect_err(c, line, "deleted")
    c.send(b"LIST " + b"1" * 70000 + b"\r\n")
    assert c.readline().startswith(b"-ERR Line too long")
    c.sendline("stat")                 # keywords are case-insensitive
    assert c.readline().startswith(b"+OK 1 ")
    c.sendline("QUIT")
    assert c.readline().startswith(b"+OK")
    c = login(srv)
    assert c.stat()[0] == 1
    c.quit()


def test_bad_commands_end_the_connection(make_loft):
    srv = pop3_server(make_loft, extra={"limits": {"max_bad_commands": 3}})
    deliver(srv, "alice", msg(1))
    c = raw_login(srv)
    c.sendline("RETR 7")
    assert c.readline().startswith(b"-ERR")
    c.sendline("NOOP")                 # a success resets the count
    assert c.readline().startswith(b"+OK")
    for _ in range(2):
        c.sendline("XYZZY")
        assert c.readline().startswith(b"-ERR")
    c.sendline("RETR 0")
    assert c.readline().startswith(b"-ERR")
    assert c.read_eof().startswith(b"-ERR Too many bad commands")


def test_authentication_errors_and_response_codes(make_loft):
    srv = pop3_server(make_loft)
    c = srv.connect("pop3")
    c.readline()
    c.sendline("USER alice")
    assert c.readline().startswith(b"+OK")
    c.sendline("PASS wrong")
    assert c.readline().startswith(b"-ERR [AUTH] ")
    c.sendline("PASS secret")          # a failed PASS needs USER again
    assert c.readline().startswith(b"-ERR")
    c.sendline("USER nosuchuser")
    assert c.readline().startswith(b"+OK")   # no probing of user names
    c.sendline("PASS secret")
    assert c.readline().startswith(b"-ERR [AUTH] ")
    c.sendline("USER ../alice")
    assert c.readline().startswith(b"+OK")
    c.sendline("PASS secret")
    assert c.readline().startswith(b"-ERR [AUTH] ")
    c.sendline("USER alice")
    c.readline()
    c.sendline("PASS secret with spaces")   # the whole rest is the password
    assert c.readline().startswith(b"-ERR [AUTH] ")
    c.sendline("QUIT")
    assert c.readline().startswith(b"+OK")


def test_auth_sasl(make_loft):
    """AUTH with SASL (RFC 5034): PLAIN with an initial response, PLAIN
    and LOGIN with "+" challenges, "*" cancels, a wrong password gets
    [AUTH], and the bare AUTH lists the mechanisms."""
    import base64
    srv = pop3_server(make_loft)
    deliver(srv, "alice", msg(1))
    b64 = lambda s: base64.b64encode(s.encode()).decode()
    c = srv.connect("pop3")
    c.readline()
    c.sendline("AUTH")
    lines = c.read_multiline()
    assert lines[0].startswith(b"+OK") and b"PLAIN\r\n" in lines, lines
    c.sendline("AUTH PLAIN " + b64("\0alice\0wrong"))
    assert c.readline().startswith(b"-ERR [AUTH] ")
    c.sendline("AUTH PLAIN")
    assert c.readline().startswith(b"+ ")
    c.sendline("*")
    assert c.readline().startswith(b"-ERR")
    c.sendline("AUTH LOGIN")
    assert c.readline().startswith(b"+ ")
    c.sendline(b64("alice"))
    assert c.readline().startswith(b"+ ")
    c.sendline(b64("secret"))
    assert c.readline().startswith(b"+OK")
    c.sendline("STAT")
    assert c.readline().startswith(b"+OK 1 ")
    c.sendline("QUIT")
    assert c.readline().startswith(b"+OK")
    c = srv.connect("pop3")
    c.readline()
    # pipelined: the initial response and the next command in one packet
    c.send(("AUTH PLAIN %s\r\nSTAT\r\n" % b64("\0alice\0secret")).encode())
    assert c.readline().startswith(b"+OK")
    assert c.readline().startswith(b"+OK 1 ")
    c.sendline("QUIT")
    c.readline()


def test_password_with_spaces(make_loft):
    srv = pop3_server(make_loft, users={"carol": "pass word  x"})
    c = login(srv, "carol", password="pass word  x")
    assert c.stat() == (0, 0)
    c.quit()


def test_plaintext_policy_and_stls(make_loft):
    srv = pop3_server(make_loft, extra={"server": {"plaintext_auth": "never"}})
    deliver(srv, "alice", msg(1))
    c = srv.connect("pop3")
    c.readline()
    c.sendline("USER alice")
    assert c.readline().startswith(b"-ERR [AUTH] ")
    c.sendline("PASS secret")
    assert c.readline().startswith(b"-ERR")
    c.sendline("STLS")
    assert c.readline().startswith(b"+OK")
    c.starttls(srv.client_context())
    c.sendline("CAPA")
    capa = c.read_multiline()
    assert b"USER\r\n" in capa and b"STLS\r\n" not in capa
    c.sendline("USER alice")
    assert c.readline().startswith(b"+OK")
    c.sendline("PASS secret")
    assert c.readline().startswith(b"+OK")
    c.sendline("QUIT")
    assert c.readline().startswith(b"+OK")
    c = login(srv, name="pop3s")
    assert c.stat()[0] == 1
    c.quit()


def capa(c):
    c.sendline("CAPA")
    lines = c.read_multiline()
    assert lines[0].startswith(b"+OK") and lines[-1] == b".\r\n"
    return [l.decode().strip() for l in lines[1:-1]]


def test_capa_lists_what_works_per_state(make_loft):
    srv = pop3_server(make_loft)
    c = srv.connect("pop3")
    c.readline()
    before = capa(c)
    sasl = [x for x in before if x.startswith("SASL ")]
    assert len(sasl) == 1 and "PLAIN" in sasl[0].split(), before
    assert set(before) - set(sasl) == {"STLS", "USER", "TOP", "UIDL", "RESP-CODES",
                                       "AUTH-RESP-CODE", "PIPELINING", "EXPIRE NEVER",
                                       "IMPLEMENTATION Loft"}, before
    c.sendline("USER alice")
    c.readline()
    c.sendline("PASS secret")
    c.readline()
    after = capa(c)
    assert set(after) == set(before) - {"STLS", "USER"} - set(sasl), after
    c.sendline("QUIT")
    c.readline()


def test_capa_expire_and_login_delay(make_loft):
    srv = pop3_server(make_loft, pop3={"retention_days": 7, "login_delay": "60s"})
    c = srv.connect("pop3")
    c.readline()
    caps = capa(c)
    assert "EXPIRE 7" in caps and "LOGIN-DELAY 60" in caps, caps
    c.close()
    c = login(srv)
    c.quit()
    c = srv.pop3()
    c.user("alice")
    with pytest.raises(poplib.error_proto, match=r"-ERR \[LOGIN-DELAY\]"):
        c.pass_("secret")
    c.quit()
    c = login(srv, "bob")        # per user
    c.quit()


def test_uidls_are_stable_unique_and_survive_rebuild(make_loft):
    srv = pop3_server(make_loft)
    for i in range(1, 6):
        deliver(srv, "alice", msg(i, "same body"))
    c = login(srv)
    first = c.uidl()[1]
    c.dele(2)
    c.quit()
    ids = [l.split()[1] for l in first]
    assert len(set(ids)) == 5
    for u in ids:
        assert 1 <= len(u) <= 70 and all(0x21 <= b <= 0x7e for b in u)
    srv.stop()
    r = srv.run_cli("index", "rebuild", "alice")
    assert r.returncode == 0, r.stderr
    srv.restart()
    c = login(srv)
    again = [l.split()[1] for l in c.uidl()[1]]
    c.quit()
    assert again == [ids[0]] + ids[2:]


def test_max_messages_lists_the_oldest(make_loft):
    srv = pop3_server(make_loft, pop3={"max_messages": 2})
    for i in range(1, 5):
        deliver(srv, "alice", msg(i))
    c = login(srv)
    assert c.stat() == (2, 2 * len(msg(1).encode()))
    assert c.retr(2)[1][0] == b"Subject: m2"
    c.dele(1)
    c.quit()
    c = login(srv)                    # the next two move up
    assert [c.top(n, 0)[1][0] for n in (1, 2)] == [b"Subject: m2", b"Subject: m3"]
    c.quit()


@pytest.mark.parametrize("read_ahead", ["0", "4K", "256K"])
def test_retr_with_and_without_read_ahead(make_loft, read_ahead):
    """The same bytes whether RETR answers from the read-ahead cache or
    streams: pipelined, request-response, out of order, and after DELE."""
    srv = pop3_server(make_loft, pop3={"read_ahead": read_ahead, "retr_chunk_size": "4K"})
    msgs = [b"Subject: r%d\r\n\r\n" % i + b".x\r\n" * (i * 150) for i in range(1, 9)]
    for m in msgs:
        deliver(srv, "alice", m)
    c = raw_login(srv)
    c.send(b"".join(b"RETR %d\r\n" % n for n in (1, 2, 3, 8, 4)))
    for n in (1, 2, 3, 8, 4):
        assert c.readline() == b"+OK %d octets\r\n" % len(msgs[n - 1])
        assert read_body(c) == msgs[n - 1]
    c.sendline("DELE 5")
    assert c.readline().startswith(b"+OK")
    for n in (6, 5, 7, 1):
        c.sendline("RETR %d" % n)
        line = c.readline()
        if n == 5:
            assert line.startswith(b"-ERR"), line
            continue
        assert line == b"+OK %d octets\r\n" % len(msgs[n - 1])
        assert read_body(c) == msgs[n - 1]
    c.sendline("QUIT")
    assert c.readline().startswith(b"+OK")
