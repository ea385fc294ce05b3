#!/usr/bin/env python3
"""Connection cost, Loft vs Debian's Dovecot, from one run on this machine.

Reports (1) memory per connection before login, plain IMAP and implicit-TLS
IMAP, as the growth of the servers' summed PSS over N idle connections, and
(2) server CPU time per connect + greeting + LOGOUT, plain and TLS. Dovecot
runs in its high-performance login mode (service_count = 0). Benchmark, not
a test: usage  bench/conn_memory.py [--loft build/loft] [-n 2000] [-c 500]
"""
import argparse
import os
import resource
import socket
import ssl
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402


def cpu_seconds(pids):
    """CPU time of every thread of the given processes, from schedstat
    (nanoseconds; /proc/PID/stat only counts 10 ms ticks)."""
    total = 0
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
            except OSError:
                pass
    return total / 1e9


def tls_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def open_idle(port, n, use_tls):
    socks, ctx = [], tls_ctx()
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        if use_tls:
            s = ctx.wrap_socket(s)
        s.recv(4096)  # greeting
        socks.append(s)
    return socks


def measure_memory(peer, n, use_tls):
    port = peer.ports["imaps" if use_tls else "imap"]
    open_idle(port, 20, use_tls)  # warm up allocator and login processes
    time.sleep(0.5)
    before = peers.pss_kib(peer.pids())
    socks = open_idle(port, n, use_tls)
    time.sleep(1.0)
    after = peers.pss_kib(peer.pids())
    for s in socks:
        s.close()
    return (after - before) / n


def measure_cpu(peer, count, use_tls):
    port = peer.ports["imaps" if use_tls else "imap"]
    ctx = tls_ctx()
    pids = peer.pids()
    before = cpu_seconds(pids)
    t0 = time.time()
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        if use_tls:
            s = ctx.wrap_socket(s)
        s.recv(4096)
        s.sendall(b"a LOGOUT\r\n")
        while s.recv(4096):
            pass
        s.close()
    wall = time.time() - t0
    time.sleep(0.3)
    used = cpu_seconds(peer.pids()) - before
    return used / count * 1e6, count / wall


def median_of_rounds(peer, count, use_tls, rounds=5):
    """The machine is shared: measure in rounds and keep the median."""
    results = sorted(measure_cpu(peer, max(1, count // rounds), use_tls) for _ in range(rounds))
    return results[rounds // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loft", default=os.path.join(os.path.dirname(__file__), "..", "build", "loft"))
    ap.add_argument("-n", type=int, default=2000, help="idle connections")
    ap.add_argument("-c", type=int, default=500, help="connect/LOGOUT cycles")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.n + 100:
        sys.exit(f"RLIMIT_NOFILE {hard} too low for {args.n} connections")
    results = {}
    with tempfile.TemporaryDirectory(dir="/var/tmp") as d:
        for name, start in (("loft", lambda: peers.start_loft(os.path.abspath(args.loft), d + "/loft")),
                            ("dovecot", lambda: peers.start_dovecot(d + "/dovecot"))):
            with start() as peer:
                r = {}
                r["mem_plain"] = measure_memory(peer, args.n, False)
                r["mem_tls"] = measure_memory(peer, args.n, True)
                r["cpu_plain"], r["rate_plain"] = median_of_rounds(peer, args.c, False)
                r["cpu_tls"], r["rate_tls"] = median_of_rounds(peer, args.c, True)
                results[name] = r
    lo, dv = results["loft"], results["dovecot"]
    print(f"{'metric':44} {'loft':>10} {'dovecot':>10} {'loft/dovecot':>13}")
    rows = [("KiB per idle connection, plain, pre-login", "mem_plain"),
            ("KiB per idle connection, TLS, pre-login", "mem_tls"),
            ("server CPU us per connect+greeting+LOGOUT", "cpu_plain"),
            ("server CPU us per same, implicit TLS", "cpu_tls"),
            ("connect+LOGOUT cycles/s (one client)", "rate_plain"),
            ("TLS connect+LOGOUT cycles/s (one client)", "rate_tls")]
    for label, key in rows:
        ratio = lo[key] / dv[key] if dv[key] else float("nan")
        print(f"{label:44} {lo[key]:10.1f} {dv[key]:10.1f} {ratio:13.2f}")
    print(f"(n={args.n} idle connections; {args.c} cycles in 5 rounds, median round; "
          "PSS and CPU (schedstat) summed over all server processes and threads)")


if __name__ == "__main__":
    main()
