"""CATENATE (RFC 4469) end to end with raw lines: messages built from TEXT
literals (streamed) and URLs of existing messages (/mailbox[;UIDVALIDITY=]
/;UID=/;SECTION=/;PARTIAL=, and imap://user@host/...), in every order,
with MULTIAPPEND; the sections come in their CRLF form (HEADER, TEXT, part
numbers, MIME, HEADER.FIELDS[.NOT], partials past the end); a URL that
cannot be read is NO [BADURL <url>] before the client sends any more
(no "+"), and nothing is stored; a missing target is [TRYCREATE]; a
relative URL needs a selected mailbox; another user's message needs
URLAUTH. Results are read back from the Maildir."""

import re
import pytest

from imap_raw import append_lit, cmd, login, messages, wait_tmp_empty

USERS = {"alice": "secret", "bob": "pw"}
HOST = "mail.example.org"

M1 = b"From: foo@example.com\r\n\r\nHello world body\r\n"
M2 = b"From: foo2@example.com\r\n\r\nLookslike: header\r\n\r\nAnother body\r\n"
MIME = (b"From: a@example.org\r\nSubject: mime\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\npreamble\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\npart one\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: inner@example.org\r\nSubject: inner\r\n\r\ninner body\r\n"
        b"--b--\r\n")
# Stored with bare LF: URL data comes in the CRLF form all the same.
BARE = b"From: lf@example.org\nSubject: lf\n\nline one\nline two\n"


def append(c, tag, rest):
    """APPEND <rest>; the tagged reply (str)."""
    if isinstance(rest, str):
        rest = rest.encode()
    c.send(tag.encode() + b" APPEND " + rest + b"\r\n")
    return c.read_until_tag(tag, timeout=20)[-1].decode().rstrip("\r\n")


@pytest.fixture
def srv(make_loft):
    s = make_loft(listeners=["imap"], users=USERS,
                  config_extra={"storage": {"initial_mailboxes": '""'},
                                "server": {"hostname": HOST}})
    return s


@pytest.fixture
def c(srv):
    with srv.connect("imap", timeout=20) as conn:
        login(conn)
        _, tagged = cmd(conn, "c0 CREATE Src")
        for i, m in enumerate((M1, M2, MIME, BARE)):
            assert append(conn, "s%d" % i, b"Src " + append_lit(m)).startswith("s%d OK" % i)
        _, tagged = cmd(conn, "c CREATE Dst")
        yield conn


def dst(srv):
    return [v[0] for v in messages(srv, "alice", "Dst").values()]


def uidvalidity(c, box="Src"):
    untagged, _ = cmd(c, "v STATUS %s (UIDVALIDITY)" % box)
    return int(untagged[0].split("UIDVALIDITY ")[1].rstrip(")"))


def test_advertised(srv):
    with srv.connect("imap") as conn:
        assert " CATENATE " in login(conn)


def test_text_only(srv, c):
    r = append(c, "a", b"Dst (\\Seen \\Flagged) CATENATE (TEXT " + append_lit(M1) + b")")
    assert re.match(r"a OK (\[APPENDUID \d+ [0-9:,]+\] )?Append completed\.$", r), r
    r = append(c, "b", b"Dst CATENATE (TEXT " + append_lit(b"From: hdr1@example.com\r\n") +
               b" TEXT " + append_lit(b"Subject: hdr2\r\n\r\n") + b" TEXT " +
               append_lit(b"body6\r\n") + b")")
    assert re.match(r"b OK (\[APPENDUID \d+ [0-9:,]+\] )?Append completed\.$", r), r
    got = messages(srv, "alice", "Dst")
    assert [v[0] for v in got.values()] == [
        M1, b"From: hdr1@example.com\r\nSubject: hdr2\r\n\r\nbody6\r\n"]
    assert got[1][1] == "FS"


def test_urls_and_text(srv, c):
    v = uidvalidity(c)
    cases = [
        (b'URL "/Src/;uid=1/;section=header" TEXT ' + append_lit(b"body1\r\n"),
         b"From: foo@example.com\r\n\r\nbody1\r\n"),
        (b'URL "/Src;uidvalidity=%d/;uid=1/;section=HEADER" TEXT ' % v +
         append_lit(b"body2\r\n"), b"From: foo@example.com\r\n\r\nbody2\r\n"),
        (b'URL "/Src/;uid=2/;section=text" TEXT ' + append_lit(b"body3\r\n"),
         b"Lookslike: header\r\n\r\nAnother body\r\nbody3\r\n"),
        (b'URL "/Src/;UID=2/;SECTION=1" TEXT ' + append_lit(b"body4\r\n"),
         b"Lookslike: header\r\n\r\nAnother body\r\nbody4\r\n"),
        (b"TEXT " + append_lit(b"From: new@example.com\r\nSubject: test header\r\n\r\n") +
         b' URL "/Src/;uid=1/;section=1" TEXT ' + append_lit(b"suffix\r\n"),
         b"From: new@example.com\r\nSubject: test header\r\n\r\nHello world body\r\nsuffix\r\n"),
        # A partial past the end reads as nothing.
        (b'URL "/Src/;uid=2/;partial=100000.1" TEXT ' + append_lit(b"Hdr: foo\r\n\r\nbody7\r\n"),
         b"Hdr: foo\r\n\r\nbody7\r\n"),
        (b'URL "/Src/;uid=1/;partial=6.3" URL "/Src/;uid=1/;section=header/;partial=0.4"'
         b' TEXT ' + append_lit(b"\r\n"), b"foo" + b"From" + b"\r\n"),
        # Whole messages, URLs only (no literal at all).
        (b'URL "/Src/;uid=1" URL "imap://alice@%s/Src/;uid=2"' % HOST.encode(), M1 + M2),
        # MIME parts, an encapsulated message's header and text.
        (b'URL "/Src/;uid=3/;section=1" URL "/Src/;uid=3/;section=1.MIME"',
         b"part one" + b"Content-Type: text/plain\r\n\r\n"),
        (b'URL "/Src/;uid=3/;section=2.HEADER" URL "/Src/;uid=3/;section=2.TEXT"',
         # (the CRLF before a boundary belongs to the boundary, RFC 2046 5.1.1)
         b"From: inner@example.org\r\nSubject: inner\r\n\r\ninner body"),
        (b'URL "/Src/;uid=3/;section=HEADER.FIELDS%20(subject%20from)" TEXT ' +
         append_lit(b"x\r\n"), b"From: a@example.org\r\nSubject: mime\r\n\r\nx\r\n"),
        (b'URL "/Src/;uid=3/;section=HEADER.FIELDS.NOT%20(Content-Type%20From%20Subject)"',
         b"MIME-Version: 1.0\r\n\r\n"),
        # Bare-LF storage, CRLF data; a partial inside it.
        (b'URL "/Src/;uid=4"', BARE.replace(b"\n", b"\r\n")),
        (b'URL "/Src/;uid=4/;section=text/;partial=5.7"', b"one\r\nli"),
    ]
    want = []
    for i, (parts, result) in enumerate(cases):
        r = append(c, "a%d" % i, b"Dst CATENATE (" + parts + b")")
        assert re.match(r"a%d OK (\[APPENDUID \d+ [0-9:,]+\] )?Append completed\.$" % i, r), (i, r)
        want.append(result)
    assert dst(srv) == want


def test_with_multiappend(srv, c):
    r = append(c, "a", b'Dst CATENATE (TEXT ' + append_lit(M1) + b') CATENATE (URL "/Src/;uid=2/'
               b';section=header" TEXT ' + append_lit(b"body2\r\n") + b')')
    assert re.match(r"a OK (\[APPENDUID \d+ [0-9:,]+\] )?Append completed\.$", r), r
    r = append(c, "b", b'Dst CATENATE (URL "/Src/;uid=1") CATENATE (URL "/Src/;uid=2/;section='
               b'header" TEXT ' + append_lit(b"body3\r\n") + b")")
    assert re.match(r"b OK (\[APPENDUID \d+ [0-9:,]+\] )?Append completed\.$", r), r
    r = append(c, "c", b'Dst CATENATE (URL "/Src/;uid=1/;section=header") (\\Answered) ' +
               append_lit(b"New: Message\r\n\r\nbody5\r\n"))
    assert re.match(r"c OK (\[APPENDUID \d+ [0-9:,]+\] )?Append completed\.$", r), r
    got = messages(srv, "alice", "Dst")
    assert [v[0] for v in got.values()] == [
        M1, b"From: foo2@example.com\r\n\r\nbody2\r\n", M1,
        b"From: foo2@example.com\r\n\r\nbody3\r\n", b"From: foo@example.com\r\n\r\n",
        b"New: Message\r\n\r\nbody5\r\n"]
    assert list(got.values())[5][1] == "R"


def test_bad_urls_store_nothing(srv, c):
    bad = '/Src;uidvalidity=12345/;uid=1/;section=header'
    good = '/Src/;uid=1/;section=header'
    code = "NO [BADURL %s] A CATENATE URL cannot be read." % bad
    attempts = [
        b'URL "%s" TEXT ' % bad.encode() + append_lit(b"body\r\n"),
        b"TEXT " + append_lit(b"hdr: 1\r\n\r\n") + b' URL "%s"' % bad.encode(),
        b"TEXT " + append_lit(b"hdr: 1\r\n\r\n") + b' URL "%s" TEXT ' % bad.encode() +
        append_lit(b"hdr: 2\r\n\r\n"),
        b"TEXT " + append_lit(b"hdr: 1\r\n\r\n") + b' URL "%s" TEXT ' % good.encode() +
        append_lit(b"hdr: 2\r\n\r\n") + b' URL "%s" TEXT ' % bad.encode() +
        append_lit(b"hdr: 3\r\n\r\n"),
        b'URL "%s" URL "%s"' % (good.encode(), bad.encode()),
    ]
    for i, parts in enumerate(attempts):
        r = append(c, "a%d" % i, b"Dst (\\Seen) CATENATE (" + parts + b")")
        assert r == "a%d %s" % (i, code), r
    # Other unreadable URLs.
    for i, url in enumerate(["/Src/;uid=99", "/Nope/;uid=1", "/Src/;uid=3/;section=7",
                             "/Src/;uid=1/;section=1.HEADER", "/Src?ALL", "/Src",
                             ";UID=1", "imap://bob@%s/INBOX/;uid=1" % HOST,
                             "/Src/;uid=1;urlauth=anonymous", "http://x/y"]):
        r = append(c, "b%d" % i, 'Dst CATENATE (URL "%s")' % url)
        assert r.startswith("b%d NO [BADURL " % i), r
    # The second message of a MULTIAPPEND fails: the first is not kept.
    r = append(c, "m", b'Dst CATENATE (TEXT ' + append_lit(M1) + b') CATENATE (URL "%s")'
               % bad.encode())
    assert r == "m " + code
    assert dst(srv) == []
    wait_tmp_empty(srv, "alice", "Dst")


def test_bad_url_refused_before_the_next_literal(srv, c):
    """A synchronizing TEXT literal after an unreadable URL gets NO, not
    "+": the client sends no more of the command."""
    bad = "/Src;uidvalidity=12345/;uid=1"
    c.send(b'a APPEND Dst CATENATE (URL "%s" TEXT {5}\r\n' % bad.encode())
    assert c.readline(timeout=10).decode() == (
        "a NO [BADURL %s] A CATENATE URL cannot be read.\r\n" % bad)
    _, tagged = cmd(c, "b NOOP")
    assert tagged.startswith("b OK")


def test_trycreate(srv, c):
    for i, parts in enumerate([
            b'URL "/Src/;uid=1/;section=1"',
            b'URL "/Src/;uid=1/;section=1" TEXT ' + append_lit(b"hello\r\n"),
            b"TEXT " + append_lit(b"hello\r\n") + b' URL "/Src/;uid=1/;section=1"',
            b"TEXT " + append_lit(b"hdr1: 1\r\n\r\n") +
            b' URL "/Src;uidvalidity=12345/;uid=1/;section=header" TEXT ' +
            append_lit(b"hdr2: 2\r\n\r\n")]):
        r = append(c, "t%d" % i, b"Nonexistent (\\Seen) CATENATE (" + parts + b")")
        assert r.startswith("t%d NO [TRYCREATE]" % i), r


def test_syntax_errors(srv, c):
    for i, parts in enumerate([b"CATENATE ()", b"CATENATE (FOO \"x\")", b"CATENATE (URL)",
                               b"CATENATE (TEXT \"x\")", b"CATENATE URL \"/Src/;uid=1\"",
                               b"CATENATE (URL (x))"]):
        r = append(c, "e%d" % i, b"Dst " + parts)
        assert r.startswith("e%d BAD" % i), r
    assert dst(srv) == []


def test_too_big(make_loft):
    srv = make_loft(listeners=["imap"], users=USERS,
                    config_extra={"storage": {"initial_mailboxes": '""'},
                                  "limits": {"max_literal_size": "100"}})
    with srv.connect("imap") as c:
        login(c)
        assert append(c, "s", b"INBOX " + append_lit(b"x" * 80)).startswith("s OK")
        # Each part fits, the message does not: refused before "+".
        c.send(b'a APPEND INBOX CATENATE (URL "/INBOX/;uid=1" TEXT {30}\r\n')
        assert c.readline(timeout=10).startswith(b"a NO [TOOBIG]")
        r = append(c, "b", b'INBOX CATENATE (URL "/INBOX/;uid=1" URL "/INBOX/;uid=1")')
        assert r.startswith("b NO [TOOBIG]"), r
        assert len(messages(srv, "alice")) == 1


def test_urlauth_url_of_another_user(srv, c):
    """bob authorizes one of his messages for alice; alice CATENATEs it."""
    with srv.connect("imap") as b:
        login(b, "bob", "pw")
        assert append(b, "a", b"INBOX " + append_lit(M2)).startswith("a OK")
        rump = "imap://bob@%s/INBOX/;uid=1/;section=text;urlauth=user+alice" % HOST
        untagged, tagged = cmd(b, 'g GENURLAUTH "%s" INTERNAL' % rump)
        assert tagged.startswith("g OK")
        url = untagged[0].split(" ", 2)[2].strip('"')
    r = append(c, "a", 'Dst CATENATE (URL "%s")' % url)
    assert re.match(r"a OK (\[APPENDUID \d+ [0-9:,]+\] )?Append completed\.$", r), r
    assert dst(srv) == [b"Lookslike: header\r\n\r\nAnother body\r\n"]
    # The rump without its token, and a tampered token, are refused.
    r = append(c, "b", 'Dst CATENATE (URL "%s")' % rump)
    assert r.startswith("b NO [BADURL ")
    r = append(c, "c", 'Dst CATENATE (URL "%s")' % (url[:-1] + ("0" if url[-1] != "0" else "1")))
    assert r.startswith("c NO [BADURL ")
