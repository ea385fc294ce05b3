"""The durable write order of a delivery, read from an strace log.

kill -9 cannot show what reaches the disk (the page cache survives it), so
the durability tests trace the syscalls instead and check their order:

  trace(path) -> [Event]   every file event of an `strace -f -qq -s 80
                           -e trace=<TRACED>` log, in completion order (an
                           "<unfinished ...>" call counts where it resumed)
  check_delivery(events, user_dir, reply=None)
                           asserts, for every message renamed into
                           <user_dir>/.../cur/: its bytes were made durable
                           (fsync/fdatasync of its file, of the spool it is
                           a hard link of, or a syncfs) after they were last
                           written and before the rename; the cur/ directory
                           was fsynced after the rename; the user's LMDB
                           commit (the meta page through data.mdb's O_DSYNC
                           descriptor) came after the rename (an append's
                           directory fsync may overlap the commit); and,
                           when reply is given (bytes), the socket write
                           containing it came after both (the
                           n-th such write for the n-th message: a user's
                           messages must be delivered one after another).
                           Returns the number of messages checked.
"""

import re

TRACED = ("openat,close,accept4,fsync,fdatasync,syncfs,rename,renameat,renameat2,link,"
          "linkat,pwrite64,write,writev,sendto,sendmsg")

_LINE = re.compile(r"^(\d+)\s+(.*)$")
_CALL = re.compile(r"^(\w+)\((.*?)(?:\) += (-?\d+).*| <unfinished \.\.\.>)$")
_RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*?)\) += (-?\d+)")


class Event:
    def __init__(self, kind, a=None, b=None, text=""):
        self.kind, self.a, self.b, self.text = kind, a, b, text

    def __repr__(self):
        return "%s(%s%s)" % (self.kind, self.a, ", %s" % self.b if self.b else "")


def _paths(args):
    return re.findall(r'"((?:[^"\\]|\\.)*)"', args)


def trace(path):
    """Events: open (fd a, path b), write (path a), sync (path a), syncfs,
    link (from a, to b), rename (from a, to b), commit (data.mdb path a),
    send (text)."""
    fds = {}
    pending = {}
    events = []
    with open(path, errors="replace") as f:
        for raw in f:
            m = _LINE.match(raw.rstrip("\n"))
            if not m:
                continue
            pid, rest = m.group(1), m.group(2)
            r = _RESUMED.match(rest)
            if r:
                name, more, ret = r.group(1), r.group(2), r.group(3)
                if name == "close":
                    continue
                args = pending.pop((pid, name), "") + more
            else:
                c = _CALL.match(rest)
                if not c:
                    continue
                name, args, ret = c.group(1), c.group(2), c.group(3)
                if name == "close":
                    # Forget the descriptor at the call's start: once
                    # another thread may be given the same number, the
                    # close's own end can be reported after that open.
                    try:
                        fds.pop(int(args.split(",")[0].strip()), None)
                    except ValueError:
                        pass
                    continue
                if ret is None:
                    pending[(pid, name)] = args
                    continue
            ret = int(ret)
            if ret < 0:
                continue
            fd = None
            try:
                fd = int(args.split(",")[0])
            except ValueError:
                pass
            if name == "openat":
                p = _paths(args)
                if p:
                    fds[ret] = (p[0], args)
            elif name == "accept4":
                fds[ret] = ("<socket>", "")
            elif name in ("fsync", "fdatasync"):
                events.append(Event("sync", fds.get(fd, ("?", ""))[0]))
            elif name == "syncfs":
                events.append(Event("syncfs"))
            elif name.startswith("rename") or name.startswith("link"):
                p = _paths(args)
                if len(p) >= 2:
                    events.append(Event("rename" if name.startswith("rename") else "link",
                                        p[-2], p[-1]))
            elif name in ("pwrite64", "write", "writev", "sendto", "sendmsg"):
                target, flags = fds.get(fd, (None, ""))
                if name == "pwrite64" and target and target.endswith("/index/data.mdb") \
                        and "O_DSYNC" in flags:
                    events.append(Event("commit", target))
                elif target not in (None, "<socket>") and name in ("write", "pwrite64"):
                    events.append(Event("write", target))
                else:
                    events.append(Event("send", text=args))
    return events


def check_delivery(events, user_dir, reply=None):
    """See the module docstring."""
    linked_from = {}
    checked = 0
    for i, e in enumerate(events):
        if e.kind == "link":
            linked_from[e.b] = e.a
        if e.kind != "rename" or not e.b.startswith(user_dir + "/") or "/cur/" not in e.b:
            continue
        files = {e.a}
        if e.a in linked_from:
            files.add(linked_from[e.a])
        last_write = max([k for k in range(i) if events[k].kind == "write"
                          and events[k].a in files] or [-1])
        synced = [k for k in range(last_write + 1, i)
                  if events[k].kind == "syncfs"
                  or (events[k].kind == "sync" and events[k].a in files)]
        assert synced, "%s renamed into cur/ before its bytes were synced: %s" % (
            e.b, events[max(0, last_write - 3):i + 1])
        cur = e.b.rsplit("/", 1)[0]
        dir_sync = [k for k in range(i + 1, len(events))
                    if events[k].kind == "sync" and events[k].a == cur]
        assert dir_sync, "%s not fsynced after the rename of %s" % (cur, e.b)
        # the commit that gives the message its UID: after the rename; it
        # may overlap the directory fsync (storage/writer.c, step 3)
        index = user_dir + "/index/data.mdb"
        commits = [k for k in range(i + 1, len(events))
                   if events[k].kind == "commit" and events[k].a == index]
        assert commits, "no LMDB commit of %s after the rename of %s" % (index, e.b)
        done = max(dir_sync[0], commits[0])
        if reply is not None:
            # the user's messages come one after another: the n-th rename
            # goes with the n-th such reply
            sends = [k for k in range(len(events))
                     if events[k].kind == "send" and reply in events[k].text.encode()]
            assert len(sends) > checked, "no reply %r sent for %s" % (reply, e.b)
            assert sends[checked] > done, "reply %r sent before the commit and the " \
                "directory fsync: %s" % (reply, events[i:sends[checked] + 1])
        checked += 1
    return checked
