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
from delivery_util import hello, messages, transaction, users_text

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
