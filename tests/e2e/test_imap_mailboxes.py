"""IMAP mailbox commands end to end: CREATE (with RFC 6154 USE), DELETE,
RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS, NAMESPACE, ENABLE and ID, the
mailboxes new users get, and mailbox names in every form a client can send
them (atom, quoted with escapes, literal, modified UTF-7, UTF-8 after
ENABLE UTF8=ACCEPT). LIST and LSUB have their own file (test_imap_list.py).
Python's imaplib drives the ordinary cases; raw lines are used where the
exact bytes matter."""

import imaplib
import re
import os

import pytest

USERS = {"alice": "secret"}
NO_INITIAL = {"storage": {"initial_mailboxes": '""'}}


def cmd(c, line, tag=None):
    """Send one command line; (untagged lines, tagged line) as str."""
    tag = tag or line.split(" ", 1)[0]
    c.sendline(line)
    lines = [l.decode("utf-8").rstrip("\r\n") for l in c.read_until_tag(tag, timeout=10)]
    return lines[:-1], lines[-1]


def login(c, user="alice", pw="secret"):
    assert c.readline().startswith(b"* OK")
    _, tagged = cmd(c, "L LOGIN %s %s" % (user, pw))
    assert tagged.startswith("L OK"), tagged


@pytest.fixture
def srv(make_loft):
    return make_loft(listeners=["imap"], users=USERS, config_extra=NO_INITIAL)


@pytest.fixture
def c(srv):
    with srv.connect("imap") as conn:
        login(conn)
        yield conn


def names(c):
    untagged, tagged = cmd(c, 'zz LIST "" *')
    assert tagged.startswith("zz OK")
    return [l.rsplit(' "/" ', 1)[1] for l in untagged]


# ---- capabilities ----

def test_capabilities(make_loft):
    srv = make_loft(listeners=["imap"], users=USERS,
                    config_extra={"limits": {"max_literal_size": "10M"}})
    with srv.connect("imap") as c:
        greeting = c.readline().decode()
        assert " ID " in greeting and "ENABLE" not in greeting
        _, tagged = cmd(c, "a LOGIN alice secret")
        caps = tagged.split("[CAPABILITY ", 1)[1].split("]", 1)[0].split()
        for token in ("IMAP4rev1", "IMAP4rev2", "ID", "ENABLE", "NAMESPACE", "UTF8=ACCEPT",
                      "CHILDREN", "LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE",
                      "CREATE-SPECIAL-USE", "STATUS=SIZE", "BINARY", "PREVIEW",
                      "APPENDLIMIT=10485760", "MULTIAPPEND", "CATENATE",
                      "URLAUTH", "QUOTA", "COMPRESS=DEFLATE", "UNAUTHENTICATE"):
            assert token in caps, (token, caps)
        # nothing that is not done yet
        for token in ("QUOTASET", "URLAUTH=BINARY"):
            assert token not in caps
        untagged, _ = cmd(c, "b CAPABILITY")
        assert untagged[0].split()[2:] == caps


# ---- new users' mailboxes ----

def test_initial_mailboxes_on_first_login(make_loft):
    srv = make_loft(listeners=["imap"], users=USERS)
    m = imaplib.IMAP4("127.0.0.1", srv.port("imap"))
    m.login("alice", "secret")
    typ, data = m.list()
    assert typ == "OK"
    got = sorted(d.decode() for d in data)
    assert got == sorted([
        '(\\HasNoChildren) "/" INBOX',
        '(\\HasNoChildren \\Drafts) "/" Drafts',
        '(\\HasNoChildren \\Sent) "/" Sent',
        '(\\HasNoChildren \\Trash) "/" Trash',
        '(\\HasNoChildren \\Junk) "/" Junk',
        '(\\HasNoChildren \\Archive) "/" Archive',
    ]), got
    typ, data = m.lsub()
    assert sorted(d.decode() for d in data) == sorted(
        '() "/" %s' % n for n in ("Drafts", "Sent", "Trash", "Junk", "Archive"))
    assert m.delete("Trash")[0] == "OK"
    m.logout()
    # the second login creates nothing again
    m = imaplib.IMAP4("127.0.0.1", srv.port("imap"))
    m.login("alice", "secret")
    typ, data = m.list()
    assert not any(b"Trash" in d for d in data), data
    m.logout()


def test_initial_mailboxes_configurable(make_loft):
    srv = make_loft(listeners=["imap"], users=USERS, config_extra={
        "storage": {"initial_mailboxes": "Sent Items \\Sent, Lists/Work, Brouillons \\Drafts"}})
    with srv.connect("imap") as c:
        login(c)
        untagged, _ = cmd(c, 'a LIST "" *')
        assert sorted(untagged) == sorted([
            '* LIST (\\HasNoChildren) "/" INBOX',
            '* LIST (\\HasNoChildren \\Drafts) "/" Brouillons',
            '* LIST (\\HasChildren) "/" Lists',
            '* LIST (\\HasNoChildren) "/" Lists/Work',
            '* LIST (\\HasNoChildren \\Sent) "/" "Sent Items"',
        ]), untagged
        untagged, _ = cmd(c, 'b LSUB "" *')
        assert sorted(untagged) == ['* LSUB () "/" "Sent Items"', '* LSUB () "/" Brouillons',
                                    '* LSUB () "/" Lists/Work']


def test_no_initial_mailboxes(srv, c):
    assert names(c) == ["INBOX"]


# ---- CREATE ----

def test_create_and_errors(c):
    # RFC 8474 4.2: the new mailbox's MAILBOXID
    assert re.match(r"a OK \[MAILBOXID \(F[A-Za-z0-9_-]{20}\)\] CREATE completed\.$",
                    cmd(c, "a CREATE Work")[1])
    assert cmd(c, "b CREATE Work")[1].startswith("b NO [ALREADYEXISTS]")
    assert cmd(c, "c CREATE inbox")[1].startswith("c NO [ALREADYEXISTS]")
    # parents are made too; a trailing separator is a declaration only
    assert cmd(c, "d CREATE Deep/er/est")[1].startswith("d OK")
    assert cmd(c, "e CREATE Folder/")[1].startswith("e OK")
    assert names(c) == ["INBOX", "Deep", "Deep/er", "Deep/er/est", "Folder", "Work"]
    for n, bad in enumerate(("a//b", "/lead", "x/./y", "x/../y", "..", "trail//")):
        assert cmd(c, 'f%d CREATE "%s"' % (n, bad))[1].startswith("f%d NO [CANNOT]" % n)
    assert cmd(c, "g CREATE")[1].startswith("g BAD")
    assert cmd(c, "h CREATE a b")[1].startswith("h BAD")
    assert cmd(c, "i CREATE (x)")[1].startswith("i BAD")
    # NUL inside a literal name is refused before the store sees it
    c.send(b"j CREATE {3+}\r\na\x00b\r\n")
    assert c.read_until_tag("j")[-1].startswith(b"j BAD")
    # control characters and C1 controls (UTF-8 session) cannot name a mailbox
    assert cmd(c, "k ENABLE UTF8=ACCEPT")[1].startswith("k OK")
    assert cmd(c, 'l CREATE "x\u0085y"')[1].startswith("l NO [CANNOT]")
    assert cmd(c, 'm CREATE "x\u2028y"')[1].startswith("m NO [CANNOT]")


def test_create_special_use(c):
    assert cmd(c, "a CREATE Outbox (USE (\\Sent))")[1].startswith("a OK")
    assert cmd(c, "b CREATE Bin (USE (\\Trash \\Junk))")[1].startswith("b OK")
    assert cmd(c, "c CREATE Old (use (\\archive))")[1].startswith("c OK")
    untagged, _ = cmd(c, 'd LIST "" * RETURN (SPECIAL-USE)')
    assert '* LIST (\\HasNoChildren \\Sent) "/" Outbox' in untagged
    assert '* LIST (\\HasNoChildren \\Junk \\Trash) "/" Bin' in untagged
    assert '* LIST (\\HasNoChildren \\Archive) "/" Old' in untagged
    # \All and \Flagged name virtual mailboxes this server does not have
    assert cmd(c, "e CREATE Everything (USE (\\All))")[1].startswith("e NO [USEATTR]")
    assert cmd(c, "f CREATE Stars (USE (\\Flagged))")[1].startswith("f NO [USEATTR]")
    assert cmd(c, "g CREATE Odd (USE (\\Important))")[1].startswith("g NO [USEATTR]")
    assert "Everything" not in names(c)
    assert cmd(c, "h CREATE X (FOO (\\Sent))")[1].startswith("h BAD")
    assert cmd(c, "i CREATE X (USE \\Sent)")[1].startswith("i BAD")
    assert cmd(c, "j CREATE X (USE (Sent))")[1].startswith("j BAD")
    assert cmd(c, "k CREATE X (USE ())")[1].startswith("k OK")


# ---- DELETE ----

def test_delete(c):
    for n in ("Parent", "Parent/Child", "Lonely"):
        assert cmd(c, "c CREATE %s" % n)[1].startswith("c OK")
    assert cmd(c, "a DELETE Lonely")[1] == "a OK DELETE completed."
    assert cmd(c, "b DELETE Lonely")[1].startswith("b NO [NONEXISTENT]")
    assert cmd(c, "d DELETE INBOX")[1].startswith("d NO [CANNOT]")
    assert cmd(c, "e DELETE inbox")[1].startswith("e NO [CANNOT]")
    # a mailbox with children: RFC 9051 6.3.5 NO [HASCHILDREN]
    assert cmd(c, "f DELETE Parent")[1].startswith("f NO [HASCHILDREN]")
    assert cmd(c, "g DELETE Parent/Child")[1].startswith("g OK")
    assert cmd(c, "h DELETE Parent")[1].startswith("h OK")
    assert names(c) == ["INBOX"]
    assert cmd(c, "i DELETE")[1].startswith("i BAD")


def test_delete_keeps_subscription(c):
    """RFC 9051 6.3.7: the server must not remove a subscription itself."""
    assert cmd(c, "a CREATE Gone")[1].startswith("a OK")
    assert cmd(c, "b SUBSCRIBE Gone")[1].startswith("b OK")
    assert cmd(c, "d DELETE Gone")[1].startswith("d OK")
    assert cmd(c, 'e LSUB "" *')[0] == ['* LSUB () "/" Gone']
    untagged, _ = cmd(c, 'f LIST (SUBSCRIBED) "" *')
    assert untagged == ['* LIST (\\NonExistent \\Subscribed \\HasNoChildren) "/" Gone']


# ---- RENAME ----

def test_rename_hierarchy(c):
    for n in ("A", "A/B", "A/B/C", "A B"):
        assert cmd(c, "c CREATE \"%s\"" % n)[1].startswith("c OK")
    assert cmd(c, "a RENAME A Z/Y")[1] == "a OK RENAME completed."
    assert names(c) == ["INBOX", '"A B"', "Z", "Z/Y", "Z/Y/B", "Z/Y/B/C"]
    assert cmd(c, "b RENAME Z/Y Z")[1].startswith("b NO [ALREADYEXISTS]")
    assert cmd(c, 'b2 RENAME "A B" Z/Y')[1].startswith("b2 NO [ALREADYEXISTS]")
    assert cmd(c, "d RENAME Nothing Else")[1].startswith("d NO [NONEXISTENT]")
    assert cmd(c, "e RENAME Z/Y Z/Y/B/D")[1].startswith("e NO [CANNOT]")
    assert cmd(c, "f RENAME Z/Y Z/Y")[1].startswith("f NO [ALREADYEXISTS]")
    assert cmd(c, "g RENAME Z INBOX")[1].startswith("g NO [ALREADYEXISTS]")
    assert cmd(c, "h RENAME Z")[1].startswith("h BAD")
    assert cmd(c, 'i RENAME Z "a//b"')[1].startswith("i NO [CANNOT]")


def test_rename_inbox_moves_messages(c):
    """RFC 9051 6.3.6: renaming INBOX moves its messages to the new name and
    leaves INBOX empty; INBOX's own children stay where they are."""
    for n in range(3):
        append(c, "p%d" % n, "INBOX", "()", b"Subject: %d\r\n\r\nbody\r\n" % n)
    assert cmd(c, "a CREATE INBOX/Sub")[1].startswith("a OK")
    assert cmd(c, "b RENAME inbox Old-Mail")[1].startswith("b OK")
    assert cmd(c, "d STATUS INBOX (MESSAGES)")[0] == ["* STATUS INBOX (MESSAGES 0)"]
    assert cmd(c, "e STATUS Old-Mail (MESSAGES)")[0] == ["* STATUS Old-Mail (MESSAGES 3)"]
    assert "INBOX/Sub" in names(c)


# ---- SUBSCRIBE / UNSUBSCRIBE ----

def test_subscribe_unsubscribe(c):
    assert cmd(c, "a CREATE Lists")[1].startswith("a OK")
    assert cmd(c, "b SUBSCRIBE Lists")[1] == "b OK SUBSCRIBE completed."
    assert cmd(c, "d SUBSCRIBE Lists")[1].startswith("d OK")    # twice is fine
    # names that do not exist may be subscribed (RFC 9051 6.3.7)
    assert cmd(c, "e SUBSCRIBE Future/Box")[1].startswith("e OK")
    assert sorted(cmd(c, 'f LSUB "" *')[0]) == ['* LSUB () "/" Future/Box',
                                               '* LSUB () "/" Lists']
    assert cmd(c, "g UNSUBSCRIBE Lists")[1] == "g OK UNSUBSCRIBE completed."
    assert cmd(c, "h UNSUBSCRIBE Lists")[1].startswith("h OK")
    assert cmd(c, 'i LSUB "" *')[0] == ['* LSUB () "/" Future/Box']
    assert cmd(c, 'j SUBSCRIBE "a//b"')[1].startswith("j NO [CANNOT]")
    assert cmd(c, "k SUBSCRIBE")[1].startswith("k BAD")
    assert cmd(c, "l UNSUBSCRIBE a b")[1].startswith("l BAD")


# ---- STATUS ----

def append(c, tag, box, flags, body):
    c.send(b"%s APPEND %s %s {%d+}\r\n%s\r\n" % (tag.encode(), box.encode(), flags.encode(),
                                                  len(body), body))
    last = c.read_until_tag(tag)[-1]
    assert last.startswith(tag.encode() + b" OK"), last


def test_status(c):
    crlf = b"Subject: one\r\n\r\nbody\r\n"
    lf = b"Subject: two\n\nbody\nmore\n"
    append(c, "p1", "INBOX", "(\\Seen)", crlf)
    append(c, "p2", "INBOX", "(\\Deleted)", lf)
    append(c, "p3", "INBOX", "()", crlf)
    untagged, tagged = cmd(c, "a STATUS INBOX (MESSAGES RECENT UIDNEXT UNSEEN SIZE DELETED "
                              "APPENDLIMIT)")
    assert tagged == "a OK STATUS completed."
    # SIZE counts every line end as CRLF (RFC822.SIZE), bare-LF files too
    size = 2 * len(crlf) + len(lf) + lf.count(b"\n")
    assert untagged == ["* STATUS INBOX (MESSAGES 3 RECENT 3 UIDNEXT 4 UNSEEN 2 SIZE %d "
                        "DELETED 1 APPENDLIMIT 52428800)" % size], untagged
    # order as asked, duplicates once, case-insensitive items, name echoed
    untagged, _ = cmd(c, "b STATUS inbox (uidnext messages UIDNEXT)")
    assert untagged == ["* STATUS inbox (UIDNEXT 4 MESSAGES 3)"]
    untagged, _ = cmd(c, "d STATUS INBOX (UIDVALIDITY)")
    assert int(untagged[0].split()[-1].rstrip(")")) > 0
    assert cmd(c, "e STATUS Nowhere (MESSAGES)")[1].startswith("e NO [NONEXISTENT]")
    assert cmd(c, "f STATUS INBOX (HIGHESTMODSEQ X-NONE)")[1].startswith("f BAD")
    assert cmd(c, "g STATUS INBOX ()")[1].startswith("g BAD")
    assert cmd(c, "h STATUS INBOX MESSAGES")[1].startswith("h BAD")
    assert cmd(c, "i STATUS INBOX")[1].startswith("i BAD")
    assert cmd(c, "j STATUS (MESSAGES) INBOX")[1].startswith("j BAD")


def test_status_recent_is_per_session(srv, c):
    """STATUS RECENT counts what no session has claimed: it stays until a
    session selects the mailbox read-write, and another session sees it
    too (RFC 3501 2.3.2)."""
    append(c, "p1", "INBOX", "()", b"Subject: r\r\n\r\nx\r\n")
    with srv.connect("imap") as other:
        login(other)
        assert cmd(other, "a STATUS INBOX (RECENT)")[0] == ["* STATUS INBOX (RECENT 1)"]
    assert cmd(c, "b STATUS INBOX (RECENT)")[0] == ["* STATUS INBOX (RECENT 1)"]


# ---- names in every form ----

def test_mailbox_name_forms(c):
    # quoted with escapes, literal, non-synchronizing literal, atom with ']'
    assert cmd(c, r'a CREATE "say \"hi\" \\ there"')[1].startswith("a OK")
    c.sendline("b CREATE {9}")
    assert c.readline().startswith(b"+ ")
    c.sendline("tab{x}pad")
    assert c.read_until_tag("b")[-1].startswith(b"b OK")
    c.send(b"d CREATE {6+}\r\n50%off\r\n")
    assert c.read_until_tag("d")[-1].startswith(b"d OK")
    assert cmd(c, "e CREATE [Gmail]")[1].startswith("e OK")
    got = names(c)
    assert r'"say \"hi\" \\ there"' in got, got
    assert '"tab{x}pad"' in got and '"50%off"' in got and "[Gmail]" in got, got
    # each name reads back in the form it was listed in
    for n, name in enumerate(got):
        assert cmd(c, "s%d STATUS %s (MESSAGES)" % (n, name))[1].startswith("s%d OK" % n)


def test_modified_utf7_names(c):
    assert cmd(c, "a CREATE Caf&AOk-")[1].startswith("a OK")
    assert cmd(c, 'b CREATE "&ZeVnLIqe-/Tom &- Jerry"')[1].startswith("b OK")
    # listed in the order of the UTF-8 names
    assert names(c) == ["INBOX", "Caf&AOk-", "&ZeVnLIqe-", '"&ZeVnLIqe-/Tom &- Jerry"']
    # invalid modified UTF-7 and raw 8-bit (before ENABLE UTF8=ACCEPT) are BAD
    for n, bad in enumerate(("&AOk", "&Jjo!-", "&AGE-", "&-&", "Caf\u00e9")):
        assert cmd(c, 'x%d CREATE "%s"' % (n, bad))[1].startswith("x%d BAD" % n), bad
    # the store holds UTF-8: the Maildir folder name is the UTF-8 one
    assert cmd(c, "d STATUS Caf&AOk- (MESSAGES)")[0] == ["* STATUS Caf&AOk- (MESSAGES 0)"]


def test_utf8_accept(srv, c):
    assert cmd(c, "a CREATE Caf&AOk-")[1].startswith("a OK")
    untagged, tagged = cmd(c, "b ENABLE UTF8=ACCEPT")
    assert untagged == ["* ENABLED UTF8=ACCEPT"] and tagged.startswith("b OK")
    # names are UTF-8 now, in and out; '&' is an ordinary character
    assert names(c) == ["INBOX", '"Café"']
    assert cmd(c, 'd CREATE "日本語/Tom & Jerry"')[1].startswith("d OK")
    assert '"日本語/Tom & Jerry"' in names(c)
    assert cmd(c, 'e STATUS "Café" (MESSAGES)')[0] == ['* STATUS "Café" (MESSAGES 0)']
    assert cmd(c, "f CREATE &AOk-")[1].startswith("f OK")        # literally "&AOk-"
    assert "&AOk-" in names(c)
    c.send(b'g CREATE "bad\xc3"\r\n')
    assert c.read_until_tag("g")[-1].startswith(b"g BAD")
    # APPEND with the RFC 9755 UTF8 form and a UTF-8 mailbox name
    msg = "Subject: Grüße\r\n\r\nköstlich\r\n".encode()
    c.send(b'h APPEND "Caf\xc3\xa9" UTF8 (~{%d+}\r\n%s)\r\n' % (len(msg), msg))
    assert c.read_until_tag("h")[-1].startswith(b"h OK")
    assert cmd(c, 'i STATUS "Café" (MESSAGES)')[0] == ['* STATUS "Café" (MESSAGES 1)']
    c.send(b'j APPEND INBOX UTF8 ({3+}\r\nabc)\r\n')
    assert c.read_until_tag("j")[-1].startswith(b"j BAD")
    # another session without ENABLE still sees modified UTF-7
    with srv.connect("imap") as other:
        login(other)
        assert "&ZeVnLIqe-/Tom &- Jerry" in " ".join(names(other))
        assert "&-AOk-" in names(other)


# ---- ENABLE, ID, NAMESPACE ----

def test_enable(srv, c):
    assert cmd(c, "a ENABLE utf8=accept X-UNKNOWN CONDSTORE imap4REV2") == (
        ["* ENABLED UTF8=ACCEPT CONDSTORE IMAP4rev2"], "a OK ENABLE completed.")
    assert cmd(c, "b ENABLE UTF8=ACCEPT") == (["* ENABLED"], "b OK ENABLE completed.")
    assert cmd(c, "d ENABLE")[1].startswith("d BAD")
    assert cmd(c, 'e ENABLE "UTF8=ACCEPT"')[1].startswith("e BAD")
    with srv.connect("imap") as pre:
        pre.readline()
        assert cmd(pre, "f ENABLE UTF8=ACCEPT")[1].startswith("f BAD")


def test_id(srv):
    with srv.connect("imap") as c:
        c.readline()
        # valid before login, logged with every field escaped
        untagged, tagged = cmd(c, 'a ID ("name" "Test \\"client\\"" "version" "1.0" '
                                  '"os" NIL)')
        assert untagged == ['* ID ("name" "Loft" "version" "%s")' % untagged[0].split('"')[7]]
        assert tagged == "a OK ID completed."
        srv.wait_log(r'id "name"="Test \\"client\\"" "version"="1.0" "os"=NIL')
        assert cmd(c, "b ID NIL")[1].startswith("b OK")
        assert cmd(c, "d ID ()")[1].startswith("d OK")
        assert cmd(c, 'e ID ("name")')[1].startswith("e BAD")
        assert cmd(c, "f ID")[1].startswith("f BAD")
        assert cmd(c, "g ID (name x)")[1].startswith("g BAD")
        pairs = " ".join('"k%d" "v"' % i for i in range(31))
        assert cmd(c, "h ID (%s)" % pairs)[1].startswith("h BAD")
        pairs = " ".join('"k%d" "v"' % i for i in range(30))
        assert cmd(c, "i ID (%s)" % pairs)[1].startswith("i OK")
        assert cmd(c, 'j ID ("%s" "v")' % ("k" * 31))[1].startswith("j BAD")
        assert cmd(c, 'k ID ("k" "%s")' % ("v" * 1025))[1].startswith("k BAD")
        assert cmd(c, 'l ID ("k" "%s")' % ("v" * 1024))[1].startswith("l OK")
        srv.wait_log(r'id "k"="%s"\.\.\.$' % ("v" * 128))
        c.send(b'm ID ("x" {4+}\r\n\x01\r\n\x7f)\r\n')
        assert c.read_until_tag("m")[-1].startswith(b"m OK")
        srv.wait_log(r'id "x"="\\x01\\x0d\\x0a\\x7f"')


def test_namespace(c):
    assert cmd(c, "a NAMESPACE") == (['* NAMESPACE (("" "/")) NIL NIL'],
                                     "a OK NAMESPACE completed.")
    assert cmd(c, "b NAMESPACE x")[1].startswith("b BAD")


def test_commands_need_login(srv):
    with srv.connect("imap") as c:
        c.readline()
        for n, line in enumerate(("CREATE x", "DELETE x", "RENAME x y", "SUBSCRIBE x",
                                  "UNSUBSCRIBE x", 'LIST "" *', 'LSUB "" *', "NAMESPACE",
                                  "STATUS INBOX (MESSAGES)", "ENABLE UTF8=ACCEPT")):
            assert cmd(c, "t%d %s" % (n, line))[1] == "t%d BAD Log in first." % n


def test_pipelined_mailbox_commands(c):
    """Commands sent in one burst are answered in order, each after its
    store call (no command overtakes another)."""
    burst = []
    for i in range(50):
        burst.append("c%d CREATE Box%d" % (i, i))
        burst.append("s%d STATUS Box%d (MESSAGES)" % (i, i))
    burst.append("r RENAME Box0 Renamed")
    burst.append('l LIST "" Renamed')
    c.send(("\r\n".join(burst) + "\r\n").encode())
    for i in range(50):
        assert c.readline().startswith(b"c%d OK" % i)
        assert c.readline() == b"* STATUS Box%d (MESSAGES 0)\r\n" % i
        assert c.readline().startswith(b"s%d OK" % i)
    assert c.readline().startswith(b"r OK")
    assert c.readline() == b'* LIST (\\HasNoChildren) "/" Renamed\r\n'
    assert c.readline().startswith(b"l OK")


def test_store_layout_on_disk(srv, c):
    """Names reach the Maildir++ tree only through the store's escaping."""
    assert cmd(c, "a CREATE v1.2/Caf&AOk-")[1].startswith("a OK")
    user = os.path.join(srv.mail_dir, "alice")
    assert os.path.isdir(os.path.join(user, ".v1%2E2"))
    assert os.path.isdir(os.path.join(user, ".v1%2E2.Caf\u00e9"))
