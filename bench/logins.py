#!/usr/bin/env python3
"""IMAP logins per second, Loft vs Debian's Dovecot, from one run on this
machine.

Both servers get the same users and the same stored hash: one made by
`loft user hash` with Loft's default scheme and cost ({ARGON2ID}, m=64 MiB,
t=3, p=1 unless --scheme-args says otherwise), written into Loft's users
file and into Dovecot's passwd-file as it is. C concurrent clients (16 by
default) each loop for D seconds over: connect to the plain IMAP port, read
the greeting, LOGIN, read the tagged OK, LOGOUT, wait for the close. Each
user logs in from as many clients as there are users (the users differ so
the per-user throttling and Dovecot's auth cache, off by default, play no
part). Both servers run at once (an idle one costs nothing) and are measured
in alternating rounds (-r, 3 by default, D/r seconds each), so load from
other programs on a shared machine falls on both alike. Reports logins/s,
latency percentiles, server CPU milliseconds per login (the steadier figure
when the machine is shared), and the ratios Loft/Dovecot. Dovecot runs in its high-performance login mode
(service_count = 0) with its default auth workers; Loft with its default
hash_threads (one per core). Needs root (Dovecot drops privileges).

Benchmark, not a test:  bench/logins.py [--loft build/loft] [-c 16] [-d 30] [-r 3]
"""
import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402
from conn_memory import cpu_seconds  # noqa: E402

PASSWORD = "bench-secret-1"


def one_login(port, user):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    f = s.makefile("rwb")
    try:
        if not f.readline().startswith(b"* OK"):
            raise RuntimeError("no greeting")
        f.write(b"a LOGIN %s %s\r\n" % (user.encode(), PASSWORD.encode()))
        f.flush()
        while True:
            line = f.readline()
            if not line:
                raise RuntimeError("closed during LOGIN")
            if line.startswith(b"a "):
                break
        if not line.startswith(b"a OK"):
            raise RuntimeError("login refused: %r" % line)
        f.write(b"b LOGOUT\r\n")
        f.flush()
        while f.readline():
            pass
    finally:
        f.close()
        s.close()


def warm_up(peer, users):
    for u in users:                      # stores opened, caches filled
        one_login(peer.ports["imap"], u)


def run(peer, users, clients, seconds):
    port = peer.ports["imap"]
    lat, errors, lock = [], [], threading.Lock()
    stop = time.monotonic() + seconds

    def client(i):
        user = users[i % len(users)]
        while time.monotonic() < stop:
            t0 = time.monotonic()
            try:
                one_login(port, user)
            except Exception as e:  # counted, reported below
                with lock:
                    errors.append(str(e))
                continue
            with lock:
                lat.append(time.monotonic() - t0)

    cpu0 = cpu_seconds(peer.pids())
    t0 = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    cpu = cpu_seconds(peer.pids()) - cpu0
    return {"lat": lat, "wall": wall, "cpu": cpu, "errors": errors}


def merge(rounds):
    lat = sorted(x for r in rounds for x in r["lat"])
    wall = sum(r["wall"] for r in rounds)
    cpu = sum(r["cpu"] for r in rounds)
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0.0
    return {"logins": len(lat), "rate": len(lat) / wall, "p50": pct(0.5), "p99": pct(0.99),
            "cpu_per_login": cpu / len(lat) * 1000 if lat else 0.0,
            "errors": [e for r in rounds for e in r["errors"]]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loft", default=os.path.join(os.path.dirname(__file__), "..",
                                                   "build", "loft"))
    ap.add_argument("-c", "--clients", type=int, default=16)
    ap.add_argument("-d", "--duration", type=float, default=30.0)
    ap.add_argument("-u", "--users", type=int, default=16)
    ap.add_argument("-r", "--rounds", type=int, default=3)
    args = ap.parse_args()
    loft = os.path.abspath(args.loft)
    names = ["bench%02d" % i for i in range(args.users)]
    with tempfile.TemporaryDirectory(prefix="loft-bench-logins-") as d:
        os.chmod(d, 0o755)
        conf = os.path.join(d, "hash.conf")
        with open(conf, "w") as f:
            f.write("[server]\nstate_dir = %s\n" % d)
        out = subprocess.run([loft, "-c", conf, "user", "hash", "--password", PASSWORD],
                             check=True, capture_output=True, text=True).stdout
        stored = re.search(r"\{ARGON2ID\}\S+|\{[A-Z0-9-]+\}\S+", out).group(0)
        hashes = {u: stored for u in names}
        users = [(u, PASSWORD) for u in names]
        cls = re.search(r"\$(m=\d+,t=\d+,p=\d+)\$", stored)
        print(f"scheme: {stored.split('}')[0][1:]} {cls.group(1) if cls else ''}; "
              f"{args.clients} clients, {args.users} users, {args.duration:.0f} s each in "
              f"{args.rounds} alternating rounds, "
              f"{os.cpu_count()} CPUs")
        rounds = {"loft": [], "dovecot": []}
        with peers.start_loft(loft, os.path.join(d, "loft"), workers=os.cpu_count() or 1,
                              users=users, hashes=hashes) as lp, \
                peers.start_dovecot(os.path.join(d, "dovecot"), users=users,
                                    hashes=hashes) as dp:
            warm_up(lp, names)
            warm_up(dp, names)
            for _ in range(args.rounds):
                for name, p in (("loft", lp), ("dovecot", dp)):
                    rounds[name].append(run(p, names, args.clients,
                                            args.duration / args.rounds))
        results = {name: merge(r) for name, r in rounds.items()}
    print(f"{'server':<9}{'logins/s':>10}{'p50 ms':>10}{'p99 ms':>10}"
          f"{'CPU ms/login':>14}{'logins':>8}{'errors':>8}")
    for name, r in results.items():
        print(f"{name:<9}{r['rate']:>10.1f}{r['p50']:>10.0f}{r['p99']:>10.0f}"
              f"{r['cpu_per_login']:>14.1f}{r['logins']:>8}{len(r['errors']):>8}")
        for e in sorted(set(r["errors"]))[:3]:
            print(f"  {name} error: {e}")
    lo, do = results["loft"], results["dovecot"]
    if do["rate"] > 0 and lo["cpu_per_login"] > 0:
        print(f"ratio loft/dovecot: logins/s {lo['rate'] / do['rate']:.2f}, "
              f"logins per CPU second {do['cpu_per_login'] / lo['cpu_per_login']:.2f}")


if __name__ == "__main__":
    main()
