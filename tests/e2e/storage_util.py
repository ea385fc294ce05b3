"""Shared helpers of the storage end-to-end tests (test_storage_*.py).

These tests drive the store without a server: the `loft` CLI (deliver,
index check|rebuild) and the helper programs built from tests/tools/*.c
(crash-writer, hammer). Paths come from the environment ctest sets:
LOFT_BIN (the loft binary) and LOFT_BUILD_DIR (where tools are built).

  StoreEnv(tmp_path, extra=None)  writes a minimal config file and knows the
                                  mail directory; .loft(args, input=...) runs
                                  `loft -c CONFIG ...`; .deliver(user, data)
                                  runs `loft deliver` (adding the user to
                                  the users file first); .tool(name, args)
                                  runs a helper program; .ctl(user, ...)
                                  runs store-ctl; .dump(user, mailbox) reads
                                  a mailbox back through the API;
                                  .user_dir(user)
  maildir_files(dir)              {base: (subdir, filename)} of a mailbox
  parse_name(filename)            (base, uid or None, info) of a file name
  sha256(bytes)                   hex digest
"""

import hashlib
import os
import re
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("LOFT_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))


def _build_dir():
    bd = os.environ.get("LOFT_BUILD_DIR")
    if bd:
        return bd
    lb = os.environ.get("LOFT_BIN")
    if lb:
        return os.path.dirname(lb)
    return os.path.join(SOURCE_DIR, "build")


def loft_bin():
    return os.environ.get("LOFT_BIN") or os.path.join(_build_dir(), "loft")


def tool_bin(name):
    return os.path.join(_build_dir(), name)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


_NAME_RE = re.compile(r"^(?P<base>[^,:]+)(?P<fields>(,[A-Za-z]=[^,:]*)*)(:2,(?P<info>.*))?$")


def parse_name(filename):
    """(base, uid or None, info or None) of a Maildir file name."""
    m = _NAME_RE.match(filename)
    if not m:
        return filename, None, None
    uid = None
    for field in (m.group("fields") or "").split(","):
        if field.startswith("U="):
            uid = int(field[2:])
    return m.group("base"), uid, m.group("info")


def maildir_files(mailbox_dir):
    """{filename: subdir} for every message file in cur/ and new/."""
    out = {}
    for sub in ("cur", "new"):
        d = os.path.join(mailbox_dir, sub)
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            if not name.startswith("."):
                out[name] = sub
    return out


class StoreEnv:
    """A temporary configuration and mail directory for CLI-driven tests."""

    def __init__(self, tmp_path, extra=None):
        self.dir = str(tmp_path)
        self.state_dir = os.path.join(self.dir, "state")
        self.mail_dir = os.path.join(self.state_dir, "mail")
        os.makedirs(self.mail_dir, exist_ok=True)
        self.config_path = os.path.join(self.dir, "loft.conf")
        self.write_config(extra)

    def write_config(self, extra=None):
        sections = {"server": {"state_dir": self.state_dir, "mail_dir": self.mail_dir}}
        for sec, kv in (extra or {}).items():
            sections.setdefault(sec, {}).update(kv)
        lines = []
        for sec, kv in sections.items():
            lines.append("[%s]" % sec)
            lines.extend("%s = %s" % (k, v) for k, v in kv.items())
            lines.append("")
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines))

    def user_dir(self, user):
        return os.path.join(self.mail_dir, user)

    def loft(self, *args, input=None, timeout=60, check=None):
        """Run `loft -c CONFIG args...`; returns CompletedProcess (bytes).
        check=N asserts the exit code is N (printing output otherwise)."""
        p = subprocess.run([loft_bin(), "-c", self.config_path] + list(args),
                           input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
        if check is not None:
            assert p.returncode == check, (
                "loft %s: exit %d, want %d\nstdout: %s\nstderr: %s"
                % (" ".join(args), p.returncode, check,
                   p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")))
        return p

    def add_user(self, user):
        """Put user into the users file (loft deliver delivers to its users
        only); the password column is never used here."""
        path = os.path.join(self.state_dir, "users")
        names = set()
        if os.path.exists(path):
            with open(path) as f:
                names = {line.split(":", 1)[0] for line in f if ":" in line}
        if user.lower() not in names:
            with open(path, "a") as f:
                f.write("%s:{PLAIN}unused\n" % user.lower())
            os.chmod(path, 0o600)

    def deliver(self, user, data, mailbox=None, flags=None, sender=None, check=0,
                add_user=True):
        """`loft deliver -u user` (adding user to the users file first
        unless add_user is False); flags go to -F, sender to -f."""
        if add_user:
            self.add_user(user)
        args = ["deliver", "-u", user]
        if mailbox is not None:
            args += ["-m", mailbox]
        if flags is not None:
            args += ["-F", flags]
        if sender is not None:
            args += ["-f", sender]
        return self.loft(*args, input=data, check=check)

    def check(self, user):
        """(exit code, problem lines) of `loft index check USER`."""
        p = self.loft("index", "check", user)
        lines = [ln for ln in p.stdout.decode(errors="replace").splitlines() if ln.strip()]
        assert p.returncode in (0, 1), "index check failed: %s" % p.stderr.decode()
        return p.returncode, lines

    def assert_consistent(self, user):
        code, lines = self.check(user)
        assert code == 0 and not lines, "index check found problems:\n" + "\n".join(lines)

    def tool(self, name, *args, timeout=120, check=True):
        p = subprocess.run([tool_bin(name)] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        if check:
            assert p.returncode == 0, "%s %s: exit %d\n%s" % (
                name, " ".join(args), p.returncode, p.stderr.decode(errors="replace"))
        return p

    def ctl(self, user, *args, input=None, check=True):
        """Run tests/tools/store-ctl on this mail directory; stdout as str."""
        p = subprocess.run([tool_bin("store-ctl"), "-d", self.mail_dir, "-u", user]
                           + list(args), input=input, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        if check:
            assert p.returncode == 0, "store-ctl %s: exit %d\n%s" % (
                " ".join(args), p.returncode, p.stderr.decode(errors="replace"))
        return p.stdout.decode()

    def assert_quota_matches(self, user):
        """The user's quota usage equals what its mailboxes hold (counters
        maintained incrementally must survive crashes, reconciles and
        rebuilds)."""
        used_bytes, _, used_msgs, _ = (int(x) for x in self.ctl(user, "quota").split())
        total_msgs = total_bytes = 0
        for _, st in self.dump_all(user).values():
            total_msgs += st["messages"]
            total_bytes += st["size"]
        assert (used_msgs, used_bytes) == (total_msgs, total_bytes), (
            "quota usage %d messages / %d bytes, mailboxes hold %d / %d"
            % (used_msgs, used_bytes, total_msgs, total_bytes))

    @staticmethod
    def _parse_dump(lines):
        msgs, status = {}, None
        for line in lines:
            f = line.split("\t")
            if f[0] == "M":
                uid = int(f[1])
                assert uid not in msgs, "UID %d listed twice" % uid
                msgs[uid] = (f[2], f[3], "" if f[4] == "-" else f[4], f[5], int(f[6]),
                             int(f[7]), int(f[8]))
            elif f[0] == "S":
                keys = ("uidvalidity", "uidnext", "messages", "unseen", "deleted", "size",
                        "highestmodseq")
                status = dict(zip(keys, (int(x) for x in f[1:])))
        assert status is not None, "dump printed no status line"
        assert status["messages"] == len(msgs), "status messages != scanned messages"
        return msgs, status

    def dump_all(self, user):
        """{mailbox: (msgs, status)} of every mailbox, in one store-ctl run
        (msgs and status as dump(..., full=True) returns them)."""
        out, name, chunk = {}, None, []
        for line in self.ctl(user, "dump-all").splitlines() + ["N\t"]:
            if line.startswith("N\t"):
                if name is not None:
                    out[name] = self._parse_dump(chunk)
                name, chunk = line[2:], []
            else:
                chunk.append(line)
        return out

    def dump(self, user, mailbox="INBOX", full=False):
        """What the index says, read through the API by store-ctl dump:
        ({uid: (msgid, sha256, flags, keywords, size, vsize, internal_date)},
        uidvalidity, uidnext) -- or with full=True, the status as a dict
        (uidvalidity uidnext messages unseen deleted size highestmodseq)
        instead of the two numbers. flags are letters S F A D T ("" for
        none), keywords comma separated ("-" for none)."""
        msgs, status = self._parse_dump(self.ctl(user, "dump", mailbox).splitlines())
        if full:
            return msgs, status
        return msgs, status["uidvalidity"], status["uidnext"]
