"""WITHIN (RFC 5032: OLDER, YOUNGER) and SAVEDATE (RFC 8514: the SAVEDATE
FETCH item, SAVEDBEFORE/SAVEDON/SAVEDSINCE and SAVEDATESUPPORTED) end to
end: exact replies on messages whose INTERNALDATE is old while their save
date is today, copies and adopted Maildir files get a save date of their
own, and bad intervals are refused."""

import datetime
import re

from imap_util import cmd, create_mailbox, drop_maildir, imap_server, login, raw_login

OLD = b"From: a@example.org\r\nSubject: old\r\n\r\nold\r\n"
NEW = b"From: b@example.org\r\nSubject: new\r\n\r\nnew\r\n"


def today(delta=0):
    d = datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=delta)
    return "%d-%s-%d" % (d.day, ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
                                 "Sep", "Oct", "Nov", "Dec"][d.month - 1], d.year)


def open_box(make_loft):
    srv = imap_server(make_loft)
    c = login(srv)
    assert c.append("INBOX", None, '"01-Jan-2020 10:00:00 +0000"', OLD)[0] == "OK"
    assert c.append("INBOX", None, None, NEW)[0] == "OK"
    c.logout()
    c = raw_login(srv)
    assert cmd(c, "s", "SELECT INBOX")[-1].startswith(b"s OK")
    return srv, c


def test_capabilities(make_loft):
    srv = imap_server(make_loft)
    c = login(srv)
    caps = c.capability()[1][0].decode().split()
    assert "WITHIN" in caps and "SAVEDATE" in caps
    c.logout()


def test_older_younger(make_loft):
    srv, c = open_box(make_loft)
    assert cmd(c, "a", "SEARCH YOUNGER 3600") == [b"* SEARCH 2", b"a OK SEARCH completed."]
    assert cmd(c, "b", "SEARCH OLDER 3600") == [b"* SEARCH 1", b"b OK SEARCH completed."]
    assert cmd(c, "c", "UID SEARCH OR OLDER 86400 YOUNGER 60") == [
        b"* SEARCH 1 2", b"c OK UID SEARCH completed."]
    assert cmd(c, "d", "SEARCH NOT YOUNGER 1000000000") == [b"* SEARCH", b"d OK SEARCH completed."]
    assert cmd(c, "e", "SEARCH RETURN (COUNT) OLDER 1") == [
        b'* ESEARCH (TAG "e") COUNT 1', b"e OK SEARCH completed."]
    # RFC 5032 4: interval = 1*DIGIT, a positive number of seconds
    assert cmd(c, "f", "SEARCH OLDER 0") == [b"f BAD The interval must be at least one second."]
    assert cmd(c, "g", "SEARCH YOUNGER -5") == [b"g BAD Invalid number."]
    assert cmd(c, "h", "SEARCH OLDER") == [b"h BAD Search key needs a number."]


def test_savedate_fetch_and_search(make_loft):
    srv, c = open_box(make_loft)
    r = cmd(c, "a", "FETCH 1:2 (SAVEDATE INTERNALDATE)")
    assert r[-1] == b"a OK FETCH completed."
    assert r[0].startswith(b'* 1 FETCH (SAVEDATE "')
    assert b'INTERNALDATE "01-Jan-2020 10:00:00 +0000"' in r[0]
    for line in r[:2]:
        m = re.search(rb'SAVEDATE "(\d+)-(\w+)-(\d+) ', line)
        assert m and "%d-%s-%s" % (int(m.group(1)), m.group(2).decode(),
                                   m.group(3).decode()) in (today(), today(-1)), line
    # by INTERNALDATE message 1 is from 2020; its save date is today
    assert cmd(c, "b", "SEARCH BEFORE 1-Jan-2021") == [b"* SEARCH 1", b"b OK SEARCH completed."]
    assert cmd(c, "c", "SEARCH SAVEDBEFORE 1-Jan-2021") == [b"* SEARCH", b"c OK SEARCH completed."]
    day = today()
    r = cmd(c, "d", "SEARCH SAVEDON %s" % day)
    if r[0] == b"* SEARCH":           # the run crossed midnight UTC
        day = today(-1)
        r = cmd(c, "d", "SEARCH SAVEDON %s" % day)
    assert r == [b"* SEARCH 1 2", b"d OK SEARCH completed."]
    assert cmd(c, "e", "SEARCH SAVEDSINCE %s" % day) == [
        b"* SEARCH 1 2", b"e OK SEARCH completed."]
    assert cmd(c, "f", "SEARCH SAVEDSINCE 1-Jan-2099") == [b"* SEARCH", b"f OK SEARCH completed."]
    assert cmd(c, "g", "SEARCH SAVEDATESUPPORTED") == [
        b"* SEARCH 1 2", b"g OK SEARCH completed."]
    assert cmd(c, "h", "SEARCH SAVEDON 31-Foo-2020") == [
        b"h BAD Invalid date (expected d-Mon-yyyy)."]
    assert cmd(c, "i", "UID FETCH 1 SAVEDATE")[0].startswith(b'* 1 FETCH (UID 1 SAVEDATE "')


def test_copy_and_adopted_files_get_save_dates(make_loft):
    srv, c = open_box(make_loft)
    create_mailbox(srv, "Archive")
    assert cmd(c, "a", "COPY 1 Archive")[-1].startswith(b"a OK")
    assert cmd(c, "b", "MOVE 2 Archive")[-1].startswith(b"b OK")
    drop_maildir(srv, 1)
    assert cmd(c, "n", "SELECT INBOX")[-1].startswith(b"n OK")
    r = cmd(c, "f", "FETCH 1:* SAVEDATE")
    assert len(r) == 3 and all(re.match(rb'\* \d FETCH \(SAVEDATE "[ 0-9]', ln) for ln in r[:2]), r
    assert cmd(c, "e", "EXAMINE Archive")[-1].startswith(b"e OK")
    r = cmd(c, "g", "SEARCH SAVEDSINCE 1-Jan-2021 BEFORE 1-Jan-2021")
    assert r == [b"* SEARCH 1", b"g OK SEARCH completed."]
