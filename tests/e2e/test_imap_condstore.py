"""CONDSTORE and QRESYNC (RFC 7162) as a client sees them, with exact
responses: HIGHESTMODSEQ in SELECT/STATUS, the MODSEQ item, FETCH
(CHANGEDSINCE), STORE (UNCHANGEDSINCE) with [MODIFIED], the implicit
enabling of 3.1 (FETCH responses of flag changes then carry UID and
MODSEQ; the first enabling command in the selected state reports
HIGHESTMODSEQ), ENABLE QRESYNC, SELECT (QRESYNC ...) with VANISHED (EARLIER),
UID FETCH (CHANGEDSINCE n VANISHED), VANISHED instead of EXPUNGE, [CLOSED],
and answers past the tombstone retention from known UIDs."""

import re

from imap_util import append, cmd, imap_server, login, message, raw_login, untagged


def prepare(make_loft, n=4, **kw):
    srv = imap_server(make_loft, **kw)
    im = login(srv)
    append(im, [message(i) for i in range(n)])
    return srv, im


def norm(line):
    line = re.sub(rb"MODSEQ \(\d+\)", b"MODSEQ (n)", line)
    return re.sub(rb"\[HIGHESTMODSEQ \d+\]", b"[HIGHESTMODSEQ n]", line)


def hms(lines):
    for ln in lines:
        m = re.match(rb"\* OK \[HIGHESTMODSEQ (\d+)\]", ln)
        if m:
            return int(m.group(1))
    raise AssertionError("no HIGHESTMODSEQ in %r" % lines)


def uidvalidity(lines):
    for ln in lines:
        m = re.match(rb"\* OK \[UIDVALIDITY (\d+)\]", ln)
        if m:
            return int(m.group(1))
    raise AssertionError(lines)


def modseqs(lines):
    out = {}
    for ln in untagged(lines, "FETCH"):
        m = re.search(rb"UID (\d+).*MODSEQ \((\d+)\)", ln)
        out[int(m.group(1))] = int(m.group(2))
    return out


def test_select_condstore_fetch_modseq_and_changedsince(make_loft):
    srv, im = prepare(make_loft)
    a = raw_login(srv)
    r = cmd(a, "s", "SELECT INBOX (CONDSTORE)")
    h0 = hms(r)
    assert r[-1] == b"s OK [READ-WRITE] SELECT completed."
    r = cmd(a, "f", "FETCH 1:* (UID MODSEQ)")
    ms = modseqs(r)
    assert sorted(ms) == [1, 2, 3, 4] and max(ms.values()) == h0
    # a flag change gets a MODSEQ above every earlier one
    r = cmd(a, "t", "STORE 2 +FLAGS (\\Flagged)")
    m = re.match(rb"\* 2 FETCH \(UID 2 FLAGS \(\\Flagged \\Recent\) MODSEQ \((\d+)\)\)$", r[0])
    assert m and int(m.group(1)) > h0, r
    m2 = int(m.group(1))
    assert r[-1] == b"t OK STORE completed."
    # CHANGEDSINCE: only what changed since, with MODSEQ
    r = cmd(a, "c", "FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % h0)
    assert r == [b"* 2 FETCH (FLAGS (\\Flagged \\Recent) MODSEQ (%d))" % m2,
                 b"c OK FETCH completed."]
    assert cmd(a, "c2", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % m2) == [
        b"c2 OK FETCH completed."]
    assert cmd(a, "c3", "FETCH 1 (FLAGS) (CHANGEDSINCE x)")[-1].startswith(b"c3 BAD")
    assert cmd(a, "c4", "UID FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)") == [
        b"c4 BAD VANISHED needs ENABLE QRESYNC."]


def test_status_highestmodseq_and_implicit_enable(make_loft):
    srv, im = prepare(make_loft, n=2)
    a, b = raw_login(srv), raw_login(srv)
    r = cmd(a, "st", "STATUS INBOX (HIGHESTMODSEQ MESSAGES)")
    m = re.match(rb"\* STATUS INBOX \(HIGHESTMODSEQ (\d+) MESSAGES 2\)$", r[0])
    assert m, r
    r = cmd(a, "s", "SELECT INBOX")
    assert hms(r) == int(m.group(1))
    # STATUS HIGHESTMODSEQ enabled CONDSTORE: another session's change
    # comes with UID and MODSEQ
    cmd(b, "s", "SELECT INBOX")
    r = cmd(b, "t", "STORE 1 +FLAGS (\\Seen)")
    assert r[0] == b"* 1 FETCH (FLAGS (\\Seen))"       # b never enabled it
    r = cmd(a, "n", "NOOP")
    m = re.match(rb"\* 1 FETCH \(UID 1 FLAGS \(\\Seen \\Recent\) MODSEQ \((\d+)\)\)$", r[0])
    assert m, r
    r = cmd(a, "t", "STORE 2 +FLAGS.SILENT (\\Answered)")
    # a .SILENT store still shows a CONDSTORE client the new MODSEQ
    m2 = re.match(rb"\* 2 FETCH \(UID 2 MODSEQ \((\d+)\)\)$", r[0])
    assert m2 and r[-1] == b"t OK STORE completed.", r
    assert cmd(b, "n", "NOOP")[0] == b"* 2 FETCH (UID 2 FLAGS (\\Answered))"


def test_first_enabling_command_when_selected_reports_highestmodseq(make_loft):
    """RFC 7162 3.1: the first CONDSTORE enabling command issued with a
    mailbox selected answers the HIGHESTMODSEQ the session was brought up
    to (here past the SELECT's, after another session's change came on
    NOOP), once; later enabling commands do not repeat it."""
    srv, im = prepare(make_loft, n=3)
    b = raw_login(srv)
    cmd(b, "s", "SELECT INBOX (CONDSTORE)")
    enabling = ["FETCH 1 (MODSEQ)", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)",
                "STORE 3 (UNCHANGEDSINCE 1000000) +FLAGS.SILENT (\\Answered)",
                "STATUS INBOX (HIGHESTMODSEQ)", "ENABLE CONDSTORE", "ENABLE QRESYNC"]
    for k, line in enumerate(enabling):
        a = raw_login(srv)
        h0 = hms(cmd(a, "s", "SELECT INBOX"))
        r = cmd(b, "f", "STORE 2 %sFLAGS (\\Flagged)" % ("+" if k % 2 == 0 else "-"))
        h1 = modseqs(r)[2]
        assert h1 > h0
        r = cmd(a, "n", "NOOP")
        assert r[0].startswith(b"* 2 FETCH (") and b"MODSEQ" not in r[0], r
        r = cmd(a, "e", line)
        assert r[-1].startswith(b"e OK"), (line, r)
        said = [ln for ln in r if ln.startswith(b"* OK [HIGHESTMODSEQ")]
        assert said[0] == b"* OK [HIGHESTMODSEQ %d] Highest" % h1, (line, r)
        if line.startswith("STORE"):
            # its own change then moves it on, said after its FETCH
            m = modseqs(r)[3]
            assert said[1:] == [b"* OK [HIGHESTMODSEQ %d] Highest" % m] and m > h1, r
        else:
            assert len(said) == 1, (line, r)
        if line.startswith("ENABLE"):
            assert r[0].startswith(b"* ENABLED ") and r[1] == said[0], r
        r = cmd(a, "e2", "FETCH 1 (MODSEQ)")
        assert not any(b"HIGHESTMODSEQ" in ln for ln in r), (line, r)
        a.close()
    # outside the selected state there is no mailbox to report
    a = raw_login(srv)
    r = cmd(a, "st", "STATUS INBOX (HIGHESTMODSEQ)")
    assert len(r) == 2 and r[0].startswith(b"* STATUS INBOX (HIGHESTMODSEQ "), r


def test_unchangedsince_and_modified(make_loft):
    srv, im = prepare(make_loft, n=3)
    a, b = raw_login(srv), raw_login(srv)
    h = hms(cmd(a, "s", "SELECT INBOX (CONDSTORE)"))
    cmd(b, "s", "SELECT INBOX")
    cmd(b, "x", "STORE 2 +FLAGS (\\Flagged)")      # 2 changes behind a's back
    r = cmd(a, "t", "STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS (\\Seen)" % h)
    # the change of b is reported first; 1 and 3 changed, 2 left alone
    assert [norm(ln) for ln in r] == [
        b"* 2 FETCH (UID 2 FLAGS (\\Flagged \\Recent) MODSEQ (n))",
        b"* OK [HIGHESTMODSEQ n] Highest",
        b"* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent) MODSEQ (n))",
        b"* 3 FETCH (UID 3 FLAGS (\\Seen \\Recent) MODSEQ (n))",
        b"* OK [HIGHESTMODSEQ n] Highest",
        b"t OK [MODIFIED 2] Conditional STORE failed."]
    # UID STORE answers UIDs; UNCHANGEDSINCE 0 always fails
    r = cmd(a, "u", "UID STORE 1:3 (UNCHANGEDSINCE 0) -FLAGS (\\Seen)")
    assert r == [b"u OK [MODIFIED 1:3] Conditional STORE failed."]
    # a condition that holds changes all, silently showing MODSEQ
    h = max(modseqs(cmd(a, "f", "FETCH 1:* (UID MODSEQ)")).values())
    r = cmd(a, "v", "STORE 1,3 (UNCHANGEDSINCE %d) FLAGS.SILENT (\\Draft)" % h)
    assert [norm(ln) for ln in r] == [
        b"* 1 FETCH (UID 1 MODSEQ (n))", b"* 3 FETCH (UID 3 MODSEQ (n))",
        b"* OK [HIGHESTMODSEQ n] Highest", b"v OK STORE completed."]
    assert cmd(a, "w", "STORE 1 (UNCHANGEDSINCE -1) +FLAGS (\\Seen)") == [
        b"w BAD Unknown STORE modifier."]
    assert cmd(a, "w2", "STORE 1 (UNCHANGEDSINCE 1 X 2) +FLAGS (\\Seen)") == [
        b"w2 BAD Unknown STORE modifier."]


def test_fetch_seen_shows_uid_and_modseq(make_loft):
    srv, im = prepare(make_loft, n=1)
    a = raw_login(srv)
    cmd(a, "s", "SELECT INBOX (CONDSTORE)")
    r = cmd(a, "f", "FETCH 1 (BODY[TEXT])")
    assert [norm(ln) for ln in r[-3:]] == [
        b" FLAGS (\\Seen \\Recent) UID 1 MODSEQ (n))", b"* OK [HIGHESTMODSEQ n] Highest",
        b"f OK FETCH completed."], r


def test_qresync_select_vanished_and_changes(make_loft):
    srv, im = prepare(make_loft, n=6)
    a = raw_login(srv)
    assert cmd(a, "e", "ENABLE QRESYNC") == [b"* ENABLED QRESYNC", b"e OK ENABLE completed."]
    r = cmd(a, "s", "SELECT INBOX")
    uv, h0 = uidvalidity(r), hms(r)
    cmd(a, "u", "UNSELECT")
    # another client: flags on 2 and 5, expunge 3 and 4, append 7
    b = raw_login(srv)
    cmd(b, "s", "SELECT INBOX")
    cmd(b, "f", "UID STORE 2,5 +FLAGS.SILENT (\\Flagged)")
    cmd(b, "d", "UID STORE 3,4 +FLAGS.SILENT (\\Deleted)")
    cmd(b, "x", "EXPUNGE")
    append(im, [message(7)])
    r = cmd(a, "q", "SELECT INBOX (QRESYNC (%d %d))" % (uv, h0))
    assert b"* 5 EXISTS" in r
    assert b"* VANISHED (EARLIER) 3:4" in r
    f = untagged(r, "FETCH")
    assert [re.sub(rb"MODSEQ \(\d+\)", b"MODSEQ (n)", x) for x in f] == [
        b"* 2 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ (n))",
        b"* 3 FETCH (UID 5 FLAGS (\\Flagged) MODSEQ (n))",
        b"* 5 FETCH (UID 7 FLAGS (\\Recent) MODSEQ (n))"]
    assert r[-1] == b"q OK [READ-WRITE] SELECT completed."
    h1 = hms(r)
    # known-uids narrow VANISHED (not the changes); a wrong UIDVALIDITY
    # gets a plain SELECT
    r = cmd(a, "q2", "SELECT INBOX (QRESYNC (%d %d 1:3))" % (uv, h0))
    assert r[0] == b"* OK [CLOSED] Previous mailbox closed."
    assert b"* VANISHED (EARLIER) 3" in r
    assert [x.split(b" (")[0] for x in untagged(r, "FETCH")] == [
        b"* 2 FETCH", b"* 3 FETCH", b"* 5 FETCH"]
    r = cmd(a, "q3", "SELECT INBOX (QRESYNC (%d %d))" % (uv + 1, h0))
    assert untagged(r, "VANISHED") == [] and untagged(r, "FETCH") == []
    r = cmd(a, "q4", "EXAMINE INBOX (QRESYNC (%d %d))" % (uv, h1))
    assert untagged(r, "VANISHED") == [] and untagged(r, "FETCH") == []
    assert r[-1] == b"q4 OK [READ-ONLY] EXAMINE completed."
    # UID FETCH (CHANGEDSINCE n VANISHED)
    r = cmd(a, "v", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % h0)
    assert r[0] == b"* VANISHED (EARLIER) 3:4"
    assert len(untagged(r, "FETCH")) == 3 and r[-1] == b"v OK FETCH completed."
    r = cmd(a, "v2", "UID FETCH 1:2 (FLAGS) (CHANGEDSINCE %d VANISHED)" % h0)
    assert untagged(r, "VANISHED") == []
    assert cmd(a, "v3", "FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)") == [
        b"v3 BAD VANISHED needs UID FETCH with CHANGEDSINCE."]
    assert cmd(a, "v4", "UID FETCH 1 (FLAGS) (VANISHED)") == [
        b"v4 BAD VANISHED needs UID FETCH with CHANGEDSINCE."]


def test_qresync_needs_enable_and_valid_parameters(make_loft):
    srv, im = prepare(make_loft, n=1)
    a = raw_login(srv)
    assert cmd(a, "s", "SELECT INBOX (QRESYNC (1 1))") == [
        b"s BAD QRESYNC is not enabled (ENABLE QRESYNC first)."]
    cmd(a, "e", "ENABLE QRESYNC")
    for tag, arg in (("a", "(QRESYNC (0 1))"), ("b", "(QRESYNC (1 0))"), ("c", "(QRESYNC (1))"),
                     ("d", "(QRESYNC (1 2 3:x))"), ("f", "(QRESYNC (1 2 1:3 (1:2)))"),
                     ("g", "(X-UNKNOWN)"), ("h", "(QRESYNC)"), ("i", "()")):
        r = cmd(a, tag, "SELECT INBOX " + arg)
        assert len(r) == 1 and r[0].startswith(tag.encode() + b" BAD"), (arg, r)


def test_vanished_replaces_expunge_once_enabled(make_loft):
    srv, im = prepare(make_loft, n=5)
    a, b = raw_login(srv), raw_login(srv)
    cmd(a, "e", "ENABLE QRESYNC")
    cmd(a, "s", "SELECT INBOX")
    cmd(b, "s", "SELECT INBOX")
    cmd(b, "d", "STORE 2:4 +FLAGS.SILENT (\\Deleted)")
    cmd(b, "x", "EXPUNGE")
    r = cmd(a, "n", "NOOP")
    assert b"* VANISHED 2:4" in r and untagged(r, "EXPUNGE") == []
    hm = hms(r)
    assert r[-1] == b"n OK NOOP completed."
    # own EXPUNGE: VANISHED and the new HIGHESTMODSEQ in the OK
    cmd(a, "d", "STORE 1 +FLAGS.SILENT (\\Deleted)")
    r = cmd(a, "x", "EXPUNGE")
    assert r[0] == b"* VANISHED 1"
    m = re.match(rb"x OK \[HIGHESTMODSEQ (\d+)\] EXPUNGE completed\.$", r[-1])
    assert m and int(m.group(1)) > hm, r
    # held back during FETCH by number like EXPUNGE (RFC 7162 3.2.10)
    cmd(b, "n", "NOOP")
    cmd(b, "d", "STORE 1 +FLAGS.SILENT (\\Deleted)")
    cmd(b, "x", "EXPUNGE")
    r = cmd(a, "f", "FETCH 1 UID")
    assert untagged(r, "VANISHED") == []
    r = cmd(a, "n2", "NOOP")
    assert b"* VANISHED 5" in r


def test_qresync_past_tombstone_retention(make_loft):
    """With one tombstone kept, a client two expunges behind gets its
    VANISHED from the UIDs it knows (RFC 7162 3.2.5.2)."""
    srv, im = prepare(make_loft, n=8,
                    config_extra={"storage": {"tombstone_max_count": 1}})
    a = raw_login(srv)
    cmd(a, "e", "ENABLE QRESYNC")
    r = cmd(a, "s", "SELECT INBOX")
    uv, h0 = uidvalidity(r), hms(r)
    cmd(a, "u", "UNSELECT")
    b = raw_login(srv)
    cmd(b, "s", "SELECT INBOX")
    for uid in (2, 5, 7):                   # three batches: tombstones pruned
        cmd(b, "d", "UID STORE %d +FLAGS.SILENT (\\Deleted)" % uid)
        cmd(b, "x", "UID EXPUNGE %d" % uid)
    r = cmd(a, "q", "SELECT INBOX (QRESYNC (%d %d 1:8))" % (uv, h0))
    assert b"* VANISHED (EARLIER) 2,5,7" in r, r
    # no known-uids: everything below UIDNEXT the mailbox does not hold
    r = cmd(a, "q2", "SELECT INBOX (QRESYNC (%d %d))" % (uv, h0))
    assert b"* VANISHED (EARLIER) 2,5,7" in r, r
    # seq-match-data: seq 1..3 were UIDs 1,3,4 on the client (matches the
    # server), so only known UIDs above 4 are in question
    r = cmd(a, "q3", "SELECT INBOX (QRESYNC (%d %d 1:8 (1:3 1,3,4)))" % (uv, h0))
    assert b"* VANISHED (EARLIER) 5,7" in r, r
    # the client's idea of seq 2 is stale: nothing can be skipped
    r = cmd(a, "q4", "SELECT INBOX (QRESYNC (%d %d 1:8 (2 2)))" % (uv, h0))
    assert b"* VANISHED (EARLIER) 2,5,7" in r, r
    # UID FETCH ... VANISHED past the retention as well
    r = cmd(a, "v", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % h0)
    assert r[0] == b"* VANISHED (EARLIER) 2,5,7", r


def test_search_and_sort_modseq(make_loft):
    """RFC 7162 3.1.5: the MODSEQ search key (with and without an entry
    name), the "(MODSEQ n)" of SEARCH and SORT and the MODSEQ return data of
    ESEARCH, all with the highest MODSEQ of what is returned (of MIN/MAX
    alone when only they are); the first use in the selected state turns
    CONDSTORE on and reports HIGHESTMODSEQ once."""
    srv, im = prepare(make_loft, n=5)
    a = raw_login(srv)
    r = cmd(a, "s", "SELECT INBOX")
    cmd(a, "f0", "STORE 2 +FLAGS.SILENT (\\Flagged)")
    cmd(a, "f1", "STORE 4 +FLAGS.SILENT (\\Seen)")
    r = cmd(a, "f", "FETCH 1:* (UID MODSEQ)")      # turns CONDSTORE on
    ms = modseqs(r)
    assert ms[4] > ms[2] > ms[5]
    # everything changed at or after message 2's flag change: 2 and 4
    r = cmd(a, "a", "SEARCH MODSEQ %d" % ms[2])
    assert r == [b"* SEARCH 2 4 (MODSEQ %d)" % ms[4], b"a OK SEARCH completed."], r
    r = cmd(a, "b", 'UID SEARCH MODSEQ "/flags/\\\\Seen" all %d' % ms[4])
    assert r == [b"* SEARCH 4 (MODSEQ %d)" % ms[4], b"b OK UID SEARCH completed."], r
    r = cmd(a, "c", "SEARCH MODSEQ %d" % (ms[4] + 1))
    assert r == [b"* SEARCH", b"c OK SEARCH completed."], r   # no MODSEQ when empty
    r = cmd(a, "d", "SEARCH RETURN (MIN) MODSEQ %d" % ms[2])
    assert r[0] == b'* ESEARCH (TAG "d") MIN 2 MODSEQ %d' % ms[2], r
    r = cmd(a, "e", "SEARCH RETURN (ALL COUNT) MODSEQ %d" % ms[2])
    assert r[0] == b'* ESEARCH (TAG "e") COUNT 2 MODSEQ %d ALL 2,4' % ms[4], r
    r = cmd(a, "g", "SORT (ARRIVAL) UTF-8 MODSEQ %d" % ms[2])
    assert r == [b"* SORT 2 4 (MODSEQ %d)" % ms[4], b"g OK SORT completed."], r
    r = cmd(a, "g2", "SORT RETURN (COUNT) (ARRIVAL) UTF-8 MODSEQ %d" % ms[2])
    assert r[0] == b'* ESEARCH (TAG "g2") COUNT 2 MODSEQ %d' % ms[4], r
    # no MODSEQ key: no MODSEQ in the answer
    assert cmd(a, "h", "SEARCH FLAGGED")[0] == b"* SEARCH 2"
    assert cmd(a, "i", "SEARCH MODSEQ x")[-1].startswith(b"i BAD")


def test_search_modseq_enables_condstore(make_loft):
    srv, im = prepare(make_loft, n=2)
    a = raw_login(srv)
    h0 = hms(cmd(a, "s", "SELECT INBOX"))
    r = cmd(a, "a", "SEARCH MODSEQ 1")
    assert r[0] == b"* OK [HIGHESTMODSEQ %d] Highest" % h0, r
    assert r[1].startswith(b"* SEARCH 1 2 (MODSEQ "), r
    # from now on flag changes carry MODSEQ
    r = cmd(a, "b", "STORE 1 +FLAGS (\\Seen)")
    assert re.match(rb"\* 1 FETCH \(UID 1 FLAGS \(\\Seen \\Recent\) MODSEQ \(\d+\)\)$", r[0]), r
