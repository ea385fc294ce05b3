"""IMAP COPY, MOVE and their UID forms with UIDPLUS (RFC 9051 6.4.7, 6.4.8,
RFC 6851, RFC 4315): COPYUID, APPENDUID, [TRYCREATE], the EXPUNGEs a MOVE
sends after its untagged COPYUID, flags and EMAILID kept by a copy."""

import re

from imap_util import (append, cmd, create_mailbox, imap_server, login, message, raw_login,
                       untagged)


def inbox(make_loft, n=4):
    srv = imap_server(make_loft)
    im = login(srv)
    uids = append(im, [message(i) for i in range(n)])
    assert uids == list(range(1, n + 1))          # APPENDUID
    create_mailbox(srv, "Archive")
    c = raw_login(srv)
    r = cmd(c, "s", "SELECT INBOX")
    uidv = int(re.search(rb"UIDVALIDITY (\d+)", b"\n".join(r)).group(1))
    return srv, c, uidv


def archive_uidvalidity(c):
    r = cmd(c, "st", "EXAMINE Archive")
    return int(re.search(rb"UIDVALIDITY (\d+)", b"\n".join(r)).group(1))


def test_copy_answers_copyuid(make_loft):
    srv, c, _ = inbox(make_loft)
    cmd(c, "f", "STORE 2 +FLAGS.SILENT (\\Flagged $Label)")
    r = cmd(c, "c", "COPY 2:3 Archive")
    m = re.match(rb"c OK \[COPYUID (\d+) 2:3 1:2\] COPY completed\.$", r[-1])
    assert m, r
    r = cmd(c, "u", "UID COPY 4,1 Archive")
    assert re.match(rb"u OK \[COPYUID \d+ 1,4 3:4\] COPY completed\.$", r[-1]), r
    r = cmd(c, "e", "FETCH 2 EMAILID")
    emailid = re.search(rb"EMAILID \(([A-Za-z0-9_-]+)\)", r[0]).group(1)
    uidv = archive_uidvalidity(c)
    assert int(m.group(1)) == uidv
    r = cmd(c, "g", "FETCH 1:4 (UID FLAGS EMAILID)")
    assert r[0].startswith(b"* 1 FETCH (UID 1 FLAGS (\\Flagged $Label) EMAILID (" + emailid)
    assert len(untagged(r, "FETCH")) == 4
    # SEARCH EMAILID (RFC 8474 6) finds every copy: here the one in Archive
    r = cmd(c, "se", "UID SEARCH EMAILID " + emailid.decode())
    assert r == [b"* SEARCH 1", b"se OK UID SEARCH completed."], r
    r = cmd(c, "sn", "SEARCH NOT EMAILID " + emailid.decode())
    assert r[0] == b"* SEARCH 2 3 4", r
    assert cmd(c, "st", "SEARCH THREADID T123")[0] == b"* SEARCH"   # no thread ids
    assert cmd(c, "sb", "SEARCH EMAILID M(x)")[0].startswith(b"sb BAD")
    # the source keeps its messages, and its original answers to the same id
    r = cmd(c, "s", "SELECT INBOX")
    assert b"* 4 EXISTS" in r
    assert cmd(c, "so", "SEARCH EMAILID " + emailid.decode())[0] == b"* SEARCH 2"


def test_copy_errors(make_loft):
    srv, c, _ = inbox(make_loft)
    assert cmd(c, "a", "COPY 1 Nowhere") == [b"a NO [TRYCREATE] Mailbox does not exist."]
    assert cmd(c, "b", "MOVE 1 Nowhere") == [b"b NO [TRYCREATE] Mailbox does not exist."]
    assert cmd(c, "c", "COPY 9 Archive") == [b"c BAD Message sequence number out of range."]
    assert cmd(c, "d", "COPY 1") == [b"d BAD COPY needs a message set and a mailbox."]
    assert cmd(c, "e", "UID COPY 99 Archive") == [b"e OK COPY completed (no messages)."]
    assert cmd(c, "f", "COPY 1 \"&Jjo\"")[0].startswith(b"f BAD")
    # nothing was moved by the failed MOVE
    assert b"* 4 EXISTS" in cmd(c, "s", "SELECT INBOX")


def test_copy_into_the_selected_mailbox_reports_exists(make_loft):
    srv, c, uidv = inbox(make_loft, n=2)
    r = cmd(c, "c", "COPY 1:2 INBOX")
    assert r[0] == b"* 4 EXISTS"
    assert r[-1] == b"c OK [COPYUID %d 1:2 3:4] COPY completed." % uidv


def test_move_sends_copyuid_then_expunges(make_loft):
    srv, c, uidv = inbox(make_loft, n=5)
    r = cmd(c, "m", "MOVE 2,4 Archive")
    av = archive_uidvalidity(raw_login(srv))
    assert r == [b"* OK [COPYUID %d 2,4 1:2] Moved." % av, b"* 2 EXPUNGE", b"* 3 EXPUNGE",
                 b"m OK MOVE completed."]
    r = cmd(c, "u", "UID MOVE 5 Archive")
    assert r == [b"* OK [COPYUID %d 5 3] Moved." % av, b"* 3 EXPUNGE", b"u OK MOVE completed."]
    r = cmd(c, "f", "FETCH 1:* UID")
    assert untagged(r, "FETCH") == [b"* 1 FETCH (UID 1)", b"* 2 FETCH (UID 3)"]
    assert cmd(c, "g", "UID MOVE 9 Archive") == [b"g OK MOVE completed."]
    r = cmd(c, "a", "EXAMINE Archive")
    assert b"* 3 EXISTS" in r


def test_moves_seen_by_another_session(make_loft):
    srv, c, _ = inbox(make_loft, n=3)
    d = raw_login(srv)
    cmd(d, "s", "SELECT INBOX")
    cmd(c, "m", "MOVE 1 Archive")
    assert cmd(d, "n", "NOOP") == [b"* 1 EXPUNGE", b"n OK NOOP completed."]
