"""UNAUTHENTICATE (RFC 8437) end to end with raw lines: the connection goes
back to the not-authenticated state (pre-login capabilities, commands
refused until LOGIN), another user can log in and sees only their own
mail, ENABLEd extensions are forgotten, the pre-login line limit and login
deadline apply again, and COMPRESS stays active (STARTTLS cannot come
back under it). Also: a logged-in session outlives login_deadline."""

import time

import pytest

from imap_raw import cmd, zconnect, zlogin

USERS = {"alice": "secret", "bob": "hunter2"}
NO_INITIAL = {"storage": {"initial_mailboxes": '""'}}


@pytest.fixture
def srv(make_loft):
    return make_loft(listeners=["imap"], users=USERS, config_extra=NO_INITIAL)


def test_unauthenticate_and_log_in_as_another(srv):
    with srv.connect("imap") as c:
        greeting = c.readline().decode()
        pre_caps = greeting.split("[CAPABILITY ", 1)[1].split("]", 1)[0]
        _, tagged = cmd(c, "a UNAUTHENTICATE")
        assert tagged == "a BAD Log in first."
        _, tagged = cmd(c, "b LOGIN alice secret")
        assert " UNAUTHENTICATE " in tagged
        _, tagged = cmd(c, "c CREATE Alice-only")
        assert tagged.startswith("c OK")
        untagged, tagged = cmd(c, "d ENABLE UTF8=ACCEPT")
        assert untagged == ["* ENABLED UTF8=ACCEPT"]
        _, tagged = cmd(c, 'e CREATE "Caf\xe9"')
        assert tagged.startswith("e OK")
        _, tagged = cmd(c, "f UNAUTHENTICATE x")
        assert tagged == "f BAD UNAUTHENTICATE takes no arguments."
        _, tagged = cmd(c, "g UNAUTHENTICATE")
        assert tagged == "g OK Not authenticated any more; log in again."
        untagged, _ = cmd(c, "h CAPABILITY")
        assert untagged == ["* CAPABILITY " + pre_caps]
        for line in ('i LIST "" *', "j SELECT INBOX", "k ENABLE UTF8=ACCEPT",
                     "l UNAUTHENTICATE", "m GETQUOTAROOT INBOX"):
            _, tagged = cmd(c, line)
            assert tagged == line.split()[0] + " BAD Log in first.", tagged
        # Pipelined behind each other: the second runs after the first.
        c.send(b"n LOGIN bob hunter2\r\no LIST \"\" *\r\n")
        assert c.read_until_tag("n")[-1].startswith(b"n OK")
        lines = c.read_until_tag("o")
        assert [l.decode().rstrip("\r\n") for l in lines[:-1]] == \
            ['* LIST (\\HasNoChildren) "/" INBOX']
        # bob again as alice: the ENABLE of the first login is gone, names
        # come in modified UTF-7.
        _, tagged = cmd(c, "p UNAUTHENTICATE")
        assert tagged.startswith("p OK")
        _, tagged = cmd(c, "q LOGIN alice secret")
        assert tagged.startswith("q OK")
        untagged, _ = cmd(c, 'r LIST "" *')
        assert '* LIST (\\HasNoChildren) "/" Caf&AOk-' in untagged
        assert '* LIST (\\HasNoChildren) "/" Alice-only' in untagged


def test_pre_login_limits_return(make_loft):
    srv = make_loft(listeners=["imap"], users=USERS,
                    config_extra={"storage": {"initial_mailboxes": '""'},
                                  "limits": {"max_line_length_preauth": "100",
                                             "login_deadline": "1500ms"}})
    with srv.connect("imap") as c:
        c.readline()
        _, tagged = cmd(c, "a LOGIN alice secret")
        assert tagged.startswith("a OK")
        # Logged in: neither the login deadline nor the short line limit.
        time.sleep(2.0)
        _, tagged = cmd(c, 'b STATUS "%s" (MESSAGES)' % ("x" * 150))
        assert tagged == "b NO [NONEXISTENT] Mailbox does not exist."
        _, tagged = cmd(c, "c UNAUTHENTICATE")
        assert tagged.startswith("c OK")
        _, tagged = cmd(c, 'd LOGIN "%s" secret' % ("x" * 150))
        assert tagged == "d BAD Command line too long"
        # The login deadline runs again from UNAUTHENTICATE.
        line = c.readline(timeout=5)
        assert line.startswith(b"* BYE"), line
        assert c.read_eof(5) == b""


def test_compression_stays(srv):
    with zconnect(srv) as c:
        zlogin(c)
        assert c.compress() == "z OK DEFLATE active."
        _, tagged = c.cmd("a UNAUTHENTICATE")
        assert tagged.startswith("a OK")
        untagged, _ = c.cmd("b CAPABILITY")
        assert "STARTTLS" not in untagged[0] and "IMAP4rev1" in untagged[0]
        _, tagged = c.cmd("c STARTTLS")
        assert tagged.startswith("c BAD")
        _, tagged = c.cmd("d LOGIN bob hunter2")
        assert tagged.startswith("d OK")
        _, tagged = c.cmd("e COMPRESS DEFLATE")
        assert tagged.startswith("e NO [COMPRESSIONACTIVE]")
        untagged, _ = c.cmd('f LIST "" *')
        assert untagged == ['* LIST (\\HasNoChildren) "/" INBOX']
