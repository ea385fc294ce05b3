"""URLAUTH (RFC 4467) end to end with raw lines (imaplib has no URLAUTH
commands, curl cannot URLFETCH): GENURLAUTH signs rump URLs of the user's
own messages; URLFETCH serves what they name to whoever the access
identifier lets in (anonymous, authuser, user+<name>, submit+<name> for
the configured submission user), NIL for anything that does not verify
(tampered, rump, expired, reset key, another mailbox, bad syntax);
RESETKEY of one mailbox or all; sections and partials; several URLs in one
command; a large message streamed to a client that reads slowly."""

import os
import re
import time

import pytest

from imap_raw import append_lit

USERS = {"alice": "secret", "bob": "pw", "submitter": "subpw"}
HOST = "mail.example.org"
M1 = b"From: foo@example.com\r\nSubject: one\r\n\r\nHello world body\r\n"
M2 = b"From: bar@example.com\r\n\r\nSecond body\r\n"


def cmd(c, line, timeout=20):
    tag = line.split(" ", 1)[0]
    c.sendline(line)
    return c.read_until_tag(tag, timeout=timeout)


def login(c, user="alice", pw="secret"):
    assert c.readline().startswith(b"* OK")
    lines = cmd(c, "L LOGIN %s %s" % (user, pw))
    assert lines[-1].startswith(b"L OK"), lines
    return lines[-1].decode()


def read_reply(c, tag, timeout=20):
    """[(url, data or None)] of the URLFETCH responses, and the tagged line."""
    out = []
    while True:
        line = c.readline(timeout=timeout)
        if line.startswith(tag.encode() + b" "):
            return out, line.decode().rstrip("\r\n")
        m = re.match(rb'\* URLFETCH ("(?:[^"\\]|\\.)*"|\S+) (NIL|\{(\d+)\})\r\n$', line)
        assert m, line
        url = m.group(1).decode()
        if url.startswith('"'):
            url = url[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        if m.group(2) == b"NIL":
            out.append((url, None))
        else:
            n = int(m.group(3))
            c.settimeout(timeout)
            while len(c.buf) < n:
                assert c._fill(), "closed inside a literal"
            data, c.buf = c.buf[:n], c.buf[n:]
            assert c.readline(timeout=timeout) == b"\r\n"
            out.append((url, data))


def urlfetch(c, tag, *urls):
    c.sendline("%s URLFETCH %s" % (tag, " ".join('"%s"' % u for u in urls)))
    return read_reply(c, tag)


def genurl(c, tag, rump, mech="INTERNAL"):
    lines = cmd(c, '%s GENURLAUTH "%s" %s' % (tag, rump, mech))
    assert lines[-1].startswith(tag.encode() + b" OK"), lines
    m = re.match(rb'\* GENURLAUTH ("[^"]*"|\S+)\r\n$', lines[0])
    return m.group(1).decode().strip('"')


def rump(uid, access="user+alice", box="INBOX", extra=""):
    return "imap://alice@%s/%s/;uid=%d%s;urlauth=%s" % (HOST, box, uid, extra, access)


@pytest.fixture
def srv(make_loft):
    return make_loft(listeners=["imap"], users=USERS,
                     config_extra={"storage": {"initial_mailboxes": '""'},
                                   "server": {"hostname": HOST},
                                   "imap": {"urlauth_submit_user": "submitter"}})


@pytest.fixture
def c(srv):
    with srv.connect("imap", timeout=20) as conn:
        login(conn)
        for i, m in enumerate((M1, M2)):
            conn.send(b"s%d APPEND INBOX " % i + append_lit(m) + b"\r\n")
            assert conn.read_until_tag("s%d" % i)[-1].startswith(b"s%d OK" % i)
        yield conn


def test_advertised_after_login(srv):
    with srv.connect("imap") as conn:
        greeting = conn.readline()
        assert b"URLAUTH" not in greeting
        assert cmd(conn, "a URLFETCH x")[-1] == b"a BAD Log in first.\r\n"
        conn.sendline("L LOGIN alice secret")
        assert b" URLAUTH " in conn.read_until_tag("L")[-1]


def test_genurlauth_and_fetch(srv, c):
    u1 = genurl(c, "g1", rump(1))
    u2 = genurl(c, "g2", rump(2))
    assert u1.startswith(rump(1) + ":INTERNAL:") and len(u1) == len(rump(1)) + 10 + 40
    got, tagged = urlfetch(c, "f", u1, u2)
    assert tagged == "f OK URLFETCH completed."
    assert got == [(u1, M1), (u2, M2)]
    # The same rump signs to the same URL; the mechanism in any case.
    assert genurl(c, "g3", rump(1), "internal") == u1
    # Several rumps in one GENURLAUTH.
    lines = cmd(c, 'g4 GENURLAUTH "%s" INTERNAL "%s" INTERNAL' % (rump(1), rump(2)))
    assert lines[0].decode().rstrip() == "* GENURLAUTH %s %s" % (u1, u2)
    # Sections and partials, as the rump names them.
    u = genurl(c, "g5", rump(1, extra="/;section=text"))
    assert urlfetch(c, "f2", u)[0] == [(u, b"Hello world body\r\n")]
    u = genurl(c, "g6", rump(1, extra="/;section=header.fields%20(subject)/;partial=2.6"))
    assert urlfetch(c, "f3", u)[0] == [(u, b"bject:")]


def test_resetkey(srv, c):
    u1 = genurl(c, "g1", rump(1))
    assert cmd(c, "r RESETKEY INBOX")[-1] == b"r OK RESETKEY completed.\r\n"
    assert urlfetch(c, "f", u1)[0] == [(u1, None)]
    u1b = genurl(c, "g2", rump(1))
    assert u1b != u1 and urlfetch(c, "f2", u1b)[0] == [(u1b, M1)]
    # Another mailbox's key is its own.
    assert cmd(c, "c CREATE Work")[-1].startswith(b"c OK")
    c.send(b"a APPEND Work " + append_lit(M2) + b"\r\n")
    assert c.read_until_tag("a")[-1].startswith(b"a OK")
    w = genurl(c, "g3", rump(1, box="Work"))
    assert cmd(c, "r2 RESETKEY INBOX INTERNAL")[-1].startswith(b"r2 OK")
    got, _ = urlfetch(c, "f3", u1b, w)
    assert got == [(u1b, None), (w, M2)]
    # All keys.
    assert cmd(c, "r3 RESETKEY")[-1].startswith(b"r3 OK")
    assert urlfetch(c, "f4", w)[0] == [(w, None)]
    assert cmd(c, "r4 RESETKEY Nope")[-1].startswith(b"r4 NO [NONEXISTENT]")
    assert cmd(c, "r5 RESETKEY INBOX X-FOO")[-1].startswith(b"r5 BAD")


def test_access_identifiers(srv, c):
    anon = genurl(c, "g1", rump(1, "anonymous"))
    auth = genurl(c, "g2", rump(1, "authuser"))
    mine = genurl(c, "g3", rump(1, "user+alice"))
    bobs = genurl(c, "g4", rump(2, "user+bob"))
    submit = genurl(c, "g5", rump(2, "submit+alice"))
    with srv.connect("imap") as b:
        login(b, "bob", "pw")
        got, _ = urlfetch(b, "f", anon, auth, mine, bobs, submit)
        assert got == [(anon, M1), (auth, M1), (mine, None), (bobs, M2), (submit, None)]
    with srv.connect("imap") as s:
        login(s, "submitter", "subpw")
        got, _ = urlfetch(s, "f", submit, mine)
        assert got == [(submit, M2), (mine, None)]
    got, _ = urlfetch(c, "f", anon, mine, bobs, submit)
    assert got == [(anon, M1), (mine, M1), (bobs, None), (submit, None)]


def test_expiry(srv, c):
    past = genurl(c, "g1", rump(1, extra=";EXPIRE=2001-01-01T00:00:00Z"))
    future = genurl(c, "g2", rump(1, extra=";EXPIRE=2099-01-01T00:00:00+01:00"))
    assert urlfetch(c, "f", past, future)[0] == [(past, None), (future, M1)]


def test_what_fetches_nil(srv, c):
    u = genurl(c, "g1", rump(1))
    token = u.rsplit(":", 1)[1]
    flipped = u[:-1] + ("0" if u[-1] != "0" else "1")
    other_uid = u.replace(";uid=1;", ";uid=2;")
    nils = [flipped, rump(1), other_uid, u.replace(":INTERNAL:", ":X-OTHER:"),
            "imap://alice@%s/INBOX/;uid=99;urlauth=user+alice:INTERNAL:%s" % (HOST, token),
            "/INBOX/;uid=1", "not a url", "imap://alice@%s/INBOX" % HOST,
            u.replace("INBOX", "INBOX;UIDVALIDITY=1")]
    got, tagged = urlfetch(c, "f", *nils)
    assert tagged == "f OK URLFETCH completed."
    assert got == [(n, None) for n in nils]
    assert cmd(c, "b URLFETCH")[-1].startswith(b"b BAD")
    assert cmd(c, 'b2 URLFETCH ("%s" BINARY)' % u)[-1].startswith(b"b2 BAD")


def test_genurlauth_refusals(srv, c):
    def tagged(line):
        return cmd(c, line)[-1].decode().rstrip()
    assert tagged('a GENURLAUTH "%s"' % rump(1)).startswith("a BAD")
    assert tagged('b GENURLAUTH "%s" X-MECH' % rump(1)).startswith("b BAD")
    assert tagged('c GENURLAUTH "imap://alice@%s/INBOX/;uid=1" INTERNAL' % HOST).startswith(
        "c NO")
    assert tagged('d GENURLAUTH "imap://bob@%s/INBOX/;uid=1;urlauth=anonymous" INTERNAL'
                  % HOST).startswith("d NO")
    assert tagged('e GENURLAUTH "/INBOX/;uid=1;urlauth=anonymous" INTERNAL').startswith("e NO")
    u = genurl(c, "g", rump(1))
    assert tagged('f GENURLAUTH "%s" INTERNAL' % u).startswith("f NO")
    assert tagged('h GENURLAUTH "%s" INTERNAL' % rump(1, box="Nope")).startswith(
        "h NO [NONEXISTENT]")
    assert tagged('i GENURLAUTH "imap://%s/INBOX/;uid=1;urlauth=anonymous" INTERNAL'
                  % HOST).startswith("i NO")
    assert tagged('j GENURLAUTH "imap://alice@host/%%zz;uid=1" INTERNAL').startswith("j BAD")


def test_user_with_domain(make_loft):
    """A login with a domain: the URL names it as user@host, the way a
    client that splits the address writes it (imaptest's $username@$domain)."""
    srv = make_loft(listeners=["imap"], users={"carol@example.net": "pw"},
                    config_extra={"storage": {"initial_mailboxes": '""'}})
    with srv.connect("imap") as c:
        login(c, "carol@example.net", "pw")
        c.send(b"a APPEND INBOX " + append_lit(M1) + b"\r\n")
        assert c.read_until_tag("a")[-1].startswith(b"a OK")
        u = genurl(c, "g", "imap://carol@example.net/INBOX/;uid=1;urlauth=user+carol@example.net")
        assert urlfetch(c, "f", u)[0] == [(u, M1)]


def test_large_message_read_slowly(make_loft):
    srv = make_loft(listeners=["imap"], users=USERS,
                    config_extra={"storage": {"initial_mailboxes": '""'},
                                  "server": {"hostname": HOST},
                                  "limits": {"max_output_buffer": "64K"}})
    big = b"Subject: big\r\n\r\n" + os.urandom(2000000).hex().encode() + b"\r\n"
    with srv.connect("imap", timeout=30) as c:
        login(c)
        c.send(b"a APPEND INBOX " + append_lit(big) + b"\r\n")
        assert c.read_until_tag("a", timeout=30)[-1].startswith(b"a OK")
        u = genurl(c, "g", rump(1))
        c.sendline('f URLFETCH "%s" "%s"' % (u, u))
        time.sleep(1.0)   # the server stops at the output limit meanwhile
        got, tagged = read_reply(c, "f", timeout=30)
        assert tagged == "f OK URLFETCH completed."
        assert got == [(u, big), (u, big)]
    srv.wait_log(r"output paused")
