#!/usr/bin/env python3
"""Connection cost, Loft vs Debian's Dovecot, like for like, from one run.

For each certificate kind (RSA-2048 and ECDSA P-256 by default) both servers
run at once with the same certificate and key, and the benchmark reports:
(1) memory per idle connection before login, plain IMAP and implicit-TLS
IMAP, as the growth of each server's summed PSS over N connections; (2)
server CPU time per connect + greeting + LOGOUT (+ close), plain, TLS with a
full handshake, and TLS resumed with the ticket of the client's previous
connection, with J clients at once, measured in rounds that alternate
between the servers (median round); (3) the cryptographic floor of a TLS
1.3 handshake from `openssl speed` (one signature with the key and two
X25519 operations; X25519 alone when resumed). Dovecot runs in its
high-performance login mode (service_count = 0, one login process per
core); Loft runs one worker per core. Benchmark, not a test:

    bench/conn_memory.py [--loft build/loft] [-n 2000] [-c 1600] [-j 16]
                         [--certs rsa2048,ecdsa-p256] [--rounds 5]
"""
import argparse
import multiprocessing
import os
import resource
import socket
import ssl
import statistics
import subprocess
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
            s = ctx.wrap_socket(s, server_hostname="localhost")
        s.recv(4096)  # greeting
        socks.append(s)
    return socks


def measure_memory(peer, n, use_tls):
    port = peer.ports["imaps" if use_tls else "imap"]
    for s in open_idle(port, 20, use_tls):  # warm up allocator and login processes
        s.close()
    time.sleep(0.5)
    before = peers.pss_kib(peer.pids())
    socks = open_idle(port, n, use_tls)
    time.sleep(1.0)
    after = peers.pss_kib(peer.pids())
    for s in socks:
        s.close()
    time.sleep(0.5)
    return (after - before) / n


def client_cycles(args):
    """One client process: `count` connect + greeting + LOGOUT cycles.
    mode: plain, tls (full handshakes), resumed (each connection offers
    the ticket of the previous one). Returns (cycles, resumed)."""
    port, count, mode = args
    ctx = tls_ctx()
    session, resumed = None, 0
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        if mode != "plain":
            s = ctx.wrap_socket(s, server_hostname="localhost",
                                session=session if mode == "resumed" else None)
        s.recv(4096)
        s.sendall(b"a LOGOUT\r\n")
        while s.recv(4096):
            pass
        if mode == "resumed":
            resumed += s.session_reused
            session = s.session
        s.close()
    return count, resumed


def measure_cpu(pool, peer, count, jobs, mode):
    port = peer.ports["imap" if mode == "plain" else "imaps"]
    pids = peer.pids()
    before = cpu_seconds(pids)
    per = max(1, count // jobs)
    results = pool.map(client_cycles, [(port, per, mode)] * jobs)
    time.sleep(0.2)
    used = cpu_seconds(peer.pids()) - before
    cycles = sum(r[0] for r in results)
    return used / cycles * 1e6, sum(r[1] for r in results) / cycles


def crypto_floor(kind):
    """(full, resumed) floor in us from `openssl speed`: one signature with
    a key of `kind` plus two X25519 operations; two X25519 when resumed."""
    alg = {"rsa2048": "rsa2048", "ecdsa-p256": "ecdsap256"}[kind]
    out = subprocess.run(["openssl", "speed", "-seconds", "1", "-mr", alg, "ecdhx25519"],
                         capture_output=True, text=True).stdout
    sign = x25519 = None
    for line in out.splitlines():
        f = line.split(":")
        if f[0] in ("+F2", "+F4"):      # RSA, ECDSA: signs per second
            sign = 1e6 / float(f[3])
        elif f[0] == "+F5":             # ECDH: operations per second
            x25519 = 1e6 / float(f[3])
    if sign is None or x25519 is None:
        return float("nan"), float("nan")
    return sign + 2 * x25519, 2 * x25519


def run_kind(args, kind, d, pool):
    cert = peers.make_cert(os.path.join(d, "cert"), kind)
    workers = os.cpu_count() or 1
    with peers.start_loft(os.path.abspath(args.loft), d + "/loft-" + kind, workers=workers,
                          cert=cert) as lo, \
            peers.start_dovecot(d + "/dovecot-" + kind, cert=cert) as dv:
        servers = {"loft": lo, "dovecot": dv}
        res = {name: {} for name in servers}
        for name, peer in servers.items():
            res[name]["mem_plain"] = measure_memory(peer, args.n, False)
            res[name]["mem_tls"] = measure_memory(peer, args.n, True)
        for mode in ("plain", "tls", "resumed"):
            rounds = {name: [] for name in servers}
            for r in range(args.rounds):
                order = ("loft", "dovecot") if r % 2 == 0 else ("dovecot", "loft")
                for name in order:
                    rounds[name].append(measure_cpu(pool, servers[name],
                                                    max(args.jobs, args.c // args.rounds),
                                                    args.jobs, mode))
            for name in servers:
                res[name]["cpu_" + mode] = statistics.median(x[0] for x in rounds[name])
                res[name]["reused_" + mode] = statistics.median(x[1] for x in rounds[name])
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loft", default=os.path.join(os.path.dirname(__file__), "..", "build", "loft"))
    ap.add_argument("-n", type=int, default=2000, help="idle connections")
    ap.add_argument("-c", type=int, default=1600, help="connect/LOGOUT cycles per mode")
    ap.add_argument("-j", "--jobs", type=int, default=16, help="clients at once")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--certs", default="rsa2048,ecdsa-p256")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.n + 100:
        sys.exit(f"RLIMIT_NOFILE {hard} too low for {args.n} connections")
    rows = [("KiB per idle connection, plain, pre-login", "mem_plain"),
            ("KiB per idle connection, TLS, pre-login", "mem_tls"),
            ("server CPU us per connect+greeting+LOGOUT, plain", "cpu_plain"),
            ("  same, implicit TLS, full handshake", "cpu_tls"),
            ("  same, implicit TLS, resumed (ticket)", "cpu_resumed")]
    with tempfile.TemporaryDirectory(dir="/var/tmp") as d, \
            multiprocessing.Pool(args.jobs) as pool:
        for kind in args.certs.split(","):
            res = run_kind(args, kind, d, pool)
            full, resumed = crypto_floor(kind)
            lo, dv = res["loft"], res["dovecot"]
            print(f"\ncertificate {kind}, TLS 1.3, {args.jobs} clients at once")
            print(f"{'metric':52} {'loft':>9} {'dovecot':>9} {'loft/dovecot':>13}")
            for label, key in rows:
                ratio = lo[key] / dv[key] if dv[key] else float("nan")
                print(f"{label:52} {lo[key]:9.1f} {dv[key]:9.1f} {ratio:13.2f}")
            print(f"{'  crypto floor, full / resumed handshake (us)':52} {full:9.1f} {resumed:9.1f}")
            print(f"{'  loft full / floor, resumed / floor':52} {lo['cpu_tls'] / full:9.2f} "
                  f"{lo['cpu_resumed'] / resumed:9.2f}")
            print(f"{'  connections resumed (loft, dovecot)':52} "
                  f"{lo['reused_resumed'] * 100:8.0f}% {dv['reused_resumed'] * 100:8.0f}%")
    print(f"\n(n={args.n} idle connections; {args.c} cycles per mode in {args.rounds} rounds "
          "alternating between the servers, median round; PSS and CPU (schedstat) summed "
          "over all server processes and threads)")


if __name__ == "__main__":
    main()
