#!/usr/bin/env python3
"""Seeds for the fuzz targets' corpora, so the smoke run in tests/run.sh
starts from real inputs instead of nothing.

  seeds.py write              (re)write tests/fuzz/corpus/<target>/ from the
                              protocol transcripts (tests/e2e/transcripts),
                              conf/loft.conf and typical names; commit them
  seeds.py mailauth           (re)write the seeds of the sender-check targets
                              (spf-record, dkim-sig, dmarc-record, dns-msg,
                              authres) from the RFC 7208 suite, the signed
                              mail of tests/corpus/mail and typical records
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
    # smtp-parse: first byte 1 = MAIL, 0 = RCPT (2 = LMTP rules)
    for flag, args in [
            (1, b"FROM:<sender@example.net> SIZE=1024 BODY=8BITMIME SMTPUTF8"),
            (1, b"FROM:<> RET=HDRS ENVID=QQ+2B314159 AUTH=<>"),
            (0, b"TO:<alice@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice+40example.org"),
            (0, b"TO:<@relay.one,@relay.two:alice@example.org>"),
            (0, b"TO:<\"alice@evil.org\"@example.org>"),
            (0, b"TO:<alice%evil.org@example.org>"),
            (0, b"TO:<evil.org!alice@example.org>"),
            (0, b"TO:<alice@[127.0.0.1]>"),
            (0, b"TO:<alice@example.org.>"),
            (2, b"TO:<alice+work@localhost>"),
            (0, b"TO:<Postmaster>"),
            (0, "TO:<j\u00f6rg@b\u00fccher.example>".encode())]:
        put("smtp-parse", bytes([flag]) + args)
    for u in [b"imap://minbari.example.org/gray-council;UIDVALIDITY=385759045/;UID=20/"
              b";PARTIAL=0.1024",
              b"imap://joe@example.com/INBOX/;uid=20/;section=1.2;urlauth=submit+fred"
              b":internal:91354a473744909de610943775f92038",
              b"imap://joe@example.com/INBOX/;uid=20;EXPIRE=2006-04-05T11:12:13Z"
              b";URLAUTH=user+bob",
              b"imap://;AUTH=*@minbari.example.org/gray%20council?SUBJECT%20shadows",
              b"imap://psicorp.example.org/~peter/%E6%97%A5%E6%9C%AC%E8%AA%9E/"
              b"%E5%8F%B0%E5%8C%97",
              b"/INBOX;uidvalidity=7/;uid=1/;section=HEADER.FIELDS%20(FROM)/;partial=0.10",
              b";UID=5/;SECTION=TEXT", b"//[::1]:143/INBOX"]:
        put("imap-url", u)


def mailauth():
    """Seeds for the SPF, DKIM, DMARC, DNS reply and Authentication-Results
    targets (python3-yaml reads the SPF suite)."""
    import struct
    import yaml
    suite = os.path.join(ROOT, "tests", "conformance", "spf", "rfc7208-tests.yml")
    records = set()
    with open(suite, "rb") as f:
        for scenario in yaml.safe_load_all(f):
            for entries in (scenario.get("zonedata") or {}).values():
                for e in entries:
                    if isinstance(e, dict):
                        (t, v), = e.items()
                        if t in ("SPF", "TXT") and v not in ("NONE", "TIMEOUT"):
                            records.add("".join(v) if isinstance(v, list) else v)
    for r in sorted(records):
        put("spf-record", r.encode("utf-8", "surrogateescape"))
    mail = os.path.join(ROOT, "tests", "corpus", "mail")
    for path in sorted(glob.glob(os.path.join(mail, "**", "*.eml"), recursive=True)):
        data = open(path, "rb").read().replace(b"\r\n", b"\n")
        header = data.split(b"\n\n", 1)[0]
        for m in re.finditer(rb"^DKIM-Signature:(.*(?:\n[ \t].*)*)", header, re.M | re.I):
            put("dkim-sig", m.group(1).replace(b"\n", b"\r\n"))
        if b"Authentication-Results" in header and len(data) < 20000:
            put("authres", bytes([7, 40]) + data.replace(b"\n", b"\r\n"))
    for line in open(os.path.join(mail, "dkim-keys", "keys.tsv"), "rb"):
        if not line.startswith(b"#"):
            put("dkim-sig", line.split(b"\t")[1])
    for r in [b"v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; pct=25; "
              b"rua=mailto:d@example.com,mailto:e@example.net; ruf=mailto:f@example.com; fo=1; "
              b"rf=afrf; ri=86400", b"v=DMARC1;p=none", b"v=DMARC1; p=bogus; rua=mailto:x@y.z",
              b'"Joe" <joe@example.com>, group: a@b.example, c@d.example;',
              b"a@legitimate.com(.attacker.com"]:
        put("dmarc-record", r)
    put("authres", bytes([3, 9]) + b"Received: x\r\nAuthentication-Results: mx.fuzz;\r\n "
        b"spf=pass\r\nAuthentication-Results: other; none\r\n\r\nbody\r\n")

    def name(n):
        return b"".join(bytes([len(l)]) + l for l in n.split(b".")) + b"\0"

    def reply(rcode, qtype, rrs, ns=b""):
        head = struct.pack("!HHHHHH", 1, 0x8180 | rcode, 1, len(rrs), 1 if ns else 0, 0)
        body = name(b"x.test") + struct.pack("!HH", qtype, 1)
        for t, rd in rrs:
            body += b"\xc0\x0c" + struct.pack("!HHIH", t, 1, 300, len(rd)) + rd
        return head + body + ns
    soa = name(b"test") + struct.pack("!HHIH", 6, 1, 60, 38) + name(b"ns.test") + \
        name(b"h.test") + b"\0" * 20
    put("dns-msg", bytes([0]) + reply(0, 1, [(1, b"\xc0\x00\x02\x01"), (1, b"\x7f\0\0\x02")]))
    put("dns-msg", bytes([3]) + reply(0, 16, [(16, b"\x06v=spf1\x05 -all")]))
    put("dns-msg", bytes([2]) + reply(0, 15, [(15, b"\0\x0a\x04mail\xc0\x0c")]))
    put("dns-msg", bytes([4]) + reply(0, 12, [(5, name(b"y.test")), (12, name(b"h.test"))]))
    put("dns-msg", bytes([3]) + reply(3, 16, [], soa))


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
    elif sys.argv[1:2] == ["mailauth"]:
        mailauth()
    elif sys.argv[1:2] == ["messages"] and len(sys.argv) == 4:
        messages(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
