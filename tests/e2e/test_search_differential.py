"""SEARCH, SORT and THREAD against Debian Dovecot's recorded answers.

The corpus (tests/corpus/mail) is given to Loft with the flags, keyword and
INTERNALDATEs that tests/differential/search_battery.py gave Dovecot when
tests/differential/search_fixtures.py recorded search-fixtures.tsv: the
files are dropped into the Maildir with those flags in their names, UIDs
(U=) and modification times (another program delivering; the store adopts
them at the next SELECT and parses each message when a search first needs
it), and $Work is set with one UID STORE. Then every battery row (dozens of
SEARCH criteria, SORT orders, both THREAD algorithms) must give Dovecot's
answer, except the rows of search-known-differences.txt, each of which
docs/PROTOCOLS.md explains with its RFC clause."""

import calendar
import os
import sys

from imap_util import USER, PASSWORD, imap_server

HERE = os.path.dirname(os.path.abspath(__file__))
DIFF = os.path.join(HERE, "..", "differential")
sys.path.insert(0, DIFF)
import search_battery  # noqa: E402
from imapraw import RawImap  # noqa: E402

CORPUS = os.path.join(HERE, "..", "corpus", "mail")
LETTERS = [("\\Draft", "D"), ("\\Flagged", "F"), ("\\Answered", "R"), ("\\Seen", "S"),
           ("\\Deleted", "T")]


def drop_corpus(srv):
    cur = os.path.join(srv.mail_dir, USER, "cur")
    os.makedirs(cur, exist_ok=True)
    work = []
    for i, (rel, data) in enumerate(search_battery.messages(CORPUS)):
        flags = search_battery.flags(i)
        letters = "".join(l for f, l in LETTERS if f in flags)
        if "$Work" in flags:
            work.append(i + 1)
        path = os.path.join(cur, "m%07d.search,U=%d:2,%s" % (i, i + 1, letters))
        with open(path, "wb") as f:
            f.write(data)
        t = calendar.timegm(search_battery.BASE.timetuple()) + 7 * 3600 * i
        os.utime(path, (t, t))
    return work


def known():
    rows = {}
    with open(os.path.join(DIFF, "search-known-differences.txt"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            name, category = line.rstrip("\n").split("\t")
            rows[name.encode()] = category
    return rows


def test_search_sort_thread_match_dovecot(make_loft):
    srv = imap_server(make_loft)
    imap = RawImap("127.0.0.1", srv.port("imap"))
    imap.ok(b"LOGIN %s %s" % (USER.encode(), PASSWORD.encode()))
    imap.command(b"LOGOUT")
    work = drop_corpus(srv)
    imap = RawImap("127.0.0.1", srv.port("imap"))
    imap.ok(b"LOGIN %s %s" % (USER.encode(), PASSWORD.encode()))
    imap.ok(b"SELECT INBOX")
    imap.ok(b"UID STORE " + ",".join(map(str, work)).encode() + b" +FLAGS.SILENT ($Work)")
    # Dovecot's recording session had seen the messages arrive: none is
    # \Recent for its last SELECT, as none is for a second one here
    imap.ok(b"SELECT INBOX")
    rows = search_battery.run(imap)
    want = search_battery.read(os.path.join(DIFF, "search-fixtures.tsv"))
    assert len(rows) == len(want) >= 100
    expected = known()
    new, gone = [], []
    for name, got in rows:
        if got != want[name] and name not in expected:
            new.append("%s\n  dovecot %r\n  loft    %r" % (name.decode(errors="replace"),
                                                        want[name][:300], got[:300]))
        if got == want[name] and name in expected:
            gone.append(name)
    assert not new, "new differences:\n" + "\n".join(new[:20])
    assert not gone, "listed differences that no longer occur: %r" % gone


def test_every_category_is_justified_in_protocols_md():
    with open(os.path.join(HERE, "..", "..", "docs", "PROTOCOLS.md"), encoding="utf-8") as f:
        doc = f.read()
    for category in set(known().values()):
        assert "`%s`" % category in doc, "docs/PROTOCOLS.md does not explain " + category
