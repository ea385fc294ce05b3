"""Durability of LMTP deliveries, traced with strace (kill -9 cannot show
what reaches the disk: the page cache survives it). strace attaches to the
running server; several LMTP clients deliver at once (so spool syncs and
group commits carry several messages) and one message goes to two users.
For every message renamed into a user's cur/ (strace_util.check_delivery):
its bytes were synced (the spool's fdatasync, or one syncfs for a group)
after they were last written and before the rename, cur/ was fsynced
after it, the user's LMDB commit came after the rename too, and the
client's "250 2.0.0 <user@...>" left the server only after both. Both ways of
syncing spools (spool_sync = group and file) are checked."""

import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

import strace_util
from delivery_util import hello, messages, split_trace, transaction, users_text

USERS = ["u%d" % i for i in range(8)]


@pytest.mark.parametrize("spool_sync", ["group", "file"])
def test_lmtp_reply_only_after_durable_commit(make_loft, tmp_path, spool_sync):
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace not installed")
    srv = make_loft(listeners=["lmtp-plain"],
                    users=users_text({u: ("pw", "") for u in USERS}),
                    config_extra={"storage": {"spool_sync": spool_sync}})
    # no user's index is open yet: the trace sees data.mdb opened
    trace = str(tmp_path / "trace")
    st = subprocess.Popen([strace, "-f", "-qq", "-s", "80", "-o", trace, "-p", str(srv.pid),
                           "-e", "trace=" + strace_util.TRACED],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(1.0)   # attached to every thread
        errors = []

        def client(i):
            try:
                with srv.connect("lmtp-plain", timeout=30) as c:
                    hello(c)
                    rcpts = ["%s@localhost" % USERS[i]]
                    if i == 0:
                        rcpts.append("%s@localhost" % USERS[7])
                    for n in range(3):
                        body = b"Subject: traced %d.%d\r\n\r\n" % (i, n) + \
                            (b"x" * 70 + b"\r\n") * 30
                        _, _, _, final = transaction(c, "s@ext.example", rcpts, body)
                        if not all(f.startswith(b"250 2.0.0") for f in final):
                            errors.append(final)
            except Exception as e:   # reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(7)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        time.sleep(0.5)
    finally:
        st.send_signal(signal.SIGINT)   # detaches
        st.wait(timeout=30)
    events = strace_util.trace(trace)
    checked = 0
    for u in USERS[:7]:
        n = strace_util.check_delivery(events, os.path.join(srv.mail_dir, u),
                                       reply=("250 2.0.0 <%s@localhost>" % u).encode())
        assert n == 3, (u, n)
        checked += n
    n7 = strace_util.check_delivery(events, os.path.join(srv.mail_dir, USERS[7]),
                                    reply=("250 2.0.0 <%s@localhost>" % USERS[7]).encode())
    assert n7 == 3
    assert checked == 21
    # one spool per message, linked: the second user's copy is the same file
    a = messages(srv, USERS[0])[-1][0]
    b = messages(srv, USERS[7])[-1][0]
    assert os.stat(a).st_ino == os.stat(b).st_ino
    syncs = sum(1 for e in events if e.kind in ("sync", "syncfs") and
                (e.kind == "syncfs" or "/.loft-spool/" in e.a))
    print("spool_sync=%s: %d spool syncs for 21 messages" % (spool_sync, syncs))
    assert 1 <= syncs <= 21


def test_kill9_during_lmtp_deliveries(make_loft):
    """kill -9 while several LMTP clients deliver (each message to one or
    two users): after a restart every message that got its 250 is in each
    mailbox it was acknowledged for, with its bytes; nothing is there that
    was not sent; no spool or tmp file is adopted as mail; the index of
    every user checks clean. 15 kills at random instants."""
    import hashlib
    import random
    rng = random.Random(int(os.environ.get("LOFT_CRASH_SEED", "0")) or None)
    users = ["k%d" % i for i in range(4)]
    srv = make_loft(listeners=["lmtp-plain"],
                    users=users_text({u: ("pw", "") for u in users}))
    acked = {}     # (user, msgid) -> sha256 of the message as sent
    sent = {}      # msgid -> sha256 (every message a client started)
    lock = threading.Lock()

    def client(n, stop):
        try:
            with srv.connect("lmtp-plain", timeout=10) as c:
                hello(c)
                k = 0
                while not stop.is_set():
                    k += 1
                    msgid = "crash-%d-%d-%d@ext.example" % (kills, n, k)
                    rcpts = [users[n % 4]] + ([users[(n + 1) % 4]] if k % 2 else [])
                    body = (b"Message-ID: <%s>\r\nSubject: crash\r\n\r\n" % msgid.encode()
                            + (b"%d " % k) * 300 + b"\r\n")
                    with lock:
                        sent[msgid] = hashlib.sha256(body).hexdigest()
                    _, _, _, final = transaction(c, "s@ext.example",
                                                 [u + "@localhost" for u in rcpts], body)
                    with lock:
                        for u, f in zip(rcpts, final):
                            if f.startswith(b"250 2.0.0"):
                                acked[(u, msgid)] = sent[msgid]
        except (OSError, EOFError):
            pass   # the server died under us

    for kills in range(15):
        stop = threading.Event()
        threads = [threading.Thread(target=client, args=(n, stop)) for n in range(6)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.05, 0.6))
        srv.kill()
        stop.set()
        for t in threads:
            t.join(timeout=30)
        srv.restart()
    # The first delivery after the restart opens each user, which adopts
    # what a kill left between rename and commit (as any open would).
    with srv.connect("lmtp-plain", timeout=30) as c:
        hello(c)
        for u in users:
            msgid = "final-%s@ext.example" % u
            body = b"Message-ID: <%s>\r\nSubject: final\r\n\r\nlast\r\n" % msgid.encode()
            sent[msgid] = hashlib.sha256(body).hexdigest()
            _, _, _, final = transaction(c, "s@ext.example", [u + "@localhost"], body)
            assert final[0].startswith(b"250 2.0.0"), final
            acked[(u, msgid)] = sent[msgid]
    present = {}
    for u in users:
        for path, data in messages(srv, u):
            fields, rest = split_trace(data)
            msgid = rest.split(b"Message-ID: <")[1].split(b">")[0].decode()
            assert (u, msgid) not in present, "%s twice for %s" % (msgid, u)
            present[(u, msgid)] = hashlib.sha256(rest).hexdigest()
            assert msgid in sent, "phantom %s in %s" % (msgid, path)
            assert present[(u, msgid)] == sent[msgid], "%s: bytes differ" % path
        p = srv.run_cli("index", "check", u)
        assert p.returncode == 0 and not p.stdout.strip(), p.stdout + p.stderr
    for key, sha in acked.items():
        assert key in present, "acknowledged %s lost" % (key,)
    assert len(acked) >= 20, "too few deliveries acknowledged to mean much"
    print("%d acknowledged deliveries, %d present after 15 kills" % (len(acked), len(present)))
