#!/usr/bin/env python3
"""IMAP FETCH, Loft vs Debian's Dovecot, side by side in one run.

Measures, over plain IMAP on loopback, one client, the time from sending
the command to the last byte of its tagged OK, and the servers' CPU time
for it (schedstat of all their threads and processes):
  - FETCH 1:* (ENVELOPE BODYSTRUCTURE) on a 10k-message mailbox: the real
    messages of the corpus (tests/corpus/mail) cycled to 10k;
  - FETCH 1:* FLAGS on a 100k-message mailbox of small messages;
  - for both, the first FETCH after the files arrived ("cold": each server
    parses and caches what it needs; the login and SELECT before it are
    shown apart, and Loft may have taken the files in before them, when
    inotify told it) and then the median of repeated rounds ("warm").
Both servers get the same files in the user's Maildir new/ before the first
login. Loft runs with 2 workers, Dovecot in its high-performance login mode;
each server runs alone while it is measured. Needs root (Dovecot drops
privileges). Benchmark, not a test:

    bench/imap_fetch.py [--loft build/loft] [--rounds 5] [--big 100000]
"""
import argparse
import os
import socket
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402
from conn_memory import cpu_seconds  # noqa: E402
from pop3 import fill_maildir  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "tests", "corpus", "mail")
MIME_USER = "benchmime"
BIG_USER = "benchbig"


def corpus_messages():
    out = []
    for root, _, files in os.walk(CORPUS):
        for f in sorted(files):
            if f.endswith(".eml"):
                with open(os.path.join(root, f), "rb") as fh:
                    out.append(fh.read())
    return out


def fill_corpus(d, n, msgs, uid=None, gid=None):
    """n messages cycled from msgs into d/new."""
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    for i in range(n):
        data = msgs[i % len(msgs)]
        vsize = len(data) + data.count(b"\n") - data.count(b"\r\n")
        name = "%d.M%dP2.bench,S=%d,W=%d" % (1700000000 + i, i, len(data), vsize)
        with open(os.path.join(d, "new", name), "wb") as f:
            f.write(data)
    if uid is not None:
        for root, dirs, files in os.walk(d):
            for x in dirs + files:
                os.chown(os.path.join(root, x), uid, gid)
        os.chown(d, uid, gid)


class Client:
    def __init__(self, port, user):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=600)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.n = 0
        self.run(None)                              # greeting
        self.run(b"LOGIN %s secret" % user.encode())

    def run(self, command):
        """Send command (None: read the greeting); bytes received until its
        tagged reply, which must be OK."""
        if command is not None:
            self.n += 1
            tag = b"\r\nT%d " % self.n
            self.sock.sendall(tag[2:] + command + b"\r\n")
        tail, total = b"\r\n", 0      # the line before ours ended
        while True:
            data = self.sock.recv(1 << 20)
            if not data:
                raise RuntimeError("connection closed")
            total += len(data)
            tail = (tail + data)[-4096:]
            if not tail.endswith(b"\r\n"):
                continue
            if command is None:
                return total
            i = tail.rfind(tag)
            if i >= 0 and tail.find(b"\r\n", i + 2) == len(tail) - 2:
                if not tail[i + len(tag):].startswith(b"OK"):
                    raise RuntimeError("%r: %r" % (command, tail[i:]))
                return total

    def close(self):
        try:
            self.run(b"LOGOUT")
        except RuntimeError:
            pass
        self.sock.close()


def timed(peer, client, command):
    cpu0, t0 = cpu_seconds(peer.pids()), time.perf_counter()
    nbytes = client.run(command)
    return time.perf_counter() - t0, cpu_seconds(peer.pids()) - cpu0, nbytes


def measure(args, peer, fill):
    r = {}
    for user, n, command in ((MIME_USER, args.mime, b"FETCH 1:* (ENVELOPE BODYSTRUCTURE)"),
                             (BIG_USER, args.big, b"FETCH 1:* (FLAGS)")):
        c = Client(peer.ports["imap"], user)   # creates the user's store
        c.close()
        fill(user, n)
        t0 = time.perf_counter()
        c = Client(peer.ports["imap"], user)
        c.run(b"SELECT INBOX")                 # the new files are taken in by now
        select_s = time.perf_counter() - t0
        cold = timed(peer, c, command)
        warm = [timed(peer, c, command) for _ in range(args.rounds)]
        c.close()
        r[user] = {
            "select": select_s, "cold": cold,
            "wall": statistics.median(w[0] for w in warm),
            "cpu": statistics.median(w[1] for w in warm),
            "bytes": warm[0][2],
        }
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loft", default=os.path.join(HERE, "..", "build", "loft"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--mime", type=int, default=10000)
    ap.add_argument("--big", type=int, default=100000)
    args = ap.parse_args()
    msgs = corpus_messages()
    users = [(MIME_USER, "secret"), (BIG_USER, "secret")]

    def fill(maildir):
        def f(user, n):
            box, uid, gid = maildir(user)
            if user == MIME_USER:
                fill_corpus(box, n, msgs, uid, gid)
            else:
                fill_maildir(box, n, uid, gid)
        return f

    results = peers.loft_then_dovecot(args.loft, users,
                                      lambda peer, maildir: measure(args, peer, fill(maildir)))
    lo, dv = results["loft"], results["dovecot"]
    print(f"{'measurement':58} {'loft':>10} {'dovecot':>10} {'ratio':>7}")

    def row(label, a, b):
        ratio = b / a if a and b else float("nan")
        print(f"{label:58} {a:10.1f} {b:10.1f} {ratio:6.2f}x")

    for user, what, n in ((MIME_USER, "FETCH 1:* (ENVELOPE BODYSTRUCTURE)", args.mime),
                          (BIG_USER, "FETCH 1:* FLAGS", args.big)):
        a, b = lo[user], dv[user]
        print(f"{what}, {n} messages ({a['bytes'] / 1e6:.1f} / {b['bytes'] / 1e6:.1f} MB "
              f"of responses):")
        row("  warm: ms (median of rounds)", a["wall"] * 1e3, b["wall"] * 1e3)
        row("  warm: server CPU ms", a["cpu"] * 1e3, b["cpu"] * 1e3)
        row("  cold (first FETCH after delivery): ms", a["cold"][0] * 1e3, b["cold"][0] * 1e3)
        row("  cold: server CPU ms", a["cold"][1] * 1e3, b["cold"][1] * 1e3)
        row("  login + SELECT before it: ms", a["select"] * 1e3, b["select"] * 1e3)
    print("(ratio: how many times faster Loft is, dovecot/loft; lower ms is better)")


if __name__ == "__main__":
    main()
