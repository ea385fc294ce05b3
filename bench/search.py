#!/usr/bin/env python3
"""SEARCH TEXT over 10k messages and SORT (DATE) over 100k, Loft vs Debian's
Dovecot, side by side (bench/peers.py starts both on loopback).

Both get the same generated messages (2-3 KiB of words each, a Date: header,
a subject) dropped into their Maildir's cur/ the way another delivery
program would leave them; each server indexes them on its first SELECT.
Then, per mailbox, the query runs once cold (the first time: Loft parses
each message and caches its structure, Dovecot builds its cache file) and
then ROUNDS times warm, alternating servers. Like for like: Debian's
Dovecot has no FTS plugin enabled, so its SEARCH TEXT reads every message
as Loft's does; neither uses a full-text index. Needs root (Dovecot drops
privileges).

    sudo python3 bench/search.py --loft build/loft [--small 10000] [--large 100000]
"""
import argparse
import os
import random
import shutil
import socket
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike "
         "november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee "
         "zulu mail server index store search sort thread message header body").split()
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def message(i, rnd, size):
    day, mon, year = 1 + rnd.randrange(28), MONTHS[rnd.randrange(12)], 2000 + rnd.randrange(24)
    hdr = ("From: sender%d@example.org\r\nTo: bench@example.org\r\nSubject: %s %s %d\r\n"
           "Date: %d %s %d %02d:%02d:%02d +0000\r\nMessage-ID: <%d@bench.example>\r\n\r\n"
           % (i % 97, rnd.choice(WORDS), rnd.choice(WORDS), i, day, mon, year,
              rnd.randrange(24), rnd.randrange(60), rnd.randrange(60), i))
    body, n = [], 0
    while n < size:
        line = " ".join(rnd.choice(WORDS) for _ in range(10))
        body.append(line)
        n += len(line) + 2
    if i % 1000 == 7:
        body.append("the needle zanzibar is here")
    return (hdr + "\r\n".join(body) + "\r\n").encode()


def fill(cur, n, size, uid_names, owner=None):
    os.makedirs(cur, exist_ok=True)
    rnd = random.Random(42)
    for i in range(n):
        name = "%d.m%07d.bench%s:2," % (1700000000 + i, i, (",U=%d" % (i + 1)) if uid_names else "")
        path = os.path.join(cur, name)
        with open(path, "wb") as f:
            f.write(message(i, rnd, size))
        if owner:
            os.chown(path, owner.pw_uid, owner.pw_gid)


class Client:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=3600)
        self.buf = b""
        self.n = 0
        self.line()

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(1 << 20)
            if not d:
                raise RuntimeError("closed")
            self.buf += d
        i = self.buf.index(b"\r\n") + 2
        ln, self.buf = self.buf[:i], self.buf[i:]
        return ln

    def cmd(self, text):
        self.n += 1
        tag = b"b%d" % self.n
        self.s.sendall(tag + b" " + text.encode() + b"\r\n")
        out = []
        while True:
            ln = self.line()
            if ln.startswith(tag + b" "):
                if not ln.startswith(tag + b" OK"):
                    raise RuntimeError(ln)
                return out
            out.append(ln)


def timed(c, q):
    t = time.perf_counter()
    out = c.cmd(q)
    return time.perf_counter() - t, out


def run(args):
    base = tempfile.mkdtemp(prefix="loft-bench-search.")
    os.chmod(base, 0o755)      # Dovecot's auth and mail processes read below it
    bu = peers.ensure_bench_user()
    results = []
    try:
        with peers.start_loft(os.path.abspath(args.loft), base + "/loft", workers=2) as lp, \
                peers.start_dovecot(base + "/dovecot") as dp:
            lc, dc = Client(lp.ports["imap"]), Client(dp.ports["imap"])
            for c in (lc, dc):
                c.cmd("LOGIN bench secret")
                c.cmd("CREATE small")
                c.cmd("CREATE large")
            lroot = os.path.join(base, "loft", "mail", "bench")
            droot = os.path.join(base, "dovecot", "mail", "bench", "Maildir")
            for box, n, size in (("small", args.small, 2500), ("large", args.large, 600)):
                fill(os.path.join(lroot, "." + box, "cur"), n, size, True)
                fill(os.path.join(droot, "." + box, "cur"), n, size, False, bu)
            for box, query in (("small", "SEARCH TEXT zanzibar"),
                               ("small", "SEARCH BODY \"kilo lima zulu xray\""),
                               ("large", "SORT (DATE) UTF-8 ALL"),
                               ("large", "SORT (SUBJECT) UTF-8 ALL")):
                row = {"query": "%s on %s (%d)" % (query, box, args.small if box == "small"
                                                 else args.large)}
                answers = {}
                for name, c in (("loft", lc), ("dovecot", dc)):
                    t = time.perf_counter()
                    c.cmd("SELECT " + box)
                    row[name + "_select"] = time.perf_counter() - t
                    row[name + "_cold"], answers[name] = timed(c, query)
                warm = {"loft": [], "dovecot": []}
                for _ in range(args.rounds):
                    for name, c in (("loft", lc), ("dovecot", dc)):
                        c.cmd("SELECT " + box)
                        warm[name].append(timed(c, query)[0])
                for name in warm:
                    row[name + "_warm"] = statistics.median(warm[name])
                row["same"] = answers["loft"] == answers["dovecot"]
                results.append(row)
                print_row(row)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return results


def print_row(r):
    print("%-48s cold loft %7.3fs dovecot %7.3fs (%.2fx) | warm loft %7.3fs dovecot %7.3fs "
          "(%.2fx) | same answer: %s"
          % (r["query"], r["loft_cold"], r["dovecot_cold"], r["loft_cold"] / r["dovecot_cold"],
             r["loft_warm"], r["dovecot_warm"], r["loft_warm"] / r["dovecot_warm"], r["same"]),
          flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loft", default="build/loft")
    ap.add_argument("--small", type=int, default=10000)
    ap.add_argument("--large", type=int, default=100000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    print("ratio = loft time / dovecot time (below 1: Loft is faster)")
    run(args)


if __name__ == "__main__":
    main()
