"""QUOTA (RFC 9208) end to end with imaplib (getquotaroot, getquota,
setquota) and raw lines: one quota root "" per user with STORAGE (1024
octets) and MESSAGE from the store's quota; no root for a user without
limits; SETQUOTA refused with NO (no QUOTASET); [OVERQUOTA] on APPEND;
STATUS DELETED-STORAGE, which QUOTA=RES-STORAGE requires."""

import imaplib

import pytest

from imap_raw import cmd, login

USERS = {"alice": "secret"}


def append(c, tag, size, flags=""):
    body = b"Subject: q\r\n\r\n" + b"x" * (size - 16) + b"\r\n"
    assert len(body) == size
    c.send(b"%s APPEND INBOX %s{%d+}\r\n" % (tag.encode(), flags.encode(), size) + body + b"\r\n")
    return c.read_until_tag(tag, timeout=10)[-1].decode().rstrip("\r\n")


@pytest.fixture
def limited(make_loft):
    return make_loft(listeners=["imap"], users=USERS,
                     config_extra={"storage": {"initial_mailboxes": '""',
                                               "quota_bytes": "10K",
                                               "quota_messages": "3"}})


def test_capabilities(limited):
    with limited.connect("imap") as c:
        greeting = c.readline().decode()
        assert "QUOTA" not in greeting
        _, tagged = cmd(c, 'a GETQUOTAROOT INBOX')
        assert tagged == "a BAD Log in first."
        _, tagged = cmd(c, "L LOGIN alice secret")
        caps = tagged.split("[CAPABILITY ", 1)[1].split("]", 1)[0].split()
        for token in ("QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE"):
            assert token in caps
        assert "QUOTASET" not in caps and not any(t.startswith("QUOTA=RES-MAILBOX") for t in caps)


def test_getquotaroot_and_getquota(limited):
    with limited.connect("imap") as c:
        login(c)
        assert append(c, "a", 1500).startswith("a OK")
        untagged, tagged = cmd(c, "b GETQUOTAROOT INBOX")
        assert untagged == ['* QUOTAROOT INBOX ""', '* QUOTA "" (STORAGE 2 10 MESSAGE 1 3)']
        assert tagged == "b OK GETQUOTAROOT completed."
        untagged, tagged = cmd(c, 'c GETQUOTA ""')
        assert untagged == ['* QUOTA "" (STORAGE 2 10 MESSAGE 1 3)']
        assert tagged == "c OK GETQUOTA completed."
        # The mailbox is echoed as sent; every mailbox has the same root.
        _, tagged = cmd(c, "d CREATE Work")
        untagged, _ = cmd(c, 'e GETQUOTAROOT "Work"')
        assert untagged[0] == '* QUOTAROOT Work ""'
        untagged, _ = cmd(c, 'e2 GETQUOTAROOT inbox')
        assert untagged[0] == '* QUOTAROOT inbox ""'
        _, tagged = cmd(c, "f GETQUOTAROOT Nope")
        assert tagged == "f NO [NONEXISTENT] Mailbox does not exist."
        _, tagged = cmd(c, 'g GETQUOTA "User quota"')
        assert tagged.startswith("g NO [NONEXISTENT]")
        for line in ("h GETQUOTA", "i GETQUOTA a b", "j GETQUOTAROOT", "k GETQUOTAROOT (x)"):
            _, tagged = cmd(c, line)
            assert tagged.startswith(line.split()[0] + " BAD"), tagged


def test_imaplib(limited):
    with limited.imap() as m:
        m.login("alice", "secret")
        typ, data = m.getquotaroot("INBOX")
        assert typ == "OK"
        assert data == [[b'INBOX ""'], [b'"" (STORAGE 0 10 MESSAGE 0 3)']]
        typ, data = m.getquota('""')
        assert typ == "OK" and data == [b'"" (STORAGE 0 10 MESSAGE 0 3)']
        typ, data = m.setquota('""', "(STORAGE 100)")
        assert typ == "NO" and data[0].startswith(b"[NOPERM]")
        m.logout()


def test_setquota_refused(limited):
    with limited.connect("imap") as c:
        login(c)
        _, tagged = cmd(c, 'a SETQUOTA "" (STORAGE 100 MESSAGE 5)')
        assert tagged == "a NO [NOPERM] Quotas are set by the administrator."
        _, tagged = cmd(c, 'b SETQUOTA "" ()')
        assert tagged.startswith("b NO [NOPERM]")
        for line in ('c SETQUOTA ""', 'd SETQUOTA "" (STORAGE)', 'e SETQUOTA "" (STORAGE x)',
                     'f SETQUOTA "" STORAGE 1', 'g SETQUOTA "" (STORAGE -1)'):
            _, tagged = cmd(c, line)
            assert tagged.startswith(line.split()[0] + " BAD"), tagged
        # Nothing changed.
        untagged, _ = cmd(c, 'h GETQUOTA ""')
        assert untagged == ['* QUOTA "" (STORAGE 0 10 MESSAGE 0 3)']


def test_overquota_on_append(limited):
    with limited.connect("imap") as c:
        login(c)
        assert append(c, "a", 4000).startswith("a OK")
        assert append(c, "b", 4000).startswith("b OK")
        # 8000 + 4000 bytes > 10K
        assert append(c, "c", 4000) == "c NO [OVERQUOTA] Quota exceeded."
        assert append(c, "d", 100).startswith("d OK")
        # Three messages is the limit.
        assert append(c, "e", 100) == "e NO [OVERQUOTA] Quota exceeded."
        untagged, _ = cmd(c, 'f GETQUOTA ""')
        assert untagged == ['* QUOTA "" (STORAGE 8 10 MESSAGE 3 3)']


def test_status_deleted_storage(limited):
    with limited.connect("imap") as c:
        login(c)
        assert append(c, "a", 1500, "(\\Deleted) ").startswith("a OK")
        assert append(c, "b", 700, "(\\Deleted \\Seen) ").startswith("b OK")
        assert append(c, "c", 3000).startswith("c OK")
        untagged, tagged = cmd(c, "s STATUS INBOX (DELETED DELETED-STORAGE MESSAGES)")
        # 1500 + 700 bytes = 2200: three 1024-octet units, rounded up.
        assert untagged == ["* STATUS INBOX (DELETED 2 DELETED-STORAGE 3 MESSAGES 3)"]
        untagged, tagged = cmd(c, 'l LIST "" "INBOX" RETURN (STATUS (DELETED-STORAGE))')
        assert untagged[-1] == "* STATUS INBOX (DELETED-STORAGE 3)"


def test_no_limits_no_root(make_loft):
    srv = make_loft(listeners=["imap"], users=USERS,
                    config_extra={"storage": {"initial_mailboxes": '""'}})
    with srv.connect("imap") as c:
        login(c)
        untagged, tagged = cmd(c, "a GETQUOTAROOT INBOX")
        assert untagged == ["* QUOTAROOT INBOX"]
        assert tagged == "a OK GETQUOTAROOT completed."
        _, tagged = cmd(c, 'b GETQUOTA ""')
        assert tagged.startswith("b NO [NONEXISTENT]")
        untagged, _ = cmd(c, "c STATUS INBOX (DELETED-STORAGE)")
        assert untagged == ["* STATUS INBOX (DELETED-STORAGE 0)"]


def test_message_limit_only(make_loft):
    srv = make_loft(listeners=["imap"], users=USERS,
                    config_extra={"storage": {"initial_mailboxes": '""',
                                              "quota_messages": "10"}})
    with srv.connect("imap") as c:
        login(c)
        untagged, _ = cmd(c, 'a GETQUOTA ""')
        assert untagged == ['* QUOTA "" (MESSAGE 0 10)']
