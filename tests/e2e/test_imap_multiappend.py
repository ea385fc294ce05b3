"""MULTIAPPEND (RFC 3502) end to end with raw lines: several messages in
one APPEND, each with its own flags and date, streamed ({n}, {n+}, ~{n},
mixed), committed together with consecutive UIDs; and all or nothing: a
failure in the third message (TOOBIG, bad flags, TRYCREATE after the
mailbox vanished, quota over the set, too many messages) leaves none of
them, in the mailbox or in tmp/. The messages are read back from the
Maildir (SELECT/FETCH are another branch's)."""

import re
import pytest

from imap_raw import append_lit, cmd, login, messages, wait_tmp_empty

USERS = {"alice": "secret"}


def msg(i, size=0):
    body = b"Subject: message %d\r\n\r\nbody %d\r\n" % (i, i)
    return body + b"x" * size


@pytest.fixture
def srv(make_loft):
    return make_loft(listeners=["imap"], users=USERS,
                     config_extra={"storage": {"initial_mailboxes": '""'},
                                   "limits": {"max_literal_size": "100K"}})


def test_advertised(srv):
    with srv.connect("imap") as c:
        tagged = login(c)
        assert " MULTIAPPEND " in tagged


def test_three_messages_in_one_append(srv):
    with srv.connect("imap") as c:
        login(c)
        _, tagged = cmd(c, "c CREATE Box")
        c.send(b'a APPEND Box (\\Seen) ' + append_lit(msg(1)) +
               b' (\\Flagged $Work) "01-Feb-2020 10:00:00 +0000" ' + append_lit(msg(2)) +
               b' ' + append_lit(msg(3)) + b"\r\n")
        tagged = c.read_until_tag("a", timeout=20)[-1]
        # APPENDUID with the set of the new UIDs (RFC 4315 3, UIDPLUS)
        assert re.match(rb"a OK \[APPENDUID \d+ 1:3\] Append completed\.\r\n$", tagged), tagged
        got = messages(srv, "alice", "Box")
        assert list(got) == [1, 2, 3]
        assert [v[0] for v in got.values()] == [msg(1), msg(2), msg(3)]
        assert got[1][1] == "S" and got[2][1].startswith("F") and got[3][1] == ""
        untagged, _ = cmd(c, "s STATUS Box (MESSAGES UNSEEN UIDNEXT)")
        assert untagged == ["* STATUS Box (MESSAGES 3 UNSEEN 2 UIDNEXT 4)"]


def test_synchronizing_literals_each_get_a_continuation(srv):
    with srv.connect("imap") as c:
        login(c)
        c.send(b"a APPEND INBOX {%d}\r\n" % len(msg(1)))
        assert c.readline().startswith(b"+ ")
        c.send(msg(1) + b" ~{%d}\r\n" % len(msg(2)))
        assert c.readline().startswith(b"+ ")
        c.send(msg(2) + b" (\\Answered) {%d}\r\n" % len(msg(3)))
        assert c.readline().startswith(b"+ ")
        c.send(msg(3) + b"\r\n")
        assert re.match(rb"a OK \[APPENDUID \d+ 1:3\] Append completed\.\r\n$",
                        c.read_until_tag("a")[-1])
        assert [v[0] for v in messages(srv, "alice").values()] == [msg(1), msg(2), msg(3)]
        # Pipelined behind: answered after it.
        c.send(b"b APPEND INBOX " + append_lit(msg(4)) + b" " + append_lit(msg(5)) +
               b"\r\nn NOOP\r\n")
        assert c.read_until_tag("b")[-1].startswith(b"b OK")
        assert c.read_until_tag("n")[-1].startswith(b"n OK")
        assert len(messages(srv, "alice")) == 5


def nothing_left(srv, box="INBOX", before=0):
    """None of the messages is in the mailbox, and the temporary files of
    the refused ones are gone (removed on the pool after the reply)."""
    assert len(messages(srv, "alice", box)) == before
    wait_tmp_empty(srv, "alice", box)


def test_third_too_big(srv):
    with srv.connect("imap") as c:
        login(c)
        # {n}: refused before "+" with NO [TOOBIG]; the first two go too.
        c.send(b"a APPEND INBOX " + append_lit(msg(1)) + b" " + append_lit(msg(2)) +
               b" {200000}\r\n")
        assert c.readline(timeout=10) == b"a NO [TOOBIG] Message larger than APPENDLIMIT.\r\n"
        nothing_left(srv)
        # {n+}: its bytes are skipped, then BAD [TOOBIG].
        big = msg(3, 150000)
        c.send(b"b APPEND INBOX " + append_lit(msg(1)) + b" " + append_lit(msg(2)) + b" " +
               append_lit(big) + b"\r\n")
        assert c.readline(timeout=10) == b"b BAD [TOOBIG] Message larger than APPENDLIMIT.\r\n"
        nothing_left(srv)
        _, tagged = cmd(c, "n NOOP")
        assert tagged.startswith("n OK")


def test_third_bad_flags(srv):
    with srv.connect("imap") as c:
        login(c)
        c.send(b"a APPEND INBOX " + append_lit(msg(1)) + b" " + append_lit(msg(2)) +
               b" (\\Bogus) " + append_lit(msg(3)) + b"\r\n")
        tagged = c.readline(timeout=10)
        assert tagged.startswith(b"a BAD"), tagged
        nothing_left(srv)
        # A bad date, and flags with no message after them.
        c.send(b'b APPEND INBOX ' + append_lit(msg(1)) + b' "31-Foo-2020 10:00:00 +0000" ' +
               append_lit(msg(2)) + b"\r\n")
        assert c.readline(timeout=10).startswith(b"b BAD Invalid date-time.")
        c.send(b"c APPEND INBOX " + append_lit(msg(1)) + b" (\\Seen)\r\n")
        assert c.readline(timeout=10).startswith(b"c BAD")
        nothing_left(srv)


def test_third_trycreate_when_mailbox_vanished(srv):
    """The mailbox is deleted by another session after two messages were
    streamed: the third's begin finds no mailbox (NO [TRYCREATE]) and the
    first two, written but not committed, go with it."""
    with srv.connect("imap") as c, srv.connect("imap") as other:
        login(c)
        login(other)
        _, tagged = cmd(c, "c CREATE Box")
        c.send(b"a APPEND Box " + append_lit(msg(1)) + b" " + append_lit(msg(2)))
        # Both streamed before the mailbox goes.
        import time
        time.sleep(0.5)
        _, tagged = cmd(other, "d DELETE Box")
        assert tagged.startswith("d OK")
        c.send(b" {%d}\r\n" % len(msg(3)))
        line = c.readline(timeout=10)
        assert line.startswith(b"a NO [TRYCREATE]"), line
        _, tagged = cmd(other, "e CREATE Box")
        nothing_left(srv, "Box")


def test_quota_over_the_set(make_loft):
    srv = make_loft(listeners=["imap"], users=USERS,
                    config_extra={"storage": {"initial_mailboxes": '""', "quota_messages": "2"}})
    with srv.connect("imap") as c:
        login(c)
        c.send(b"a APPEND INBOX " + b" ".join(append_lit(msg(i)) for i in (1, 2, 3)) + b"\r\n")
        assert c.read_until_tag("a")[-1] == b"a NO [OVERQUOTA] Quota exceeded.\r\n"
        nothing_left(srv)
        c.send(b"b APPEND INBOX " + b" ".join(append_lit(msg(i)) for i in (1, 2)) + b"\r\n")
        assert c.read_until_tag("b")[-1].startswith(b"b OK")
        assert len(messages(srv, "alice")) == 2


def test_too_many_messages(make_loft):
    srv = make_loft(listeners=["imap"], users=USERS,
                    config_extra={"storage": {"initial_mailboxes": '""'},
                                  "imap": {"max_append_messages": "3"}})
    with srv.connect("imap") as c:
        login(c)
        c.send(b"a APPEND INBOX " + b" ".join(append_lit(msg(i)) for i in range(4)) + b"\r\n")
        line = c.readline(timeout=10)
        assert line == b"a NO [LIMIT] Too many messages in one APPEND.\r\n", line
        nothing_left(srv)
        c.send(b"b APPEND INBOX " + b" ".join(append_lit(msg(i)) for i in range(3)) + b"\r\n")
        assert c.read_until_tag("b")[-1].startswith(b"b OK")


def test_disconnect_mid_multiappend_leaves_nothing(srv):
    with srv.connect("imap") as c:
        login(c)
        c.send(b"a APPEND INBOX " + append_lit(msg(1)) + b" " + append_lit(msg(2)) +
               b" {50000+}\r\n" + b"y" * 20000)
    srv.wait_log(r'disconnect reason="eof"', timeout=10)
    nothing_left(srv)
