"""Differential check of METADATA (RFC 5464) on mailboxes against Debian's
Dovecot 2.3, which has it only with a mail_attribute_dict (DOVECOT_EXTRA).
test_imap_metadata_diff.py runs QUERIES against Loft and compares with
fixtures/dovecot-metadata.json, recorded by

    sudo /usr/bin/python3 tests/e2e/metadata_diff.py --record

(imap_diff.with_dovecot starts Dovecot). Normalizing keeps the status of
the tagged reply with its METADATA response code, and each METADATA
response as mailbox and (entry, value) pairs in name order (Dovecot
answers DEPTH in reverse order; RFC 5464 sets none) with values decoded,
so a quoted string and a literal compare equal. Left out, knowingly (see
docs/PROTOCOLS.md "METADATA"): server entries (Dovecot 2.3 has no
METADATA-SERVER), RENAME (Dovecot's file dict loses the entries, RFC 5464
keeps them), and the commands where Dovecot is laxer than RFC 5464 (an
empty entry list, a value on the bare /shared, a repeated option)."""

import os
import re
import sys

import imap_diff

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "fixtures", "dovecot-metadata.json")

DOVECOT_EXTRA = """mail_attribute_dict = file:%h/dovecot-attributes
protocol imap {
  imap_metadata = yes
}
"""

QUERIES = [
    "GETMETADATA INBOX (/private/comment /shared/comment)",
    'SETMETADATA INBOX (/private/comment "mine" /Shared/Comment "ours" '
    '/shared/vendor/loft/a "1" /shared/vendor/loft/a/b "22" /private/vendor/x "a b")',
    "GETMETADATA INBOX (/shared/comment /PRIVATE/comment)",
    "GETMETADATA INBOX /shared/comment",
    "GETMETADATA (DEPTH 1) INBOX /shared/vendor/loft",
    "GETMETADATA (DEPTH infinity) INBOX /shared",
    "GETMETADATA (DEPTH infinity MAXSIZE 1) INBOX /shared",
    "GETMETADATA (MAXSIZE 2 DEPTH 1) INBOX /private/vendor",
    "GETMETADATA (DEPTH 1) INBOX /shared",
    "GETMETADATA (DEPTH 1) INBOX /private",
    "GETMETADATA INBOX /private/none",
    "SETMETADATA INBOX (/shared/comment NIL /private/never NIL)",
    "GETMETADATA INBOX (/shared/comment /private/never)",
    "GETMETADATA Nowhere /private/comment",
    'SETMETADATA Nowhere (/private/comment "x")',
    "GETMETADATA INBOX /comment",
    'GETMETADATA INBOX "/private/a*"',
    'GETMETADATA INBOX "/private/a%"',
    "GETMETADATA INBOX /private//a",
    "GETMETADATA INBOX /shared/",
    "GETMETADATA (DEPTH 2) INBOX /shared",
    "CREATE Work",
    'SETMETADATA Work (/shared/comment "work")',
    "GETMETADATA Work /shared/comment",
    "DELETE Work",
    "CREATE Work/",
    "GETMETADATA Work (/shared/comment)",
]


def tokens(data):
    """IMAP tokens of data: '(' ')', atoms, and strings (quoted or literal)
    as ('s', bytes); NIL as None."""
    out, i = [], 0
    while i < len(data):
        c = data[i:i + 1]
        if c in (b" ", b"\r", b"\n"):
            i += 1
        elif c in (b"(", b")"):
            out.append(c.decode())
            i += 1
        elif c == b'"':
            j, buf = i + 1, b""
            while data[j:j + 1] != b'"':
                if data[j:j + 1] == b"\\":
                    j += 1
                buf += data[j:j + 1]
                j += 1
            out.append(("s", buf))
            i = j + 1
        else:
            m = re.match(rb"~?\{(\d+)\+?\}\r\n", data[i:])
            if m:
                n = int(m.group(1))
                start = i + m.end()
                out.append(("s", data[start:start + n]))
                i = start + n
                continue
            m = re.match(rb"[^ ()\r\n]+", data[i:])
            atom = m.group(0)
            out.append(None if atom.upper() == b"NIL" else atom.decode())
            i += m.end()
    return out


def normalize(lines):
    tag_line = lines[-1].split(b" ")
    status = tag_line[1].decode()
    code = re.search(rb"\[(METADATA [^\]]*)\]", lines[-1])
    out = [status + (" [%s]" % code.group(1).decode() if code else "")]
    body = b"\r\n".join(lines[:-1]) + b"\r\n"
    # one untagged response per "* " at a line start outside literals
    for resp in re.split(rb"(?:^|\r\n)(?=\* )", body):
        if not resp.startswith(b"* METADATA "):
            continue
        t = tokens(resp[len(b"* METADATA "):])
        mbox = t[0][1].decode() if isinstance(t[0], tuple) else t[0]
        inner = t[2:-1]
        pairs = []
        for k in range(0, len(inner), 2):
            v = inner[k + 1]
            pairs.append("%s=%s" % (inner[k].lower(), "NIL" if v is None
                                    else v[1].decode("utf-8", "replace")))
        out.append("METADATA %s %s" % (mbox, " ".join(sorted(pairs))))
    return out


def run_queries(host, port, user, password):
    s = imap_diff.Session(host, port, user, password)
    try:
        return {q: normalize(s.command(q)) for q in QUERIES}
    finally:
        s.close()


if __name__ == "__main__":
    if sys.argv[1:] == ["--record"]:
        imap_diff.record(FIXTURE, run_queries, DOVECOT_EXTRA)
    else:
        print(__doc__)
        sys.exit(2)
