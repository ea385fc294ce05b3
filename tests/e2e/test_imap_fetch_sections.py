"""BINARY with every section-spec and partials given as <origin> (RFC 3516,
RFC 9051 6.4.5), as Dovecot answers them and as Dovecot's imaptest suite
asks for them, on the corpus messages imaptest uses (tests/corpus/mail/
imaptest/fetch-binary-mime*):

- BINARY[...] and BINARY.SIZE[...] take HEADER, HEADER.FIELDS[.NOT], MIME
  and TEXT after part numbers, not only RFC 3516's part numbers: HEADER,
  MIME and the field lists are served as BODY's, TEXT is the message's body
  with its root part's transfer encoding removed;
- <origin> without a length means up to the end; the origin may have
  leading zeros (RFC 9051 `number`), the length may not be 0;
- the section's words come back upper-case, the field names as sent.

The sizes below were recorded from Debian's Dovecot 2.3.19 on the same
messages; the bytes must agree with the item's own BINARY.SIZE and with
BODY[] of the same section where nothing is encoded.
"""
import base64
import imaplib
import os

import pytest

from imap_util import (CORPUS, PASSWORD, USER, cmd, fetch_literals, imap_server,
                       raw_login)

MIME = os.path.join(CORPUS, "imaptest", "fetch-binary-mime", "001.eml")
B64 = os.path.join(CORPUS, "imaptest", "fetch-binary-mime-base64", "001.eml")
QP = os.path.join(CORPUS, "imaptest", "fetch-binary-mime-qp", "001.eml")

# BINARY.SIZE of each section of fetch-binary-mime/001.eml, from Dovecot
MIME_SIZES = [
    ("", 602), ("TEXT", 466), ("HEADER", 136), ("HEADER.FIELDS (date subject)", 41),
    ("1", 7), ("1.MIME", 48), ("2", 298), ("2.MIME", 32),
    ("2.HEADER", 134), ("2.HEADER.FIELDS (from subject x-foo)", 41),
    ("2.HEADER.FIELDS.NOT (from subject x-foo)", 95), ("2.TEXT", 164), ("2.1.MIME", 27),
    ("2.1", 20), ("2.2.MIME", 28), ("2.2", 21),
]

SINGLE_B64 = (b"From: a@example.org\r\nSubject: one part\r\nContent-Type: text/plain\r\n"
              b"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQ=\r\n")
WRAPPED_B64 = (b"From: b@example.org\r\nSubject: wrapped\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n"
               b"Content-Type: message/rfc822\r\n\r\n" + SINGLE_B64 + b"--x--\r\n")


def read(path):
    with open(path, "rb") as f:
        return f.read()


@pytest.fixture(scope="module")
def mailbox(tmp_path_factory):
    """INBOX holding 1: fetch-binary-mime, 2: -base64, 3: -qp, 4: a single
    base64 part, 5: that message inside a message/rfc822 part."""
    from loftserver import LoftServer
    srv = LoftServer(tmp_path_factory.mktemp("sections"), listeners=["imap"],
                     users={USER: PASSWORD},
                     config_extra={"storage": {"initial_mailboxes": ""}})
    try:
        c = raw_login(srv)
        for i, data in enumerate((read(MIME), read(B64), read(QP), SINGLE_B64, WRAPPED_B64)):
            c.sendline("a%d APPEND INBOX {%d+}" % (i, len(data)))
            c.send(data + b"\r\n")
            assert c.read_until_tag("a%d" % i)[-1].startswith(b"a%d OK" % i)
        assert cmd(c, "s", "EXAMINE INBOX")[-1].startswith(b"s OK")
        yield srv, c
    finally:
        srv.close()


def one_literal(c, tag, msg, item):
    lines, lits = fetch_literals(c, tag, "FETCH %d (%s)" % (msg, item))
    assert lines[-1] == tag.encode() + b" OK FETCH completed.", (item, lines)
    assert len(lits) == 1, (item, lines)
    return lines[0], lits[0]


def binary_size(c, tag, msg, section):
    r = cmd(c, tag, "FETCH %d BINARY.SIZE[%s]" % (msg, section))
    assert r[-1] == tag.encode() + b" OK FETCH completed.", r
    words, _, fields = section.partition(" ")
    shown = words.upper() + (" " + fields if fields else "")
    head = b"* %d FETCH (BINARY.SIZE[%s] " % (msg, shown.encode())
    assert r[0].startswith(head) and r[0].endswith(b")"), (section, r)
    return int(r[0][len(head):-1])


def test_binary_takes_every_section_spec(mailbox):
    _, c = mailbox
    for i, (section, size) in enumerate(MIME_SIZES):
        assert binary_size(c, "z%d" % i, 1, section) == size, section
        line, data = one_literal(c, "b%d" % i, 1, "BINARY.PEEK[%s]" % section)
        assert len(data) == size, section
        # nothing in this message is encoded: BINARY is BODY's bytes
        _, body = one_literal(c, "d%d" % i, 1, "BODY.PEEK[%s]" % section)
        assert data == body, section
    line, data = one_literal(c, "n", 1, "BINARY.PEEK[2.header.fields (from subject X-foo)]")
    assert line == b"* 1 FETCH (BINARY[2.HEADER.FIELDS (from subject X-foo)] {41}<lit>)"
    assert data == b"From: sub@domain.org\r\nSubject: submsg\r\n\r\n"
    # a part without a header of its own, a part that does not exist
    assert one_literal(c, "e1", 1, "BINARY.PEEK[1.HEADER]")[1] == b""
    assert one_literal(c, "e2", 1, "BINARY.PEEK[3.MIME]")[1] == b""
    assert binary_size(c, "e3", 1, "7.TEXT") == 0


def test_binary_text_removes_the_root_encoding(mailbox):
    _, c = mailbox
    line, data = one_literal(c, "t1", 4, "BINARY.PEEK[TEXT]")
    assert line == b"* 4 FETCH (BINARY[TEXT] {11}<lit>)"
    assert data == b"hello world"
    assert binary_size(c, "t2", 4, "TEXT") == 11
    assert one_literal(c, "t3", 4, "BODY.PEEK[TEXT]")[1] == b"aGVsbG8gd29ybGQ=\r\n"
    assert one_literal(c, "t4", 4, "BINARY.PEEK[TEXT]<6>")[1] == b"world"
    # the same message inside a message/rfc822 part
    assert one_literal(c, "t5", 5, "BINARY.PEEK[1.TEXT]")[1] == b"hello world"
    assert binary_size(c, "t6", 5, "1.TEXT") == 11
    assert one_literal(c, "t7", 5, "BINARY.PEEK[1.HEADER.FIELDS (subject)]")[1] == \
        b"Subject: one part\r\n\r\n"
    # a multipart body is sent as it is, whatever its parts' encodings
    assert one_literal(c, "t8", 5, "BINARY.PEEK[TEXT]")[1] == \
        one_literal(c, "t9", 5, "BODY.PEEK[TEXT]")[1]


def test_origin_only_partials(mailbox):
    _, c = mailbox
    whole = one_literal(c, "p0", 2, "BINARY.PEEK[5]")[1]
    assert binary_size(c, "p1", 2, "5") == len(whole) == 30
    for k, (window, want) in enumerate((("<0.7>", whole[:7]), ("<10.10>", whole[10:20]),
                                        ("<15>", whole[15:]), ("<0>", whole),
                                        ("<30>", b""), ("<99>", b""))):
        line, data = one_literal(c, "q%d" % k, 2, "BINARY.PEEK[5]" + window)
        assert line.startswith(b"* 2 FETCH (BINARY[5]<%s> {" % window[1:].split(".")[0]
                               .rstrip(">").encode()), line
        assert data == want, window
    assert one_literal(c, "p2", 2, "BINARY.PEEK[1]")[1] == b"hello world"
    qp = one_literal(c, "p3", 3, "BINARY.PEEK[1]")[1]
    assert len(qp) == binary_size(c, "p4", 3, "1") == 65
    assert one_literal(c, "p5", 3, "BINARY.PEEK[1]<40>")[1] == qp[40:]
    assert one_literal(c, "p6", 3, "BINARY.PEEK[1]<15.10>")[1] == qp[15:25]
    body = one_literal(c, "p7", 3, "BODY.PEEK[]")[1]
    line, data = one_literal(c, "p8", 3, "BODY.PEEK[]<0300>")
    assert line == b"* 3 FETCH (BODY[]<300> {%d}<lit>)" % (len(body) - 300)
    assert data == body[300:]
    line, data = one_literal(c, "p9", 3, "BODY.PEEK[HEADER.FIELDS (date)]<005.7>")
    assert line == b"* 3 FETCH (BODY[HEADER.FIELDS (date)]<5> {7}<lit>)"
    assert data == b" Sat, 2"


def test_bad_partials_and_sections(mailbox):
    _, c = mailbox
    for k, item in enumerate(("BODY.PEEK[]<1.0>", "BODY.PEEK[]<1.>", "BODY.PEEK[]<>",
                              "BODY.PEEK[]<1.02>", "BINARY.SIZE[1]<0>",
                              "BINARY.SIZE[1]<0.1>", "BINARY.PEEK[MIME]", "BINARY.PEEK[0]",
                              "BODY.PEEK[]<-1>")):
        r = cmd(c, "x%d" % k, "FETCH 1 %s" % item)
        assert r[-1].startswith(b"x%d BAD " % k), (item, r)


def test_section_words_upper_case_and_empty_field_name(mailbox):
    _, c = mailbox
    line, data = one_literal(c, "w1", 1, "body.peek[header.fields (From)]")
    assert line == b"* 1 FETCH (BODY[HEADER.FIELDS (From)] {25}<lit>)"
    assert data == b"From: user@domain.org\r\n\r\n"
    line, _ = one_literal(c, "w2", 1, "binary.peek[2.mime]")
    assert line.startswith(b"* 1 FETCH (BINARY[2.MIME] {")
    # "" is an astring (RFC 9051 9): it names no field, only the blank line is left
    line, data = one_literal(c, "w3", 1, 'BODY.PEEK[HEADER.FIELDS ("")]')
    assert line == b'* 1 FETCH (BODY[HEADER.FIELDS ("")] {2}<lit>)'
    assert data == b"\r\n"


def test_imaplib_binary_text(mailbox):
    srv, _ = mailbox
    c = imaplib.IMAP4("127.0.0.1", srv.port("imap"))
    c.login(USER, PASSWORD)
    c.select("INBOX", readonly=True)
    typ, data = c.fetch("5", "(BINARY.PEEK[1.TEXT] BINARY.SIZE[1.TEXT])")
    assert typ == "OK"
    assert data[0][0] == b"5 (BINARY[1.TEXT] {11}"
    assert data[0][1] == base64.b64decode(b"aGVsbG8gd29ybGQ=")
    assert data[1] == b" BINARY.SIZE[1.TEXT] 11)"
    c.logout()
