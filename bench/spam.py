#!/usr/bin/env python3
"""Scanning with rspamd at delivery: cost per message and scans per second.

Starts Debian's rspamd on loopback exactly as the end-to-end tests do
(tests/e2e/rspamd_util.py: rspamd's rules, offline modules only, one
normal worker) and runs build/bench-spam over messages of the shared
corpus (tests/corpus/mail, up to 64 KiB each) into a store in a work
directory:
  - delivery with scanning off and on, one message at a time, each a
    durable append (fsync + commit): per-message latency and the
    difference, i.e. what scanning adds to a delivery;
  - scans alone with 1 and 8 in flight on one loop.
Benchmark, not a test:

    bench/spam.py [--build build] [--work /var/tmp/loft-bench-spam] [-n 300]

The work directory should be on a real disk (fsync costs are part of the
"off" numbers). rspamd runs as _rspamd when run as root.
"""
import argparse
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

from rspamd_util import Rspamd  # noqa: E402


def corpus_files(limit=64 * 1024):
    base = os.path.join(ROOT, "tests", "corpus", "mail")
    out = []
    for d, _, names in sorted(os.walk(base)):
        for n in sorted(names):
            if n.endswith(".eml"):
                p = os.path.join(d, n)
                if os.path.getsize(p) <= limit:
                    out.append(p)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--work", default="/var/tmp/loft-bench-spam")
    ap.add_argument("-n", type=int, default=300)
    ap.add_argument("-j", type=int, default=8)
    a = ap.parse_args()
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    files = corpus_files()
    with Rspamd() as r:
        conf = os.path.join(a.work, "loft.conf")
        with open(conf, "w") as f:
            f.write("[server]\nstate_dir = %s\n[spam]\nenabled = yes\nrspamd_port = %d\n"
                    "controller_port = %d\ntimeout = 30s\n"
                    % (a.work, r.scan_port, r.controller_port))
        subprocess.run([os.path.join(a.build, "bench-spam"), "-c", conf, "-n", str(a.n),
                        "-j", str(a.j), *files], check=True)
    shutil.rmtree(a.work, ignore_errors=True)


if __name__ == "__main__":
    main()
