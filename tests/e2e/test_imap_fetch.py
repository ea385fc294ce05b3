"""IMAP FETCH and UID FETCH (RFC 9051 6.4.5, 6.4.9, RFC 3501 6.4.5, RFC
8474): every data item served without a MIME parser, exact literals and
partial ranges, \\Seen set by non-PEEK body fetches (with FLAGS in the
response), sequence-set rules, the corpus read back byte for byte in CRLF
form, a 20 MB body to a client that reads slowly (the server's memory stays
bounded), pipelining, and curl's imap:// FETCH."""

import hashlib
import re
import socket
import subprocess
import time

from imap_util import (USER, PASSWORD, append, check_literal_items, cmd, corpus, create_mailbox,
                       fetch_literals, imap_server, login, message, raw_login, read_slowly)


def crlf(data):
    return re.sub(rb"(?<!\r)\n", b"\r\n", data)


def test_simple_items(make_loft):
    srv = imap_server(make_loft)
    c = login(srv)
    msg = message(1, body_lines=3)
    typ, data = c.append("INBOX", "(\\Flagged $Work)", '"01-Jan-2020 10:00:00 +0100"', msg)
    assert typ == "OK"
    c.logout()
    c = raw_login(srv)
    r = cmd(c, "s", "EXAMINE INBOX")
    assert rb"$Work" in r[0]                              # the keyword is in FLAGS
    r = cmd(c, "f", "FETCH 1 (FLAGS UID INTERNALDATE RFC822.SIZE)")
    assert r[0] == (b'* 1 FETCH (FLAGS (\\Flagged $Work) UID 1 '
                    b'INTERNALDATE "01-Jan-2020 09:00:00 +0000" RFC822.SIZE %d)' % len(msg))
    assert r[1] == b"f OK FETCH completed."
    r = cmd(c, "g", "FETCH 1 FAST")
    assert r[0] == (b'* 1 FETCH (FLAGS (\\Flagged $Work) INTERNALDATE '
                    b'"01-Jan-2020 09:00:00 +0000" RFC822.SIZE %d)' % len(msg))
    r = cmd(c, "h", "FETCH 1 (EMAILID THREADID)")
    assert re.match(rb"\* 1 FETCH \(EMAILID \(M[A-Za-z0-9_-]{20}\) THREADID NIL\)$", r[0])


def test_body_sections_and_partials(make_loft):
    srv = imap_server(make_loft)
    c = login(srv)
    msg = (b"From: a@example.org\r\nSubject: hello\r\n world\r\nTo: b@example.org\r\n"
           b"X-Empty:\r\n\r\nline one\r\nline two\r\n")
    append(c, [msg])
    c.logout()
    hdr, text = msg.split(b"\r\n\r\n", 1)
    hdr += b"\r\n\r\n"
    c = raw_login(srv)
    cmd(c, "s", "EXAMINE INBOX")
    cases = [
        ("BODY.PEEK[]", b"BODY[]", msg),
        ("BODY.PEEK[HEADER]", b"BODY[HEADER]", hdr),
        ("BODY.PEEK[TEXT]", b"BODY[TEXT]", text),
        ("RFC822.HEADER", b"RFC822.HEADER", hdr),
        ("BODY.PEEK[HEADER.FIELDS (subject TO)]", b"BODY[HEADER.FIELDS (subject TO)]",
         b"Subject: hello\r\n world\r\nTo: b@example.org\r\n\r\n"),
        ("BODY.PEEK[HEADER.FIELDS.NOT (Subject \"X-Empty\")]",
         b'BODY[HEADER.FIELDS.NOT (Subject "X-Empty")]',
         b"From: a@example.org\r\nTo: b@example.org\r\n\r\n"),
        ("BODY.PEEK[HEADER.FIELDS (Cc)]", b"BODY[HEADER.FIELDS (Cc)]", b"\r\n"),
        ("BODY.PEEK[]<5.10>", b"BODY[]<5>", msg[5:15]),
        ("BODY.PEEK[TEXT]<4.1000>", b"BODY[TEXT]<4>", text[4:]),
        ("BODY.PEEK[]<100000.5>", b"BODY[]<100000>", b""),
        ("BODY.PEEK[HEADER.FIELDS (To)]<3.5>", b"BODY[HEADER.FIELDS (To)]<3>",
         b"To: b@example.org\r\n\r\n"[3:8]),
    ]
    check_literal_items(c, cases)
    # several items in one response, in order
    lines, lits = fetch_literals(c, "m", "FETCH 1 (UID BODY.PEEK[HEADER.FIELDS (To)] "
                                 "RFC822.SIZE BODY.PEEK[TEXT])")
    assert lines[0] == (b"* 1 FETCH (UID 1 BODY[HEADER.FIELDS (To)] {21}<lit> RFC822.SIZE %d "
                        b"BODY[TEXT] {%d}<lit>)" % (len(msg), len(text)))
    assert lits == [b"To: b@example.org\r\n\r\n", text]


def test_seen_is_set_by_body_fetches(make_loft):
    srv = imap_server(make_loft)
    c = login(srv)
    append(c, [message(i) for i in range(5)])
    c.logout()
    c = raw_login(srv)
    cmd(c, "s", "SELECT INBOX")
    lines, _ = fetch_literals(c, "p", "FETCH 1 (BODY.PEEK[] RFC822.HEADER)")
    assert b"FLAGS" not in lines[0]
    lines, _ = fetch_literals(c, "a", "FETCH 1 BODY[TEXT]")
    assert lines[0].endswith(b"<lit> FLAGS (\\Seen \\Recent))")
    lines, _ = fetch_literals(c, "b", "FETCH 1 BODY[TEXT]")   # already seen: no FLAGS
    assert b"FLAGS" not in lines[0]
    lines, _ = fetch_literals(c, "c", "FETCH 2 RFC822")
    assert lines[0].startswith(b"* 2 FETCH (RFC822 {") and b"FLAGS (\\Seen \\Recent)" in lines[0]
    lines, _ = fetch_literals(c, "d", "FETCH 3 (FLAGS RFC822.TEXT)")
    assert lines[0].startswith(b"* 3 FETCH (FLAGS (\\Seen \\Recent) RFC822.TEXT {")
    assert lines[0].count(b"FLAGS") == 1
    r = cmd(c, "e", "FETCH 1:5 FLAGS")
    assert [ln for ln in r if b"FETCH (" in ln] == [
        b"* 1 FETCH (FLAGS (\\Seen \\Recent))", b"* 2 FETCH (FLAGS (\\Seen \\Recent))",
        b"* 3 FETCH (FLAGS (\\Seen \\Recent))", b"* 4 FETCH (FLAGS (\\Recent))",
        b"* 5 FETCH (FLAGS (\\Recent))"]
    # no duplicate unsolicited FETCH for the session's own \Seen
    assert cmd(c, "n", "NOOP") == [b"n OK NOOP completed."]
    # a range: many messages marked in batches
    lines, lits = fetch_literals(c, "g", "FETCH 4:5 BODY[]")
    assert len(lits) == 2 and all(b"FLAGS (\\Seen \\Recent)" in ln for ln in lines[:2])


def test_uid_fetch_and_sequence_rules(make_loft):
    srv = imap_server(make_loft)
    c = raw_login(srv)
    cmd(c, "s", "SELECT INBOX")
    # RFC 9051 9: "*" in an empty mailbox is a BAD for message numbers
    assert cmd(c, "a", "FETCH 1:* FLAGS") == [
        b"a BAD No messages in the mailbox (sequence numbers start at 1)."]
    assert cmd(c, "b", "UID FETCH 1:* FLAGS") == [b"b OK FETCH completed."]
    im = login(srv)
    append(im, [message(i) for i in range(4)])
    assert b"* 4 EXISTS" in cmd(c, "n", "NOOP")
    r = cmd(c, "c", "FETCH 4:2 FLAGS")
    assert [ln.split(b" ")[1] for ln in r[:-1]] == [b"2", b"3", b"4"]
    assert cmd(c, "d", "FETCH 5 FLAGS") == [b"d BAD Message sequence number out of range."]
    assert cmd(c, "e", "FETCH 1,5 FLAGS")[-1].startswith(b"e BAD")
    r = cmd(c, "f", "UID FETCH 3 FLAGS")
    assert r[0] == b"* 3 FETCH (UID 3 FLAGS (\\Recent))"        # UID always there
    r = cmd(c, "g", "UID FETCH 100:* (FLAGS)")
    assert r[0] == b"* 4 FETCH (UID 4 FLAGS (\\Recent))"        # 100:* is 4:100
    assert cmd(c, "h", "UID FETCH 5:7 FLAGS") == [b"h OK FETCH completed."]
    r = cmd(c, "i", "UID FETCH 2,4 (UID FLAGS)")
    assert r[:2] == [b"* 2 FETCH (UID 2 FLAGS (\\Recent))", b"* 4 FETCH (UID 4 FLAGS (\\Recent))"]
    # "$" (SEARCHRES) with nothing saved names no message
    assert cmd(c, "j", "FETCH $ FLAGS") == [b"j OK FETCH completed."]


def test_fetch_syntax_errors(make_loft):
    srv = imap_server(make_loft)
    c = login(srv)
    append(c, [message(1)])
    c = raw_login(srv)
    cmd(c, "s", "SELECT INBOX")
    for tag, line, why in [
        ("a", "FETCH 1", b"FETCH needs a message set and data items."),
        ("b", "FETCH 1 (FLAGS) extra", b"FETCH needs a message set and data items."),
        ("c", "FETCH 1 NOSUCH", b"Unknown FETCH attribute."),
        ("d", "FETCH 1 ()", b"Empty FETCH attribute list."),
        ("e", "FETCH x FLAGS", b"Invalid message set."),
        ("f", "FETCH 0 FLAGS", b"Invalid message set."),
        ("g", "FETCH 1 BODY[]<1.0>", b"Invalid partial range (<origin.length>)."),
        ("h", "FETCH 1 BODY[HEADER.FIELDS]", b"Invalid section."),
        ("i", "FETCH 1 (FLAGS", b"Missing ')'"),
        ("j", "UID FETCH", b"FETCH needs a message set and data items."),
        ("k", "UID NOSUCH 1", b"Unknown UID command."),
    ]:
        assert cmd(c, tag, line) == [tag.encode() + b" BAD " + why], line


def test_corpus_bytes_round_trip(make_loft):
    """Each message comes back as its CRLF form: BODY[] whole, HEADER and TEXT
    splitting it at the first empty line, RFC822.SIZE its length. NUL bytes,
    which no literal may carry, come back as 0x80."""
    srv = imap_server(make_loft)
    msgs = corpus("cpython", 30) + corpus("imaptest", 40) + corpus("mimekit", 30)
    files = [p for p, _ in msgs]
    datas = [d for _, d in msgs]
    im = login(srv)
    for d in datas:
        # APPEND stores the bytes as given; the CRLF form is what FETCH serves
        assert im.append("INBOX", None, None, d)[0] == "OK"
    c = raw_login(srv)
    cmd(c, "s", "EXAMINE INBOX")
    for i, d in enumerate(datas, 1):
        want = crlf(d).replace(b"\0", b"\x80")
        lines, lits = fetch_literals(c, "f%d" % i, "FETCH %d (RFC822.SIZE BODY.PEEK[] "
                                     "BODY.PEEK[HEADER] BODY.PEEK[TEXT])" % i)
        assert lits[0] == want, files[i - 1]
        assert b"RFC822.SIZE %d " % len(crlf(d)) in lines[0]
        assert lits[1] + lits[2] == want
        if want.startswith(b"\r\n"):
            header = b"\r\n"
        elif b"\r\n\r\n" in want:
            header = want[:want.index(b"\r\n\r\n") + 4]
        else:
            header = want                  # no empty line: all header
        assert lits[1] == header, files[i - 1]


def test_large_body_to_a_slow_reader_is_streamed(make_loft, monkeypatch):
    """A 20 MB body fetched by a client that stops reading: the server sends
    it in pages as the socket drains and never buffers the message."""
    # ASan builds: a small quarantine, so freed memory does not count as live
    monkeypatch.setenv("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1:quarantine_size_mb=1")
    srv = imap_server(make_loft)
    line = b"y" * 78 + b"\n"
    body = b"Subject: big\n\n" + line * (20 * 1024 * 1024 // len(line))
    want = hashlib.sha256(crlf(body)).hexdigest()
    c = raw_login(srv, timeout=60)
    c.sendline("a APPEND INBOX {%d+}" % len(body))
    c.send(body + b"\r\n")
    assert c.read_until_tag("a")[-1].startswith(b"a OK [APPENDUID ")
    cmd(c, "s", "EXAMINE INBOX")
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
    base = srv.rss_kb()
    c.sendline("f FETCH 1 BODY.PEEK[]")
    time.sleep(1.0)                       # the client reads nothing for a while
    peak = srv.rss_kb()
    hdr = c.readline()
    n = int(re.search(rb"\{(\d+)\}", hdr).group(1))
    assert n == len(crlf(body))
    digest, peak = read_slowly(srv, c, n, peak)
    assert digest == want
    assert c.read_until_tag("f")[-1] == b"f OK FETCH completed.\r\n"
    # a page (128 KiB) beyond max_output_buffer, plus allocator (and, in a
    # sanitizer build, quarantine) slack: nowhere near the 20 MB message
    assert peak - base < 8 * 1024, (base, peak)


def test_pipelined_fetches_answer_in_order(make_loft):
    srv = imap_server(make_loft)
    im = login(srv)
    append(im, [message(i) for i in range(3)])
    c = raw_login(srv)
    cmd(c, "s", "SELECT INBOX")
    n = 300
    c.send(b"".join(b"p%d FETCH %d (UID BODY.PEEK[HEADER.FIELDS (Subject)])\r\n" % (i, i % 3 + 1)
                    for i in range(n)))
    for i in range(n):
        lines = c.read_until_tag("p%d" % i)
        assert lines[0].startswith(b"* %d FETCH (UID %d " % (i % 3 + 1, i % 3 + 1))
        assert lines[-1] == b"p%d OK FETCH completed.\r\n" % i


def test_curl_fetches_by_uid_and_index(make_loft):
    srv = imap_server(make_loft)
    im = login(srv)
    msgs = [message(i, body_lines=2) for i in range(3)]
    append(im, msgs)
    create_mailbox(srv, "Work")
    append(im, [message(9)], mailbox="Work")
    base = "imap://127.0.0.1:%d/" % srv.port("imap")
    for url, want in [(base + "INBOX;UID=2", msgs[1]), (base + "INBOX;MAILINDEX=3", msgs[2]),
                      (base + "Work;UID=1", message(9)),
                      (base + "INBOX;UID=1;SECTION=HEADER.FIELDS%20(Subject)",
                       b"Subject: message 0\r\n\r\n")]:
        p = subprocess.run(["curl", "-sS", "--user", "%s:%s" % (USER, PASSWORD), url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        assert p.returncode == 0, p.stderr
        assert p.stdout == want, url
    p = subprocess.run(["curl", "-sS", "--user", "%s:%s" % (USER, PASSWORD), base + "INBOX;UID=9"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert p.returncode != 0                 # no such message: curl reports the failure
