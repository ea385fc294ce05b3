"""INPROGRESS (RFC 9585) end to end: SEARCH, COPY, MOVE and EXPUNGE run in
steps of [imap] inprogress_step messages and report between steps once
[imap] inprogress_interval has passed (0 here: after every step, so the
transcripts are exact); no report when the command is done after its
first step, with the default interval on a small mailbox, or when the
session has INPROGRESS switched off."""

import re

from imap_util import PASSWORD, USER, append, cmd, create_mailbox, imap_server, login, message
from loftserver import hash_password

FAST = {"imap": {"inprogress_interval": "0", "inprogress_step": "2"}}


def prog(tag, done, total, text):
    return b'* OK [INPROGRESS ("%s" %d %d)] %s' % (tag.encode(), done, total, text)


def server(make_loft, config_extra=FAST, n=7):
    users = "%s:%s\nbob:%s::::::imap_caps_off=INPROGRESS\n" % (
        USER, hash_password(PASSWORD), hash_password(PASSWORD))
    extra = dict(config_extra)
    extra["storage"] = dict(extra.get("storage", {}), initial_mailboxes="")
    srv = make_loft(users=users, config_extra=extra)
    for user in (USER, "bob"):
        im = srv.imap()
        im.login(user, PASSWORD)
        append(im, [message(i) for i in range(n)])
        im.logout()
    create_mailbox(srv, "Other")
    return srv


def session(srv, user=USER):
    c = srv.connect("imap")
    assert c.readline().startswith(b"* OK")
    assert cmd(c, "l", "LOGIN %s %s" % (user, PASSWORD))[-1].startswith(b"l OK")
    assert cmd(c, "s", "SELECT INBOX")[-1] == b"s OK [READ-WRITE] SELECT completed."
    return c


def test_capability(make_loft):
    srv = server(make_loft, n=0)
    c = session(srv)
    assert b"INPROGRESS" in cmd(c, "c", "CAPABILITY")[0].split()
    c.close()


def test_search_copy_move_expunge(make_loft):
    srv = server(make_loft)
    c = session(srv)
    assert cmd(c, "a", "SEARCH ALL") == [
        prog("a", 2, 7, b"Searching."), prog("a", 4, 7, b"Searching."),
        prog("a", 6, 7, b"Searching."), b"* SEARCH 1 2 3 4 5 6 7", b"a OK SEARCH completed."]
    r = cmd(c, "b", "COPY 1:7 Other")
    assert r[:3] == [prog("b", 2, 7, b"Copying."), prog("b", 4, 7, b"Copying."),
                     prog("b", 6, 7, b"Copying.")]
    assert re.fullmatch(rb"b OK \[COPYUID \d+ 1:7 1:7\] COPY completed.", r[3]) and len(r) == 4
    r = cmd(c, "m", "UID MOVE 3:7 Other")
    assert r[:2] == [prog("m", 2, 5, b"Moving."), prog("m", 4, 5, b"Moving.")]
    assert re.fullmatch(rb"\* OK \[COPYUID \d+ 3:7 8:12\] Moved.", r[2]), r
    assert r[3:] == [b"* 3 EXPUNGE"] * 5 + [b"m OK MOVE completed."]
    assert cmd(c, "x", "SELECT Other")[-1] == b"x OK [READ-WRITE] SELECT completed."
    assert cmd(c, "d", "STORE 1:12 +FLAGS.SILENT (\\Deleted)") == [b"d OK STORE completed."]
    assert cmd(c, "e", "EXPUNGE") == [
        prog("e", 2, 12, b"Expunging."), prog("e", 4, 12, b"Expunging."),
        prog("e", 6, 12, b"Expunging."), prog("e", 8, 12, b"Expunging."),
        prog("e", 10, 12, b"Expunging.")] + [b"* 1 EXPUNGE"] * 12 + [b"e OK EXPUNGE completed."]
    # a search done in one step: nothing to report
    assert cmd(c, "f", "SEARCH 1:2") == [b"* SEARCH", b"f OK SEARCH completed."]
    c.close()


def test_copy_failure_leaves_no_copies(make_loft):
    srv = server(make_loft, config_extra={
        "imap": {"inprogress_interval": "0", "inprogress_step": "2"},
        "storage": {"quota_messages": "10"}})
    c = session(srv)
    # 7 + 7 copies > 10: a later step fails; the earlier steps' copies go
    r = cmd(c, "b", "COPY 1:7 INBOX")
    assert r[-1].startswith(b"b NO [OVERQUOTA]"), r
    assert cmd(c, "n", "NOOP") == [b"n OK NOOP completed."]
    assert cmd(c, "t", "STATUS Other (MESSAGES)")[0] == b"* STATUS Other (MESSAGES 0)"
    assert cmd(c, "u", "SEARCH ALL")[-2] == b"* SEARCH 1 2 3 4 5 6 7"
    c.close()


def test_no_reports(make_loft):
    # the default interval (5s) on a small mailbox
    srv = server(make_loft, config_extra={"imap": {"inprogress_step": "2"}})
    c = session(srv)
    assert cmd(c, "a", "SEARCH ALL") == [b"* SEARCH 1 2 3 4 5 6 7", b"a OK SEARCH completed."]
    c.close()
    srv = server(make_loft)
    # switched off for bob: no capability, no reports
    c = session(srv, "bob")
    assert b"INPROGRESS" not in cmd(c, "c", "CAPABILITY")[0].split()
    assert cmd(c, "a", "SEARCH ALL") == [b"* SEARCH 1 2 3 4 5 6 7", b"a OK SEARCH completed."]
    c.close()
