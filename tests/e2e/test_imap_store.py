"""IMAP STORE and UID STORE (RFC 9051 6.4.6): FLAGS, +FLAGS, -FLAGS and the
.SILENT forms, keywords created on the fly (announced in FLAGS and
PERMANENTFLAGS before the FETCH that shows them), the FETCH FLAGS every
stored message gets, errors, and STORE 1:* on 20,000 messages."""

from imap_util import (append, cmd, drop_maildir, imap_server, login, message, raw_login,
                       untagged)


def box(make_loft, n=3):
    srv = imap_server(make_loft)
    im = login(srv)
    append(im, [message(i) for i in range(n)])
    im.logout()
    c = raw_login(srv)
    cmd(c, "s", "SELECT INBOX")
    cmd(c, "r", "FETCH 1:* FLAGS")       # nothing below depends on \Recent
    return srv, c


def test_store_forms(make_loft):
    srv, c = box(make_loft)
    assert cmd(c, "a", "STORE 1 +FLAGS (\\Seen \\Flagged)") == [
        b"* 1 FETCH (FLAGS (\\Seen \\Flagged \\Recent))", b"a OK STORE completed."]
    assert cmd(c, "b", "STORE 1 -FLAGS \\Seen") == [
        b"* 1 FETCH (FLAGS (\\Flagged \\Recent))", b"b OK STORE completed."]
    assert cmd(c, "c", "STORE 1:2 FLAGS (\\Answered \\Draft)") == [
        b"* 1 FETCH (FLAGS (\\Answered \\Draft \\Recent))",
        b"* 2 FETCH (FLAGS (\\Answered \\Draft \\Recent))", b"c OK STORE completed."]
    # flags without parentheses, several
    assert cmd(c, "d", "STORE 3 +FLAGS \\Deleted \\Seen") == [
        b"* 3 FETCH (FLAGS (\\Seen \\Deleted \\Recent))", b"d OK STORE completed."]
    # every message of the set is answered, changed or not
    assert cmd(c, "e", "STORE 3 +FLAGS (\\Seen)") == [
        b"* 3 FETCH (FLAGS (\\Seen \\Deleted \\Recent))", b"e OK STORE completed."]
    assert cmd(c, "f", "STORE 1:3 +FLAGS.SILENT (\\Flagged)") == [b"f OK STORE completed."]
    assert cmd(c, "g", "STORE 1:3 FLAGS.SILENT ()") == [b"g OK STORE completed."]
    assert cmd(c, "h", "FETCH 1:3 FLAGS")[:3] == [
        b"* 1 FETCH (FLAGS (\\Recent))", b"* 2 FETCH (FLAGS (\\Recent))",
        b"* 3 FETCH (FLAGS (\\Recent))"]
    # UID STORE shows UID
    assert cmd(c, "i", "UID STORE 2 +FLAGS (\\Seen)") == [
        b"* 2 FETCH (UID 2 FLAGS (\\Seen \\Recent))", b"i OK STORE completed."]
    assert cmd(c, "j", "UID STORE 7:9 +FLAGS (\\Seen)") == [b"j OK STORE completed."]
    # the session's own changes are not reported again
    assert cmd(c, "n", "NOOP") == [b"n OK NOOP completed."]


def test_keywords_are_created_and_announced(make_loft):
    srv, c = box(make_loft)
    r = cmd(c, "a", "STORE 1 +FLAGS ($Important Work)")
    assert r[0] == b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important Work)"
    assert r[1] == (b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft "
                    b"$Important Work \\*)] Flags permitted.")
    assert r[2] == b"* 1 FETCH (FLAGS ($Important Work \\Recent))"
    # known now: no new FLAGS
    # known now, in any case (RFC 3501 9): no new FLAGS, the known spelling
    assert cmd(c, "b", "STORE 2 +FLAGS (work)") == [
        b"* 2 FETCH (FLAGS (Work \\Recent))", b"b OK STORE completed."]
    assert cmd(c, "c", "STORE 1 -FLAGS (WORK)") == [
        b"* 1 FETCH (FLAGS ($Important \\Recent))", b"c OK STORE completed."]
    # another session sees them in its SELECT
    d = raw_login(srv)
    r = cmd(d, "s", "SELECT INBOX")
    assert r[0] == b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important Work)"


def test_store_errors(make_loft):
    srv, c = box(make_loft)
    for tag, line, want in [
        ("a", "STORE 1 +FLAGS (\\Recent)", b"a BAD \\Recent cannot be set."),
        ("b", "STORE 1 +FLAGS (\\Bogus)", b"b BAD Unknown system flag."),
        ("c", "STORE 1 +FLAGS (a(b)", b"c BAD Invalid characters in atom"),
        ("d", "STORE 1 +FLAGS", b"d BAD STORE needs a message set, a data item and flags."),
        ("e", "STORE 1 FLAGZ (\\Seen)", b"e BAD STORE needs a message set, a data item and flags."),
        ("f", "STORE 1 (UNCHANGEDSINCE x) +FLAGS (\\Seen)", b"f BAD Unknown STORE modifier."),
        ("g", "STORE 4 +FLAGS (\\Seen)", b"g BAD Message sequence number out of range."),
        ("h", "STORE 1:x +FLAGS (\\Seen)", b"h BAD Invalid message set."),
        ("i", "STORE 1 +FLAGS (\"quoted\")", b"i BAD Flags must be atoms."),
    ]:
        assert cmd(c, tag, line) == [want], line
    # read-only: NO
    cmd(c, "x", "EXAMINE INBOX")
    assert cmd(c, "y", "STORE 1 +FLAGS (\\Seen)") == [b"y NO Mailbox is read-only."]


def test_store_on_20000_messages_streams(make_loft):
    """STORE 1:* on 20,000 messages: applied in durable batches, one FETCH
    per message (or none with .SILENT), all of it visible afterwards."""
    srv = imap_server(make_loft)
    raw_login(srv).close()                   # the user's Maildir exists now
    n = 20000
    drop_maildir(srv, n)
    c = raw_login(srv, timeout=120)
    assert b"* %d EXISTS" % n in cmd(c, "s", "SELECT INBOX", timeout=300)
    r = cmd(c, "a", "STORE 1:* +FLAGS (\\Seen $Done)", timeout=300)
    fetches = untagged(r, "FETCH")
    assert len(fetches) == n
    assert fetches[0] == b"* 1 FETCH (FLAGS (\\Seen $Done \\Recent))"
    assert fetches[-1] == b"* %d FETCH (FLAGS (\\Seen $Done \\Recent))" % n
    assert r[-1] == b"a OK STORE completed."
    r = cmd(c, "b", "STORE 1:* -FLAGS.SILENT (\\Seen)", timeout=300)
    assert r == [b"b OK STORE completed."]
    assert cmd(c, "n", "NOOP", timeout=60) == [b"n OK NOOP completed."]
    # another session reads the result
    d = raw_login(srv, timeout=120)
    cmd(d, "e", "EXAMINE INBOX", timeout=300)
    r = cmd(d, "f", "FETCH 1:* FLAGS", timeout=300)
    fl = untagged(r, "FETCH")
    assert len(fl) == n and all(x.endswith(b" FETCH (FLAGS ($Done))") for x in fl)
