"""FETCH items that need the MIME structure (RFC 9051 6.4.5 and 7.5.2,
RFC 3501, RFC 3516 BINARY, RFC 8970 PREVIEW) on crafted messages, exact to
the byte: ENVELOPE, BODY, BODYSTRUCTURE, the ALL/FULL macros, sections with
part numbers on nested multiparts and message/rfc822 parts (HEADER, TEXT,
MIME, HEADER.FIELDS[.NOT]), partials of them, BINARY of quoted-printable
and base64 parts (literal8 when the data holds NUL), BINARY.SIZE, NO
[UNKNOWN-CTE], PREVIEW; the same answers whether the message was stored
with CRLF or bare LF; 8-bit headers before and after ENABLE UTF8=ACCEPT;
IMAP4rev2 sessions (message/global); a big BINARY[1] to a slow reader;
imaplib and curl's imap:// ;SECTION= as clients."""

import base64
import hashlib
import re
import socket
import subprocess
import time

import pytest

from imap_util import (USER, PASSWORD, append, check_literal_items, cmd, fetch_literals,
                       imap_server, login, raw_login, read_slowly)

NESTED = (
    'From: "Ann Example" <ann@example.org>\n'
    "To: bob@example.org, Group: c@example.org, e@example.org;\n"
    "Subject: nested\n"
    "Date: Tue, 2 Jan 2024 10:00:00 +0100\n"
    "Message-ID: <n1@example.org>\n"
    "MIME-Version: 1.0\n"
    'Content-Type: multipart/mixed; boundary="outer"\n'
    "\n"
    "preamble\n"
    "--outer\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "Content-Transfer-Encoding: quoted-printable\n"
    "\n"
    "caf=C3=A9 =3D ok=\n"
    " soft\n"
    "--outer\n"
    "Content-Type: application/octet-stream; name=a.bin\n"
    "Content-Transfer-Encoding: base64\n"
    "Content-Disposition: attachment; filename=a.bin\n"
    "\n"
    "AAECAw==\n"
    "--outer\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: in@example.org\n"
    "Subject: inner\n"
    "Content-Type: multipart/alternative; boundary=inner\n"
    "\n"
    "--inner\n"
    "Content-Type: text/plain\n"
    "\n"
    "inner plain\n"
    "--inner\n"
    "Content-Type: text/html\n"
    "\n"
    "<p>inner</p>\n"
    "--inner--\n"
    "--outer\n"
    "Content-Type: image/gif\n"
    "Content-Transfer-Encoding: x-uuencode\n"
    "\n"
    "begin 644 x\n"
    "--outer--\n").encode()

INNER = ("From: in@example.org\r\nSubject: inner\r\nContent-Type: multipart/alternative; "
         "boundary=inner\r\n\r\n--inner\r\nContent-Type: text/plain\r\n\r\ninner plain\r\n"
         "--inner\r\nContent-Type: text/html\r\n\r\n<p>inner</p>\r\n--inner--\r\n").encode()

# item -> (response name, literal)
SECTIONS = [
    ("BODY.PEEK[1]", b"BODY[1]", b"caf=C3=A9 =3D ok=\r\n soft"),
    ("BODY.PEEK[2]", b"BODY[2]", b"AAECAw=="),
    ("BODY.PEEK[2.MIME]", b"BODY[2.MIME]",
     b"Content-Type: application/octet-stream; name=a.bin\r\nContent-Transfer-Encoding: "
     b"base64\r\nContent-Disposition: attachment; filename=a.bin\r\n\r\n"),
    ("BODY.PEEK[3]", b"BODY[3]", INNER),
    ("BODY.PEEK[3.HEADER]", b"BODY[3.HEADER]",
     b"From: in@example.org\r\nSubject: inner\r\nContent-Type: multipart/alternative; "
     b"boundary=inner\r\n\r\n"),
    ("BODY.PEEK[3.TEXT]", b"BODY[3.TEXT]", INNER.split(b"\r\n\r\n", 1)[1]),
    ("BODY.PEEK[3.1]", b"BODY[3.1]", b"inner plain"),
    ("BODY.PEEK[3.2]", b"BODY[3.2]", b"<p>inner</p>"),
    ("BODY.PEEK[3.2.MIME]", b"BODY[3.2.MIME]", b"Content-Type: text/html\r\n\r\n"),
    ("BODY.PEEK[3.HEADER.FIELDS (subject X-None)]", b"BODY[3.HEADER.FIELDS (subject X-None)]",
     b"Subject: inner\r\n\r\n"),
    ("BODY.PEEK[3.HEADER.FIELDS.NOT (Subject Content-Type)]",
     b"BODY[3.HEADER.FIELDS.NOT (Subject Content-Type)]", b"From: in@example.org\r\n\r\n"),
    ("BODY.PEEK[3.1]<2.3>", b"BODY[3.1]<2>", b"ner"),
    ("BODY.PEEK[3.HEADER]<6.14>", b"BODY[3.HEADER]<6>", b"in@example.org"),
    ("BODY.PEEK[3.HEADER.FIELDS (FROM)]<3.5>", b"BODY[3.HEADER.FIELDS (FROM)]<3>", b"m: in"),
    ("BODY.PEEK[3.2]<100.5>", b"BODY[3.2]<100>", b""),
    ("BODY.PEEK[5]", b"BODY[5]", b""),                   # no such part: ""
    # a part that is not multipart is its own part 1 (as Dovecot has it)
    ("BODY.PEEK[1.1]", b"BODY[1.1]", b"caf=C3=A9 =3D ok=\r\n soft"),
    ("BODY.PEEK[1.HEADER]", b"BODY[1.HEADER]", b""),      # not a message/rfc822 part
    ("BINARY.PEEK[1]", b"BINARY[1]", b"caf\xc3\xa9 = ok soft"),
    ("BINARY.PEEK[1]<5.4>", b"BINARY[1]<5>", b" = o"),
    ("BINARY.PEEK[3]", b"BINARY[3]", INNER),              # message/rfc822: identity
    ("BINARY.PEEK[3.1]", b"BINARY[3.1]", b"inner plain"),
    ("BINARY.PEEK[9]", b"BINARY[9]", b""),
]


def stored(eol):
    return NESTED if eol == "\n" else NESTED.replace(b"\n", b"\r\n")


@pytest.fixture(params=["\n", "\r\n"], ids=["bare-lf", "crlf"])
def nested(request, make_loft):
    srv = imap_server(make_loft)
    c = raw_login(srv)
    data = stored(request.param)
    c.sendline("a APPEND INBOX {%d+}" % len(data))
    c.send(data + b"\r\n")
    assert c.read_until_tag("a")[-1].startswith(b"a OK")
    assert cmd(c, "s", "EXAMINE INBOX")[-1].startswith(b"s OK")
    return srv, c


def test_sections_of_nested_parts(nested):
    _, c = nested
    check_literal_items(c, SECTIONS)
    # several in one response, in the order asked, with other items between
    lines, lits = fetch_literals(c, "m", "FETCH 1 (BODY.PEEK[3.1] UID BINARY.SIZE[1] "
                                 "BODY.PEEK[2.MIME]<0.12> BINARY.SIZE[3])")
    assert lines[0] == (b"* 1 FETCH (BODY[3.1] {11}<lit> UID 1 BINARY.SIZE[1] 15 "
                        b"BODY[2.MIME]<0> {12}<lit> BINARY.SIZE[3] %d)" % len(INNER))
    assert lits == [b"inner plain", b"Content-Type"]


def test_binary_of_base64_is_literal8_with_nul(nested):
    _, c = nested
    c.sendline("b FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2])")
    line = c.readline()
    assert line == b"* 1 FETCH (BINARY[2] ~{4}\r\n"
    while len(c.buf) < 4:
        c._fill()
    assert c.buf[:4] == b"\x00\x01\x02\x03"
    c.buf = c.buf[4:]
    assert c.readline() == b" BINARY.SIZE[2] 4)\r\n"
    assert c.readline() == b"b OK FETCH completed.\r\n"


def test_unknown_transfer_encoding(nested):
    _, c = nested
    # RFC 3516 4.3 / RFC 9051 6.4.5: the request fails, the connection goes on
    for tag, item in (("u1", "BINARY.PEEK[4]"), ("u2", "BINARY.SIZE[4]"),
                      ("u3", "(UID BINARY[4])")):
        r = cmd(c, tag, "FETCH 1 %s" % item)
        assert r == [tag.encode() + b" NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding."]
    # BODY[4] has no such problem
    lines, lits = fetch_literals(c, "u4", "FETCH 1 BODY.PEEK[4]")
    assert lits == [b"begin 644 x"]


def test_structure_items(nested):
    _, c = nested
    env = (b'("Tue, 2 Jan 2024 10:00:00 +0100" "nested" (("Ann Example" NIL "ann" '
           b'"example.org")) (("Ann Example" NIL "ann" "example.org")) (("Ann Example" NIL '
           b'"ann" "example.org")) ((NIL NIL "bob" "example.org")(NIL NIL "Group" NIL)'
           b'(NIL NIL "c" "example.org")(NIL NIL "e" "example.org")(NIL NIL NIL NIL)) NIL NIL '
           b'NIL "<n1@example.org>")')
    r = cmd(c, "e", "FETCH 1 ENVELOPE")
    assert r[0] == b"* 1 FETCH (ENVELOPE " + env + b")"
    r = cmd(c, "b", "FETCH 1 (BODY BODYSTRUCTURE)")
    body = r[0]
    assert body.startswith(
        b'* 1 FETCH (BODY (("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 24 1)'
        b'("application" "octet-stream" ("name" "a.bin") NIL NIL "base64" 8)'
        b'("message" "rfc822" NIL NIL NIL "7bit" ')
    assert b' "mixed") BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") NIL NIL ' \
           b'"quoted-printable" 24 1 NIL NIL NIL NIL)' in body
    assert b'("attachment" ("filename" "a.bin")) NIL NIL)' in body
    assert b'"mixed" ("boundary" "outer") NIL NIL NIL))' in body
    assert body.count(b'(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)') == 0
    assert b'("message" "rfc822" NIL NIL NIL "7bit" %d (NIL "inner" ((NIL NIL "in" ' \
           b'"example.org")) ((NIL NIL "in" "example.org")) ((NIL NIL "in" "example.org")) NIL ' \
           b'NIL NIL NIL NIL) (("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 11 0 NIL NIL ' \
           b'NIL NIL)("text" "html" ' % len(INNER) in body
    # the macros (RFC 9051 6.4.5)
    r = cmd(c, "a", "FETCH 1 ALL")
    assert re.match(rb'\* 1 FETCH \(FLAGS \(\) INTERNALDATE "[^"]+" RFC822.SIZE %d '
                    rb'ENVELOPE \(' % len(stored("\r\n")), r[0])
    assert r[0].endswith(env + b")")
    r = cmd(c, "f", "FETCH 1 FULL")
    assert r[0].endswith(b' "mixed"))') and b" ENVELOPE " + env + b" BODY ((" in r[0]


def test_preview(nested):
    _, c = nested
    # RFC 8970: the first text part, decoded, as UTF-8 (a literal: 8-bit)
    for tag, item in (("p", "PREVIEW"), ("q", "(PREVIEW (LAZY))"), ("r", "(UID PREVIEW)")):
        lines, lits = fetch_literals(c, tag, "FETCH 1 %s" % item)
        assert lits == ["café = ok soft".encode()], lits
        assert lines[0].endswith(b"PREVIEW {15}<lit>)")
    assert cmd(c, "x", "FETCH 1 (PREVIEW (EAGER))") == [b"x BAD Invalid PREVIEW modifier."]


def test_preview_sets_no_seen_and_body_does(make_loft):
    srv = imap_server(make_loft)
    im = login(srv)
    append(im, [stored("\r\n")])
    c = raw_login(srv)
    cmd(c, "s", "SELECT INBOX")
    assert b"FLAGS" not in cmd(c, "p", "FETCH 1 (PREVIEW BODYSTRUCTURE BINARY.SIZE[1] "
                               "BINARY.PEEK[1])")[0].split(b"BINARY[1]")[0]
    assert cmd(c, "f", "FETCH 1 FLAGS")[0] == b"* 1 FETCH (FLAGS (\\Recent))"
    lines, _ = fetch_literals(c, "b", "FETCH 1 BINARY[1]")
    assert lines[0].endswith(b"FLAGS (\\Seen \\Recent))")


def test_imaplib_client(make_loft):
    srv = imap_server(make_loft)
    im = login(srv)
    append(im, [stored("\r\n")])
    im.select("INBOX", readonly=True)
    typ, data = im.fetch("1", "(BODY.PEEK[3.1] BINARY.PEEK[1] BINARY.PEEK[2] BINARY.SIZE[2] "
                         "BODYSTRUCTURE)")
    assert typ == "OK"
    assert data[0][1] == b"inner plain"
    assert data[1][1] == "café = ok soft".encode()
    assert data[2][1] == b"\x00\x01\x02\x03"           # literal8 is a literal to imaplib
    assert data[3].startswith(b" BINARY.SIZE[2] 4 BODYSTRUCTURE ((")
    typ, data = im.uid("FETCH", "1", "(ENVELOPE)")
    assert typ == "OK" and b'"nested"' in data[0]
    im.logout()


def test_utf8_headers_before_and_after_utf8_accept(make_loft):
    srv = imap_server(make_loft)
    msg = ("From: Jöran Ämne <jöran@exämple.org>\r\nSubject: Grüße aus Köln\r\n"
           "To: ö@example.org\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           "Grüße\r\n").encode()
    c = raw_login(srv)
    c.sendline("a APPEND INBOX {%d+}" % len(msg))
    c.send(msg + b"\r\n")
    assert c.read_until_tag("a")[-1].startswith(b"a OK")
    subject = "Grüße aus Köln".encode()
    for enable in (False, True):
        if enable:
            assert cmd(c, "e", "ENABLE UTF8=ACCEPT")[0] == b"* ENABLED UTF8=ACCEPT"
        cmd(c, "s", "EXAMINE INBOX")
        lines, lits = fetch_literals(c, "f", "FETCH 1 (ENVELOPE BODY.PEEK[HEADER.FIELDS "
                                     "(SUBJECT)] PREVIEW)")
        # 8-bit strings go as literals: valid in either mode, bytes unchanged
        assert subject in lits
        assert "jöran".encode() in lits and "exämple.org".encode() in lits
        assert b"Subject: " + subject + b"\r\n\r\n" in lits
        assert "Grüße".encode() in lits
        assert lines[-1] == b"f OK FETCH completed."


GLOBAL = (b"Subject: outer\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=g\r\n"
          b"\r\n--g\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--g\r\n"
          b"Content-Type: message/global\r\n\r\nFrom: J\xc3\xb6 <j@x.org>\r\n"
          b"Subject: inner\r\n\r\nhello\r\n--g--\r\n")


def test_imap4rev2_session(make_loft):
    srv = imap_server(make_loft)
    im = login(srv)
    append(im, [GLOBAL])
    im.create("Other")
    c = raw_login(srv)
    # rev1: message/global is a basic part (RFC 3501 grammar has no GLOBAL)
    cmd(c, "x", "EXAMINE INBOX")
    r = cmd(c, "b", "FETCH 1 BODY")
    assert b'("message" "global" NIL NIL NIL "7bit" 44)' in r[0]
    assert cmd(c, "u", "UNSELECT")[-1].startswith(b"u OK")
    # ENABLE IMAP4rev2 (RFC 9051 6.3.1)
    assert cmd(c, "e", "ENABLE IMAP4rev2") == [b"* ENABLED IMAP4rev2",
                                               b"e OK ENABLE completed."]
    r = cmd(c, "s", "SELECT inbox")
    assert not [ln for ln in r if b"RECENT" in ln or b"UNSEEN" in ln]
    assert b'* LIST () "/" INBOX' in r
    assert r[-1] == b"s OK [READ-WRITE] SELECT completed."
    # no \Recent (RFC 9051 2.3.2)
    assert cmd(c, "f", "FETCH 1 FLAGS")[0] == b"* 1 FETCH (FLAGS ())"
    # message/global is body-type-msg with the inner envelope and structure
    lines, lits = fetch_literals(c, "b", "FETCH 1 BODY")
    assert b'("message" "global" NIL NIL NIL "7bit" 44 (NIL "inner" (({3}<lit> NIL "j" ' \
           b'"x.org"))' in lines[0]
    assert b'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0) 3) "mixed"))' in lines[0]
    assert lits == ["Jö".encode()] * 3           # from, sender, reply-to
    lines, lits = fetch_literals(c, "h", "FETCH 1 BODY.PEEK[2.HEADER.FIELDS (SUBJECT)]")
    assert lits == [b"Subject: inner\r\n\r\n"]
    # STATUS RECENT does not exist in IMAP4rev2
    assert cmd(c, "t", "STATUS Other (RECENT)")[-1].startswith(b"t BAD")
    # selecting another mailbox closes this one: [CLOSED] first (RFC 9051 7.1)
    r = cmd(c, "s2", "EXAMINE Other")
    assert r[0] == b"* OK [CLOSED] Previous mailbox closed."
    assert r[-1] == b"s2 OK [READ-ONLY] EXAMINE completed."
    r = cmd(c, "s3", "SELECT Nope")
    assert r == [b"* OK [CLOSED] Previous mailbox closed.", b"s3 NO [NONEXISTENT] Mailbox "
                 b"does not exist."]
    assert cmd(c, "f2", "FETCH 1 FLAGS")[-1].startswith(b"f2 BAD")   # nothing selected


def test_mailboxid(make_loft):
    srv = imap_server(make_loft)
    c = raw_login(srv)
    r = cmd(c, "c", "CREATE Work")
    m = re.match(rb"c OK \[MAILBOXID \((F[A-Za-z0-9_-]{20})\)\] CREATE completed\.$", r[-1])
    assert m, r
    work = m.group(1)
    r = cmd(c, "s", "EXAMINE Work")
    assert b"* OK [MAILBOXID (%s)] Mailbox id." % work in r
    assert cmd(c, "t", "STATUS Work (MAILBOXID MESSAGES)")[0] == \
        b"* STATUS Work (MAILBOXID (%s) MESSAGES 0)" % work
    r = cmd(c, "t2", "STATUS INBOX (MAILBOXID)")
    inbox = re.match(rb"\* STATUS INBOX \(MAILBOXID \((F[A-Za-z0-9_-]{20})\)\)$", r[0]).group(1)
    assert inbox != work
    # RENAME keeps it (RFC 8474 4.1); a new mailbox of the old name gets another
    assert cmd(c, "r", "RENAME Work Archive/Work")[-1].startswith(b"r OK")
    assert cmd(c, "t3", "STATUS Archive/Work (MAILBOXID)")[0] == \
        b"* STATUS Archive/Work (MAILBOXID (%s))" % work
    r = cmd(c, "c2", "CREATE Work")
    assert work not in r[-1]
    # LIST-STATUS (RFC 5819) takes it too
    r = cmd(c, "l", 'LIST "" "Archive/%" RETURN (STATUS (MAILBOXID))')
    assert b"* STATUS Archive/Work (MAILBOXID (%s))" % work in r
    # RENAME INBOX makes a new mailbox (RFC 3501 6.3.5); INBOX keeps its id
    cmd(c, "u", "UNSELECT")
    assert cmd(c, "r2", "RENAME INBOX Old")[-1].startswith(b"r2 OK")
    assert cmd(c, "t4", "STATUS INBOX (MAILBOXID)")[0].endswith(b"(%s))" % inbox)
    assert inbox not in cmd(c, "t5", "STATUS Old (MAILBOXID)")[0]


def test_binary_of_a_big_base64_part_to_a_slow_reader(make_loft, monkeypatch):
    """BINARY[1] of a 20 MB base64 attachment to a client that stops
    reading: decoded a page at a time as the socket drains, never the whole
    part in memory."""
    monkeypatch.setenv("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1:quarantine_size_mb=1")
    srv = imap_server(make_loft)
    blob = hashlib.sha256(b"seed").digest() * (15 * 1024 * 1024 // 32)   # 15 MiB
    b64 = base64.encodebytes(blob)                                      # 76-char lines
    msg = (b"Subject: big\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=z\n\n"
           b"--z\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n"
           b"\n" + b64 + b"--z--\n")
    c = raw_login(srv, timeout=60)
    c.sendline("a APPEND INBOX {%d+}" % len(msg))
    c.send(msg + b"\r\n")
    assert c.read_until_tag("a", timeout=60)[-1].startswith(b"a OK [APPENDUID ")
    cmd(c, "s", "EXAMINE INBOX")
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
    base = srv.rss_kb()
    c.sendline("f FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])")
    time.sleep(1.0)                       # the client reads nothing for a while
    peak = srv.rss_kb()
    hdr = c.readline()
    m = re.search(rb"BINARY.SIZE\[1\] (\d+) BINARY\[1\] (~?)\{(\d+)\}", hdr)
    assert m and int(m.group(1)) == int(m.group(3)) == len(blob)
    assert m.group(2) == (b"~" if b"\0" in blob else b"")
    digest, peak = read_slowly(srv, c, len(blob), peak)
    assert digest == hashlib.sha256(blob).hexdigest()
    assert c.read_until_tag("f", timeout=60)[-1] == b"f OK FETCH completed.\r\n"
    # a page beyond max_output_buffer plus a decoder slice, allocator (and
    # sanitizer quarantine) slack: nowhere near the 20 MB part
    assert peak - base < 8 * 1024, (base, peak)


def test_curl_fetches_a_section(make_loft):
    srv = imap_server(make_loft)
    im = login(srv)
    append(im, [stored("\r\n")])
    base = "imap://127.0.0.1:%d/INBOX;UID=1" % srv.port("imap")
    for section, want in (("1", b"caf=C3=A9 =3D ok=\r\n soft"), ("3.1", b"inner plain"),
                          ("3.2.MIME", b"Content-Type: text/html\r\n\r\n"),
                          ("3.HEADER.FIELDS%20(Subject)", b"Subject: inner\r\n\r\n")):
        p = subprocess.run(["curl", "-sS", "--user", "%s:%s" % (USER, PASSWORD),
                            base + ";SECTION=" + section],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        assert p.returncode == 0, p.stderr
        assert p.stdout == want, section
