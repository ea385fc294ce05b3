"""NOTIFY (RFC 5465): a client follows several mailboxes at once. The
selected mailbox's changes arrive between commands (not only in IDLE);
other mailboxes of the INBOXES, PERSONAL, SUBSCRIBED, SUBTREE and
MAILBOXES filters answer "* STATUS" for MessageNew/MessageExpunge and
FlagChange, and "* LIST" for MailboxName; SET STATUS answers the current
counters first; unsupported events get NO [BADEVENT]; NOTIFY NONE stops
it all."""

import re

from imap_util import (append, cmd, create_mailbox, delete_mailbox, drop_maildir, imap_server,
                       login, message, raw_login)


def read_until(c, pred, timeout=5.0):
    got = []
    while True:
        ln = c.readline(timeout=timeout).rstrip(b"\r\n")
        got.append(ln)
        if pred(ln):
            return got


def status_of(ln):
    m = re.match(rb"\* STATUS (\S+) \((.*)\)$", ln)
    items = m.group(2).split()
    return m.group(1), dict(zip(items[::2], (int(x) for x in items[1::2])))


def test_notify_other_mailboxes_and_selected(make_loft):
    srv = imap_server(make_loft)
    create_mailbox(srv, "Work")
    create_mailbox(srv, "Work/Sub")
    create_mailbox(srv, "Other")
    im = login(srv)
    append(im, [message(i) for i in range(2)])
    append(im, [message(5)], mailbox="Work")
    c = raw_login(srv)
    cmd(c, "s", "SELECT INBOX")
    r = cmd(c, "n", "NOTIFY SET STATUS (SELECTED (MessageNew MessageExpunge FlagChange)) "
                    "(SUBTREE Work (MessageNew MessageExpunge MailboxName)) "
                    "(PERSONAL (MailboxName))")
    assert r[-1] == b"n OK NOTIFY completed."
    # SET STATUS: the counters of the followed mailboxes first
    sts = dict(status_of(ln) for ln in r[:-1])
    assert sts[b"Work"][b"MESSAGES"] == 1 and sts[b"Work/Sub"][b"MESSAGES"] == 0
    assert b"Other" not in sts and b"INBOX" not in sts     # not for its messages
    # a message in a followed mailbox: STATUS, no command needed
    append(im, [message(6)], mailbox="Work/Sub")
    got = read_until(c, lambda ln: ln.startswith(b"* STATUS"))
    name, st = status_of(got[-1])
    assert name == b"Work/Sub" and st[b"MESSAGES"] == 1 and st[b"UIDNEXT"] == 2
    # a message elsewhere: nothing; in the selected mailbox: EXISTS pushed
    append(im, [message(7)], mailbox="Other")
    append(im, [message(8)])
    got = read_until(c, lambda ln: ln.endswith(b" RECENT"))
    assert b"* 3 EXISTS" in got and not any(b"STATUS" in ln for ln in got), got
    # flag changes of the selected mailbox are pushed too
    o = raw_login(srv)
    cmd(o, "s", "SELECT INBOX")
    cmd(o, "f", "STORE 1 +FLAGS (\\Flagged)")
    got = read_until(c, lambda ln: b"FETCH" in ln)
    assert got[-1] == b"* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))"
    # an expunge in a followed mailbox
    cmd(o, "w", "SELECT Work")
    cmd(o, "d", "STORE 1 +FLAGS.SILENT (\\Deleted)")
    cmd(o, "x", "EXPUNGE")
    got = read_until(c, lambda ln: ln.startswith(b"* STATUS"))
    name, st = status_of(got[-1])
    assert name == b"Work" and st[b"MESSAGES"] == 0
    # MailboxName: a new mailbox and a deleted one, anywhere (PERSONAL)
    cmd(o, "c", "CREATE Fresh")
    got = read_until(c, lambda ln: ln.startswith(b"* LIST"))
    assert got[-1] == b'* LIST () "/" Fresh'
    cmd(o, "d2", "DELETE Other")
    got = read_until(c, lambda ln: ln.startswith(b"* LIST"))
    assert got[-1] == b'* LIST (\\NonExistent) "/" Other'
    # commands go on as usual meanwhile
    assert cmd(c, "z", "NOOP")[-1] == b"z OK NOOP completed."
    # NOTIFY NONE: quiet again (until a command reports)
    assert cmd(c, "q", "NOTIFY NONE") == [b"q OK NOTIFY completed."]
    append(im, [message(9)], mailbox="Work")
    append(im, [message(10)])
    assert c.pending(0.5) == b""


def test_notify_inboxes_and_mailboxes_from_another_process(make_loft):
    srv = imap_server(make_loft)
    create_mailbox(srv, "Lists")
    c = raw_login(srv)
    r = cmd(c, "n", "NOTIFY SET (INBOXES (MessageNew MessageExpunge)) "
                    "(MAILBOXES (Lists) (MessageNew MessageExpunge FlagChange))")
    assert r == [b"n OK NOTIFY completed."]
    # `loft deliver` in another process, and a file dropped into new/
    p = srv.run_cli("deliver", "-u", "alice", input=message(1).decode())
    assert p.returncode == 0, p.stderr
    got = read_until(c, lambda ln: ln.startswith(b"* STATUS"))
    assert status_of(got[-1])[0] == b"INBOX" and status_of(got[-1])[1][b"MESSAGES"] == 1
    drop_maildir(srv, 1, mailbox_dir=".Lists")
    got = read_until(c, lambda ln: ln.startswith(b"* STATUS"))
    assert status_of(got[-1])[0] == b"Lists"
    # FlagChange on a followed mailbox that is not selected
    o = raw_login(srv)
    cmd(o, "s", "SELECT Lists")
    cmd(o, "f", "STORE 1 +FLAGS (\\Seen)")
    got = read_until(c, lambda ln: ln.startswith(b"* STATUS"))
    name, st = status_of(got[-1])
    assert name == b"Lists" and st[b"UNSEEN"] == 0
    # in IDLE the STATUS comes as well
    c.sendline("i IDLE")
    assert c.readline() == b"+ idling\r\n"
    im = login(srv)
    append(im, [message(2)])
    got = read_until(c, lambda ln: ln.startswith(b"* STATUS"))
    assert status_of(got[-1])[1][b"MESSAGES"] == 2
    c.sendline("DONE")
    assert c.read_until_tag("i")[-1] == b"i OK IDLE terminated.\r\n"


def test_notify_errors(make_loft):
    srv = imap_server(make_loft)
    c = raw_login(srv)
    bad = b"BADEVENT (MessageNew MessageExpunge FlagChange MailboxName)"
    r = cmd(c, "a", "NOTIFY SET (PERSONAL (SubscriptionChange))")
    assert r[-1].startswith(b"a NO [" + bad + b"]")
    r = cmd(c, "b", "NOTIFY SET (SELECTED (MessageNew (UID) MessageExpunge))")
    assert r[-1].startswith(b"b NO [" + bad + b"]")
    for tag, line in (("c", "NOTIFY SET (PERSONAL (MessageNew))"),
                      ("d", "NOTIFY SET (PERSONAL (FlagChange))"),
                      ("e", "NOTIFY SET (NOWHERE (MessageNew MessageExpunge))"),
                      ("f", "NOTIFY SET"), ("g", "NOTIFY"), ("h", "NOTIFY SET STATUS"),
                      ("i", "NOTIFY SET (SUBTREE (MessageNew MessageExpunge))"),
                      ("j", "NOTIFY SET (SELECTED NONE) (SELECTED-DELAYED NONE)"),
                      ("k", "NOTIFY MAYBE")):
        r = cmd(c, tag, line)
        assert r[-1].startswith(tag.encode() + b" BAD"), (line, r)
    assert cmd(c, "l", "NOTIFY SET (SELECTED NONE)") == [b"l OK NOTIFY completed."]
    assert cmd(c, "m", "NOTIFY NONE") == [b"m OK NOTIFY completed."]
