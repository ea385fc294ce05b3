#!/usr/bin/env python3
"""Multi-device sync, Loft vs Debian's Dovecot. Three measurements:

  resync   QRESYNC cost: a client that knows the mailbox reconnects after
           10 changes (flags, expunges, appends) with SELECT INBOX (QRESYNC
           (uidvalidity modseq)): median round trip and server CPU per
           resync, for a 10k- and a 100k-message mailbox (the cost must not
           grow with the mailbox), beside a full UID FETCH 1:* (FLAGS).
  push     push latency to an IDLE client: a STORE by another session of
           the same server (in-process), an LMTP delivery (250 -> EXISTS)
           and `loft deliver` in another process (exit -> EXISTS).
  idle     N sessions logged in, INBOX selected, in IDLE, plain and TLS:
           memory per connection (growth of the server's summed PSS / N),
           then one LMTP delivery and how long each idler waits for its
           EXISTS after the 250 (all N must get it within 1 s).

Dovecot runs beside Loft with the same messages (Maildir) and users;
passwords are stored as {PLAIN} on both so N logins cost nothing. Needs
root (Dovecot drops privileges) and a high open-file limit (raised to the
hard limit here). Benchmark, not a test:

    bench/sync.py [--loft build/loft] [--only resync,push,idle]
                  [--sizes 10000,100000] [-n 10000] [--dovecot-n 1000]
"""
import argparse
import multiprocessing
import os
import re
import resource
import selectors
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402
from conn_memory import cpu_seconds  # noqa: E402

USER, PASS = "bench", "secret"
HASHES = {USER: "{PLAIN}" + PASS}


def msg(i):
    return ("From: s%d@example.org\r\nTo: bench@example.org\r\nSubject: message %d\r\n"
            "Message-ID: <b%d@example.org>\r\n\r\nbody of %d\r\n" % (i, i, i, i)).encode()


def fill_maildir(d, n, start=0):
    """n messages straight into a Maildir's cur/ (both servers adopt them),
    as a migrated mailbox has them: not through new/, whose directory
    would keep the size of 100k entries on ext4 after they moved on."""
    for sub in ("new", "cur", "tmp"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    for i in range(start, start + n):
        with open(os.path.join(d, "cur", "1700000000.b%07d.bench:2," % i), "wb") as f:
            f.write(msg(i))


def maildir_of(peer, d):
    return os.path.join(d, "mail", USER) if peer == "loft" else \
        os.path.join(d, "mail", USER, "Maildir")


_TLS = []


def tls_context():
    """One client context (making one loads the CA store: 20 ms)."""
    if not _TLS:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        _TLS.append(ctx)
    return _TLS[0]


class Client:
    """A blocking IMAP client on raw lines."""

    def __init__(self, port, use_tls=False, timeout=600):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if use_tls:
            self.s = tls_context().wrap_socket(self.s, server_hostname="localhost")
        self.buf = b""
        self.n = 0
        self.line()

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def cmd(self, text):
        self.n += 1
        tag = b"t%d" % self.n
        self.s.sendall(tag + b" " + text.encode() + b"\r\n")
        out = []
        while True:
            ln = self.line()
            m = re.search(rb"\{(\d+)\}$", ln)
            if m:                              # skip literal bytes
                need = int(m.group(1))
                while len(self.buf) < need:
                    self.buf += self.s.recv(65536)
                self.buf = self.buf[need:]
            out.append(ln)
            if ln.startswith(tag + b" "):
                assert ln.startswith(tag + b" OK"), ln
                return out

    def login(self):
        self.cmd("LOGIN %s %s" % (USER, PASS))
        return self

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def hms_of(lines):
    for ln in lines:
        m = re.search(rb"\[HIGHESTMODSEQ (\d+)\]", ln)
        if m:
            return int(m.group(1))
    raise RuntimeError(lines)


def uv_of(lines):
    for ln in lines:
        m = re.search(rb"\[UIDVALIDITY (\d+)\]", ln)
        if m:
            return int(m.group(1))
    raise RuntimeError(lines)


# ---- resync ----

def resync(peer, d, size, rounds):
    port = peer.ports["imap"]
    fill_maildir(maildir_of(peer.name, d), size)
    if peer.name == "dovecot":
        subprocess.run(["chown", "-R", "%s:%s" % (peers.ensure_bench_user().pw_uid,
                                                  peers.ensure_bench_user().pw_gid),
                        os.path.join(d, "mail")], check=True)
    c = Client(port).login()
    c.cmd("ENABLE QRESYNC")
    r = c.cmd("SELECT INBOX")              # adopts the files (both servers)
    uv, base = uv_of(r), hms_of(r)
    c.cmd("UNSELECT")
    o = Client(port).login()
    o.cmd("SELECT INBOX")
    o.cmd("UID STORE 1:5 +FLAGS (\\Flagged)")
    o.cmd("UID STORE 100,200,300 +FLAGS.SILENT (\\Deleted)")
    o.cmd("UID EXPUNGE 100,200,300")
    for i in range(2):
        body = msg(10 ** 7 + i)
        o.s.sendall(b"a%d APPEND INBOX {%d+}\r\n" % (i, len(body)) + body + b"\r\n")
        while not o.line().startswith(b"a%d OK" % i):
            pass
    o.close()
    times, cpus, answers = [], [], 0
    pids = peer.pids()
    for _ in range(rounds):
        c0 = cpu_seconds(pids)
        t0 = time.perf_counter()
        r = c.cmd("SELECT INBOX (QRESYNC (%d %d))" % (uv, base))
        times.append(time.perf_counter() - t0)
        cpus.append(cpu_seconds(pids) - c0)
        answers = sum(1 for ln in r if b" FETCH " in ln or b"VANISHED" in ln)
    t0 = time.perf_counter()
    c0 = cpu_seconds(pids)
    r = c.cmd("UID FETCH 1:* (FLAGS)")
    full = (time.perf_counter() - t0, cpu_seconds(pids) - c0, len(r) - 1)
    c.close()
    return statistics.median(times), statistics.median(cpus), answers, full


# ---- push latency ----

def lmtp_deliver(port, body, rcpt):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    f = s.makefile("rb")

    def reply():
        while True:
            ln = f.readline()
            if ln[3:4] != b"-":
                return ln
    reply()
    for line in (b"LHLO bench", b"MAIL FROM:<s@example.org>", b"RCPT TO:<%s>" % rcpt.encode(),
                 b"DATA"):
        s.sendall(line + b"\r\n")
        ln = reply()
        if ln[:1] == b"4":
            s.close()
            return None                 # not accepting mail (yet)
        assert ln[:1] in (b"2", b"3"), ln
    s.sendall(body.replace(b"\r\n.", b"\r\n..") + b".\r\n")
    ln = reply()
    t = time.perf_counter()
    assert ln.startswith(b"250"), ln
    s.sendall(b"QUIT\r\n")
    s.close()
    return t


def append_ok(port, body):
    """APPEND by another IMAP connection; the time its tagged OK arrived."""
    c = Client(port).login()
    c.s.sendall(b"a APPEND INBOX {%d+}\r\n" % len(body) + body + b"\r\n")
    while True:
        ln = c.line()
        if ln.startswith(b"a "):
            t = time.perf_counter()
            assert ln.startswith(b"a OK"), ln
            c.close()
            return t


def new_message(peer, body):
    """Deliver by LMTP (the 250's time), or by APPEND where LMTP does not
    take mail yet (the tagged OK's time). Returns (time, how)."""
    t = lmtp_deliver(peer.ports["lmtp"], body, rcpt_of(peer))
    if t is not None:
        return t, "LMTP 250"
    return append_ok(peer.ports["imap"], body), "APPEND OK"


def rcpt_of(peer):
    return USER + "@localhost" if peer.name == "loft" else USER


def wait_for(c, word):
    while True:
        ln = c.line()
        if word in ln:
            return time.perf_counter()


def push(peer, d, loft_bin, conf, rounds):
    port = peer.ports["imap"]
    fill_maildir(maildir_of(peer.name, d), 10)
    if peer.name == "dovecot":
        bu = peers.ensure_bench_user()
        subprocess.run(["chown", "-R", "%d:%d" % (bu.pw_uid, bu.pw_gid),
                        os.path.join(d, "mail")], check=True)
    idler = Client(port).login()
    idler.cmd("SELECT INBOX")
    other = Client(port).login()
    other.cmd("SELECT INBOX")
    idler.s.sendall(b"i IDLE\r\n")
    assert idler.line().startswith(b"+")
    res = {"store": [], "lmtp": [], "deliver": []}
    for k in range(rounds):
        t0 = time.perf_counter()
        other.cmd("UID STORE 1 %sFLAGS.SILENT (\\Flagged)" % ("+" if k % 2 == 0 else "-"))
        t_ok = time.perf_counter()
        t = wait_for(idler, b"FETCH")
        res["store"].append((t - t_ok, t - t0))
        t_250, how = new_message(peer, msg(2 * 10 ** 7 + k))
        t = wait_for(idler, b"EXISTS")
        res["lmtp"].append((t - t_250, how))
        if loft_bin is not None:
            if peer.name == "loft":
                argv = [loft_bin, "-c", conf, "deliver", "-u", USER]
            else:
                argv = ["/usr/lib/dovecot/dovecot-lda", "-c", conf, "-d", USER]
            p = subprocess.run(argv, input=msg(3 * 10 ** 7 + k), capture_output=True)
            if p.returncode != 0:
                print("%s: deliver: %s" % (peer.name, p.stderr.decode().strip()))
                loft_bin = None
                continue
            t_exit = time.perf_counter()
            t = wait_for(idler, b"EXISTS")
            res["deliver"].append((t - t_exit, None))
    idler.close()
    other.close()
    return res


# ---- idle sessions ----

def open_idlers(port, n, use_tls, threads=32):
    out = [None] * n

    def work(lo, hi):
        for i in range(lo, hi):
            c = Client(port, use_tls).login()
            c.cmd("SELECT INBOX")
            c.s.sendall(b"i IDLE\r\n")
            assert c.line().startswith(b"+")
            c.s.settimeout(None)
            out[i] = c

    step = (n + threads - 1) // threads
    ts = [threading.Thread(target=work, args=(k * step, min(n, (k + 1) * step)))
          for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return [c for c in out if c is not None]


def idler_proc(port, n, use_tls, pipe):
    """A client process: n idlers; after "go", the wall-clock time each
    one read its EXISTS (None: not within 10 s); then waits for "close"."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        idlers = open_idlers(port, n, use_tls, threads=4)
    except Exception as e:  # noqa: BLE001 (reported to the parent)
        pipe.send(("error", repr(e)))
        return
    pipe.send(("ready", len(idlers)))
    assert pipe.recv() == "go"
    sel = selectors.DefaultSelector()
    for c in idlers:
        c.s.setblocking(False)
        sel.register(c.s, selectors.EVENT_READ, c)
    got = {}
    deadline = time.time() + 10
    while len(got) < len(idlers) and time.time() < deadline:
        for key, _ in sel.select(timeout=0.1):
            c = key.data
            try:
                while True:
                    data = c.s.recv(65536)
                    if not data:
                        break
                    c.buf += data
            except (BlockingIOError, ssl.SSLWantReadError):
                pass
            if id(c) not in got and b"EXISTS" in c.buf:
                got[id(c)] = time.time()
    pipe.send(("times", [got.get(id(c)) for c in idlers]))
    pipe.recv()
    for c in idlers:
        c.close()


def idle(peer, d, n, use_tls, k, procs=8):
    port = peer.ports["imaps" if use_tls else "imap"]
    warm = open_idlers(port, 20, use_tls)
    time.sleep(0.5)
    before = peers.pss_kib(peer.pids())
    t0 = time.perf_counter()
    workers = []
    for i in range(procs):
        a, b = multiprocessing.Pipe()
        share = n // procs + (1 if i < n % procs else 0)
        p = multiprocessing.Process(target=idler_proc, args=(port, share, use_tls, b))
        p.start()
        workers.append((p, a))
    total = 0
    for p, a in workers:
        kind, val = a.recv()
        if kind == "error":
            raise RuntimeError(val)
        total += val
    setup = time.perf_counter() - t0
    time.sleep(2.0)
    after = peers.pss_kib(peer.pids())
    for p, a in workers:
        a.send("go")
    time.sleep(0.2)                 # every client process is listening
    t_perf, how = new_message(peer, msg(4 * 10 ** 7 + k))
    t_ok = time.time() - (time.perf_counter() - t_perf)   # the reply, wall clock
    lat = []
    for p, a in workers:
        kind, times = a.recv()
        lat += [None if t is None else t - t_ok for t in times]
    for p, a in workers:
        a.send("close")
        p.join()
    for c in warm:
        c.close()
    time.sleep(1.0)
    ok = sorted(x for x in lat if x is not None)
    return {"n": total, "kib": (after - before) / max(1, total), "setup": setup,
            "p50": statistics.median(ok) if ok else None,
            "p99": ok[int(len(ok) * 0.99) - 1] if ok else None, "max": ok[-1] if ok else None,
            "within1s": sum(1 for x in ok if x <= 1.0), "missing": len(lat) - len(ok),
            "how": how}


def dovecot_conf(d):
    return os.path.join(d, "dovecot.conf")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--loft", default=os.path.join(os.path.dirname(__file__), "..", "build",
                                                   "loft"))
    ap.add_argument("--only", default="resync,push,idle")
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("-n", type=int, default=10000, help="Loft idle sessions")
    ap.add_argument("--dovecot-n", type=int, default=1000, help="Dovecot idle sessions")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--no-dovecot", action="store_true")
    args = ap.parse_args()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    only = set(args.only.split(","))
    loft_bin = os.path.abspath(args.loft)
    names = ["loft"] + ([] if args.no_dovecot else ["dovecot"])

    def start(name, d):
        if name == "loft":
            return peers.start_loft(loft_bin, d, workers=os.cpu_count() or 1,
                                    users=((USER, PASS),), hashes=HASHES)
        return peers.start_dovecot(d, users=((USER, PASS),), hashes=HASHES,
                                   extra="protocol imap {\n  mail_max_userip_connections "
                                         "= 1000000\n}\n")

    if "resync" in only:
        print("resync after 10 changes (5 flags, 3 expunges, 2 appends), %d rounds" % args.rounds)
        print("%-8s %9s %12s %12s %8s %14s %12s" % ("server", "messages", "resync ms",
                                                   "CPU ms", "answers", "full fetch ms",
                                                   "full CPU ms"))
        for name in names:
            for size in (int(x) for x in args.sizes.split(",")):
                with tempfile.TemporaryDirectory(prefix="sync-bench-") as d:
                    os.chmod(d, 0o755)
                    with start(name, d) as peer:
                        t, cpu, answers, full = resync(peer, d, size, args.rounds)
                print("%-8s %9d %12.2f %12.2f %8d %14.1f %12.1f" % (
                    name, size, t * 1e3, cpu * 1e3, answers, full[0] * 1e3, full[1] * 1e3))
    if "push" in only:
        print("\npush latency to an IDLE client, ms (median / max over %d)" % args.rounds)
        for name in names:
            with tempfile.TemporaryDirectory(prefix="sync-bench-") as d:
                os.chmod(d, 0o755)
                with start(name, d) as peer:
                    conf = os.path.join(d, "loft.conf" if name == "loft" else "dovecot.conf")
                    res = push(peer, d, loft_bin, conf, args.rounds)
            for kind, label in (("store", "STORE by another session (OK -> FETCH)"),
                                ("lmtp", "new message (%s -> EXISTS)" % (
                                    res["lmtp"][0][1] if res["lmtp"] else "")),
                                ("deliver", "deliver in another process (exit -> EXISTS)")):
                v = [x[0] * 1e3 for x in res[kind]]
                if v:
                    print("%-8s %-46s %8.2f / %8.2f" % (name, label, statistics.median(v), max(v)))
    if "idle" in only:
        print("\nidle sessions (logged in, INBOX selected, IDLE), then one LMTP delivery")
        print("%-8s %-5s %7s %10s %9s %9s %9s %10s %8s  %s" % (
            "server", "tls", "n", "KiB/conn", "p50 ms", "p99 ms", "max ms", "within 1s",
            "setup s", "from"))
        for name in names:
            n = args.n if name == "loft" else args.dovecot_n
            for k, use_tls in enumerate((False, True)):
                with tempfile.TemporaryDirectory(prefix="sync-bench-") as d:
                    os.chmod(d, 0o755)
                    with start(name, d) as peer:
                        fill_maildir(maildir_of(name, d), 20)
                        if name == "dovecot":
                            bu = peers.ensure_bench_user()
                            subprocess.run(["chown", "-R", "%d:%d" % (bu.pw_uid, bu.pw_gid),
                                            os.path.join(d, "mail")], check=True)
                        r = idle(peer, d, n, use_tls, k)
                fmt = lambda x: "%9.1f" % (x * 1e3) if x is not None else "%9s" % "-"  # noqa
                print("%-8s %-5s %7d %10.1f %s %s %s %6d/%-4d %7.1f  %s" % (
                    name, "yes" if use_tls else "no", r["n"], r["kib"], fmt(r["p50"]),
                    fmt(r["p99"]), fmt(r["max"]), r["within1s"], r["n"], r["setup"], r["how"]))


if __name__ == "__main__":
    main()
