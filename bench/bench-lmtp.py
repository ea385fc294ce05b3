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
                             [--seconds 10] [--spool-sync group|file] [--sieve]

--sieve: each row also delivers through the 50-rule script of bench-sieve
(`bench-sieve --print-script`: header, address, envelope, body tests, none
of which the bench message matches, so it is kept in INBOX) as the user's
active script: Loft's ManageSieve layout (<mail>/<user>/sieve/, .active) and
Dovecot's Pigeonhole (dovecot-sieve: `sieve = file:~/sieve;active=
~/.dovecot.sieve` with the sieve plugin in LMTP).

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


DOVECOT_SIEVE = """protocol lmtp {
  mail_plugins = $mail_plugins sieve
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
}
"""


def install_script(kind, d, script):
    """The 50-rule script as the bench user's active one."""
    home = os.path.join(d, "mail", "bench")
    sdir = os.path.join(home, "sieve")
    os.makedirs(sdir, exist_ok=True)
    with open(os.path.join(sdir, "bench.sieve"), "w") as f:
        f.write(script)
    if kind == "loft":
        os.symlink("bench.sieve", os.path.join(sdir, ".active"))
        return
    os.symlink("sieve/bench.sieve", os.path.join(home, ".dovecot.sieve"))
    bu = peers.ensure_bench_user()
    for path in (home, sdir, os.path.join(sdir, "bench.sieve")):
        os.chown(path, bu.pw_uid, bu.pw_gid)


def one(kind, args, conns, size, script=None):
    d = os.path.join(args.dir, "%s-%d-%d" % (kind, conns, size))
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    if script is not None:
        install_script(kind, d, script)
    if kind == "loft":
        # info: the store's totals are logged at the stop (Dovecot logs
        # every delivery at info too)
        peer = peers.start_loft(os.path.join(args.build, "loft"), d, workers=2,
                                extra="[storage]\nspool_sync = %s\n" % args.spool_sync,
                                log_level="info")
    else:
        peer = peers.start_dovecot(d, extra="mail_fsync = always\n" +
                                   (DOVECOT_SIEVE if script is not None else ""))
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
    ap.add_argument("--sieve", action="store_true",
                    help="compare no script with the 50-rule script on both servers")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    fs = subprocess.run(["stat", "-f", "-c", "%T", args.dir], capture_output=True,
                        text=True).stdout.strip()
    if fs == "tmpfs":
        sys.exit("bench-lmtp: %s is tmpfs; fsync would cost nothing" % args.dir)
    if args.sieve:
        return main_sieve(args)
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


def main_sieve(args):
    script = subprocess.run([os.path.join(args.build, "bench-sieve"), "--print-script"],
                            capture_output=True, text=True, check=True).stdout
    print("durable LMTP deliveries/s without a Sieve script and with the 50-rule one, "
          "%ss per run, Loft spool_sync=%s, Dovecot mail_fsync=always + Pigeonhole"
          % (args.seconds, args.spool_sync))
    print("%-8s %-6s %10s %10s %7s %12s %12s %7s %7s" % (
        "size", "conns", "loft/s", "+sieve/s", "cost", "dovecot/s", "+sieve/s", "cost",
        "ratio"))
    for size, label in SIZES:
        for conns in CONCURRENCY:
            l0 = one("loft", args, conns, size)[0]
            l1 = one("loft", args, conns, size, script)[0]
            d0 = one("dovecot", args, conns, size)[0]
            d1 = one("dovecot", args, conns, size, script)[0]
            print("%-8s %-6d %10.1f %10.1f %6.0f%% %12.1f %12.1f %6.0f%% %6.2fx" % (
                label, conns, l0, l1, 100 * (1 - l1 / l0) if l0 else 0, d0, d1,
                100 * (1 - d1 / d0) if d0 else 0, l1 / d1 if d1 else 0), flush=True)


if __name__ == "__main__":
    main()
