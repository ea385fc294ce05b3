#!/usr/bin/env python3
"""POP3, Loft vs Debian's Dovecot, side by side in one run on this machine.

Measures (bench-pop3.c is the client, so Python is not what is timed):
  - login + UIDL: connect, USER/PASS, UIDL with every line read, QUIT, on a
    2k- and a 50k-message mailbox (median of rounds, after one warm-up login
    that lets each server index the new files);
  - RETR throughput: messages/s and MB/s over the 2k-message mailboxes of
    four users, request-response (one RETR in flight per connection) with 1
    and 4 connections, and pipelined (32 in flight) with 4 connections; plus
    the servers' CPU time per message (schedstat of all their threads and
    processes), which counts what each server spent whatever the machine's
    other load.
Both servers read the same messages (4 KiB-ish, LF line ends as an MTA
writes them) placed in each user's Maildir new/ before the first login.
Dovecot runs in its high-performance login mode; Loft with 2 workers.
Needs root (Dovecot drops privileges). Benchmark, not a test:

    bench/pop3.py [--loft build/loft] [--seconds 5] [--big 50000]
"""
import argparse
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402
from conn_memory import cpu_seconds  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RETR_USERS = ["bench0", "bench1", "bench2", "bench3"]
BIG_USER = "benchbig"


def message(i, rnd):
    words = ["mail", "server", "loft", "dovecot", "pop3", "retr", "line", "text", "body"]
    lines = [" ".join(rnd.choice(words) for _ in range(12)) for _ in range(55)]
    if i % 10 == 0:
        lines[3] = "." + lines[3]          # some lines to byte-stuff
    return ("Return-Path: <sender@example.org>\nFrom: Sender <sender@example.org>\n"
            "To: user@localhost\nSubject: message %d\nMessage-ID: <%d@example.org>\n"
            "Date: Thu, 03 Dec 2026 10:00:00 +0000\n\n%s\n" % (i, i, "\n".join(lines))).encode()


def fill_maildir(d, n, uid=None, gid=None):
    """Write n messages into d/new (creating d/{cur,new,tmp})."""
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    rnd = random.Random(42)
    for i in range(n):
        data = message(i, rnd)
        vsize = len(data) + data.count(b"\n")
        name = "%d.M%dP1.bench,S=%d,W=%d" % (1700000000 + i, i, len(data), vsize)
        with open(os.path.join(d, "new", name), "wb") as f:
            f.write(data)
    if uid is not None:
        for root, dirs, files in os.walk(d):
            for x in dirs + files:
                os.chown(os.path.join(root, x), uid, gid)
        os.chown(d, uid, gid)


def bench_bin(args):
    return os.path.join(os.path.dirname(os.path.abspath(args.loft)), "bench-pop3")


def client(args, *argv):
    p = subprocess.run([bench_bin(args)] + [str(a) for a in argv], capture_output=True,
                       text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError("bench-pop3 %s: %s" % (" ".join(map(str, argv)), p.stderr))
    return p.stdout.split()


def login_uidl(args, peer, user, rounds):
    port = peer.ports["pop3"]
    client(args, "login", "127.0.0.1", port, user, "secret", 1)   # warm-up: indexing
    lg, ul, tot, msgs = client(args, "login", "127.0.0.1", port, user, "secret", rounds)
    return float(lg), float(ul), float(tot), int(msgs)


def retr(args, peer, users, depth):
    p = subprocess.Popen([bench_bin(args), "retr", "127.0.0.1", str(peer.ports["pop3"]), "secret",
                          str(args.seconds), str(depth)] + list(users),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if p.stdout.readline().strip() != "ready":
        raise RuntimeError("bench-pop3 retr failed to log in")
    before = cpu_seconds(peer.pids())     # every server process of the run
    p.stdin.write("go\n")
    p.stdin.flush()
    msgs, nbytes, took = p.stdout.readline().split()
    cpu = cpu_seconds(peer.pids()) - before
    p.stdin.write("close\n")
    p.stdin.flush()
    p.wait(60)
    msgs, nbytes, took = int(msgs), int(nbytes), float(took)
    return msgs / took, nbytes / took / 1e6, cpu / msgs * 1e6 if msgs else float("nan")


def measure(args, peer, maildir_of):
    users = RETR_USERS + [BIG_USER]
    for u in users:                          # create the users' stores
        try:
            client(args, "login", "127.0.0.1", peer.ports["pop3"], u, "secret", 1)
        except RuntimeError:
            pass
    for u in RETR_USERS:
        maildir_of(u, args.small)
    maildir_of(BIG_USER, args.big)
    r = {}
    r["login_small"] = login_uidl(args, peer, RETR_USERS[0], 9)
    r["login_big"] = login_uidl(args, peer, BIG_USER, 5)
    for u in RETR_USERS[1:]:
        client(args, "login", "127.0.0.1", peer.ports["pop3"], u, "secret", 1)
    r["rr1"] = retr(args, peer, RETR_USERS[:1], 1)
    r["rr4"] = retr(args, peer, RETR_USERS, 1)
    r["pipe4"] = retr(args, peer, RETR_USERS, 32)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loft", default=os.path.join(HERE, "..", "build", "loft"))
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--small", type=int, default=2000)
    ap.add_argument("--big", type=int, default=50000)
    args = ap.parse_args()
    users = [(u, "secret") for u in RETR_USERS + [BIG_USER]]
    # the same password scheme as Dovecot's users file ({PLAIN}): the login
    # rows measure the mailbox work, not a hash
    def run(peer, maildir):
        def fill(user, n):
            box, uid, gid = maildir(user)
            fill_maildir(box, n, uid, gid)
        return measure(args, peer, fill)

    results = peers.loft_then_dovecot(args.loft, users, run)
    lo, dv = results["loft"], results["dovecot"]
    print(f"{'measurement':52} {'loft':>10} {'dovecot':>10} {'ratio':>7}")

    def row(label, a, b, higher_better=True, unit=""):
        ratio = (a / b if higher_better else b / a) if a and b else float("nan")
        print(f"{label:52} {a:10.1f} {b:10.1f} {ratio:6.2f}x {unit}")

    for key, n in (("login_small", args.small), ("login_big", args.big)):
        row(f"login+UIDL, {n} msgs: total ms (lower is better)", lo[key][2], dv[key][2],
            False)
        row(f"  of which USER/PASS ms", lo[key][0], dv[key][0], False)
        row(f"  of which UIDL ms", lo[key][1], dv[key][1], False)
    for key, label in (("rr1", "RETR req-resp, 1 conn"), ("rr4", "RETR req-resp, 4 conns"),
                       ("pipe4", "RETR pipelined x32, 4 conns")):
        row(f"{label}: msgs/s", lo[key][0], dv[key][0])
        row(f"{label}: MB/s", lo[key][1], dv[key][1])
        row(f"{label}: server CPU us/msg (lower is better)", lo[key][2], dv[key][2], False)
    print("(ratio: how many times better Loft is; %d-message mailboxes x4 for RETR, "
          "%.0f s per RETR run)" % (args.small, args.seconds))


if __name__ == "__main__":
    main()
