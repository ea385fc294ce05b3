"""IMAP LIST and LSUB end to end: RFC 3501/9051 patterns and references,
RFC 5258 LIST-EXTENDED selection and return options (SUBSCRIBED, REMOTE,
RECURSIVEMATCH, CHILDREN), RFC 6154 SPECIAL-USE, RFC 5819 LIST-STATUS,
hierarchy levels that do not exist, output larger than the connection's
buffer, and curl's imap:// listing. The same commands are compared with
Dovecot in test_imap_dovecot_diff.py; the grammar corner cases are also
transcripts (transcripts/imap-list-*.t)."""

import os
import shutil
import subprocess

import pytest

from test_imap_mailboxes import USERS, cmd, login, srv  # noqa: F401 (fixture)


@pytest.fixture
def c(srv):
    with srv.connect("imap") as conn:
        login(conn)
        for n, box in enumerate(("Fruit", "Fruit/Apple", "Fruit/Banana", "Tofu", "Vegetable",
                                 "Vegetable/Broccoli", "Vegetable/Corn", "Fruit/Peach")):
            assert cmd(conn, "c%d CREATE %s" % (n, box))[1].startswith("c%d OK" % n)
        for n, box in enumerate(("INBOX", "Fruit/Banana", "Fruit/Peach", "Vegetable",
                                 "Vegetable/Broccoli")):
            assert cmd(conn, "s%d SUBSCRIBE %s" % (n, box))[1].startswith("s%d OK" % n)
        assert cmd(conn, "d DELETE Fruit/Peach")[1].startswith("d OK")
        yield conn


def listing(c, line):
    untagged, tagged = cmd(c, "t " + line)
    assert tagged.startswith("t OK"), tagged
    return untagged


def test_plain_patterns(c):
    assert listing(c, 'LIST "" ""') == ['* LIST (\\Noselect) "/" ""']
    assert listing(c, 'LIST Fruit ""') == ['* LIST (\\Noselect) "/" ""']
    assert listing(c, 'LIST "" *') == [
        '* LIST (\\HasNoChildren) "/" INBOX',
        '* LIST (\\HasChildren) "/" Fruit',
        '* LIST (\\HasNoChildren) "/" Fruit/Apple',
        '* LIST (\\HasNoChildren) "/" Fruit/Banana',
        '* LIST (\\HasNoChildren) "/" Tofu',
        '* LIST (\\HasChildren) "/" Vegetable',
        '* LIST (\\HasNoChildren) "/" Vegetable/Broccoli',
        '* LIST (\\HasNoChildren) "/" Vegetable/Corn',
    ]
    assert listing(c, 'LIST "" %') == [
        '* LIST (\\HasNoChildren) "/" INBOX',
        '* LIST (\\HasChildren) "/" Fruit',
        '* LIST (\\HasNoChildren) "/" Tofu',
        '* LIST (\\HasChildren) "/" Vegetable',
    ]
    # the reference is a prefix; "Fruit/" + "%" lists Fruit's children
    assert listing(c, 'LIST Fruit/ %') == listing(c, 'LIST "" Fruit/%') == [
        '* LIST (\\HasNoChildren) "/" Fruit/Apple',
        '* LIST (\\HasNoChildren) "/" Fruit/Banana',
    ]
    assert listing(c, 'LIST "" *an*') == ['* LIST (\\HasNoChildren) "/" Fruit/Banana']
    assert listing(c, 'LIST "" inbox') == ['* LIST (\\HasNoChildren) "/" INBOX']
    assert listing(c, 'LIST "" In%') == ['* LIST (\\HasNoChildren) "/" INBOX']
    assert listing(c, "LIST {0+}\r\n {1+}\r\n%")[0] == '* LIST (\\HasNoChildren) "/" INBOX'
    assert listing(c, 'LIST "" Nothing') == []


def test_extended_selection_and_return(c):
    # RFC 5258 example 2
    assert listing(c, 'LIST (SUBSCRIBED) "" *') == [
        '* LIST (\\Subscribed \\HasNoChildren) "/" INBOX',
        '* LIST (\\Subscribed \\HasNoChildren) "/" Fruit/Banana',
        '* LIST (\\NonExistent \\Subscribed \\HasNoChildren) "/" Fruit/Peach',
        '* LIST (\\Subscribed \\HasChildren) "/" Vegetable',
        '* LIST (\\Subscribed \\HasNoChildren) "/" Vegetable/Broccoli',
    ]
    # example 8: Fruit only with RECURSIVEMATCH, then with CHILDINFO
    assert listing(c, 'LIST (SUBSCRIBED) "" %') == [
        '* LIST (\\Subscribed \\HasNoChildren) "/" INBOX',
        '* LIST (\\Subscribed \\HasChildren) "/" Vegetable',
    ]
    assert listing(c, 'LIST (SUBSCRIBED RECURSIVEMATCH) "" % RETURN (CHILDREN)') == [
        '* LIST (\\Subscribed \\HasNoChildren) "/" INBOX',
        '* LIST (\\HasChildren) "/" Fruit ("CHILDINFO" ("SUBSCRIBED"))',
        '* LIST (\\Subscribed \\HasChildren) "/" Vegetable ("CHILDINFO" ("SUBSCRIBED"))',
    ]
    # example 6-like: subscription state of everything listed
    assert listing(c, 'LIST (REMOTE) "" % RETURN (SUBSCRIBED)') == [
        '* LIST (\\Subscribed \\HasNoChildren) "/" INBOX',
        '* LIST (\\HasChildren) "/" Fruit',
        '* LIST (\\HasNoChildren) "/" Tofu',
        '* LIST (\\Subscribed \\HasChildren) "/" Vegetable',
    ]
    # several patterns: each name once
    assert listing(c, 'LIST "" (INBOX "Vegetable/%" Veg* "")') == [
        '* LIST (\\HasNoChildren) "/" INBOX',
        '* LIST (\\HasChildren) "/" Vegetable',
        '* LIST (\\HasNoChildren) "/" Vegetable/Broccoli',
        '* LIST (\\HasNoChildren) "/" Vegetable/Corn',
    ]
    # an empty pattern is not special in an extended LIST
    assert listing(c, 'LIST () "" ""') == []


def test_list_status(c):
    c.send(b"p APPEND Tofu (\\Seen) {11+}\r\nSubject: x\r\n")
    assert c.read_until_tag("p")[-1].startswith(b"p OK")
    # each STATUS right after its LIST line; none for a non-existent name
    assert listing(c, 'LIST (SUBSCRIBED) "" F* RETURN (STATUS (MESSAGES UIDNEXT))') == [
        '* LIST (\\Subscribed \\HasNoChildren) "/" Fruit/Banana',
        '* STATUS Fruit/Banana (MESSAGES 0 UIDNEXT 1)',
        '* LIST (\\NonExistent \\Subscribed \\HasNoChildren) "/" Fruit/Peach',
    ]
    assert listing(c, 'LIST "" Tofu RETURN (STATUS (MESSAGES UNSEEN SIZE RECENT))') == [
        '* LIST (\\HasNoChildren) "/" Tofu',
        '* STATUS Tofu (MESSAGES 1 UNSEEN 0 SIZE 11 RECENT 1)',
    ]


def test_special_use(c):
    assert cmd(c, "a CREATE Outbox (USE (\\Sent))")[1].startswith("a OK")
    assert cmd(c, "b CREATE Fruit/Bin (USE (\\Trash))")[1].startswith("b OK")
    # attributes always; SPECIAL-USE selection lists only special mailboxes
    assert '* LIST (\\HasNoChildren \\Sent) "/" Outbox' in listing(c, 'LIST "" %')
    assert listing(c, 'LIST (SPECIAL-USE) "" *') == [
        '* LIST (\\HasNoChildren \\Trash) "/" Fruit/Bin',
        '* LIST (\\HasNoChildren \\Sent) "/" Outbox',
    ]
    assert listing(c, 'LIST (SPECIAL-USE RECURSIVEMATCH) "" % RETURN (SPECIAL-USE)') == [
        '* LIST (\\HasChildren) "/" Fruit ("CHILDINFO" ("SPECIAL-USE"))',
        '* LIST (\\HasNoChildren \\Sent) "/" Outbox',
    ]


def test_lsub(c):
    assert listing(c, 'LSUB "" *') == [
        '* LSUB () "/" INBOX', '* LSUB () "/" Fruit/Banana', '* LSUB () "/" Fruit/Peach',
        '* LSUB () "/" Vegetable', '* LSUB () "/" Vegetable/Broccoli',
    ]
    # a level with subscribed children under it is \Noselect for a '%' pattern
    assert listing(c, 'LSUB "" %') == [
        '* LSUB () "/" INBOX', '* LSUB (\\Noselect) "/" Fruit', '* LSUB () "/" Vegetable',
    ]
    assert listing(c, 'LSUB "" Fruit') == []
    assert listing(c, 'LSUB Fruit/ %') == ['* LSUB () "/" Fruit/Banana',
                                          '* LSUB () "/" Fruit/Peach']


def test_bad_arguments(c):
    for n, line in enumerate((
            'LIST (RECURSIVEMATCH) "" %', 'LIST (REMOTE RECURSIVEMATCH) "" %',
            'LIST (NOSUCH) "" %', 'LIST "" % RETURN (NOSUCH)', 'LIST "" % RETURN CHILDREN',
            'LIST "" % RETURN (STATUS)', 'LIST "" % RETURN (STATUS (NOSUCH))',
            'LIST "" % EXTRA (X)', 'LIST "" ()', 'LIST ""', 'LIST', 'LIST "" ((x))',
            'LSUB "" (x)', 'LSUB ""', 'LIST "&AOk" %')):
        untagged, tagged = cmd(c, "b%d %s" % (n, line))
        assert untagged == [] and tagged.startswith("b%d BAD" % n), (line, tagged)


def test_missing_levels(srv, c):
    """A mailbox whose parent another program removed: the level is listed
    as \\Noselect (RFC 3501) or \\NonExistent (RFC 5258 example 11)."""
    assert cmd(c, "a CREATE music/rock")[1].startswith("a OK")
    assert cmd(c, "b SUBSCRIBE music/rock")[1].startswith("b OK")
    shutil.rmtree(os.path.join(srv.mail_dir, "alice", ".music"))
    with srv.connect("imap") as c2:
        login(c2)
        assert listing(c2, 'LIST "" mu*') == ['* LIST (\\HasNoChildren) "/" music/rock']
        assert listing(c2, 'LIST "" mu%') == ['* LIST (\\Noselect \\HasChildren) "/" music']
        assert listing(c2, 'LIST () "" mu%') == [
            '* LIST (\\NonExistent \\HasChildren) "/" music']
        assert listing(c2, 'LIST "" (mu% music/rock)') == [
            '* LIST (\\HasNoChildren) "/" music/rock']
        assert listing(c2, 'LSUB "" mu%') == ['* LSUB (\\Noselect) "/" music']
        assert listing(c2, 'LIST (SUBSCRIBED RECURSIVEMATCH) "" mu%') == [
            '* LIST (\\NonExistent \\HasChildren) "/" music ("CHILDINFO" ("SUBSCRIBED"))']
        assert cmd(c2, "d STATUS music (MESSAGES)")[1].startswith("d NO [NONEXISTENT]")


def test_large_output_with_back_pressure(make_loft):
    """A listing much larger than max_output_buffer is written in slices
    while the client reads, and the session goes on afterwards."""
    srv = make_loft(listeners=["imap"], users=USERS, config_extra={
        "storage": {"initial_mailboxes": '""'}, "limits": {"max_output_buffer": "1K"}})
    with srv.connect("imap", timeout=60) as c:
        login(c)
        n = 300
        c.send("".join("c%d CREATE Box-%s-%03d\r\n" % (i, "x" * 200, i)
                       for i in range(n)).encode())
        c.read_until_tag("c%d" % (n - 1), timeout=120)
        c.sendline('l LIST "" * RETURN (STATUS (MESSAGES UIDNEXT UNSEEN))')
        c.sendline("m NOOP")
        lines = c.read_until_tag("l", timeout=60)
        assert len(lines) == 2 * (n + 1) + 1 and lines[-1].startswith(b"l OK")  # + INBOX
        assert lines[2 + 2 * 150] == b'* LIST (\\HasNoChildren) "/" Box-%s-150\r\n' % (b"x" * 200)
        assert c.read_until_tag("m")[-1].startswith(b"m OK")
    srv.wait_log(r"list: output paused at 65536 of \d+ bytes")


def test_curl_lists_mailboxes(make_loft):
    """curl's imap:// URL without a mailbox lists them (LIST "" *)."""
    srv = make_loft(listeners=["imap"], users=USERS)
    url = "imap://127.0.0.1:%d/" % srv.port("imap")
    out = subprocess.run(["curl", "-sS", "--max-time", "20", "--user", "alice:secret", url],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        '* LIST (\\HasNoChildren) "/" INBOX',
        '* LIST (\\HasNoChildren \\Archive) "/" Archive',
        '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
        '* LIST (\\HasNoChildren \\Junk) "/" Junk',
        '* LIST (\\HasNoChildren \\Sent) "/" Sent',
        '* LIST (\\HasNoChildren \\Trash) "/" Trash',
    ], out.stdout
    out = subprocess.run(["curl", "-sS", "--max-time", "20", "--user", "alice:secret",
                          "-X", 'LSUB "" %', url], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert sorted(out.stdout.splitlines()) == sorted(
        '* LSUB () "/" %s' % n for n in ("Archive", "Drafts", "Junk", "Sent", "Trash"))
