#!/usr/bin/env python3
"""IMAP commands/s for a mixed client workload, Loft vs Debian's Dovecot,
side by side in one run.

Each simulated client repeats a session a mail client makes all day:

    LOGIN, SELECT INBOX, FETCH 1:* (UID FLAGS) of the last 50,
    UID FETCH (ENVELOPE BODYSTRUCTURE) of 5, UID FETCH BODY.PEEK[] of one,
    UID STORE +FLAGS (\\Seen) of one, SEARCH UNSEEN, SEARCH FROM/SUBJECT
    text, APPEND of a 4 KiB message, UID STORE +FLAGS (\\Deleted) of it,
    UID EXPUNGE of it, LOGOUT

(12 commands), against users whose INBOX holds --messages real messages of
the corpus (tests/corpus/mail) cycled. Clients are spread over users
(--users, default min(clients, 10)): several devices per user, as in life.
N clients run at once (asyncio in a few client processes, so the client is
not the bottleneck) for --seconds after a warm-up; the score is completed
commands per second and server CPU per command. Loft runs with 2 workers;
Dovecot in its high-performance login mode with its default mail_fsync
(optimized: an APPEND is not fsync'd) unless --dovecot-fsync always is
given; Loft always commits durably. Each server runs alone while it is
measured. Needs root. Benchmark, not a test:

    bench/imap_mixed.py [--loft build/loft] [--clients 10 100] [--seconds 20]
"""
import argparse
import asyncio
import multiprocessing
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402
from conn_memory import cpu_seconds  # noqa: E402
from imap_fetch import corpus_messages, fill_corpus  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
COMMANDS_PER_SESSION = 12
APPEND_BODY = (b"From: Bench <bench@localhost>\r\nTo: you@localhost\r\n"
               b"Subject: mixed workload\r\nDate: Thu, 3 Dec 2026 12:00:00 +0000\r\n"
               b"Message-ID: <%d.%d@bench>\r\n\r\n" + b"x" * 76 + b"\r\n")


class ImapError(Exception):
    pass


class Session:
    def __init__(self, reader, writer):
        self.r, self.w, self.n = reader, writer, 0

    async def cmd(self, text, literal=None):
        """Send one command; the untagged lines before its tagged OK."""
        self.n += 1
        tag = b"T%d" % self.n
        if literal is None:
            self.w.write(tag + b" " + text + b"\r\n")
        else:
            self.w.write(tag + b" " + text + b" {%d+}\r\n" % len(literal) + literal + b"\r\n")
        lines = []
        while True:
            line = await self.r.readline()
            if not line:
                raise ImapError("connection closed after %r" % text)
            if line.endswith(b"}\r\n") and b"{" in line:
                n = int(line[line.rindex(b"{") + 1:-3])
                await self.r.readexactly(n)
                lines.append(line)
                continue
            if line.startswith(tag + b" "):
                if not line[len(tag) + 1:].startswith(b"OK"):
                    raise ImapError("%r: %r" % (text, line))
                self.tagged = line
                return lines
            lines.append(line)


async def one_session(port, user, rnd, counter):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 22)
    s = Session(reader, writer)
    await reader.readline()
    await s.cmd(b"LOGIN %s secret" % user.encode())
    lines = await s.cmd(b"SELECT INBOX")
    exists = 0
    for ln in lines:
        if ln.endswith(b" EXISTS\r\n"):
            exists = int(ln.split()[1])
    lo = max(1, exists - 49)
    lines = await s.cmd(b"FETCH %d:* (UID FLAGS)" % lo)
    uids = [int(ln.split(b"UID ")[1].split()[0].rstrip(b")")) for ln in lines if b"UID " in ln]
    pick = rnd.sample(uids, min(5, len(uids)))
    await s.cmd(b"UID FETCH %s (ENVELOPE BODYSTRUCTURE)" % b",".join(b"%d" % u for u in pick))
    await s.cmd(b"UID FETCH %d BODY.PEEK[]" % pick[0])
    await s.cmd(b"UID STORE %d +FLAGS.SILENT (\\Seen)" % pick[-1])
    await s.cmd(b"SEARCH UNSEEN")
    await s.cmd(b"SEARCH SUBJECT %s" % rnd.choice([b"meeting", b"re", b"invoice", b"hello"]))
    await s.cmd(b"APPEND INBOX", APPEND_BODY % (os.getpid(), rnd.getrandbits(48)))
    new_uid = int(s.tagged.split(b"[APPENDUID ")[1].split()[1].rstrip(b"]"))
    await s.cmd(b"UID STORE %d +FLAGS.SILENT (\\Deleted)" % new_uid)
    await s.cmd(b"UID EXPUNGE %d" % new_uid)
    await s.cmd(b"LOGOUT")
    writer.close()
    counter[0] += COMMANDS_PER_SESSION


async def client_loop(port, user, seed, deadline, counter, errors):
    rnd = random.Random(seed)
    while time.time() < deadline:
        try:
            await one_session(port, user, rnd, counter)
        except (ImapError, OSError, asyncio.IncompleteReadError) as e:
            errors.append(str(e))
            await asyncio.sleep(0.05)


def client_process(port, users, first, count, start, duration, q):
    async def run():
        counter, errors = [0], []
        # warm-up until start, then count until start + duration
        await asyncio.sleep(max(0.0, start - time.time() - 2.0))
        tasks = [client_loop(port, users[(first + i) % len(users)], first + i, start,
                             [0], errors) for i in range(count)]
        await asyncio.gather(*tasks)
        t0 = time.time()
        tasks = [client_loop(port, users[(first + i) % len(users)], 1000 + first + i,
                             start + duration, counter, errors) for i in range(count)]
        await asyncio.gather(*tasks)
        return counter[0], time.time() - t0, errors
    q.put(asyncio.run(run()))


def server_cpu(peer):
    """CPU seconds of the server's live processes and threads, plus what its
    exited children used (the master's cutime + cstime: Dovecot's imap
    processes end with each session)."""
    total = cpu_seconds(peer.pids())
    try:
        with open(f"/proc/{peer.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        pass
    return total


def drive(peer, users, clients, duration, procs):
    q = multiprocessing.Queue()
    start = time.time() + 5.0
    per = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    ps, first = [], 0
    for n in per:
        if n == 0:
            continue
        p = multiprocessing.Process(target=client_process,
                                    args=(peer.ports["imap"], users, first, n, start, duration, q))
        p.start()
        ps.append(p)
        first += n
    time.sleep(max(0.0, start - time.time()))
    cpu0 = server_cpu(peer)
    results = [q.get() for _ in ps]
    cpu = server_cpu(peer) - cpu0
    for p in ps:
        p.join()
    commands = sum(r[0] for r in results)
    elapsed = max(r[1] for r in results)
    errors = [e for r in results for e in r[2]]
    return {"commands": commands, "rate": commands / elapsed, "cpu": cpu,
            "errors": len(errors), "first_error": errors[0] if errors else ""}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loft", default=os.path.join(HERE, "..", "build", "loft"))
    ap.add_argument("--clients", type=int, nargs="+", default=[10, 100])
    ap.add_argument("--users", type=int, default=0)
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--dovecot-fsync", default="", choices=["", "always", "optimized", "never"])
    args = ap.parse_args()
    nusers = args.users or min(max(args.clients), 10)
    users = ["mix%d" % i for i in range(nusers)]
    msgs = corpus_messages()

    def measure(peer, maildir):
        for u in users:          # make each user's store, then give it mail
            async def touch(u=u):
                r, w = await asyncio.open_connection("127.0.0.1", peer.ports["imap"])
                s = Session(r, w)
                await r.readline()
                await s.cmd(b"LOGIN %s secret" % u.encode())
                await s.cmd(b"LOGOUT")
                w.close()
            asyncio.run(touch())
            box, uid, gid = maildir(u)
            fill_corpus(box, args.messages, msgs, uid, gid)
        # every user's first SELECT takes the files in; not measured
        drive(peer, users, len(users), 3.0, 1)
        return {n: drive(peer, users, n, args.seconds, min(args.procs, n)) for n in args.clients}

    extra = "mail_fsync = %s\n" % args.dovecot_fsync if args.dovecot_fsync else ""
    results = peers.loft_then_dovecot(args.loft, [(u, "secret") for u in users], measure,
                                      dovecot_extra=extra)
    lo, dv = results["loft"], results["dovecot"]
    print("mixed IMAP sessions (%d commands each), %d users x %d messages, %.0f s per run; "
          "dovecot mail_fsync=%s" % (COMMANDS_PER_SESSION, nusers, args.messages,
                                     args.seconds, args.dovecot_fsync or "optimized (default)"))
    print(f"{'clients':>8} {'loft cmd/s':>11} {'dovecot cmd/s':>14} {'ratio':>7} "
          f"{'loft CPU us/cmd':>16} {'dovecot CPU us/cmd':>19} {'errors l/d':>11}")
    for n in args.clients:
        a, b = lo[n], dv[n]
        print(f"{n:8d} {a['rate']:11.0f} {b['rate']:14.0f} {a['rate'] / b['rate']:6.2f}x "
              f"{a['cpu'] / max(a['commands'], 1) * 1e6:16.0f} "
              f"{b['cpu'] / max(b['commands'], 1) * 1e6:19.0f} "
              f"{a['errors']:5d}/{b['errors']:<5d}")
        for name, r in (("loft", a), ("dovecot", b)):
            if r["errors"]:
                print(f"    {name} first error: {r['first_error']}")
    print("(ratio: loft/dovecot commands per second; higher is better for Loft)")


if __name__ == "__main__":
    main()
