"""The SEARCH/SORT/THREAD battery run against Dovecot (recorded by
search_fixtures.py into search-fixtures.tsv) and against Loft
(tests/e2e/test_search_differential.py): the same corpus appended in the
same order with the same flags and INTERNALDATEs, then the same commands.

Each battery row is (name, command parts); parts are bytes, or ("lit", b)
for a literal (8-bit strings). The answer recorded is the data of the
untagged SEARCH/SORT/THREAD response (or "ERROR <status>").
"""
import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture  # noqa: E402

BASE = datetime.datetime(2020, 1, 1, 0, 0, 0)
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def internaldate(i):
    t = BASE + datetime.timedelta(hours=7 * i)
    return '"%02d-%s-%04d %02d:%02d:%02d +0000"' % (t.day, MONTHS[t.month - 1], t.year,
                                                    t.hour, t.minute, t.second)


def flags(i):
    f = []
    if i % 2 == 0:
        f.append("\\Seen")
    if i % 3 == 0:
        f.append("\\Answered")
    if i % 5 == 0:
        f.append("\\Flagged")
    if i % 7 == 0:
        f.append("\\Deleted")
    if i % 11 == 0:
        f.append("\\Draft")
    if i % 4 == 1:
        f.append("$Work")
    return "(" + " ".join(f) + ")"


def messages(corpus):
    for rel in fixture.corpus_files(corpus):
        with open(os.path.join(corpus, rel), "rb") as f:
            yield rel, f.read()


def load(imap, corpus):
    """APPEND every corpus message to INBOX; returns how many."""
    n = 0
    for i, (rel, data) in enumerate(messages(corpus)):
        imap.ok(b"APPEND INBOX " + flags(i).encode() + b" " + internaldate(i).encode(),
                ("lit", data))
        n += 1
    return n


def lit(s):
    return ("lit", s.encode("utf-8") if isinstance(s, str) else s)


# Search criteria (after "UID SEARCH").
CRITERIA = [
    [b"ALL"], [b"ANSWERED"], [b"UNANSWERED"], [b"DELETED"], [b"UNDELETED"],
    [b"DRAFT"], [b"UNDRAFT"], [b"FLAGGED"], [b"UNFLAGGED"], [b"SEEN"], [b"UNSEEN"],
    [b"KEYWORD $Work"], [b"UNKEYWORD $Work"], [b"KEYWORD $Missing"],
    [b"LARGER 5000"], [b"SMALLER 2000"], [b"LARGER 1000 SMALLER 3000"],
    [b"BEFORE 1-Mar-2020"], [b"ON 15-Feb-2020"], [b"SINCE 1-Jun-2020"],
    [b"SINCE 1-Mar-2020 BEFORE 1-Apr-2020"],
    [b"SENTBEFORE 1-Jan-2005"], [b"SENTSINCE 1-Jan-2015"], [b"SENTON 3-Aug-2011"],
    [b"SENTSINCE 1-Jan-2010 SENTBEFORE 1-Jan-2012"],
    [b"FROM example"], [b"FROM @gmail.com"], [b"FROM Doe"], [b"FROM \"\""],
    [b"TO test"], [b"TO example.com"], [b"CC a"], [b"CC \"\""], [b"BCC e"],
    [b"FROM", lit("Jörg")], [b"FROM <"], [b"TO \"undisclosed\""],
    [b"SUBJECT test"], [b"SUBJECT re:"], [b"SUBJECT \"\""], [b"SUBJECT fwd"],
    [b"SUBJECT", lit("é")], [b"SUBJECT", lit("ü")], [b"SUBJECT", lit("Ж")],
    [b"SUBJECT", lit("日本")], [b"SUBJECT \"hello world\""], [b"SUBJECT \"  \""],
    [b"BODY the"], [b"BODY hello"], [b"BODY attachment"], [b"BODY \"\""],
    [b"BODY", lit("é")], [b"BODY", lit("ß")], [b"BODY", lit("Привет")],
    [b"BODY \"<html\""], [b"BODY \"=20\""], [b"BODY \"Content-Type\""],
    [b"TEXT boundary"], [b"TEXT \"Content-Type\""], [b"TEXT base64"], [b"TEXT Received"],
    [b"TEXT", lit("ñ")], [b"TEXT \"MIME-Version: 1.0\""],
    [b"HEADER Message-ID @"], [b"HEADER X-Mailer \"\""], [b"HEADER Received from"],
    [b"HEADER Content-Type multipart"], [b"HEADER Content-Type \"text/plain\""],
    [b"HEADER References \"\""], [b"HEADER In-Reply-To \"<\""], [b"HEADER Subject re"],
    [b"HEADER From example"], [b"HEADER X-Nonexistent-Field \"\""],
    [b"HEADER DKIM-Signature \"a=rsa\""],
    [b"NOT SEEN"], [b"NOT NOT SEEN"], [b"OR SEEN FLAGGED"], [b"OR (SEEN ANSWERED) DRAFT"],
    [b"NOT (OR SEEN FLAGGED)"], [b"OR FROM example SUBJECT test"],
    [b"NOT BODY the"], [b"OR BODY hello TEXT world"], [b"(FROM a TO b)"],
    [b"UID 1:100"], [b"UID 500:*"], [b"UID 3,7,11:13"], [b"1:10"], [b"*"], [b"100:*"],
    [b"NOT UID 1:1000"], [b"OR UID 1:5 UID 1000:*"], [b"2000"],
    [b"SEEN UNSEEN"], [b"OR NOT SEEN NOT UNSEEN"],
    [b"NEW"], [b"OLD"], [b"RECENT"],
    [b"CHARSET UTF-8 SUBJECT", lit("é")],
    [b"CHARSET ISO-8859-1 BODY", ("lit", "é".encode("iso-8859-1"))],
    [b"CHARSET KOI8-R BODY", ("lit", "Привет".encode("koi8-r"))],
    [b"CHARSET US-ASCII TEXT dkim"],
    [b"CHARSET NO-SUCH-CHARSET TEXT x"],
]

# Sort criteria (after "UID SORT"), with " UTF-8 ALL" after them.
SORTS = [
    b"(ARRIVAL)", b"(REVERSE ARRIVAL)", b"(DATE)", b"(REVERSE DATE)", b"(SIZE)",
    b"(SUBJECT)", b"(REVERSE SUBJECT)", b"(FROM)", b"(TO)", b"(CC)",
    b"(FROM DATE)", b"(SUBJECT REVERSE SIZE)", b"(DISPLAYFROM)", b"(DISPLAYTO)",
]
THREADS = [b"ORDEREDSUBJECT", b"REFERENCES"]


def battery():
    """(name, command parts) of every row."""
    rows = []
    for c in CRITERIA:
        name = b" ".join(p if isinstance(p, bytes) else b"{" + p[1] + b"}" for p in c)
        rows.append((b"UID SEARCH " + name, [b"UID SEARCH"] + c))
    for s in SORTS:
        rows.append((b"UID SORT " + s, [b"UID SORT " + s + b" UTF-8 ALL"]))
        rows.append((b"UID SORT " + s + b" UNDELETED",
                     [b"UID SORT " + s + b" UTF-8 UNDELETED"]))
    for t in THREADS:
        rows.append((b"UID THREAD " + t, [b"UID THREAD " + t + b" UTF-8 ALL"]))
    return rows


def answer(imap, parts):
    untagged, tagged = imap.command(*parts)
    status = tagged.split(b" ", 2)[1]
    if status != b"OK":
        return b"ERROR " + status
    for r in untagged:
        for word in (b"* SEARCH", b"* SORT", b"* THREAD"):
            if r.startswith(word):
                return r[len(word):].strip()
    return b"ERROR no response"


def run(imap):
    return [(name, answer(imap, parts)) for name, parts in battery()]


def escape(b):
    return b.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n")


def write(path, rows):
    with open(path, "wb") as f:
        f.write(b"# Recorded by tests/differential/search_fixtures.py: do not edit.\n")
        for name, ans in rows:
            f.write(escape(name) + b"\t" + escape(ans) + b"\n")


def read(path):
    out = {}
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(b"#"):
                continue
            name, ans = line.rstrip(b"\n").split(b"\t", 1)
            out[name.replace(b"\\t", b"\t").replace(b"\\n", b"\n").replace(b"\\\\", b"\\")] = \
                ans.replace(b"\\t", b"\t").replace(b"\\n", b"\n").replace(b"\\\\", b"\\")
    return out
