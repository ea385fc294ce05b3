"""Crash safety of the store: kill -9 at random instants loses nothing that
was acknowledged and never corrupts the index.

tests/tools/crash-writer appends from several threads (group commits), sets
flags and expunges, logging each intent before and each acknowledgement
after the store call returned (one write(2) per line, so the log holds only
what really happened). We kill it with SIGKILL 5-80 ms (sometimes longer,
so the mailbox grows) after it started or after it reported being ready,
restart it on the same store, and repeat more than 200 times. Then, reading the store through the API:

- every acknowledged append (A line) whose expunge was never attempted is
  present under the UID it was given, with identical bytes (sha256);
- every acknowledged expunge (X line) is gone; every acknowledged move to
  Archive (M line) is in Archive under the UID it was given and gone from
  INBOX; an interrupted move (m without M) may leave the message in either
  mailbox or both, never in neither;
- message-ids are unique per attempt (pid, thread, counter), so no
  message-id may be present twice at all. A present message whose append
  was never acknowledged (B line without A: the process died between the
  rename into cur/ and the index commit, or before replying) is allowed,
  must carry the bytes that were being written, and must not hold a UID
  that was acknowledged to another message; a message no B line announced
  is a phantom and fails the test;
- a message's flags and keywords are those of its last acknowledged SET
  (or none if there was none), or of a SET attempted after it;
- UIDs are never acknowledged twice, UIDVALIDITY never changed, UIDNEXT is
  above every UID, and `loft index check` reports the store consistent
  (also at checkpoints during the run, after a reconcile).
"""

import os
import random
import re
import select
import shutil
import signal
import subprocess
import time

import pytest

import strace_util
from storage_util import StoreEnv, loft_bin, tool_bin

USER = "crash"
KILLS = 210
CHECKPOINTS = (70, 140)


def parse_log(path):
    log = {"V": set(), "B": {}, "A": {}, "A_by_msgid": {}, "x": set(), "X": set(),
           "m": set(), "M": {}, "flags": {}}
    with open(path) as f:
        for line in f:
            assert line.endswith("\n"), "torn log line %r" % line
            p = line[:-1].split("\t")
            kind = p[0]
            if kind == "V":
                log["V"].add(int(p[1]))
            elif kind == "B":
                log["B"][p[1]] = p[2]
            elif kind == "A":
                uid, msgid, sha = int(p[1]), p[2], p[3]
                assert uid not in log["A"], "UID %d acknowledged twice (%s and %s)" % (
                    uid, log["A"][uid][0], msgid)
                log["A"][uid] = (msgid, sha)
                log["A_by_msgid"][msgid] = uid
            elif kind in ("x", "X", "m"):
                log[kind].add(int(p[1]))
            elif kind == "M":
                assert int(p[2]) not in log["M"].values(), "Archive UID %s given twice" % p[2]
                log["M"][int(p[1])] = int(p[2])
            elif kind in ("f", "F"):
                log["flags"].setdefault(int(p[1]), []).append((kind, p[2], p[3]))
            else:
                raise AssertionError("unknown log line %r" % line)
    return log


def kwset(text):
    return frozenset() if text == "-" else frozenset(text.split(","))


def flag_candidates(ops):
    """Allowed final (flags, keywords) given the uid's f/F history."""
    last_ack = None
    for i, (kind, _, _) in enumerate(ops):
        if kind == "F":
            last_ack = i
    cands = set()
    if last_ack is None:
        cands.add(("", frozenset()))
        later = ops
    else:
        cands.add((ops[last_ack][1], kwset(ops[last_ack][2])))
        later = ops[last_ack + 1:]
    for kind, flags, kw in later:
        if kind == "f":
            cands.add((flags, kwset(kw)))
    return cands


def verify(env, log_path):
    log = parse_log(log_path)
    msgs, uidvalidity, uidnext = env.dump(USER)
    archive, _, archive_next = env.dump(USER, "Archive")
    assert len(log["V"]) == 1, "UIDVALIDITY changed across restarts: %s" % log["V"]
    assert uidvalidity in log["V"]
    assert not msgs or uidnext > max(msgs)
    assert not archive or archive_next > max(archive)
    in_archive = {}
    for auid, m in archive.items():
        assert m[0] not in in_archive, "%s twice in Archive" % m[0]
        in_archive[m[0]] = auid

    for uid, (msgid, sha) in log["A"].items():
        if uid in log["M"]:
            auid = log["M"][uid]
            assert uid not in msgs, "moved UID %d still in INBOX" % uid
            assert auid in archive, "moved UID %d lost (Archive UID %d)" % (uid, auid)
            assert archive[auid][:2] == (msgid, sha), "Archive UID %d: wrong message" % auid
        elif uid in log["x"] or uid in log["X"]:
            continue  # expunged (perhaps after an interrupted move left it in INBOX)
        elif uid in log["m"]:
            # Interrupted move: in INBOX under its UID, or in Archive, or
            # both -- never nowhere.
            assert (msgs.get(uid, (None,))[0] == msgid) or msgid in in_archive, (
                "UID %d (%s) lost by an interrupted move" % (uid, msgid))
        else:
            assert uid in msgs, "acknowledged UID %d (%s) lost" % (uid, msgid)
            assert msgs[uid][0] == msgid, "UID %d holds %s, acknowledged for %s" % (
                uid, msgs[uid][0], msgid)
            assert msgs[uid][1] == sha, "UID %d (%s): bytes differ" % (uid, msgid)
    for uid in log["X"]:
        assert uid not in msgs, "acknowledged expunge of UID %d undone" % uid

    seen_msgids = {}
    for uid, (msgid, sha, flags, kw, *_) in msgs.items():
        assert msgid not in seen_msgids, "%s present twice: UIDs %d and %d" % (
            msgid, seen_msgids[msgid], uid)
        seen_msgids[msgid] = uid
        assert msgid in log["B"], "phantom message UID %d %s" % (uid, msgid)
        assert sha == log["B"][msgid], "UID %d (%s): bytes differ from written" % (
            uid, msgid)
        if msgid in log["A_by_msgid"]:
            assert log["A_by_msgid"][msgid] == uid
        else:
            assert uid not in log["A"], "unacknowledged %s took acknowledged UID %d" % (
                msgid, uid)
        if msgid in in_archive:
            assert uid in log["m"] and uid not in log["M"], (
                "%s in INBOX (UID %d) and Archive without an interrupted move" % (msgid, uid))
        got = (flags, kwset(kw))
        cands = flag_candidates(log["flags"].get(uid, []))
        assert got in cands, "UID %d flags %r, allowed %r" % (uid, got, cands)
    for auid, m in archive.items():
        assert m[0] in log["B"] and m[1] == log["B"][m[0]], "Archive UID %d: phantom" % auid
        src = log["A_by_msgid"].get(m[0])
        if src is not None and src in log["M"]:
            assert log["M"][src] == auid
        elif src is not None:
            assert src in log["m"], "%s in Archive but never moved" % m[0]
    env.assert_consistent(USER)
    env.assert_quota_matches(USER)
    return log, msgs


def test_kill9_loses_nothing(tmp_path):
    env = StoreEnv(tmp_path)
    log_path = os.path.join(env.dir, "crash.log")
    rng = random.Random(int(os.environ.get("LOFT_CRASH_SEED", "0")) or None)
    cmd = [tool_bin("crash-writer"), "-d", env.mail_dir, "-u", USER, "-l", log_path,
           "-t", "4", "-T", "20"]
    start = time.monotonic()
    for i in range(KILLS):
        p = subprocess.Popen(cmd + ["-s", str(rng.randrange(1, 1 << 30))],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # A third of the kills count from exec (they hit start-up and the
        # reconcile of the previous crash), the rest from "ready" (store
        # open, threads running) so slow builds still kill mid-append.
        if rng.random() >= 0.3:
            ready, _, _ = select.select([p.stdout], [], [], 20)
            assert ready, "run %d: crash-writer not ready after 20 s" % i
        if rng.random() < 0.1:
            time.sleep(rng.uniform(0.1, 0.3))
        else:
            time.sleep(rng.uniform(0.005, 0.08))
        p.send_signal(signal.SIGKILL)
        _, err = p.communicate(timeout=60)
        assert p.returncode == -signal.SIGKILL, (
            "run %d: crash-writer exited by itself (%d): %s"
            % (i, p.returncode, err.decode(errors="replace")))
        if i + 1 in CHECKPOINTS:
            verify(env, log_path)
    log, msgs = verify(env, log_path)
    elapsed = time.monotonic() - start
    unacked = sum(1 for m in msgs.values() if m[0] not in log["A_by_msgid"])
    print("%d kills in %.1f s: %d appends acknowledged, %d expunged, %d moved, %d in INBOX "
          "(%d of them never acknowledged)"
          % (KILLS, elapsed, len(log["A"]), len(log["X"]), len(log["M"]), len(msgs), unacked))
    # The harness must have exercised something at every level.
    assert len(log["A"]) >= 100
    assert len(log["X"]) >= 5
    assert len(log["M"]) >= 5
    assert any(kind == "F" for ops in log["flags"].values() for kind, _, _ in ops)


def test_append_is_durable_before_ack(tmp_path):
    """What kill -9 cannot show (the page cache survives it): the order of
    durability syscalls of one `loft deliver`, traced with strace. The
    message's bytes are synced (its spool file, of which the mailbox file is
    a hard link) before it is renamed into cur/, cur/ is fsynced after the
    rename, and the LMDB commit (the meta page through data.mdb's O_DSYNC
    descriptor) comes after the rename (alongside that fsync: an append's
    batch overlaps them) -- all before exit 0. The server's own deliveries
    are traced the same way, up to their 250 replies, in
    test_delivery_durability.py."""
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace not installed")
    env = StoreEnv(tmp_path)
    env.deliver(USER, b"Subject: first\r\n\r\nopens the store\r\n")
    trace = os.path.join(env.dir, "trace")
    p = subprocess.run([strace, "-f", "-qq", "-s", "80", "-o", trace, "-e",
                        "trace=" + strace_util.TRACED,
                        loft_bin(), "-c", env.config_path, "deliver", "-u", USER],
                       input=b"Subject: traced\r\n\r\nbody\r\n", capture_output=True, timeout=60,
                       # LeakSanitizer cannot run under ptrace (sanitizer builds)
                       env=dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "")
                                + ":detect_leaks=0"))
    assert p.returncode == 0, p.stderr
    events = strace_util.trace(trace)
    assert strace_util.check_delivery(events, env.user_dir(USER)) == 1, events


def acknowledged_mailbox_ops(log_path):
    """Renames and deletes the -M log records as acknowledged so far."""
    with open(log_path) as f:
        return sum(1 for line in f if line[:2] in ("R\t", "D\t"))


def verify_mailbox_log(env, log_path):
    """Replay the -M log: where may each message be now?"""
    lines = []
    with open(log_path) as f:
        for line in f:
            assert line.endswith("\n"), "torn log line %r" % line
            lines.append(line[:-1].split("\t"))
    written = {}      # msgid -> sha256 of every started append
    where = {}        # msgid -> set of mailboxes it may be in
    may_be_gone = set()
    for i, p in enumerate(lines):
        if p[0] == "a":
            written[p[1]] = p[2]
            if not (i + 1 < len(lines) and lines[i + 1][:2] == ["P", p[1]]):
                may_be_gone.add(p[1])
                where[p[1]] = {p[3]}
        elif p[0] == "P":
            where[p[1]] = {p[2]}
        elif p[0] == "r":
            acked = i + 1 < len(lines) and lines[i + 1] == ["R", p[1], p[2]]
            for s in where.values():
                if p[1] in s:
                    if acked:
                        s.discard(p[1])
                    s.add(p[2])
        elif p[0] == "d":
            # Any message that is or may be in the deleted mailbox may be
            # gone; if it survives, it is under one of its other names.
            acked = i + 1 < len(lines) and lines[i + 1] == ["D", p[1]]
            for msgid, s in where.items():
                if p[1] in s:
                    may_be_gone.add(msgid)
                    if acked and len(s) > 1:
                        s.discard(p[1])
    found = {}
    for name, (msgs, _) in env.dump_all(USER).items():
        for uid, m in msgs.items():
            assert m[0] not in found, "%s in %s and %s" % (m[0], found[m[0]], name)
            found[m[0]] = name
            assert m[0] in written, "phantom %s in %s" % (m[0], name)
            assert m[1] == written[m[0]], "%s in %s: bytes differ" % (m[0], name)
    for msgid, names in where.items():
        if msgid in found:
            assert found[msgid] in names, "%s in %s, expected one of %s" % (
                msgid, found[msgid], sorted(names))
        else:
            assert msgid in may_be_gone, "%s lost (expected in %s)" % (msgid, sorted(names))
    env.assert_consistent(USER)
    env.assert_quota_matches(USER)
    return len(found), sum(1 for p in lines if p[0] in ("R", "D"))


def test_kill9_mailbox_operations(tmp_path):
    """Mailbox create/rename/delete interrupted by kill -9 never loses the
    messages inside: each is afterwards in the mailbox the acknowledged
    operations put it in (or, after an interrupted rename, under either
    name), unless an acknowledged or interrupted delete removed it."""
    env = StoreEnv(tmp_path)
    log_path = os.path.join(env.dir, "mailbox.log")
    rng = random.Random(int(os.environ.get("LOFT_CRASH_SEED", "0")) or None)
    cmd = [tool_bin("crash-writer"), "-d", env.mail_dir, "-u", USER, "-l", log_path, "-M",
           "-T", "20"]
    # At least 40 kills, and on until 15 renames/deletes were acknowledged
    # (a slow build, e.g. under ASan, gets more runs rather than a failure).
    for i in range(200):
        if i >= 40 and acknowledged_mailbox_ops(log_path) >= 15:
            break
        p = subprocess.Popen(cmd + ["-s", str(rng.randrange(1, 1 << 30))],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        ready, _, _ = select.select([p.stdout], [], [], 20)
        assert ready, "run %d: crash-writer not ready after 20 s" % i
        time.sleep(rng.uniform(0.005, 0.12))
        p.send_signal(signal.SIGKILL)
        _, err = p.communicate(timeout=60)
        assert p.returncode == -signal.SIGKILL, (
            "run %d: crash-writer exited by itself (%d): %s"
            % (i, p.returncode, err.decode(errors="replace")))
    present, ops = verify_mailbox_log(env, log_path)
    print("mailbox crash: %d messages present, %d renames/deletes acknowledged"
          % (present, ops))
    assert ops >= 15
