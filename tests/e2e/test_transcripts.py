"""Runs every tests/e2e/transcripts/*.t conversation against a fresh server
(format: transcripts/README.md). Edge cases of the protocols live there as
data, one file each."""

import glob
import os
import re
import socket
import ssl

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = sorted(glob.glob(os.path.join(HERE, "transcripts", "*.t")))


ESCAPES = {"r": b"\r", "n": b"\n", "t": b"\t", "\\": b"\\"}


def unescape(text):
    """UTF-8 bytes of text with \\r \\n \\t \\\\ and \\xHH escapes."""
    out = b""
    for part in re.split(r"(\\x[0-9a-fA-F]{2}|\\[rnt\\])", text):
        if part.startswith("\\x") and len(part) == 4:
            out += bytes([int(part[2:], 16)])
        elif len(part) == 2 and part[0] == "\\" and part[1] in ESCAPES:
            out += ESCAPES[part[1]]
        else:
            out += part.encode("utf-8")
    return out


def parse(path):
    meta = {"listener": "imap", "config": {}, "users": {}}
    steps = []
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not line.strip():
                continue
            m = re.match(r"#\s*(listener|config|users):\s*(.*)$", line)
            if m:
                key, val = m.groups()
                if key == "listener":
                    meta["listener"] = val.strip()
                elif key == "config":
                    k, v = [x.strip() for x in val.split("=", 1)]
                    sec, name = k.split(".", 1)
                    meta["config"].setdefault(sec, {})[name] = v
                else:
                    u, p = val.strip().split(":", 1)
                    meta["users"][u] = p
                continue
            if line.startswith("#"):
                continue
            m = re.match(r"(C|C\+|S|S\.\.\.):\s?(.*)$", line)
            if m:
                steps.append((n, m.group(1), m.group(2)))
                continue
            m = re.match(r"(TLS|EOF)\s*$|SILENT\s+([0-9.]+)\s*$", line)
            if m:
                steps.append((n, m.group(1) or "SILENT", m.group(2)))
                continue
            raise ValueError("%s:%d: cannot parse %r" % (path, n, line))
    return meta, steps


def run(srv, meta, steps, name):
    c = srv.connect(meta["listener"])
    log = []
    try:
        for n, op, arg in steps:
            where = "%s:%d" % (name, n)
            if op == "C":
                c.send(unescape(arg) + b"\r\n")
                log.append("C: " + arg)
            elif op == "C+":
                c.send(unescape(arg))
                log.append("C+: " + arg)
            elif op in ("S", "S..."):
                while True:
                    got = c.readline()
                    if not got:
                        raise AssertionError("%s: connection closed, wanted /%s/\n%s"
                                             % (where, arg, "\n".join(log)))
                    text = got.rstrip(b"\r\n").decode("utf-8", "replace")
                    log.append("S: " + text)
                    if re.search(arg, text):
                        break
                    if op == "S":
                        raise AssertionError("%s: got %r, wanted /%s/\n%s"
                                             % (where, text, arg, "\n".join(log)))
            elif op == "TLS":
                left = c.starttls(srv.client_context())
                assert left == b"", "%s: plaintext after go-ahead: %r" % (where, left)
                log.append("TLS " + c.sock.version())
            elif op == "SILENT":
                extra = c.pending(float(arg))
                assert extra == b"", "%s: unexpected %r\n%s" % (where, extra, "\n".join(log))
            elif op == "EOF":
                try:
                    rest = c.read_eof(timeout=5)
                except (socket.timeout, TimeoutError):
                    raise AssertionError("%s: server did not close\n%s"
                                         % (where, "\n".join(log)))
                except ssl.SSLError:
                    rest = b""
                assert rest == b"", "%s: data before close: %r" % (where, rest)
    finally:
        c.close()


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(p)[:-2] for p in FILES])
def test_transcript(make_loft, path):
    meta, steps = parse(path)
    srv = make_loft(listeners=[meta["listener"]], config_extra=meta["config"],
                    users=meta["users"])
    run(srv, meta, steps, os.path.basename(path))
