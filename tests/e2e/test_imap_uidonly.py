"""UIDONLY (RFC 9586) with exact transcripts: after ENABLE UIDONLY every
command that takes message sequence numbers (FETCH, STORE, COPY, MOVE,
SEARCH, SORT, THREAD, sequence sets inside UID SEARCH and ESEARCH, the
seq-match-data of SELECT (QRESYNC ...)) is refused with BAD [UIDREQUIRED];
FETCH responses (UID FETCH, UID STORE, flag changes of other sessions)
become "* <uid> UIDFETCH (...)" without the implied UID item; expunges
(own EXPUNGE, UID MOVE, other sessions') are reported as VANISHED; SELECT
leaves out [UNSEEN n]. Without ENABLE nothing changes."""

from imap_util import append, cmd, imap_server, login, message, raw_login

REFUSED = b"BAD [UIDREQUIRED] Message sequence numbers are not allowed after ENABLE UIDONLY."


def prepare(make_loft, n=5):
    srv = imap_server(make_loft)
    im = login(srv)
    append(im, [message(i) for i in range(n)])
    im.logout()
    return srv


def select_lines(lines):
    return [ln for ln in lines if b"UIDVALIDITY" not in ln and b"MAILBOXID" not in ln]


def test_refusals_and_uidfetch(make_loft):
    srv = prepare(make_loft)
    a = raw_login(srv)
    assert b"UIDONLY" in cmd(a, "c", "CAPABILITY")[0].split()
    # before ENABLE: numbers work, SELECT shows [UNSEEN n]
    assert b"* OK [UNSEEN 1] First unseen." in cmd(a, "f0", "EXAMINE INBOX")
    assert cmd(a, "f1", "FETCH 1 FLAGS") == [b"* 1 FETCH (FLAGS ())",
                                              b"f1 OK FETCH completed."]
    assert cmd(a, "u", "UNSELECT")[-1] == b"u OK UNSELECT completed."
    assert cmd(a, "e", "ENABLE UIDONLY") == [b"* ENABLED UIDONLY", b"e OK ENABLE completed."]
    assert select_lines(cmd(a, "s", "SELECT INBOX")) == [
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
        b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] "
        b"Flags permitted.",
        b"* 5 EXISTS", b"* 5 RECENT", b"* OK [UIDNEXT 6] Predicted next UID.",
        b"* OK [HIGHESTMODSEQ 6] Highest", b"s OK [READ-WRITE] SELECT completed."]
    for tag, line in [("a", "FETCH 1 FLAGS"), ("b", "FETCH 1:* UID"),
                      ("d", "STORE 1 +FLAGS (\\Seen)"), ("g", "COPY 1 INBOX"),
                      ("h", "MOVE 1 INBOX"), ("i", "SEARCH ALL"),
                      ("j", "SORT (ARRIVAL) UTF-8 ALL"), ("k", "THREAD REFERENCES UTF-8 ALL"),
                      ("l", "UID SEARCH 1:3"), ("m", "UID SEARCH OR UID 1 2:*"),
                      ("n", "ESEARCH IN (selected) 1:2"),
                      ("o", "UID SORT (ARRIVAL) UTF-8 *")]:
        assert cmd(a, tag, line) == [tag.encode() + b" " + REFUSED], line
    # UIDs are fine; the UID item comes only when asked for
    assert cmd(a, "p", "UID FETCH 1:2 (FLAGS)") == [
        b"* 1 UIDFETCH (FLAGS (\\Recent))", b"* 2 UIDFETCH (FLAGS (\\Recent))",
        b"p OK FETCH completed."]
    assert cmd(a, "q", "UID FETCH 2 (UID FLAGS)") == [
        b"* 2 UIDFETCH (UID 2 FLAGS (\\Recent))", b"q OK FETCH completed."]
    assert cmd(a, "r", "UID STORE 1 +FLAGS (\\Seen)") == [
        b"* 1 UIDFETCH (FLAGS (\\Seen \\Recent))", b"r OK STORE completed."]
    assert cmd(a, "t", "UID SEARCH UID 1:3 SEEN") == [b"* SEARCH 1",
                                                      b"t OK UID SEARCH completed."]
    # "$" names UIDs (RFC 5182), so it stays usable
    assert cmd(a, "v", "UID SEARCH RETURN (SAVE) UID 2:3") == [b"v OK UID SEARCH completed."]
    assert cmd(a, "w", "UID FETCH $ FLAGS") == [
        b"* 2 UIDFETCH (FLAGS (\\Recent))", b"* 3 UIDFETCH (FLAGS (\\Recent))",
        b"w OK FETCH completed."]
    assert cmd(a, "x", "UID COPY 1 INBOX") == [
        b"* 6 EXISTS", b"* 6 RECENT", b"x OK [COPYUID %d 1 6] COPY completed." % uidv(srv, a)]
    # CONDSTORE (enabled by MODSEQ, RFC 7162 3.1): UIDFETCH with MODSEQ, no UID item
    r = cmd(a, "y", "UID FETCH 1 (FLAGS MODSEQ)")
    assert r[0].startswith(b"* OK [HIGHESTMODSEQ ") and len(r) == 3, r
    assert r[1].startswith(b"* 1 UIDFETCH (FLAGS (\\Seen \\Recent) MODSEQ ("), r


def uidv(srv, c):
    r = cmd(c, "st", "STATUS INBOX (UIDVALIDITY)")
    return int(r[0].split(b"UIDVALIDITY ")[1].rstrip(b")"))


def test_updates_are_uidfetch_and_vanished(make_loft):
    srv = prepare(make_loft)
    a, b = raw_login(srv), raw_login(srv)
    assert cmd(a, "e", "ENABLE UIDONLY")[-1] == b"e OK ENABLE completed."
    assert cmd(a, "s", "SELECT INBOX")[-1] == b"s OK [READ-WRITE] SELECT completed."
    assert cmd(b, "s", "SELECT INBOX")[-1].startswith(b"s OK")
    assert cmd(b, "d", "STORE 2:3 +FLAGS.SILENT (\\Deleted)")[-1].startswith(b"d OK")
    assert cmd(b, "x", "EXPUNGE")[-1].startswith(b"x OK")
    assert cmd(b, "f", "STORE 1 +FLAGS.SILENT (\\Answered)")[-1].startswith(b"f OK")
    assert cmd(a, "n", "NOOP") == [
        b"* VANISHED 2:3", b"* 1 UIDFETCH (FLAGS (\\Answered \\Recent))",
        b"n OK NOOP completed."]
    # own EXPUNGE and UID MOVE
    assert cmd(a, "u", "UID STORE 4 +FLAGS.SILENT (\\Deleted)") == [b"u OK STORE completed."]
    assert cmd(a, "x", "EXPUNGE") == [b"* VANISHED 4", b"x OK EXPUNGE completed."]
    assert cmd(a, "c", "CREATE Other")[-1].startswith(b"c OK")
    r = cmd(a, "m", "UID MOVE 5 Other")
    assert r[1:] == [b"* VANISHED 5", b"m OK MOVE completed."], r
    assert r[0].startswith(b"* OK [COPYUID ") and r[0].endswith(b" 5 1] Moved.")
    # IDLE gets the same forms
    a.sendline("i IDLE")
    assert a.readline().startswith(b"+ ")
    assert cmd(b, "d2", "UID STORE 1 +FLAGS.SILENT (\\Deleted)")[-1].startswith(b"d2 OK")
    assert cmd(b, "x2", "EXPUNGE")[-1].startswith(b"x2 OK")
    # the flag change may be pushed before the expunge, as UIDFETCH
    line = a.readline()
    if line.startswith(b"* 1 UIDFETCH"):
        assert line == b"* 1 UIDFETCH (FLAGS (\\Answered \\Deleted \\Recent))\r\n", line
        line = a.readline()
    assert line == b"* VANISHED 1\r\n"
    a.sendline("DONE")
    assert a.read_until_tag("i")[-1] == b"i OK IDLE terminated.\r\n"


def test_qresync_select_seq_match_data(make_loft):
    srv = prepare(make_loft, n=2)
    a = raw_login(srv)
    assert cmd(a, "e", "ENABLE QRESYNC UIDONLY") == [b"* ENABLED QRESYNC UIDONLY",
                                                     b"e OK ENABLE completed."]
    v = uidv(srv, a)
    assert cmd(a, "s", "SELECT INBOX (QRESYNC (%d 1 1:2 (1:2 1:2)))" % v) == [b"s " + REFUSED]
    r = cmd(a, "s2", "SELECT INBOX (QRESYNC (%d 1 1:2))" % v)
    assert r[-1] == b"s2 OK [READ-WRITE] SELECT completed."
    assert b"* 1 UIDFETCH (FLAGS (\\Recent) MODSEQ (" in b"\n".join(r)
