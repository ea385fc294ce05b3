"""Concurrency of the store across threads and processes on one mailbox.

Three tests/tools/hammer processes (each with two flag workers, a reader
thread and an appender thread that also expunges some of its own messages)
run while four streams of `loft deliver` processes deliver in parallel and
an "external MDA" drops files into new/ that every process may try to
adopt (each must end up exactly once).
Every flag worker owns one keyword (on any message) and \\Flagged on the
messages whose uid % 6 is its index, so the final state of each is exactly
known: no update may be lost. Every message ends with a trailer line
holding its own length and sha256, so a reader that ever sees a partial or
foreign message fails. At the end the store must hold exactly the messages
delivered and appended minus the expunged ones, each once, under distinct
UIDs never reused, and `loft index check` must be clean.
"""

import hashlib
import os
import subprocess
import threading
import time

from storage_util import StoreEnv, tool_bin

USER = "conc"
PROCS = 3
WORKERS_PER_PROC = 2
APPENDS = 20
EXPUNGES = 5
STREAMS = 4
PER_STREAM = 12
PRELOAD = 20
EXTERNAL = 40


def message(msgid, n_lines):
    body = ("From: deliver@example.org\r\nMessage-ID: <%s>\r\nSubject: conc\r\n\r\n" % msgid)
    body += "".join("line %d of %s\r\n" % (i, msgid) for i in range(n_lines))
    body = body.encode()
    trailer = "X-Trailer: %d %s\r\n" % (len(body), hashlib.sha256(body).hexdigest())
    return body + trailer.encode()


def test_threads_and_processes(tmp_path):
    env = StoreEnv(tmp_path)
    expected = {}        # msgid -> sha256 of delivered messages
    seen_flag = set()    # msgids delivered with \Seen
    for i in range(PRELOAD):
        msgid = "pre%d@conc" % i
        data = message(msgid, 5 + i * 7)
        expected[msgid] = hashlib.sha256(data).hexdigest()
        env.deliver(USER, data)

    total_workers = PROCS * WORKERS_PER_PROC
    hammers = []
    for p in range(PROCS):
        cmd = [tool_bin("hammer"), "-d", env.mail_dir, "-u", USER, "-p", str(p),
               "-w", str(WORKERS_PER_PROC), "-o", str(p * WORKERS_PER_PROC),
               "-W", str(total_workers), "-r", "1", "-a", str(APPENDS),
               "-x", str(EXPUNGES), "-s", "6"]
        hammers.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE))

    failures = []
    lock = threading.Lock()

    def stream(s):
        for i in range(PER_STREAM):
            msgid = "d%d.%d@conc" % (s, i)
            data = message(msgid, 20 + 97 * i)
            flags = "\\Seen" if i % 3 == 0 else None
            args = ["deliver", "-u", USER] + (["-F", flags] if flags else [])
            r = env.loft(*args, input=data)
            with lock:
                if r.returncode != 0 or r.stdout or r.stderr:
                    failures.append("deliver %s: exit %d %r" % (msgid, r.returncode, r.stderr))
                expected[msgid] = hashlib.sha256(data).hexdigest()
                if flags:
                    seen_flag.add(msgid)

    def external_mda():
        # Another program delivering straight into new/ (tmp/ then rename,
        # as Maildir requires) while several processes reconcile.
        root = env.user_dir(USER)
        for i in range(EXTERNAL):
            msgid = "ext%d@conc" % i
            data = message(msgid, 10 + 13 * i)
            name = "1700000000.M%dP%d.external" % (i, os.getpid())
            with open(os.path.join(root, "tmp", name), "wb") as f:
                f.write(data)
            os.rename(os.path.join(root, "tmp", name), os.path.join(root, "new", name))
            with lock:
                expected[msgid] = hashlib.sha256(data).hexdigest()
            time.sleep(0.03)

    threads = [threading.Thread(target=stream, args=(s,)) for s in range(STREAMS)]
    threads.append(threading.Thread(target=external_mda))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outputs = []
    for h in hammers:
        out, err = h.communicate(timeout=120)
        assert h.returncode == 0, "hammer failed:\n" + err.decode(errors="replace")
        outputs.append(out.decode())
    assert not failures, "\n".join(failures)

    appended, expunged, expect_sets, reads = {}, set(), {}, 0
    for out in outputs:
        for line in out.splitlines():
            f = line.split("\t")
            if f[0] == "U":
                uid = int(f[1])
                assert uid not in appended, "UID %d given twice" % uid
                appended[uid] = f[2]
            elif f[0] == "X":
                expunged.add(int(f[1]))
            elif f[0] == "E":
                expect_sets[f[1]] = set() if f[2] == "-" else {int(u) for u in f[2].split(",")}
            elif f[0] == "R":
                reads += int(f[1])
    assert len(appended) == PROCS * APPENDS
    assert len(expunged) == PROCS * EXPUNGES
    assert len(expect_sets) == 2 * total_workers
    assert reads > 0

    v = env.tool("hammer", "-d", env.mail_dir, "-u", USER, "--verify")
    _, total, ok = v.stdout.decode().split()
    assert int(total) == int(ok)

    msgs, _, uidnext = env.dump(USER)
    by_msgid = {}
    for uid, (msgid, sha, flags, kw, *_) in msgs.items():
        assert msgid not in by_msgid, "%s under UIDs %d and %d" % (msgid, by_msgid[msgid], uid)
        by_msgid[msgid] = uid
    want = set(expected) | {m for u, m in appended.items() if u not in expunged}
    assert set(by_msgid) == want, "missing %s, extra %s" % (
        sorted(want - set(by_msgid))[:5], sorted(set(by_msgid) - want)[:5])
    for msgid, sha in expected.items():
        assert msgs[by_msgid[msgid]][1] == sha, "bytes of %s differ" % msgid
    for uid, msgid in appended.items():
        if uid in expunged:
            assert uid not in msgs, "expunged UID %d present (reused?)" % uid
        else:
            assert msgs.get(uid, (None,))[0] == msgid
    assert uidnext > max(msgs)

    # No lost flag updates: each keyword and \Flagged exactly as its owner
    # expects, and \Seen exactly where deliver set it.
    present = set(msgs)
    flagged_want = set()
    for name, uids in expect_sets.items():
        if name.startswith("\\Flagged"):
            flagged_want |= uids & present
            continue
        have = {u for u, m in msgs.items() if name in m[3].split(",")}
        assert have == uids & present, "keyword %s: lost %s, extra %s" % (
            name, sorted((uids & present) - have)[:5], sorted(have - uids)[:5])
    flagged_have = {u for u, m in msgs.items() if "F" in m[2]}
    assert flagged_have == flagged_want, "\\Flagged: lost %s, extra %s" % (
        sorted(flagged_want - flagged_have)[:5], sorted(flagged_have - flagged_want)[:5])
    for uid, m in msgs.items():
        assert ("S" in m[2]) == (m[0] in seen_flag), "\\Seen wrong on UID %d" % uid
    env.assert_consistent(USER)
    env.assert_quota_matches(USER)
