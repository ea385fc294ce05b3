"""Real POP3 clients against Loft: fetchmail (keep and no-keep) and getmail6
(delete, and read_all=false with UIDL-tracked leave-on-server), each run
twice: the second run downloads nothing new, and a message delivered
between runs is downloaded exactly once. Each runs from a generated
configuration, without stdin, over implicit TLS verified against the test
certificate (fetchmail) or over loopback plaintext (getmail), and hands
every message to a small MDA script that writes one file per message."""
import os
import re
import subprocess

from pop3_util import deliver, login, pop3_server

WRITER = """#!/bin/sh
f=$(mktemp "%s/msg.XXXXXX") || exit 75
cat > "$f"
"""


def make_writer(tmp):
    """An MDA script writing each message it gets on stdin to a new file
    in tmp/out; returns (script, out directory)."""
    out = os.path.join(tmp, "out")
    os.makedirs(out, exist_ok=True)
    writer = os.path.join(tmp, "writer.sh")
    with open(writer, "w") as f:
        f.write(WRITER % out)
    os.chmod(writer, 0o755)
    return writer, out


def subjects(directory):
    out = []
    for root, _, files in os.walk(directory):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                m = re.search(rb"^Subject: (.*?)\r?$", f.read(), re.M)
            out.append(m.group(1).decode() if m else None)
    return sorted(out)


def msg(tag):
    return "Subject: %s\r\nFrom: sender@example.org\r\nTo: alice@localhost\r\n\r\nbody of %s\r\n" % (tag, tag)


class Fetchmail:
    def __init__(self, srv, tmp, keep):
        self.tmp, self.keep = tmp, keep
        writer, self.out = make_writer(tmp)
        self.rc = os.path.join(tmp, "fetchmailrc")
        with open(self.rc, "w") as f:
            f.write('set no bouncemail\n'
                    'poll localhost protocol pop3 port %d uidl\n'
                    '  user "alice" there with password "secret" is "alice" here\n'
                    '  options ssl sslcertck sslcertfile "%s"\n'
                    % (srv.port("pop3s"), srv.ca_file))
        self.writer = writer
        os.chmod(self.rc, 0o600)

    def run(self):
        env = dict(os.environ, HOME=self.tmp, FETCHMAILHOME=self.tmp)
        p = subprocess.run(["fetchmail", "-f", self.rc, "--idfile",
                            os.path.join(self.tmp, "fetchids"), "--nosyslog", "-v",
                            "--keep" if self.keep else "--nokeep", "--mda", self.writer],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=env, timeout=120)
        text = p.stdout.decode(errors="replace")
        # 0: mail was retrieved, 1: there was none
        assert p.returncode in (0, 1), text
        return subjects(self.out), text


def stat(srv):
    c = login(srv)
    n = c.stat()[0]
    c.quit()
    return n


def test_fetchmail_keep(make_loft, tmp_path):
    srv = pop3_server(make_loft)
    for t in ("a", "b", "c"):
        deliver(srv, "alice", msg(t))
    fm = Fetchmail(srv, str(tmp_path), keep=True)
    got, log = fm.run()
    assert got == ["a", "b", "c"], log
    got, log = fm.run()
    assert got == ["a", "b", "c"], log          # nothing new
    deliver(srv, "alice", msg("d"))
    got, log = fm.run()
    assert got == ["a", "b", "c", "d"], log     # d exactly once
    got, log = fm.run()
    assert got == ["a", "b", "c", "d"], log
    assert stat(srv) == 4                       # all left on the server


def test_fetchmail_nokeep(make_loft, tmp_path):
    srv = pop3_server(make_loft)
    for t in ("a", "b", "c"):
        deliver(srv, "alice", msg(t))
    fm = Fetchmail(srv, str(tmp_path), keep=False)
    got, log = fm.run()
    assert got == ["a", "b", "c"], log
    assert stat(srv) == 0
    got, log = fm.run()
    assert got == ["a", "b", "c"], log
    deliver(srv, "alice", msg("d"))
    got, log = fm.run()
    assert got == ["a", "b", "c", "d"], log
    got, log = fm.run()
    assert got == ["a", "b", "c", "d"], log
    assert stat(srv) == 0


class Getmail:
    def __init__(self, srv, tmp, delete, read_all):
        self.tmp = tmp
        writer, self.out = make_writer(tmp)
        self.gmdir = os.path.join(tmp, "getmail")
        os.makedirs(self.gmdir, exist_ok=True)
        self.rc = os.path.join(self.gmdir, "getmailrc")
        with open(self.rc, "w") as f:
            f.write("[retriever]\ntype = SimplePOP3Retriever\nserver = 127.0.0.1\n"
                    "port = %d\nusername = alice\npassword = secret\n\n"
                    # CI runs as root: getmail's own Maildir writer refuses
                    # root, an external MDA may be allowed to run as root
                    "[destination]\ntype = MDA_external\npath = %s\n"
                    "allow_root_commands = true\n\n"
                    "[options]\nverbose = 2\ndelete = %s\nread_all = %s\n"
                    % (srv.port("pop3"), writer, delete, read_all))

    def run(self):
        p = subprocess.run(["getmail", "--getmaildir", self.gmdir, "--rcfile", self.rc],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=dict(os.environ, HOME=self.tmp),
                           timeout=120)
        text = p.stdout.decode(errors="replace")
        assert p.returncode == 0, text
        return subjects(self.out), text


def test_getmail_delete(make_loft, tmp_path):
    srv = pop3_server(make_loft)
    for t in ("a", "b"):
        deliver(srv, "alice", msg(t))
    gm = Getmail(srv, str(tmp_path), delete="true", read_all="true")
    got, log = gm.run()
    assert got == ["a", "b"], log
    assert stat(srv) == 0
    got, log = gm.run()
    assert got == ["a", "b"], log
    deliver(srv, "alice", msg("c"))
    got, log = gm.run()
    assert got == ["a", "b", "c"], log
    got, log = gm.run()
    assert got == ["a", "b", "c"], log


def test_getmail_leave_on_server_by_uidl(make_loft, tmp_path):
    srv = pop3_server(make_loft)
    for t in ("a", "b"):
        deliver(srv, "alice", msg(t))
    gm = Getmail(srv, str(tmp_path), delete="false", read_all="false")
    got, log = gm.run()
    assert got == ["a", "b"], log
    got, log = gm.run()
    assert got == ["a", "b"], log                # UIDLs known: nothing new
    deliver(srv, "alice", msg("c"))
    got, log = gm.run()
    assert got == ["a", "b", "c"], log
    got, log = gm.run()
    assert got == ["a", "b", "c"], log
    assert stat(srv) == 3
