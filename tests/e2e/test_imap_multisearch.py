"""MULTISEARCH (RFC 7377): ESEARCH IN (...) over several mailboxes, in the
authenticated and the selected state, answered per mailbox with MAILBOX
and UIDVALIDITY and always UIDs; the source filters of RFC 5465; the
refusals (sequence numbers, "$", unknown filters, RETURN options that need
one mailbox)."""

import re

from imap_util import cmd, create_mailbox, imap_server, login, raw_login

MSG = b"From: a@example.org\r\nSubject: %s\r\n\r\nbody\r\n"


def fill(make_loft):
    srv = imap_server(make_loft)
    for name in ("Work", "Work/Old", "Work/Old/Deep", "Lists"):
        create_mailbox(srv, name)
    c = login(srv)
    for box, subjects in (("INBOX", ["hello", "other", "hello again"]), ("Work", ["hello"]),
                          ("Work/Old", ["nothing"]), ("Work/Old/Deep", ["hello deep"]),
                          ("Lists", ["hello list"])):
        for s in subjects:
            assert c.append(box, None, None, MSG % s.encode())[0] == "OK"
    assert c.subscribe("Lists")[0] == "OK"
    c.logout()
    return srv


def uidv(lines):
    """{mailbox: line with its UIDVALIDITY replaced by V}."""
    out = {}
    for ln in lines[:-1]:
        m = re.match(rb'\* ESEARCH \(TAG "[^"]+" MAILBOX "?([^" ]+)"? UIDVALIDITY \d+\) (.*)$', ln)
        assert m, ln
        out[m.group(1).decode()] = m.group(2).decode()
    return out


def test_capability_and_sources(make_loft):
    srv = fill(make_loft)
    c = raw_login(srv)
    caps = cmd(c, "c", "CAPABILITY")[0].split()
    assert b"MULTISEARCH" in caps
    r = cmd(c, "a", "ESEARCH IN (personal) SUBJECT hello")
    assert r[-1] == b"a OK ESEARCH completed."
    assert uidv(r) == {"INBOX": "UID ALL 1,3", "Lists": "UID ALL 1", "Work": "UID ALL 1",
                       "Work/Old/Deep": "UID ALL 1"}
    # the order is the mailbox list's (INBOX first); one line per mailbox
    assert [ln.split(b" ")[5] for ln in r[:-1]] == [b"INBOX", b"Lists", b"Work",
                                                     b"Work/Old/Deep"]
    r = cmd(c, "b", 'ESEARCH IN (subtree-one "Work" inboxes) RETURN (COUNT MIN MAX) SUBJECT hello')
    assert uidv(r) == {"INBOX": "UID MIN 1 MAX 3 COUNT 2", "Work": "UID MIN 1 MAX 1 COUNT 1"}
    r = cmd(c, "d", 'ESEARCH IN (subtree Work) SUBJECT hello')
    assert uidv(r) == {"Work": "UID ALL 1", "Work/Old/Deep": "UID ALL 1"}
    r = cmd(c, "e", 'ESEARCH IN (mailboxes (Lists "Work/Old") subscribed) ALL')
    assert uidv(r) == {"Lists": "UID ALL 1", "Work/Old": "UID ALL 1"}
    # a mailbox that does not exist, or no match: no answer for it
    assert cmd(c, "f", "ESEARCH IN (mailboxes Nowhere) ALL") == [b"f OK ESEARCH completed."]
    assert cmd(c, "g", "ESEARCH IN (personal) SUBJECT zzz") == [b"g OK ESEARCH completed."]
    # UID sets apply in every mailbox; "*" is the largest UID
    r = cmd(c, "h", "ESEARCH IN (personal) UID 2:*")

    assert uidv(r) == {"INBOX": "UID ALL 2:3"}
    # no IN and nothing selected: nothing to search
    assert cmd(c, "i", "ESEARCH ALL") == [b"i OK ESEARCH completed."]


def test_selected_state(make_loft):
    srv = fill(make_loft)
    c = raw_login(srv)
    assert cmd(c, "s", "SELECT INBOX")[-1].startswith(b"s OK")
    r = cmd(c, "a", "ESEARCH SUBJECT hello")
    assert uidv(r) == {"INBOX": "UID ALL 1,3"}
    # sequence numbers and "$" are fine when only the selected mailbox is searched
    r = cmd(c, "b", "ESEARCH IN (selected) 2:3")
    assert uidv(r) == {"INBOX": "UID ALL 2:3"}
    r = cmd(c, "c", "ESEARCH IN (selected inboxes Lists) RETURN (COUNT) ALL")
    assert r[-1] == b"c BAD Unknown mailbox filter."
    r = cmd(c, "d", "ESEARCH IN (selected mailboxes Lists) RETURN (COUNT) ALL")
    assert uidv(r) == {"INBOX": "UID COUNT 3", "Lists": "UID COUNT 1"}
    # RFC 7377 2: message numbers are meaningless in other mailboxes
    assert cmd(c, "e", "ESEARCH IN (personal) 1:2") == [
        b"e BAD Only UIDs can name messages of several mailboxes."]
    assert cmd(c, "f", "ESEARCH IN (personal) $") == [
        b"f BAD Only UIDs can name messages of several mailboxes."]
    assert cmd(c, "g", "ESEARCH IN (personal) RETURN (SAVE) ALL") == [
        b"g BAD ESEARCH returns MIN, MAX, ALL and COUNT only."]
    assert cmd(c, "h", "ESEARCH IN (bogus) ALL") == [b"h BAD Unknown mailbox filter."]
    assert cmd(c, "i", "ESEARCH IN () ALL") == [b"i BAD IN needs a list of mailbox filters."]
    assert cmd(c, "j", "ESEARCH IN (subtree) ALL") == [b"j BAD The filter needs mailbox names."]
    assert cmd(c, "k", "ESEARCH IN (personal) FROB") == [b"k BAD Unknown search key."]
