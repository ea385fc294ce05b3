"""Five IMAP sessions on one mailbox, changes from every source, and the
exact responses each session receives (RFC 2177 IDLE, RFC 9051 7.4.1 /
RFC 3501 7.4.1, RFC 7162): idlers get EXISTS, EXPUNGE (VANISHED for a
QRESYNC client) and FETCH FLAGS (with MODSEQ for a CONDSTORE client)
pushed at once from IMAP on another connection, APPEND, `loft deliver` in
another process, POP3 DELE+QUIT, a file dropped into the Maildir by
another program and deliveries over LMTP and SMTP; sessions outside IDLE get them at the points the RFC
allows, sequence numbers stay coherent for each."""

import re
import time

from imap_util import (USER, PASSWORD, append, cmd, drop_maildir, imap_server, login, message,
                       raw_login, untagged)

MS = re.compile(rb"MODSEQ \(\d+\)")
HMS = re.compile(rb"\[HIGHESTMODSEQ \d+\]")
HMS_LINE = b"* OK [HIGHESTMODSEQ n] Highest"


def norm(line):
    return HMS.sub(b"[HIGHESTMODSEQ n]", MS.sub(b"MODSEQ (n)", line))


def pushed(c, want, timeout=5.0):
    """Read pushed lines until every line of want (normalised) arrived;
    returns them all (normalised) in order of arrival."""
    want = list(want)
    got = []
    deadline = time.time() + timeout
    while want:
        left = deadline - time.time()
        assert left > 0, "still waiting for %r, got %r" % (want, got)
        ln = norm(c.readline(timeout=left).rstrip(b"\r\n"))
        got.append(ln)
        if ln in want:
            want.remove(ln)
    return got


def quiet(c, wait=0.3):
    """Nothing more arrives."""
    assert c.pending(wait) == b""


def five(make_loft, n=4):
    srv = imap_server(make_loft, workers=2,
                      config_extra={"limits": {"max_connections_per_ip": 100}})
    im = login(srv)
    append(im, [message(i) for i in range(n)])
    s = [raw_login(srv) for _ in range(5)]
    cmd(s[4], "e", "ENABLE QRESYNC")
    for c in s:
        cmd(c, "s", "SELECT INBOX")
    return srv, im, s


def idle(c):
    c.sendline("i IDLE")
    assert c.readline() == b"+ idling\r\n"


def done(c):
    c.sendline("DONE")
    assert c.read_until_tag("i")[-1] == b"i OK IDLE terminated.\r\n"


def recent_lines(lines):
    return [ln for ln in lines if ln.endswith(b" RECENT")]


def test_five_sessions_every_source(make_loft):
    """s0 changes things; s1..s4 idle (s4 with QRESYNC); every change
    reaches every idler with exactly the responses that follow from it."""
    srv, im, s = five(make_loft)
    idlers = s[1:]
    for c in idlers:
        idle(c)

    # 1. a flag change by another IMAP session
    cmd(s[0], "f", "STORE 2 +FLAGS.SILENT (\\Flagged)")
    for c in idlers[:3]:
        got = pushed(c, [b"* 2 FETCH (UID 2 FLAGS (\\Flagged))"])
        assert got == [b"* 2 FETCH (UID 2 FLAGS (\\Flagged))"]
    assert pushed(idlers[3], [b"* 2 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ (n))",
                              HMS_LINE]) == [
        b"* 2 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ (n))", HMS_LINE]

    # 2. APPEND by another connection: EXISTS, and \Recent for exactly one
    # session of all that learn of it (s0 learns later, on NOOP)
    append(im, [message(10)])
    recents = []
    for c in idlers:
        got = pushed(c, [b"* 5 EXISTS"])
        got += [c.readline(timeout=5).rstrip(b"\r\n")]
        assert got[0] == b"* 5 EXISTS" and re.match(rb"\* [01] RECENT$", got[1]), got
        recents.append(got[1])
    assert pushed(idlers[3], [HMS_LINE]) == [HMS_LINE]     # CONDSTORE: last

    # 3. `loft deliver` in another process
    p = srv.run_cli("deliver", "-u", USER, input=message(11).decode())
    assert p.returncode == 0, p.stderr
    for c in idlers:
        got = pushed(c, [b"* 6 EXISTS"])
        got += [c.readline(timeout=5).rstrip(b"\r\n")]
        recents.append(got[1])
    assert pushed(idlers[3], [HMS_LINE]) == [HMS_LINE]

    # 4. a file another program drops into new/
    drop_maildir(srv, 1)
    for c in idlers:
        got = pushed(c, [b"* 7 EXISTS"])
        got += [c.readline(timeout=5).rstrip(b"\r\n")]
        recents.append(got[1])
    assert pushed(idlers[3], [HMS_LINE]) == [HMS_LINE]
    # RECENT counts a session's recent messages: each of the three new
    # ones is \Recent in at most one session
    last = recents[-4:]
    assert sum(int(r.split()[1]) for r in last) <= 3, recents

    # 5. IMAP expunge by another session
    cmd(s[0], "d", "STORE 3 +FLAGS.SILENT (\\Deleted)")
    for c in idlers[:3]:
        pushed(c, [b"* 3 FETCH (UID 3 FLAGS (\\Deleted))"])
    pushed(idlers[3], [b"* 3 FETCH (UID 3 FLAGS (\\Deleted) MODSEQ (n))", HMS_LINE])
    r = cmd(s[0], "x", "EXPUNGE")
    assert r[0] == b"* 3 EXPUNGE"
    for c in idlers[:3]:
        assert pushed(c, [b"* 3 EXPUNGE"]) == [b"* 3 EXPUNGE"]
    assert pushed(idlers[3], [b"* VANISHED 3", b"* OK [HIGHESTMODSEQ n] Highest"]) == [
        b"* VANISHED 3", b"* OK [HIGHESTMODSEQ n] Highest"]

    # 6. POP3 DELE + QUIT removes the first message (UID 1)
    p3 = srv.pop3()
    p3.user(USER)
    p3.pass_(PASSWORD)
    p3.dele(1)
    p3.quit()
    for c in idlers[:3]:
        assert pushed(c, [b"* 1 EXPUNGE"]) == [b"* 1 EXPUNGE"]
    assert pushed(idlers[3], [b"* VANISHED 1", b"* OK [HIGHESTMODSEQ n] Highest"]) == [
        b"* VANISHED 1", b"* OK [HIGHESTMODSEQ n] Highest"]

    # 7. and 8. a delivery over LMTP, then one over SMTP: each idler gets
    # the EXISTS once the delivery's 250 was sent (it comes after the
    # durable commit)
    for n, (proto, send) in enumerate((("lmtp", srv.lmtp), ("smtp", srv.smtp)), start=6):
        with send() as t:
            t.sendmail("sender@example.net", [USER + "@localhost"], message(20 + n))
        for c in idlers:
            got = pushed(c, [b"* %d EXISTS" % n])
            got += [c.readline(timeout=5).rstrip(b"\r\n")]
            assert re.match(rb"\* \d+ RECENT$", got[-1]), (proto, got)
        assert pushed(idlers[3], [HMS_LINE]) == [HMS_LINE]

    for c in idlers:
        quiet(c)
        done(c)

    # s0 was outside IDLE: it heard of the new messages with its own
    # commands and hears of the POP3 expunge on NOOP; its numbers stay
    # coherent (the expunge of 1 moves everything down)
    r = cmd(s[0], "n", "NOOP")
    assert untagged(r, "EXPUNGE") == [b"* 1 EXPUNGE"]
    views = []
    for c in s:
        r = cmd(c, "u", "FETCH 1:* (UID)")
        views.append(untagged(r, "FETCH"))
    assert all(v == views[0] for v in views), views
    assert [int(re.search(rb"UID (\d+)", v).group(1)) for v in views[0]] == [2, 4, 5, 6, 7, 8, 9]


def test_two_sessions_outside_idle_follow_7_4_1(make_loft):
    """No EXPUNGE while a FETCH, STORE or SEARCH by sequence number runs;
    UID commands and NOOP/CHECK report them; numbers stay coherent."""
    srv, im, s = five(make_loft, n=6)
    a, b, c, d, q = s
    cmd(a, "d", "STORE 2,4 +FLAGS.SILENT (\\Deleted)")
    assert untagged(cmd(a, "x", "EXPUNGE"), "EXPUNGE") == [b"* 2 EXPUNGE", b"* 3 EXPUNGE"]
    # b: FETCH by number: flags of others yes, EXPUNGE no; numbers stay
    r = cmd(b, "f", "FETCH 1:6 (UID)")
    assert untagged(r, "EXPUNGE") == []
    assert [ln for ln in untagged(r, "FETCH") if b"FLAGS" not in ln] == [
        b"* 1 FETCH (UID 1)", b"* 3 FETCH (UID 3)", b"* 5 FETCH (UID 5)", b"* 6 FETCH (UID 6)"]
    r = cmd(b, "t", "STORE 5 +FLAGS (\\Seen)")
    assert untagged(r, "EXPUNGE") == [] and r[-1] == b"t OK STORE completed."
    r = cmd(b, "n", "NOOP")
    assert untagged(r, "EXPUNGE") == [b"* 2 EXPUNGE", b"* 3 EXPUNGE"]
    # c: a UID FETCH may expunge at once
    r = cmd(c, "u", "UID FETCH 1:* (UID)")
    assert untagged(r, "EXPUNGE") == [b"* 2 EXPUNGE", b"* 3 EXPUNGE"]
    # d: CHECK reports them
    r = cmd(d, "k", "CHECK")
    assert untagged(r, "EXPUNGE") == [b"* 2 EXPUNGE", b"* 3 EXPUNGE"]
    # q (QRESYNC): VANISHED, held back during FETCH by number as well
    r = cmd(q, "f", "FETCH 1 (UID)")
    assert untagged(r, "VANISHED") == []
    r = cmd(q, "n", "NOOP")
    assert b"* VANISHED 2,4" in r
    # every session now numbers the same four messages the same way
    for x in s:
        r = cmd(x, "z", "FETCH 1:* (UID)")
        assert [ln for ln in untagged(r, "FETCH") if b"FLAGS" not in ln] == [b"* 1 FETCH (UID 1)", b"* 2 FETCH (UID 3)",
                                        b"* 3 FETCH (UID 5)", b"* 4 FETCH (UID 6)"], r
