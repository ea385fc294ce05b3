"""The fixture format shared by the Dovecot recorder and the comparison test.

One file per corpus message, fixtures/<corpus path>.imap, holding the FETCH
items of FIELDS in order, each as

    == NAME LENGTH\n<LENGTH bytes>\n

where the bytes are the item exactly as it appears inside the FETCH
response ("ENVELOPE (...)", "BODY[1] {12}\r\n...", or "ERROR <tagged
reply>" when the server refused the item). Items longer than BIG bytes are
kept as "sha256:<hex> <length>" so the fixtures stay small while the
comparison stays byte for byte.
"""
import hashlib
import os
import re

FIELDS = [
    ("RFC822.SIZE", b"RFC822.SIZE"),
    ("ENVELOPE", b"ENVELOPE"),
    ("BODYSTRUCTURE", b"BODYSTRUCTURE"),
    ("BODY[1]", b"BODY.PEEK[1]"),
    ("HEADER.FIELDS", b"BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)]"),
    ("BINARY.SIZE[1]", b"BINARY.SIZE[1]"),
]
BIG = 4096


def corpus_files(corpus):
    """Every message of the corpus (MANIFEST order)."""
    out = []
    with open(os.path.join(corpus, "MANIFEST.tsv"), encoding="utf-8") as f:
        next(f)
        for line in f:
            out.append(line.split("\t", 1)[0])
    return out


def strip_fetch(resp, uid):
    """'* 3 FETCH (UID 7 X)\\r\\n' or '* 3 FETCH (X UID 7)\\r\\n' -> b'X'."""
    m = re.match(rb"\* \d+ FETCH \(", resp)
    body = resp[m.end():]
    assert body.endswith(b")\r\n"), resp[-40:]
    body = body[:-3]
    u = b"UID %d" % uid
    if body.startswith(u + b" "):
        return body[len(u) + 1:]
    if body.endswith(b" " + u):
        return body[:-len(u) - 1]
    return body


def squash(value):
    if len(value) > BIG:
        return b"sha256:%s %d" % (hashlib.sha256(value).hexdigest().encode(), len(value))
    return value


def path_for(outdir, rel):
    return os.path.join(outdir, rel + ".imap")


def write(outdir, rel, items):
    p = path_for(outdir, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(dump(items))


def dump(items):
    out = b""
    for name, _ in FIELDS:
        v = squash(items[name])
        out += b"== %s %d\n" % (name.encode(), len(v)) + v + b"\n"
    return out


def parse(data):
    """Inverse of dump: {name: bytes}."""
    items = {}
    i = 0
    while i < len(data):
        nl = data.index(b"\n", i)
        head = data[i:nl].split(b" ")
        assert head[0] == b"==", data[i:nl]
        n = int(head[2])
        items[head[1].decode()] = data[nl + 1:nl + 1 + n]
        i = nl + 1 + n + 1
    return items


def read(outdir, rel):
    with open(path_for(outdir, rel), "rb") as f:
        return parse(f.read())
