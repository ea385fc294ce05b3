"""REPLACE and UID REPLACE (RFC 8508) end to end: the new message is
appended and the old one expunged in one store commit, so a concurrent
IDLE session sees exactly one EXISTS and one EXPUNGE (VANISHED under
QRESYNC); the replying session gets the APPENDUID in an untagged OK, then
the EXPUNGE/VANISHED (and EXISTS when the new message went to the selected
mailbox), then the tagged OK. Failures change nothing."""

import re

from imap_util import PASSWORD, USER, append, cmd, create_mailbox, imap_server, login, message
from imap_util import raw_login
from loftserver import hash_password
from test_imap_multisession import idle, quiet

NEW = b"From: me@example.org\r\nSubject: draft v2\r\n\r\nsecond draft\r\n"


def open_inbox(make_loft, n=2, **kw):
    srv = imap_server(make_loft, **kw)
    im = login(srv)
    append(im, [message(i) for i in range(n)])
    im.logout()
    c = raw_login(srv)
    r = cmd(c, "s", "SELECT INBOX")
    uidvalidity = int(re.search(rb"UIDVALIDITY (\d+)", b"".join(r)).group(1))
    return srv, c, uidvalidity


def replace(c, tag, line, data=NEW, sync=False):
    """Send REPLACE with data as a literal; returns the lines up to the tag."""
    if sync:
        c.send(("%s %s {%d}\r\n" % (tag, line, len(data))).encode())
        cont = c.readline()
        if not cont.startswith(b"+ "):
            return [cont.rstrip(b"\r\n")]     # refused before the literal
    else:
        c.send(("%s %s {%d+}\r\n" % (tag, line, len(data))).encode())
    c.send(data + b"\r\n")
    return [ln.rstrip(b"\r\n") for ln in c.read_until_tag(tag)]


def test_capability(make_loft):
    srv, c, _ = open_inbox(make_loft, n=0)
    caps = cmd(c, "c", "CAPABILITY")[0].split()
    assert b"REPLACE" in caps
    c.close()


def test_replace_in_selected_mailbox_with_idler(make_loft):
    srv, c, uv = open_inbox(make_loft)
    other = raw_login(srv)
    cmd(other, "e", "ENABLE IMAP4rev2")       # no RECENT: EXISTS and EXPUNGE only
    cmd(other, "s", "SELECT INBOX")
    idle(other)
    r = replace(c, "r", "REPLACE 1 INBOX (\\Seen \\Draft)", sync=True)
    assert r == [b"* OK [APPENDUID %d 3] Replacement message saved." % uv,
                 b"* 1 EXPUNGE", b"* 2 EXISTS", b"* 2 RECENT", b"r OK REPLACE completed."]
    # the idler: one EXPUNGE, one EXISTS, nothing else
    got = [other.readline(timeout=5).rstrip(b"\r\n") for _ in range(2)]
    assert got == [b"* 1 EXPUNGE", b"* 2 EXISTS"], got
    quiet(other)
    other.sendline("DONE")
    assert other.readline() == b"i OK IDLE terminated.\r\n"
    assert cmd(c, "f", "UID FETCH 1:* (FLAGS)") == [
        b"* 1 FETCH (UID 2 FLAGS (\\Recent))",
        b"* 2 FETCH (UID 3 FLAGS (\\Seen \\Draft \\Recent))", b"f OK FETCH completed."]
    assert cmd(c, "g", "FETCH 2 BODY.PEEK[TEXT]") == [
        b"* 2 FETCH (BODY[TEXT] {14}", b"second draft", b")", b"g OK FETCH completed."]
    c.close()


def test_uid_replace_into_other_mailbox_qresync(make_loft):
    srv, c, uv = open_inbox(make_loft, n=3)
    create_mailbox(srv, "Drafts")
    other = raw_login(srv)
    cmd(other, "e", "ENABLE QRESYNC")
    cmd(other, "s", "SELECT INBOX")
    idle(other)
    assert cmd(c, "e", "ENABLE QRESYNC")[-1] == b"e OK ENABLE completed."
    r = replace(c, "r", "UID REPLACE 2 Drafts")
    assert len(r) == 4 and re.fullmatch(
        rb"\* OK \[APPENDUID \d+ 1\] Replacement message saved.", r[0]), r
    assert r[1] == b"* VANISHED 2" and re.fullmatch(rb"\* OK \[HIGHESTMODSEQ \d+\] Highest", r[2])
    assert r[3] == b"r OK REPLACE completed."
    assert other.readline(timeout=5) == b"* VANISHED 2\r\n"
    assert re.fullmatch(rb"\* OK \[HIGHESTMODSEQ \d+\] Highest\r\n", other.readline(timeout=5))
    quiet(other)
    other.sendline("DONE")
    assert other.readline() == b"i OK IDLE terminated.\r\n"
    r = cmd(c, "st", "STATUS Drafts (MESSAGES UIDNEXT)")
    assert r[0] == b'* STATUS Drafts (MESSAGES 1 UIDNEXT 2)'
    assert cmd(c, "f", "UID FETCH 1:* (UID)") == [
        b"* 1 FETCH (UID 1)", b"* 2 FETCH (UID 3)", b"f OK FETCH completed."]
    c.close()


def test_failures_change_nothing(make_loft):
    srv, c, uv = open_inbox(make_loft)
    # a number past EXISTS: BAD before the literal is taken
    assert replace(c, "a", "REPLACE 3 INBOX", sync=True) == [
        b"a BAD Invalid message sequence number."]
    # a UID that does not exist: streamed, then NO, nothing appended
    assert replace(c, "b", "UID REPLACE 77 INBOX") == [
        b"b NO The message to replace does not exist."]
    # a mailbox that does not exist: the old message stays
    r = replace(c, "d", "REPLACE 1 Nowhere")
    assert r == [b"d NO [TRYCREATE] Mailbox does not exist."], r
    # one message only
    r = replace(c, "e", "REPLACE 1 INBOX {3+}\r\nabc", data=b"xyz")
    assert r == [b"e BAD REPLACE takes one message."], r
    assert cmd(c, "f", "UID FETCH 1:* (UID)") == [
        b"* 1 FETCH (UID 1)", b"* 2 FETCH (UID 2)", b"f OK FETCH completed."]
    # UIDNEXT: no UID was used by the failed replacements
    assert cmd(c, "g", "STATUS INBOX (UIDNEXT MESSAGES)")[0] == \
        b"* STATUS INBOX (UIDNEXT 3 MESSAGES 2)"
    # read-only
    cmd(c, "x", "EXAMINE INBOX")
    r = replace(c, "h", "REPLACE 1 INBOX")
    assert r == [b"h NO Mailbox is read-only."], r
    assert cmd(c, "i", "STATUS INBOX (MESSAGES)")[0] == b"* STATUS INBOX (MESSAGES 2)"
    c.close()


def test_switched_off(make_loft):
    srv = imap_server(make_loft, users="%s:%s::::::imap_caps_off=REPLACE\n"
                      % (USER, hash_password(PASSWORD)))
    c = raw_login(srv)
    assert b"REPLACE" not in cmd(c, "c", "CAPABILITY")[0].split()
    cmd(c, "s", "SELECT INBOX")
    assert cmd(c, "r", "REPLACE 1 INBOX {3+}\r\nabc") == [b"r BAD Unknown command."]
    assert cmd(c, "u", "UID REPLACE 1 INBOX {3+}\r\nabc") == [b"u BAD Unknown UID command."]
    c.close()


def test_string_literals_of_streaming_commands(make_loft):
    """UID's and APPEND's literals that are strings (a search string, a
    mailbox name) get their "+" like any {n} literal."""
    srv, c, uv = open_inbox(make_loft)
    c.send(b"u UID SEARCH TEXT {4}\r\n")
    assert c.readline() == b"+ Ready for literal data\r\n"
    c.send(b"body\r\n")
    assert [ln.rstrip(b"\r\n") for ln in c.read_until_tag("u")] == [
        b"* SEARCH 1 2", b"u OK UID SEARCH completed."]
    c.send(b"a APPEND {5}\r\n")
    assert c.readline() == b"+ Ready for literal data\r\n"
    c.send(b"INBOX {3+}\r\nhi\r\r\n")
    r = [ln.rstrip(b"\r\n") for ln in c.read_until_tag("a")]
    assert r[-1] == b"a OK [APPENDUID %d 3] Append completed." % uv, r
    c.close()
