#!/usr/bin/env python3
"""Seeds for the fuzz targets' corpora, so the smoke run in tests/run.sh
starts from real inputs instead of nothing.

  seeds.py write              (re)write tests/fuzz/corpus/<target>/ from the
                              protocol transcripts (tests/e2e/transcripts),
                              conf/loft.conf and typical names; commit them
  seeds.py messages DIR OUT   add reader seeds to OUT: small messages of the
                              mail corpus DIR (tests/corpus/mail) as APPEND
                              literals, the way a client sends them
                              (run.sh does this for its scratch corpus)

Each reader seed starts with 3 bytes (line limit, two split points), each
IMAP parser seed with 4 (limits, two split points), each IMAP session seed
with 1 (odd: SELECT INBOX first): see the targets."""

import glob
import hashlib
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def unescape(s):
    return (s.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t")
            .replace("\\x00", "\0").encode("utf-8", "surrogateescape"))


def client_bytes(path):
    """What the client sends in a transcript, as the wire carries it."""
    out = b""
    with open(path, errors="surrogateescape") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("C: "):
                out += unescape(line[3:]) + b"\r\n"
            elif line.startswith("C+: "):
                out += unescape(line[4:])
    return out


def put(target, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def write():
    transcripts = sorted(glob.glob(os.path.join(ROOT, "tests", "e2e", "transcripts", "*.t")))
    for t in transcripts:
        wire = client_bytes(t)
        if not wire:
            continue
        # reader: line limit 79 (data[0] % 80) and 64, splits inside
        for prefix in (bytes([79, 5, 40]), bytes([64, 1, 200])):
            put("reader", prefix + wire)
        if os.path.basename(t).startswith("imap-"):
            # parser: max_line 127, max_literal 63, depth 6, args 40
            for prefix in (bytes([119, 63, 7, 90]), bytes([30, 10, 0, 3])):
                put("imap-parser", prefix + wire)
            # session: logged in already (its LOGIN is a BAD), then with
            # INBOX selected (odd first byte)
            for prefix in (b"\0", b"\1"):
                put("imap-session", prefix + wire)
    extra = [
        b"a1 LOGIN {5}\r\nalice {6+}\r\nsecret\r\n",
        b"a2 APPEND INBOX (\\Seen $Work) {20}\r\nSubject: x\r\n\r\nbody\r\n\r\n",
        b"a3 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])\r\n",
        b"a4 STORE 1 +FLAGS (\\Deleted)\r\na5 SEARCH CHARSET UTF-8 TEXT \"x\\\"y\"\r\n",
        b"a6 LIST \"\" \"%\"\r\na7 SELECT \"&AMk-t&AOk-\"\r\n((((a))))\r\n",
        # the driver reads 2 raw lines after "AUTHENTICATE 2" (SASL responses)
        b"a8 AUTHENTICATE 2 PLAIN\r\nAGFsaWNlAHB3\r\n*\r\na9 NOOP\r\n",
    ]
    for e in extra:
        put("imap-parser", bytes([119, 63, 7, 90]) + e)
        put("reader", bytes([79, 9, 31]) + e)
    conf = open(os.path.join(ROOT, "conf", "loft.conf"), "rb").read()
    put("conf", conf)
    put("conf", b"[server]\nworkers = 2\n[listener imap]\nprotocol = imap\nport = 143\n"
                b"tls = starttls\n[tls]\ncert_file = \"c.pem\"\nkey_file = k.pem\n")
    for n in [b"1732000000.M12345P678Q1R0123456789abcdef.mx,U=17,S=2048,W=2090:2,FS",
              b"1732000000.M1P2.host,S=10:2,RSabc", b"1.M2P3.h:2,", b"new-file-no-info",
              b".Work.2024", b".Sent%2EOld.a", b"INBOX", b"Work/v1.2"]:
        put("maildir-name", n)
    for n in [b"&AMk-t&AOk-", b"Entw&APw-rfe", b"&ZeVnLIqe-", b"a&-b", b"plain"]:
        put("mutf7", n)


def messages(src, out):
    """Up to 64 messages of at most 8000 bytes, each as an APPEND literal
    (the reader's literal announce takes at most 4 digits)."""
    files = sorted(glob.glob(os.path.join(src, "**", "*.eml"), recursive=True))
    os.makedirs(out, exist_ok=True)
    n = 0
    for path in files:
        data = open(path, "rb").read()
        if len(data) > 8000:
            continue
        wire = b"a APPEND INBOX {%d}\r\n" % len(data) + data + b"\r\na NOOP\r\n"
        seed = bytes([79, len(wire) % 251, (len(wire) * 7) % 251]) + wire
        with open(os.path.join(out, "msg-" + hashlib.sha1(seed).hexdigest()[:16]), "wb") as f:
            f.write(seed)
        n += 1
        if n == 64:
            break
    print("seeds.py: %d message seeds from %s" % (n, src))


if __name__ == "__main__":
    if sys.argv[1:2] == ["write"]:
        write()
    elif sys.argv[1:2] == ["messages"] and len(sys.argv) == 4:
        messages(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
