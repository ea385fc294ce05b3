"""IMAP SEARCH, UID SEARCH, ESEARCH (RFC 4731), SEARCHRES (RFC 5182), SORT
(RFC 5256, RFC 5957), ESORT (RFC 5267) and THREAD (RFC 5256) end to end:
every search key on hand-made messages, every response form, "$" in the
commands that take a set, no EXPUNGE during a SEARCH by sequence number,
\\Recent across sessions, charsets, nesting limits, and a mailbox large
enough that the search runs in several slices and its answer in pages."""

import re

from imap_util import (USER, PASSWORD, append, cmd, drop_maildir, imap_server, login,
                       raw_login, untagged)

MSGS = [
    # 1
    (b"From: Alice Example <alice@example.org>\r\nTo: bob@example.net\r\n"
     b"Cc: carol@example.com\r\nBcc: dave@example.com\r\nSubject: Quarterly report\r\n"
     b"Date: Wed, 3 Aug 2011 10:00:00 +0200\r\nMessage-ID: <r1@example.org>\r\n"
     b"X-Priority: 1\r\n\r\nThe numbers are in.\r\n",
     "(\\Seen \\Answered)", '"01-Feb-2020 10:00:00 +0000"'),
    # 2
    (b"From: =?ISO-8859-1?Q?J=F6rg?= <joerg@example.de>\r\nTo: alice@example.org\r\n"
     b"Subject: Re: Quarterly report\r\nDate: Thu, 4 Aug 2011 09:00:00 +0000\r\n"
     b"Message-ID: <r2@example.org>\r\nIn-Reply-To: <r1@example.org>\r\n"
     b"Content-Type: text/plain; charset=iso-8859-1\r\n"
     b"Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 cr=E8me\r\n",
     "(\\Flagged $Work)", '"02-Feb-2020 10:00:00 +0000"'),
    # 3
    (b"From: ivan@example.ru\r\nTo: team@example.org\r\nSubject: =?UTF-8?B?0J/RgNC40LLQtdGC?=\r\n"
     b"Date: Sat, 15 Feb 2020 08:00:00 +0000\r\nMessage-ID: <r3@example.org>\r\n"
     b"References: <r1@example.org> <r2@example.org>\r\n\r\n" + b"long body line\r\n" * 200,
     "(\\Deleted \\Draft)", '"03-Feb-2020 10:00:00 +0000"'),
    # 4
    (b"From: zed@example.org\r\nTo: Yvonne <yvonne@example.org>\r\nSubject: [list] Fwd: agenda\r\n"
     b"Message-ID: <r4@example.org>\r\n\r\nSee you\r\n",
     "()", '"04-Feb-2020 10:00:00 +0000"'),
]


def setup_box(make_loft, **kw):
    srv = imap_server(make_loft, **kw)
    c = login(srv)
    for data, flags, date in MSGS:
        typ, resp = c.append("INBOX", flags, date, data)
        assert typ == "OK", resp
    c.logout()
    return srv


def search(c, tag, line):
    r = cmd(c, tag, line)
    assert r[-1].startswith(tag.encode() + b" OK"), r
    hits = [ln for ln in r if ln.startswith(b"* SEARCH")]
    assert len(hits) == 1, r
    return [int(x) for x in hits[0].split()[2:]]


def test_every_key(make_loft):
    srv = setup_box(make_loft)
    c = raw_login(srv)
    cmd(c, "s", "SELECT INBOX")
    cases = {
        "ALL": [1, 2, 3, 4], "ANSWERED": [1], "UNANSWERED": [2, 3, 4],
        "DELETED": [3], "UNDELETED": [1, 2, 4], "DRAFT": [3], "UNDRAFT": [1, 2, 4],
        "FLAGGED": [2], "UNFLAGGED": [1, 3, 4], "SEEN": [1], "UNSEEN": [2, 3, 4],
        "KEYWORD $Work": [2], "keyword $WORK": [2], "UNKEYWORD $Work": [1, 3, 4],
        "RECENT": [1, 2, 3, 4], "NEW": [2, 3, 4], "OLD": [],
        "BCC dave": [1], "CC carol@example": [1], "FROM alice": [1], "FROM JÖRG": [],
        "TO \"Yvonne <yvonne@\"": [4], "TO alice": [2],
        "SUBJECT report": [1, 2], "SUBJECT \"re: quarterly\"": [2], "SUBJECT agenda": [4],
        "BODY numbers": [1], "BODY \"long body\"": [3], "BODY report": [],
        "TEXT report": [1, 2], "TEXT \"x-priority: 1\"": [1],
        "HEADER Message-ID r3@": [3], "HEADER X-Priority \"\"": [1],
        "HEADER References r2": [3], "HEADER X-None \"\"": [],
        "BEFORE 2-Feb-2020": [1], "ON 2-Feb-2020": [2], "SINCE 3-Feb-2020": [3, 4],
        "SENTBEFORE 4-Aug-2011": [1], "SENTON 4-Aug-2011": [2], "SENTSINCE 1-Jan-2020": [3],
        "LARGER 2000": [3], "SMALLER 200": [4],
        "UID 2:3": [2, 3], "UID 3:*": [3, 4], "2,4": [2, 4], "*": [4], "3:1": [1, 2, 3],
        "NOT SEEN": [2, 3, 4], "OR SEEN DRAFT": [1, 3], "NOT (SEEN OR DELETED FLAGGED)": [1, 2, 3, 4], "NOT (SEEN) NOT (OR DELETED FLAGGED)": [4],
        "(SUBJECT report) (NOT ANSWERED)": [2], "OR OR SEEN FLAGGED DRAFT": [1, 2, 3],
        "CHARSET US-ASCII FROM ivan": [3], "5:9": [], "UID 100": [],
    }
    for i, (key, want) in enumerate(cases.items()):
        if "Ö" in key:
            continue
        assert search(c, "k%d" % i, "SEARCH " + key) == want, key
    # 8-bit criteria: a literal in UTF-8 and one in ISO-8859-1
    c.sendline("u1 SEARCH CHARSET UTF-8 FROM {5}")
    assert c.readline().startswith(b"+")
    c.send(b"J\xc3\xb6rg\r\n")
    r = [ln.rstrip(b"\r\n") for ln in c.read_until_tag("u1")]
    assert r[0] == b"* SEARCH 2", r
    c.sendline("u2 SEARCH CHARSET ISO-8859-1 BODY {4}")
    assert c.readline().startswith(b"+")
    c.send(b"caf\xe9\r\n")
    r = [ln.rstrip(b"\r\n") for ln in c.read_until_tag("u2")]
    assert r[0] == b"* SEARCH 2", r
    c.sendline("u3 SEARCH SUBJECT {12}")
    assert c.readline().startswith(b"+")
    c.send("привет".encode("utf-8") + b"\r\n")
    r = [ln.rstrip(b"\r\n") for ln in c.read_until_tag("u3")]
    assert r[0] == b"* SEARCH 3", r
    # UID SEARCH answers UIDs
    assert search(c, "v", "UID SEARCH SUBJECT report") == [1, 2]


def test_esearch_and_searchres(make_loft):
    srv = setup_box(make_loft)
    c = raw_login(srv)
    cmd(c, "s", "SELECT INBOX")
    r = cmd(c, "a", "SEARCH RETURN (MIN MAX COUNT ALL) NOT SEEN")
    assert r[0] == b'* ESEARCH (TAG "a") MIN 2 MAX 4 COUNT 3 ALL 2:4'
    r = cmd(c, "b", "UID SEARCH RETURN (ALL) OR SEEN DRAFT")
    assert r[0] == b'* ESEARCH (TAG "b") UID ALL 1,3'
    r = cmd(c, "c", "SEARCH RETURN (COUNT) SUBJECT nothing")
    assert r[0] == b'* ESEARCH (TAG "c") COUNT 0'
    r = cmd(c, "d", "SEARCH RETURN () UNDELETED")
    assert r[0] == b'* ESEARCH (TAG "d") ALL 1:2,4'
    # SAVE alone: no ESEARCH; "$" then works wherever a set does
    r = cmd(c, "e", "SEARCH RETURN (SAVE) SUBJECT report")
    assert r == [b"e OK SEARCH completed."]
    assert search(c, "f", "SEARCH $") == [1, 2]
    assert search(c, "g", "UID SEARCH UID $") == [1, 2]
    assert search(c, "g2", "SEARCH NOT $") == [3, 4]
    r = cmd(c, "h", "FETCH $ (UID)")
    assert untagged(r, "FETCH") == [b"* 1 FETCH (UID 1)", b"* 2 FETCH (UID 2)"]
    r = cmd(c, "i", "UID STORE $ +FLAGS.SILENT (\\Flagged)")
    assert r[-1].startswith(b"i OK")
    assert search(c, "j", "SEARCH FLAGGED") == [1, 2]
    r = cmd(c, "k", "COPY $ INBOX")
    assert r[-1].startswith(b"k OK [COPYUID")
    # SAVE with MIN/MAX only saves those (RFC 5182 2.4)
    r = cmd(c, "l", "SEARCH RETURN (SAVE MIN) UNSEEN")
    assert r[0] == b'* ESEARCH (TAG "l") MIN 2'
    assert search(c, "m", "UID SEARCH $") == [2]
    r = cmd(c, "n", "SEARCH RETURN (SAVE MAX MIN) ALL")
    assert search(c, "o", "SEARCH $") == [1, 6]
    r = cmd(c, "p", "SEARCH RETURN (SAVE COUNT MIN) ALL")
    assert search(c, "q", "SEARCH $") == [1, 2, 3, 4, 5, 6]
    # a failed SEARCH ... SAVE leaves "$" empty
    r = cmd(c, "r", "SEARCH RETURN (SAVE) SINCE 99-Foo-2020")
    assert r[-1].startswith(b"r BAD")
    assert search(c, "s2", "SEARCH $") == []
    # "$" names UIDs: after an expunge it still names the same messages
    cmd(c, "t", "SEARCH RETURN (SAVE) SUBJECT agenda")
    cmd(c, "u", "STORE 1 +FLAGS.SILENT (\\Deleted)")
    r = cmd(c, "v", "EXPUNGE")
    assert b"* 1 EXPUNGE" in r and b"* 2 EXPUNGE" in r
    r = cmd(c, "w", "FETCH $ (UID)")
    assert untagged(r, "FETCH") == [b"* 2 FETCH (UID 4)"]


def test_no_expunge_during_search_by_number(make_loft):
    srv = setup_box(make_loft)
    a = raw_login(srv)
    cmd(a, "s", "SELECT INBOX")
    b = login(srv)
    b.select("INBOX")
    b.store("1", "+FLAGS", "\\Deleted")
    b.expunge()
    b.logout()
    # 1 and 3 (\Deleted before) are gone; numbers are still those of before
    r = cmd(a, "x", "SEARCH ALL")
    assert r[0] == b"* SEARCH 2 4"
    assert not untagged(r, "EXPUNGE")
    r = cmd(a, "x2", "SEARCH RETURN (ALL) 1:4")
    assert r[0] == b'* ESEARCH (TAG "x2") ALL 2,4'
    assert not untagged(r, "EXPUNGE")
    r = cmd(a, "y", "UID SEARCH ALL")
    assert r[0] == b"* SEARCH 2 4"
    assert untagged(r, "EXPUNGE") == [b"* 1 EXPUNGE", b"* 2 EXPUNGE"]
    r = cmd(a, "z", "SEARCH ALL")
    assert r[0] == b"* SEARCH 1 2"


def test_recent_across_sessions(make_loft):
    srv = setup_box(make_loft)
    a = raw_login(srv)
    cmd(a, "s", "SELECT INBOX")
    b = raw_login(srv)
    cmd(b, "s", "SELECT INBOX")
    assert search(a, "r", "SEARCH RECENT") == [1, 2, 3, 4]
    assert search(b, "r", "SEARCH RECENT") == []
    assert search(b, "o", "SEARCH OLD") == [1, 2, 3, 4]
    cmd(b, "e", "EXAMINE INBOX")
    assert search(b, "n", "SEARCH NEW") == []


def test_sort_and_thread(make_loft):
    srv = setup_box(make_loft)
    c = raw_login(srv)
    cmd(c, "s", "SELECT INBOX")
    assert cmd(c, "a", "SORT (SUBJECT) UTF-8 ALL")[0] == b"* SORT 4 1 2 3"
    assert cmd(c, "b", "SORT (REVERSE ARRIVAL) UTF-8 ALL")[0] == b"* SORT 4 3 2 1"
    assert cmd(c, "c", "SORT (DATE) UTF-8 ALL")[0] == b"* SORT 1 2 4 3"
    assert cmd(c, "d", "SORT (SIZE) UTF-8 NOT DELETED")[0] == b"* SORT 4 1 2"
    assert cmd(c, "e", "SORT (FROM) UTF-8 ALL")[0] == b"* SORT 1 3 2 4"
    assert cmd(c, "f", "SORT (TO SUBJECT) UTF-8 ALL")[0] == b"* SORT 2 1 3 4"
    assert cmd(c, "g", "SORT (DISPLAYFROM) UTF-8 ALL")[0] == b"* SORT 1 3 2 4"
    assert cmd(c, "h", "SORT (DISPLAYTO) UTF-8 ALL")[0] == b"* SORT 2 1 3 4"
    assert cmd(c, "i", "SORT (CC REVERSE DATE) UTF-8 ALL")[0] == b"* SORT 3 4 2 1"
    assert cmd(c, "j", "UID SORT (SUBJECT) UTF-8 UID 2:4")[0] == b"* SORT 4 2 3"
    r = cmd(c, "k", "SORT RETURN (MIN MAX COUNT ALL) (REVERSE DATE) UTF-8 ALL")
    assert r[0] == b'* ESEARCH (TAG "k") MIN 3 MAX 1 COUNT 4 ALL 3:4,2,1'
    r = cmd(c, "l", "UID SORT RETURN (ALL) (DATE) UTF-8 ALL")
    assert r[0] == b'* ESEARCH (TAG "l") UID ALL 1:2,4,3'
    assert cmd(c, "m", "SORT () UTF-8 ALL")[-1].startswith(b"m BAD")
    assert cmd(c, "n", "SORT (REVERSE) UTF-8 ALL")[-1].startswith(b"n BAD")
    assert cmd(c, "o", "SORT (BOGUS) UTF-8 ALL")[-1].startswith(b"o BAD")
    assert cmd(c, "p", "SORT (DATE) X-UNKNOWN ALL")[-1].startswith(b"p NO [BADCHARSET")
    r = cmd(c, "q", "THREAD REFERENCES UTF-8 ALL")
    assert r[0] == b"* THREAD (1 2 3)(4)"
    r = cmd(c, "r", "THREAD ORDEREDSUBJECT UTF-8 ALL")
    assert r[0] == b"* THREAD (1 2)(4)(3)"
    r = cmd(c, "t", "UID THREAD REFERENCES UTF-8 NOT UID 2")
    assert r[0] == b"* THREAD (1 3)(4)"
    assert cmd(c, "u", "THREAD FOO UTF-8 ALL")[-1].startswith(b"u BAD")
    caps = cmd(c, "v", "CAPABILITY")[0]
    for cap in (b"ESEARCH", b"SEARCHRES", b"SORT", b"SORT=DISPLAY", b"ESORT",
                b"CONTEXT=SEARCH", b"CONTEXT=SORT", b"THREAD=ORDEREDSUBJECT",
                b"THREAD=REFERENCES"):
        assert cap in caps.split(), cap


def test_large_mailbox_slices_and_pages(make_loft):
    """More messages than one slice of index records (4096); each is parsed
    on first use (dropped into the Maildir, not appended)."""
    srv = imap_server(make_loft)
    c = login(srv)
    c.logout()
    drop_maildir(srv, 4500)
    c = raw_login(srv, timeout=60)
    cmd(c, "s", "SELECT INBOX", timeout=60)
    assert search(c, "a", "SEARCH BODY \"of message 4499\"") == [4500]
    hits = search(c, "b", "SEARCH TEXT \"message 59\"")
    assert hits == [60] + list(range(591, 601))
    r = cmd(c, "c", "SEARCH ALL", timeout=60)
    assert r[0] == b"* SEARCH " + b" ".join(b"%d" % i for i in range(1, 4501))
    r = cmd(c, "d", "SEARCH RETURN (ALL COUNT) NOT 3000")
    assert r[0] == b'* ESEARCH (TAG "d") COUNT 4499 ALL 1:2999,3001:4500'
    r = cmd(c, "e", "SORT (REVERSE SUBJECT) UTF-8 1:3", timeout=60)
    assert r[0] == b"* SORT 3 2 1"
    cmd(c, "z", "LOGOUT")
    # the parses were cached by writer ops queued behind the searches: an
    # append commits after them, so the server stops without a backlog
    b = login(srv)
    append(b, [b"Subject: last\r\n\r\nx\r\n"])
    b.logout()


def test_search_depth_limit(make_loft):
    srv = setup_box(make_loft, config_extra={"limits": {"max_search_depth": 8}})
    c = raw_login(srv)
    cmd(c, "s", "SELECT INBOX")
    assert search(c, "a", "SEARCH " + "NOT " * 6 + "SEEN") == [1]
    r = cmd(c, "b", "SEARCH " + "NOT " * 8 + "SEEN")
    assert r[-1].startswith(b"b BAD")
    assert search(c, "c", "SEARCH " + "OR " * 6 + "SEEN " * 7) == [1]


def five(make_loft, **kw):
    srv = imap_server(make_loft, **kw)
    c = login(srv)
    for i in range(1, 6):
        typ, resp = c.append("INBOX", None, '"0%d-Feb-2020 10:00:00 +0000"' % (3 if i == 4 else i),
                             b"Subject: s%d%d\r\nMessage-ID: <c%d@x>\r\n\r\nbody %d\r\n" % (i, i, i, i))
        assert typ == "OK", resp
    c.logout()
    return srv


def esearch(lines, tag):
    return [ln for ln in lines if ln.startswith(b'* ESEARCH (TAG "%s")' % tag.encode())]


def test_context_search_updates(make_loft):
    """RFC 5267 UPDATE: own and others' changes, expunges (REMOVEFROM before
    EXPUNGE), new messages (ADDTO after EXISTS), CANCELUPDATE, tag reuse."""
    srv = five(make_loft)
    c = raw_login(srv)
    cmd(c, "s", "SELECT INBOX")
    r = cmd(c, "A1", "SEARCH RETURN (UPDATE) BODY body SEEN")
    assert esearch(r, "A1") == [b'* ESEARCH (TAG "A1")']
    r = cmd(c, "b", "STORE 1,2,5 +FLAGS \\Seen")
    assert esearch(r, "A1") == [b'* ESEARCH (TAG "A1") ADDTO (0 1:2,5)']
    r = cmd(c, "c", "STORE 1,2 -FLAGS \\Seen")
    assert esearch(r, "A1") == [b'* ESEARCH (TAG "A1") REMOVEFROM (0 1:2)']
    assert cmd(c, "d", "SEARCH RETURN (UPDATE) ALL")[-1].startswith(b"d OK")
    assert cmd(c, "d", "SEARCH RETURN (UPDATE) ALL")[-1].startswith(b"d BAD")
    cmd(c, "e", "STORE 3:5 +FLAGS.SILENT \\Deleted")
    r = cmd(c, "f", "EXPUNGE")
    rm = r.index(b'* ESEARCH (TAG "A1") REMOVEFROM (0 5)')
    assert rm < r.index(b"* 3 EXPUNGE")
    assert b'* ESEARCH (TAG "d") REMOVEFROM (0 3:5)' in r[:r.index(b"* 3 EXPUNGE")]
    # another session's change and a new message
    b = login(srv)
    b.select("INBOX")
    b.store("2", "+FLAGS", "\\Seen")
    typ, _ = b.append("INBOX", "(\\Seen)", None, b"Subject: new\r\n\r\nbody new\r\n")
    assert typ == "OK"
    b.logout()
    r = cmd(c, "g", "NOOP")
    assert esearch(r, "A1") == [b'* ESEARCH (TAG "A1") ADDTO (0 2:3)']
    assert r.index(b"* 3 EXISTS") < r.index(b'* ESEARCH (TAG "A1") ADDTO (0 2:3)')
    assert esearch(r, "d") == [b'* ESEARCH (TAG "d") ADDTO (0 3)']
    assert cmd(c, "h", 'CANCELUPDATE "A1" "d"')[-1] == b"h OK Updates cancelled."
    r = cmd(c, "i", "STORE 1 +FLAGS \\Seen")
    assert not esearch(r, "A1")
    assert cmd(c, "j", 'CANCELUPDATE "A1"')[-1].startswith(b"j BAD")
    # UID form; closing the mailbox ends the updates
    r = cmd(c, "U1", "UID SEARCH RETURN (UPDATE ALL) SEEN")
    assert r[0] == b'* ESEARCH (TAG "U1") UID ALL 1:2,6'
    r = cmd(c, "k", "UID STORE 2 -FLAGS \\Seen")
    assert esearch(r, "U1") == [b'* ESEARCH (TAG "U1") UID REMOVEFROM (0 2)']
    cmd(c, "l", "SELECT INBOX")
    r = cmd(c, "m", "STORE 1 -FLAGS \\Seen")
    assert not esearch(r, "U1")


def test_context_limit(make_loft):
    srv = five(make_loft, config_extra={"limits": {"max_search_contexts": 1}})
    c = raw_login(srv)
    cmd(c, "s", "SELECT INBOX")
    assert cmd(c, "a", "SEARCH RETURN (UPDATE) SEEN")[-1].startswith(b"a OK")
    r = cmd(c, "b", "SEARCH RETURN (UPDATE COUNT) SEEN")
    assert r[0] == b'* NO [NOUPDATE "b"] Too many updating searches.'
    assert r[1] == b'* ESEARCH (TAG "b") COUNT 0'
    r = cmd(c, "c", "STORE 1 +FLAGS \\Seen")
    assert esearch(r, "a") and not esearch(r, "b")


def test_partial_and_context_sort(make_loft):
    srv = five(make_loft)
    c = raw_login(srv)
    cmd(c, "s", "SELECT INBOX")
    for ret, want in (("PARTIAL 1:1", b"PARTIAL (1:1 1)"), ("PARTIAL 2:4", b"PARTIAL (2:4 2:4)"),
                      ("PARTIAL 4:2", b"PARTIAL (2:4 2:4)"), ("PARTIAL 1:6", b"PARTIAL (1:6 1:5)"),
                      ("PARTIAL 7:9", b"PARTIAL (7:9 NIL)"), ("CONTEXT COUNT", b"COUNT 5")):
        r = cmd(c, "p", "SEARCH RETURN (%s) ALL" % ret)
        assert r[0] == b'* ESEARCH (TAG "p") ' + want, r
    for bad in ("PARTIAL 1", "PARTIAL 1:*", "PARTIAL *:1", "PARTIAL 0:3", "PARTIAL 1:2 ALL"):
        assert cmd(c, "q", "SEARCH RETURN (%s) ALL" % bad)[-1].startswith(b"q BAD"), bad
    # ESORT with PARTIAL, RETURN before the criteria or after the charset;
    # 3 and 4 arrived at the same time: in either direction the lower
    # number comes first (RFC 5256 3)
    r = cmd(c, "r", "SORT RETURN (PARTIAL 1:6) (REVERSE ARRIVAL) US-ASCII ALL")
    assert r[0] == b'* ESEARCH (TAG "r") PARTIAL (1:6 5,3:4,2,1)'
    r = cmd(c, "t", "SORT (ARRIVAL) US-ASCII RETURN (PARTIAL 4:2) ALL")
    assert r[0] == b'* ESEARCH (TAG "t") PARTIAL (2:4 2:4)'
    assert cmd(c, "u", "SORT (ARRIVAL) US-ASCII RETURN (PARTIAL 1) ALL")[-1].startswith(b"u BAD")
    # CONTEXT=SORT: updates with positions in sort order
    r = cmd(c, "S1", "SORT RETURN (UPDATE) (SUBJECT) UTF-8 UNSEEN")
    assert r[0] == b'* ESEARCH (TAG "S1") ALL 1:5'
    r = cmd(c, "v", "STORE 2 +FLAGS \\Seen")
    assert esearch(r, "S1") == [b'* ESEARCH (TAG "S1") REMOVEFROM (0 2)']
    r = cmd(c, "w", "STORE 2 -FLAGS \\Seen")
    assert esearch(r, "S1") == [b'* ESEARCH (TAG "S1") ADDTO (2 2)']
    r = cmd(c, "x", "STORE 1,5 +FLAGS \\Seen")
    assert esearch(r, "S1") == [b'* ESEARCH (TAG "S1") REMOVEFROM (0 1,5)']
    r = cmd(c, "y", "STORE 5 -FLAGS \\Seen")
    assert esearch(r, "S1") == [b'* ESEARCH (TAG "S1") ADDTO (4 5)']
