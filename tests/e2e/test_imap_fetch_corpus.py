"""FETCH over the wire on the whole corpus (RFC 9051 6.4.5, RFC 3516).

The corpus (tests/corpus/mail) is APPENDed byte for byte into one Loft,
then:

- ENVELOPE, BODYSTRUCTURE, BODY[1], BODY[HEADER.FIELDS (FROM TO SUBJECT
  DATE)], RFC822.SIZE and BINARY.SIZE[1] of every message must be, byte for
  byte, what Debian's Dovecot answered (tests/differential/fixtures/),
  except the differences listed (and justified in docs/PROTOCOLS.md) in
  tests/differential/known-differences.txt; a listed difference that no
  longer occurs fails too;
- nested sections (TEXT, 2, 1.MIME, 2.MIME, 2.1, 1.1, 2.HEADER, 1.TEXT)
  must be what the parser's own tool (msg-dump --extra) reads from the
  file, which was compared with Dovecot by hand;
- BINARY[1] must have BINARY.SIZE[1] bytes, come as literal8 exactly when
  it holds NUL, and equal Python's base64 decoding where part 1 is cleanly
  base64.
"""
import base64
import binascii
import os
import re
import sys
import threading

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
DIFF = os.path.join(HERE, "..", "differential")
sys.path.insert(0, DIFF)
import compare  # noqa: E402
import fixture  # noqa: E402
from imapraw import RawImap  # noqa: E402

from imap_util import CORPUS, PASSWORD, USER  # noqa: E402
from loftserver import LoftServer  # noqa: E402

EXTRA = ["BODY[TEXT]", "BODY[2]", "BODY[1.MIME]", "BODY[2.MIME]", "BODY[2.1]", "BODY[1.1]",
         "BODY[2.HEADER]", "BODY[1.TEXT]"]
APPENDERS = 8


def known_differences():
    rows = set()
    with open(os.path.join(DIFF, "known-differences.txt"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            rel, item, _ = line.rstrip("\n").split("\t")
            rows.add((rel, item))
    return rows


@pytest.fixture(scope="module")
def corpus_server(tmp_path_factory):
    """A Loft holding the whole corpus in INBOX; yields (srv, files, uids)."""
    d = tmp_path_factory.mktemp("corpus")
    srv = LoftServer(d, listeners=["imap"], users={USER: PASSWORD},
                     config_extra={"storage": {"initial_mailboxes": ""},
                                   "log": {"level": "info"}})
    files = fixture.corpus_files(CORPUS)
    uids, errors = {}, []

    def appender(k):
        try:
            im = RawImap("127.0.0.1", srv.port("imap"))
            im.ok(b"LOGIN %s %s" % (USER.encode(), PASSWORD.encode()))
            for rel in files[k::APPENDERS]:
                with open(os.path.join(CORPUS, rel), "rb") as f:
                    data = f.read()
                _, tagged = im.ok(b"APPEND INBOX", ("lit", data))
                uids[rel] = int(re.search(rb"APPENDUID \d+ (\d+)", tagged).group(1))
            im.command(b"LOGOUT")
        except Exception as e:  # reported by the test, not lost in a thread
            errors.append(e)

    try:
        threads = [threading.Thread(target=appender, args=(k,)) for k in range(APPENDERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert len(uids) == len(files) >= 1000
        yield srv, files, uids
    finally:
        srv.close()


def connect(srv):
    im = RawImap("127.0.0.1", srv.port("imap"))
    im.ok(b"LOGIN %s %s" % (USER.encode(), PASSWORD.encode()))
    im.ok(b"EXAMINE INBOX")
    return im


def fetch_one(im, uid, item):
    """The item as it appears inside the FETCH response, or "ERROR <the
    tagged reply without its tag>" when the command failed."""
    untagged, tagged = im.command(b"UID FETCH %d (%s)" % (uid, item))
    if tagged.split(b" ", 2)[1] != b"OK":
        return b"ERROR " + tagged.split(b" ", 1)[1].rstrip(b"\r\n")
    resp = [r for r in untagged if b" FETCH (" in r]
    assert len(resp) == 1, untagged
    return fixture.strip_fetch(resp[0], uid)


def test_every_message_matches_dovecot_or_a_known_difference(corpus_server):
    srv, files, uids = corpus_server
    im = connect(srv)
    known = known_differences()
    new, seen = [], set()
    for rel in files:
        want = fixture.read(os.path.join(DIFF, "fixtures"), rel)
        for name, item in fixture.FIELDS:
            got = fixture.squash(fetch_one(im, uids[rel], item))
            if got == want[name]:
                continue
            seen.add((rel, name))
            if (rel, name) not in known:
                new.append("%s %s\n  dovecot %r\n  loft    %r" % (rel, name, want[name][:300],
                                                                 got[:300]))
    assert not new, "new differences:\n" + "\n".join(new[:20])
    gone = sorted(known - seen)
    assert not gone, "listed differences that no longer occur: %s" % gone[:20]


def msg_dump_extra(files):
    build = os.environ.get("LOFT_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))
    return compare.loft_items(os.path.join(build, "msg-dump"), CORPUS, files, len(EXTRA))


def test_nested_sections_match_the_parser(corpus_server):
    srv, files, uids = corpus_server
    want_all = msg_dump_extra(files)
    im = connect(srv)
    bad = []
    for rel in files:
        for name in EXTRA:
            want = want_all[rel][name]
            if want.endswith(b" ENOENT"):
                want = name.encode() + b" {0}\r\n"   # no such part: ""
            got = fetch_one(im, uids[rel], name.replace("BODY[", "BODY.PEEK[").encode())
            if got != want:
                bad.append("%s %s\n  want %r\n  got  %r" % (rel, name, want[:200], got[:200]))
    assert not bad, "\n".join(bad[:10])


BINARY_RE = re.compile(rb"BINARY\.SIZE\[1\] (\d+) BINARY\[1\] (~?)\{(\d+)\}\r\n")


def test_binary_of_part_one(corpus_server):
    srv, files, uids = corpus_server
    im = connect(srv)
    checked_b64 = 0
    for rel in files:
        untagged, tagged = im.command(b"UID FETCH %d (BINARY.SIZE[1] BINARY.PEEK[1] "
                                      b"BODY.PEEK[1] BODYSTRUCTURE)" % uids[rel])
        if b" OK " not in tagged:
            assert b"NO [UNKNOWN-CTE]" in tagged, (rel, tagged)
            continue
        r = untagged[0]
        m = BINARY_RE.search(r)
        assert m, (rel, r[:300])
        size, lit8, n = int(m.group(1)), m.group(2), int(m.group(3))
        data = r[m.end():m.end() + n]
        assert size == n == len(data), rel
        assert (b"\0" in data) == (lit8 == b"~"), rel
        # part 1 (or the only part) in base64: Python decodes it the same
        body = re.search(rb"BODY\[1\] \{(\d+)\}\r\n", r)
        raw = r[body.end():body.end() + int(body.group(1))]
        bs = r[r.index(b"BODYSTRUCTURE (") + 15:]
        first = bs[1:] if bs.startswith(b"(") else bs
        fields = re.match(rb'"([^"]*)" "[^"]*" (?:\([^)]*\)|NIL) (?:NIL|"[^"]*") '
                          rb'(?:NIL|"[^"]*") "([^"]*)"', first)
        # a leaf in base64 (a message/rfc822 part keeps its bytes: binary-nonleaf)
        if fields and fields.group(2).lower() == b"base64" and \
                fields.group(1).lower() != b"message":
            try:
                want = base64.b64decode(re.sub(rb"[^A-Za-z0-9+/=]", b"", raw), validate=True)
            except binascii.Error:
                continue                    # damaged base64: decoded best effort
            assert data == want, rel
            checked_b64 += 1
    assert checked_b64 >= 20


def test_fetch_all_macros_over_the_corpus(corpus_server):
    """FETCH 1:* of the structure items in one command: every message
    answered, in order, the page machinery crossing message boundaries."""
    srv, files, uids = corpus_server
    im = connect(srv)
    untagged, tagged = im.command(b"FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY PREVIEW EMAILID)")
    assert tagged.split(b" ")[1] == b"OK"
    resp = [r for r in untagged if b" FETCH (" in r]
    assert len(resp) == len(files)
    for seq, r in enumerate(resp, 1):
        assert r.startswith(b"* %d FETCH (UID " % seq)
        for item in (b" FLAGS (", b" INTERNALDATE \"", b" RFC822.SIZE ", b" ENVELOPE (",
                     b" BODY (", b" PREVIEW ", b" EMAILID (M"):
            assert item in r, (seq, item, r[:200])
