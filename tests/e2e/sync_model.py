"""A QRESYNC client model for the convergence tests: a "device" that
caches INBOX as {uid: flags} plus UIDVALIDITY and HIGHESTMODSEQ, learns
everything only from the server's responses (SELECT (QRESYNC ...),
VANISHED, FETCH with MODSEQ, EXISTS, HIGHESTMODSEQ codes), and does what a
phone or desktop does: flag changes, expunges, moves, appends, IDLE, going
offline and coming back.

  Device(srv, name, rng)      not connected; .cache {uid: frozenset(flags)}
  dev.online() / offline()    connect + ENABLE QRESYNC + SELECT (QRESYNC)
                              when it has a cache; LOGOUT
  dev.random_action()         one random change (needs online)
  dev.idle_start() / idle_stop()
  dev.settle()                NOOP and the fetch of new messages
  server_state(srv)           the truth, from a fresh session
"""

import re

from imap_util import USER, PASSWORD, cmd, message

FETCH_RE = re.compile(rb"^\* (\d+) FETCH \((.*)\)$")
UID_RE = re.compile(rb"UID (\d+)")
FLAGS_RE = re.compile(rb"FLAGS \(([^)]*)\)")
HMS_RE = re.compile(rb"\[HIGHESTMODSEQ (\d+)\]")
EXISTS_RE = re.compile(rb"^\* (\d+) EXISTS$")
VANISHED_RE = re.compile(rb"^\* VANISHED (\(EARLIER\) )?([\d:,]+)$")
UIDV_RE = re.compile(rb"\[UIDVALIDITY (\d+)\]")

FLAG_CHOICES = ["\\Seen", "\\Flagged", "\\Answered", "\\Draft", "$Work", "$Later"]


def parse_set(text):
    out = set()
    for part in text.split(b","):
        if b":" in part:
            a, b = (int(x) for x in part.split(b":"))
            out.update(range(min(a, b), max(a, b) + 1))
        else:
            out.add(int(part))
    return out


LIT_RE = re.compile(rb"\{(\d+)\}$")


def join_literals(lines):
    """Responses with literals (a body FETCH) come split into lines: put
    each back together, the literal's bytes left out."""
    out, i = [], 0
    while i < len(lines):
        ln = lines[i]
        i += 1
        while LIT_RE.search(ln):
            n = int(LIT_RE.search(ln).group(1))
            ln = ln[:LIT_RE.search(ln).start()] + b"{}"
            inside = False
            while n > 0 and i < len(lines):
                piece = lines[i]
                i += 1
                if len(piece) + 2 <= n:
                    n -= len(piece) + 2
                else:               # the literal ends inside this line
                    ln += piece[n:]
                    n = 0
                    inside = True
            if not inside and i < len(lines):
                ln += lines[i]      # it ended with a line: the rest follows
                i += 1
        out.append(ln)
    return out


def flags_of(text):
    return frozenset(f for f in text.decode().split() if f != "\\Recent")


class Device:
    def __init__(self, srv, name, rng):
        self.srv, self.name, self.rng = srv, name, rng
        self.c = None
        self.cache = {}
        self.uidvalidity = None
        self.hms = None            # resume point: a HIGHESTMODSEQ code
        self.exists = 0
        self.idling = False
        self.ops = 0

    # ---- responses ----

    def absorb(self, lines, silent_op=None):
        """Apply untagged responses; returns the new HIGHESTMODSEQ code.
        silent_op (op, flags): a STORE .SILENT of ours, whose FETCH (UID
        MODSEQ) responses name the messages it changed."""
        hms = None
        for ln in join_literals(lines):
            m = FETCH_RE.match(ln)
            if m:
                body = m.group(2)
                u, f = UID_RE.search(body), FLAGS_RE.search(body)
                assert u is not None, (self.name, ln)
                uid = int(u.group(1))
                if f is not None:
                    self.cache[uid] = flags_of(f.group(1))
                elif silent_op is not None and uid in self.cache:
                    op, fl = silent_op
                    old = self.cache[uid]
                    self.cache[uid] = (old | fl if op == "+" else old - fl if op == "-"
                                       else frozenset(fl))
                continue
            m = VANISHED_RE.match(ln)
            if m:
                gone = parse_set(m.group(2))
                for uid in gone:
                    self.cache.pop(uid, None)
                if m.group(1) is None:
                    self.exists -= len(gone)
                continue
            m = EXISTS_RE.match(ln)
            if m:
                self.exists = int(m.group(1))
                continue
            assert not re.match(rb"^\* \d+ EXPUNGE$", ln), (self.name, ln)
            m = HMS_RE.search(ln)
            if m:
                hms = int(m.group(1))
            m2 = UIDV_RE.search(ln)
            if m2:
                self.uidvalidity = int(m2.group(1))
        return hms

    def run(self, line, silent_op=None):
        assert not self.idling
        self.ops += 1
        r = cmd(self.c, "t", line, timeout=30)
        assert r[-1].startswith(b"t OK"), (self.name, line, r[-1])
        hms = self.absorb(r, silent_op)
        self.catch_up(hms)
        return r

    def catch_up(self, hms):
        """New messages are only counted by EXISTS: fetch them before
        resuming from a newer HIGHESTMODSEQ (a client that dies first
        keeps the old one and gets them again on resync)."""
        if self.exists > len(self.cache):
            # what changed since the resume point includes the new ones
            r = cmd(self.c, "n", "UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE %d)" % self.hms,
                    timeout=30)
            assert r[-1].startswith(b"n OK"), r
            h2 = self.absorb(r)
            hms = h2 or hms
        assert self.exists == len(self.cache), (self.name, self.exists, sorted(self.cache))
        if hms is not None:
            self.hms = hms

    # ---- life ----

    def online(self):
        self.c = self.srv.connect("imap", timeout=30)
        assert self.c.readline().startswith(b"* OK")
        assert cmd(self.c, "l", "LOGIN %s %s" % (USER, PASSWORD))[-1].startswith(b"l OK")
        assert cmd(self.c, "e", "ENABLE QRESYNC")[-1].startswith(b"e OK")
        if self.uidvalidity is None:
            r = cmd(self.c, "s", "SELECT INBOX")
            self.absorb(r)
            self.hms = int(HMS_RE.search(b"\n".join(r)).group(1))
            r = cmd(self.c, "f", "UID FETCH 1:* (UID FLAGS)") if self.exists else [b"f OK"]
            self.absorb(r)
        else:
            known = ",".join(str(u) for u in sorted(self.cache)) or None
            arg = "%d %d" % (self.uidvalidity, self.hms) + (" " + known if known else "")
            r = cmd(self.c, "s", "SELECT INBOX (QRESYNC (%s))" % arg)
            assert r[-1].startswith(b"s OK"), r
            hms = self.absorb(r)
            self.hms = hms
        assert self.exists == len(self.cache), (self.name, self.exists, len(self.cache))

    def offline(self):
        if self.idling:
            self.idle_stop()
        cmd(self.c, "o", "LOGOUT")
        self.c.close()
        self.c = None

    def idle_start(self):
        self.c.sendline("i IDLE")
        assert self.c.readline() == b"+ idling\r\n"
        self.idling = True

    def idle_stop(self):
        self.c.sendline("DONE")
        r = [ln.rstrip(b"\r\n") for ln in self.c.read_until_tag("i", timeout=30)]
        assert r[-1] == b"i OK IDLE terminated.", r
        self.idling = False
        self.catch_up(self.absorb(r))

    def settle(self):
        self.run("NOOP")

    # ---- actions ----

    def random_action(self):
        rng = self.rng
        uids = sorted(self.cache)
        roll = rng.random()
        if not uids or roll < 0.15:
            n = rng.randint(1, 3)
            for _ in range(n):
                body = message(rng.randint(0, 10 ** 6))
                flags = rng.choice(["", "(\\Seen)", "($Work)"])
                self.c.sendline("t APPEND INBOX %s{%d+}" % (flags + " " if flags else "",
                                                           len(body)))
                self.c.send(body + b"\r\n")
                r = [ln.rstrip(b"\r\n") for ln in self.c.read_until_tag("t", timeout=30)]
                assert r[-1].startswith(b"t OK [APPENDUID"), r
                self.ops += 1
                self.catch_up(self.absorb(r))
            return "append"
        if roll < 0.55:
            pick = rng.sample(uids, min(len(uids), rng.randint(1, 4)))
            op = rng.choice(["+", "-", ""])
            fl = " ".join(rng.sample(FLAG_CHOICES, rng.randint(1, 3)))
            silent = rng.choice([".SILENT", ""])
            self.run("UID STORE %s %sFLAGS%s (%s)" % (",".join(map(str, pick)), op, silent, fl),
                     (op, frozenset(fl.split())) if silent else None)
            return "store"
        if roll < 0.7:
            pick = rng.sample(uids, min(len(uids), rng.randint(1, 3)))
            s = ",".join(map(str, pick))
            self.run("UID STORE %s +FLAGS.SILENT (\\Deleted)" % s, ("+", frozenset(["\\Deleted"])))
            self.run("UID EXPUNGE %s" % s)
            return "expunge"
        if roll < 0.8:
            pick = rng.sample(uids, 1)
            self.run("UID MOVE %d Archive" % pick[0])
            return "move"
        if roll < 0.9:
            self.run("UID FETCH %d (BODY[HEADER.FIELDS (SUBJECT)])" % rng.choice(uids))
            return "read"
        self.settle()
        return "noop"


def server_state(srv):
    c = srv.connect("imap", timeout=30)
    c.readline()
    cmd(c, "l", "LOGIN %s %s" % (USER, PASSWORD))
    r = cmd(c, "s", "EXAMINE INBOX")
    n = int(next(EXISTS_RE.match(ln).group(1) for ln in r if EXISTS_RE.match(ln)))
    state = {}
    if n:
        for ln in cmd(c, "f", "UID FETCH 1:* (UID FLAGS)", timeout=60):
            m = FETCH_RE.match(ln)
            if m:
                body = m.group(2)
                state[int(UID_RE.search(body).group(1))] = flags_of(
                    FLAGS_RE.search(body).group(1))
    cmd(c, "o", "LOGOUT")
    c.close()
    return state
