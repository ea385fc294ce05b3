#!/usr/bin/env python3
"""What the checks on the way in cost an SMTP delivery: the real `loft
serve` takes DKIM-signed 4 KiB messages over SMTP (Python's smtplib, one
connection, one message at a time, then 4 connections at once) with

  off        no sender checks, no rspamd
  auth       SPF, DKIM and DMARC against a DNS server on loopback
             (tests/e2e/dnsserver.py) whose answers the resolver caches
  auth-ttl0  the same with TTL 0: every message asks DNS again
  auth+spam  auth, then rspamd (Debian's, as the e2e tests start it)

each on a fresh server in a fresh directory. Per message: the time from
MAIL to the 250 after the data (durable delivery included); the table
gives messages/s, p50/p90 and the mean added to "off". Benchmark, not a
test:

    bench/smtp-checks.py [--build build] [--work /var/tmp/loft-bench-checks] [-n 300]

The work directory should be on a real disk (the fsyncs are part of every
delivery)."""
import argparse
import os
import shutil
import smtplib
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

from dnsserver import DnsServer  # noqa: E402
from loftserver import LoftServer  # noqa: E402
from rspamd_util import Rspamd  # noqa: E402


def signed_message(work):
    subprocess.run(["dknewkey", "--ktype", "rsa", os.path.join(work, "rsa")], check=True,
                   capture_output=True)
    body = b"".join(b"Line %04d of a message of about four kilobytes, to be signed.\r\n" % i
                    for i in range(60))
    msg = (b"From: Alice <alice@example.org>\r\nTo: bob@localhost\r\n"
           b"Subject: bench\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
           b"Message-ID: <bench@example.org>\r\n\r\n" + body)
    signed = subprocess.run(["dkimsign", "sel", "example.org", os.path.join(work, "rsa.key")],
                            input=msg, capture_output=True, check=True).stdout
    with open(os.path.join(work, "rsa.dns")) as f:
        return signed, f.read().strip()


def deliver(port, msg, n, lat):
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
        s.ehlo("mail.example.org")
        for _ in range(n):
            t0 = time.perf_counter()
            s.sendmail("alice@example.org", ["bob@localhost"], msg)
            lat.append(time.perf_counter() - t0)


def run(work, name, cfg, msg, n):
    d = os.path.join(work, name)
    os.makedirs(d)
    cfg = dict(cfg)
    cfg["log"] = {"level": "warn"}
    cfg["smtp"] = {"message_rate": "0", "connection_rate": "0", "greeting_delay": "0"}
    with LoftServer(d, listeners=["smtp-plain"], config_extra=cfg,
                    users={"bob": "secret"}) as srv:
        port = srv.port("smtp-plain")
        deliver(port, msg, 20, [])                     # warm up (first user open)
        lat = []
        t0 = time.perf_counter()
        deliver(port, msg, n, lat)
        one = n / (time.perf_counter() - t0)
        lats4 = [[] for _ in range(4)]
        th = [threading.Thread(target=deliver, args=(port, msg, n // 4, lats4[i]))
              for i in range(4)]
        t0 = time.perf_counter()
        for t in th:
            t.start()
        for t in th:
            t.join()
        four = 4 * (n // 4) / (time.perf_counter() - t0)
    return lat, one, four


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--work", default="/var/tmp/loft-bench-checks")
    ap.add_argument("-n", type=int, default=300)
    a = ap.parse_args()
    os.environ["LOFT_BIN"] = os.path.join(os.path.abspath(a.build), "loft")
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    msg, key = signed_message(a.work)
    zone = {"example.org": [("TXT", "v=spf1 ip4:127.0.0.0/8 -all")],
            "_dmarc.example.org": [("TXT", "v=DMARC1; p=reject")],
            "sel._domainkey.example.org": [("TXT", key)]}
    results = []
    with DnsServer(zone) as dns, DnsServer(zone, ttl=0) as dns0, Rspamd() as r:
        def auth(server):
            return {"dns": {"resolver": "127.0.0.1", "resolver_port": server.port},
                    "mailauth": {"checks": "spf dkim dmarc", "authserv_id": "mx.bench"}}
        spam = {"spam": {"enabled": "yes", "rspamd_port": r.scan_port,
                         "controller_port": r.controller_port, "timeout": "30s"}}
        runs = [("off", {"mailauth": {"checks": "none"}}),
                ("auth", auth(dns)),
                ("auth-ttl0", auth(dns0)),
                ("auth+spam", {**auth(dns), **spam})]
        for name, cfg in runs:
            results.append((name,) + run(a.work, name, cfg, msg, a.n))
    base = statistics.mean(results[0][1])
    print("%-10s %8s %10s %9s %9s %11s   %s" % ("checks", "msgs", "1 conn/s", "p50 ms",
                                                 "p90 ms", "4 conns/s", "added (mean)"))
    for name, lat, one, four in results:
        print("%-10s %8d %10.1f %9.2f %9.2f %11.1f   %+.2f ms" % (
            name, len(lat), one, pct(lat, 0.5) * 1e3, pct(lat, 0.9) * 1e3, four,
            (statistics.mean(lat) - base) * 1e3))


if __name__ == "__main__":
    main()
