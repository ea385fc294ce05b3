"""IMAP SELECT, EXAMINE, CLOSE, UNSELECT, CHECK, EXPUNGE and UID EXPUNGE
(RFC 9051 6.3.2, 6.3.3, 6.4.1-6.4.3, RFC 3501 6.4.1, RFC 3691, RFC 4315)
against the real server: the exact untagged responses of SELECT for an
IMAP4rev1 client, read-only EXAMINE, the state rules, and the EXPUNGE
responses' sequence numbers."""

import re

from imap_util import (append, cmd, create_mailbox, delete_mailbox, imap_server, login, message,
                       raw_login)

SYS = rb"\Answered \Flagged \Deleted \Seen \Draft"


def fill(srv, n, flags=None):
    c = login(srv)
    append(c, [message(i) for i in range(n)], flags=flags)
    c.logout()


def test_select_answers_every_rev1_response(make_loft):
    srv = imap_server(make_loft)
    c = login(srv)
    append(c, [message(0)], flags="(\\Seen)")
    append(c, [message(1), message(2)])
    c.logout()
    r = cmd(raw_login(srv), "s", "SELECT INBOX")
    assert r[0] == b"* FLAGS (" + SYS + b")"
    assert r[1] == b"* OK [PERMANENTFLAGS (" + SYS + rb" \*)] Flags permitted."
    assert r[2] == b"* 3 EXISTS"
    assert r[3] == b"* 3 RECENT"
    assert r[4] == b"* OK [UNSEEN 2] First unseen."
    assert re.match(rb"\* OK \[UIDVALIDITY \d+\] ", r[5])
    assert r[6] == b"* OK [UIDNEXT 4] Predicted next UID."
    assert re.match(rb"\* OK \[MAILBOXID \(F[A-Za-z0-9_-]{20}\)\] Mailbox id\.$", r[7])
    assert re.match(rb"\* OK \[HIGHESTMODSEQ \d+\] Highest$", r[8])
    assert r[9] == b"s OK [READ-WRITE] SELECT completed."
    assert len(r) == 10


def test_recent_belongs_to_the_first_session(make_loft):
    srv = imap_server(make_loft)
    fill(srv, 2)
    a = raw_login(srv)
    assert b"* 2 RECENT" in cmd(a, "s", "SELECT INBOX")
    assert cmd(a, "f", "FETCH 1 FLAGS")[0] == b"* 1 FETCH (FLAGS (\\Recent))"
    b = raw_login(srv)
    assert b"* 0 RECENT" in cmd(b, "s", "SELECT INBOX")
    assert cmd(b, "f", "FETCH 1 FLAGS")[0] == b"* 1 FETCH (FLAGS ())"
    # a new message is recent for the first session that learns of it
    fill(srv, 1)
    r = cmd(a, "n", "NOOP")
    assert b"* 3 EXISTS" in r and b"* 3 RECENT" in r
    assert b"* 0 RECENT" in cmd(b, "n", "NOOP")


def test_examine_is_read_only(make_loft):
    srv = imap_server(make_loft)
    fill(srv, 2)
    create_mailbox(srv, "Other")
    c = raw_login(srv)
    r = cmd(c, "e", "EXAMINE INBOX")
    assert b"* OK [PERMANENTFLAGS ()] Read-only mailbox." in r
    assert b"* 0 RECENT" in r           # EXAMINE claims no \Recent
    assert r[-1] == b"e OK [READ-ONLY] EXAMINE completed."
    assert cmd(c, "s", "STORE 1 +FLAGS (\\Seen)")[-1] == b"s NO Mailbox is read-only."
    assert cmd(c, "x", "EXPUNGE")[-1] == b"x NO Mailbox is read-only."
    assert cmd(c, "u", "UID EXPUNGE 1")[-1] == b"u NO Mailbox is read-only."
    assert cmd(c, "m", "MOVE 1 Other")[-1] == b"m NO Mailbox is read-only."
    # a body fetch does not set \Seen in a read-only mailbox
    r = cmd(c, "b", "FETCH 1 (BODY[TEXT])")
    assert b"FLAGS" not in b"".join(r)
    assert cmd(c, "f", "FETCH 1 FLAGS")[0] == b"* 1 FETCH (FLAGS ())"
    # COPY from a read-only mailbox is allowed
    assert cmd(c, "c", "COPY 1:2 Other")[-1].startswith(b"c OK [COPYUID ")
    assert cmd(c, "k", "CLOSE")[-1] == b"k OK CLOSE completed."


def test_select_missing_mailbox_leaves_authenticated_state(make_loft):
    srv = imap_server(make_loft)
    fill(srv, 1)
    c = raw_login(srv)
    assert cmd(c, "s", "SELECT INBOX")[-1].startswith(b"s OK")
    assert cmd(c, "t", "SELECT Nowhere")[-1] == b"t NO [NONEXISTENT] Mailbox does not exist."
    # RFC 9051 6.3.2: the mailbox selected before was closed
    assert cmd(c, "f", "FETCH 1 FLAGS")[-1] == b"f BAD Command not valid in this state."
    assert cmd(c, "u", "SELECT \"&Jjo-\"")[-1].startswith(b"u NO [NONEXISTENT]")
    assert cmd(c, "v", "SELECT")[-1] == b"v BAD SELECT takes a mailbox name."
    assert cmd(c, "w", "SELECT \"&Jjo\"")[-1].startswith(b"w BAD")   # bad modified UTF-7


def test_commands_of_the_selected_state_need_a_mailbox(make_loft):
    srv = imap_server(make_loft)
    c = raw_login(srv)
    for i, line in enumerate(["FETCH 1 FLAGS", "STORE 1 +FLAGS \\Seen", "COPY 1 INBOX",
                              "MOVE 1 INBOX", "EXPUNGE", "UID FETCH 1 FLAGS", "CLOSE",
                              "UNSELECT", "CHECK"]):
        tag = "t%d" % i
        assert cmd(c, tag, line)[-1] == tag.encode() + b" BAD Command not valid in this state."
    # IDLE is valid while only authenticated
    c.sendline("i IDLE")
    assert c.readline() == b"+ idling\r\n"
    c.sendline("DONE")
    assert c.read_until_tag("i")[-1] == b"i OK IDLE terminated.\r\n"


def test_expunge_numbers_each_removal(make_loft):
    srv = imap_server(make_loft)
    fill(srv, 6)
    c = raw_login(srv)
    cmd(c, "s", "SELECT INBOX")
    r = cmd(c, "d", "STORE 2,3,5 +FLAGS.SILENT (\\Deleted)")
    assert r == [b"d OK STORE completed."]
    r = cmd(c, "x", "EXPUNGE")
    # 2 goes, then 3 is the new 2, then 5 is the new 3
    assert r == [b"* 2 EXPUNGE", b"* 2 EXPUNGE", b"* 3 EXPUNGE", b"x OK EXPUNGE completed."]
    r = cmd(c, "f", "UID FETCH 1:* UID")
    assert [ln for ln in r if b"FETCH (" in ln] == [
        b"* 1 FETCH (UID 1)", b"* 2 FETCH (UID 4)", b"* 3 FETCH (UID 6)"]
    assert cmd(c, "y", "EXPUNGE") == [b"y OK EXPUNGE completed."]


def test_uid_expunge_only_the_given_uids(make_loft):
    srv = imap_server(make_loft)
    fill(srv, 5, flags="(\\Deleted)")
    c = raw_login(srv)
    cmd(c, "s", "SELECT INBOX")
    r = cmd(c, "x", "UID EXPUNGE 2,4:4,9")
    assert r == [b"* 2 EXPUNGE", b"* 3 EXPUNGE", b"x OK UID EXPUNGE completed."]
    assert b"* 3 EXISTS" not in r
    r = cmd(c, "f", "FETCH 1:* UID")
    assert [ln for ln in r if b"FETCH (" in ln] == [
        b"* 1 FETCH (UID 1)", b"* 2 FETCH (UID 3)", b"* 3 FETCH (UID 5)"]
    assert cmd(c, "b", "UID EXPUNGE 1:x")[-1] == b"b BAD Invalid message set."
    assert cmd(c, "c", "UID EXPUNGE")[-1] == b"c BAD UID EXPUNGE needs a UID set."


def test_close_expunges_silently_unselect_does_not(make_loft):
    srv = imap_server(make_loft)
    fill(srv, 4)
    c = raw_login(srv)
    cmd(c, "s", "SELECT INBOX")
    cmd(c, "d", "STORE 1:2 +FLAGS.SILENT (\\Deleted)")
    assert cmd(c, "u", "UNSELECT") == [b"u OK UNSELECT completed."]
    assert b"* 4 EXISTS" in cmd(c, "s2", "SELECT INBOX")
    assert cmd(c, "k", "CLOSE") == [b"k OK CLOSE completed."]   # no EXPUNGE responses
    assert cmd(c, "f", "FETCH 1 FLAGS")[-1] == b"f BAD Command not valid in this state."
    assert b"* 2 EXISTS" in cmd(c, "s3", "SELECT INBOX")
    # CLOSE of a read-only mailbox expunges nothing
    cmd(c, "d2", "STORE 1 +FLAGS.SILENT (\\Deleted)")
    cmd(c, "e", "EXAMINE INBOX")
    assert cmd(c, "k2", "CLOSE") == [b"k2 OK CLOSE completed."]
    assert b"* 2 EXISTS" in cmd(c, "s4", "SELECT INBOX")
    assert cmd(c, "z", "CLOSE x")[-1] == b"z BAD CLOSE takes no arguments."


def test_select_switches_mailbox_without_expunge(make_loft):
    srv = imap_server(make_loft)
    fill(srv, 2)
    create_mailbox(srv, "Work")
    c = raw_login(srv)
    cmd(c, "s", "SELECT INBOX")
    cmd(c, "d", "STORE 1 +FLAGS.SILENT (\\Deleted)")
    r = cmd(c, "w", "SELECT Work")
    assert b"* 0 EXISTS" in r and r[-1] == b"w OK [READ-WRITE] SELECT completed."
    assert b"* 2 EXISTS" in cmd(c, "s2", "SELECT INBOX")


def test_check_and_noop_report_changes(make_loft):
    srv = imap_server(make_loft)
    fill(srv, 1)
    c = raw_login(srv)
    cmd(c, "s", "SELECT INBOX")
    assert cmd(c, "c", "CHECK") == [b"c OK CHECK completed."]
    fill(srv, 1)
    r = cmd(c, "c2", "CHECK")
    assert r[0] == b"* 2 EXISTS" and r[-1] == b"c2 OK CHECK completed."
    fill(srv, 1)
    r = cmd(c, "n", "NOOP")
    assert r[0] == b"* 3 EXISTS" and r[-1] == b"n OK NOOP completed."
    assert cmd(c, "n2", "NOOP") == [b"n2 OK NOOP completed."]


def test_capabilities_after_login(make_loft):
    srv = imap_server(make_loft)
    c = raw_login(srv)
    r = cmd(c, "c", "CAPABILITY")
    caps = r[0].split()
    for cap in (b"IMAP4rev1", b"IDLE", b"UNSELECT", b"UIDPLUS", b"MOVE", b"CONDSTORE",
                b"QRESYNC"):
        assert cap in caps
    # not before every part of it works
    assert b"OBJECTID" in caps  # FETCH, SEARCH and MAILBOXID of RFC 8474


def test_selected_mailbox_deleted_by_another_process(make_loft):
    srv = imap_server(make_loft)
    create_mailbox(srv, "Work")
    c = raw_login(srv)
    cmd(c, "s", "SELECT Work")
    delete_mailbox(srv, "Work")
    c.sendline("n NOOP")
    assert c.readline() == b"* BYE Selected mailbox was deleted.\r\n"
    assert c.read_eof() == b""
