#!/usr/bin/env python3
"""Durable LMTP deliveries per second, Loft beside Debian's Dovecot LMTP in
the same run (bench/README.md says how to read it).

For each server, each number of concurrent connections (1, 4, 16) and each
message size (4 KiB, 100 KiB), a fresh server in a fresh directory takes
deliveries from bench/bench-lmtp (C threads, one delivery at a time per
connection, MAIL/RCPT/DATA pipelined) for SECONDS; a delivery counts when
its final 250 arrived. Both servers acknowledge only durable messages:
Loft always (file and spool syncs, directory fsync, LMDB commit before the
250), Dovecot with mail_fsync = always (set here; its default "optimized"
skips fsyncs). For Loft the server's own counters (logged at its stop) give
messages per durable LMDB commit and spools per spool sync.

    sudo bench/bench-lmtp.py [--build build] [--dir /var/tmp/loft-bench-lmtp]
                             [--seconds 10] [--spool-sync group|file]

Needs root (Dovecot drops privileges to the bench user) and Debian's
dovecot-lmtpd (conf/install-deps.sh --bench). The directory must be on a
real disk, not tmpfs.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402

SIZES = ((4096, "4 KiB"), (102400, "100 KiB"))
CONCURRENCY = (1, 4, 16)


def run_client(client, port, conns, size, seconds):
    out = subprocess.run([client, "127.0.0.1", str(port), str(conns), str(size), str(seconds),
                          "bench"], capture_output=True, text=True, timeout=seconds + 120)
    m = re.search(r"deliveries (\d+) seconds ([\d.]+) rate ([\d.]+) failures (\d+)", out.stdout)
    if not m:
        raise RuntimeError("bench-lmtp: %s %s" % (out.stdout, out.stderr))
    return float(m.group(3)), int(m.group(1)), int(m.group(4))


def loft_totals(log_path):
    with open(log_path, errors="replace") as f:
        text = f.read()
    m = re.search(r"store totals: durable_commits=(\d+) write_ops=(\d+) ops_per_commit=([\d.]+) "
                  r"spool_syncs=(\d+) spools=(\d+) spools_per_sync=([\d.]+)", text)
    return m.groups() if m else None


def one(kind, args, conns, size):
    d = os.path.join(args.dir, "%s-%d-%d" % (kind, conns, size))
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    if kind == "loft":
        # info: the store's totals are logged at the stop (Dovecot logs
        # every delivery at info too)
        peer = peers.start_loft(os.path.join(args.build, "loft"), d, workers=2,
                                extra="[storage]\nspool_sync = %s\n" % args.spool_sync,
                                log_level="info")
    else:
        peer = peers.start_dovecot(d, extra="mail_fsync = always\n")
    try:
        time.sleep(0.5)
        rate, n, failed = run_client(os.path.join(args.build, "bench-lmtp"),
                                     peer.ports["lmtp"], conns, size, args.seconds)
    finally:
        peer.stop()
    note = ""
    if kind == "loft":
        peer.log.close()
        t = loft_totals(os.path.join(d, "loft.log"))
        if t:
            note = "%.1f msgs/commit, %.1f spools/sync" % (float(t[2]), float(t[5]))
    if failed:
        note += " (%d failed)" % failed
    shutil.rmtree(d, ignore_errors=True)
    return rate, n, note


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--build", default=os.path.join(here, "build"))
    ap.add_argument("--dir", default="/var/tmp/loft-bench-lmtp")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--spool-sync", default="group", choices=("group", "file"))
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    fs = subprocess.run(["stat", "-f", "-c", "%T", args.dir], capture_output=True,
                        text=True).stdout.strip()
    if fs == "tmpfs":
        sys.exit("bench-lmtp: %s is tmpfs; fsync would cost nothing" % args.dir)
    print("durable LMTP deliveries/s, %ss per run, Loft spool_sync=%s, Dovecot "
          "mail_fsync=always" % (args.seconds, args.spool_sync))
    print("%-8s %-6s %12s %12s %7s   %s" % ("size", "conns", "loft/s", "dovecot/s", "ratio",
                                         "loft notes"))
    for size, label in SIZES:
        for conns in CONCURRENCY:
            lr, _, note = one("loft", args, conns, size)
            dr, _, dnote = one("dovecot", args, conns, size)
            print("%-8s %-6d %12.1f %12.1f %6.2fx   %s%s" % (
                label, conns, lr, dr, lr / dr if dr else 0, note,
                (" dovecot:" + dnote) if dnote else ""), flush=True)


if __name__ == "__main__":
    main()
