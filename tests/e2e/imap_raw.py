"""Raw IMAP helpers for the extension tests (COMPRESS, QUOTA, UNAUTHENTICATE,
MULTIAPPEND, CATENATE, URLAUTH), where imaplib lacks the commands:

  ZClient        loftserver's LineClient that can switch on COMPRESS=DEFLATE
                 (RFC 4978) the way a real client does (Python's zlib with
                 wbits=-15 both ways, a sync flush after every batch of
                 commands), with literal-aware reads and cmd(line)
  zconnect(srv, name, tls) / zlogin(c, user, pw)
  messages(srv, user, mailbox)  {uid: (bytes, maildir flags)} read from the
                 user's Maildir: how the tests check what APPEND stored
                 before the selected state (FETCH) exists
  append_lit(data, sync)        b"{n}\r\n" or b"{n+}\r\n" + data
  cmd(c, line) / login(c, user, pw)  one command on a LineClient:
                 (untagged lines, tagged line) as str / LOGIN and check OK
  wait_tmp_empty(srv, user, mailbox)  tmp/ of a mailbox empties (refused
                 appends are discarded on the pool after the reply)
"""

import os
import re
import socket
import time
import zlib

from loftserver import LineClient


class ZClient(LineClient):
    """Lines over a socket (plain or TLS), compressed after compress()."""

    def __init__(self, sock, timeout=10.0):
        super().__init__(sock, timeout)
        self.comp = None
        self.decomp = None
        self.zbytes_in = 0

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        if self.comp is not None:
            data = self.comp.compress(data) + self.comp.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def send_raw(self, data):
        """Bytes as they are (e.g. corrupt compressed data)."""
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        if self.decomp is not None:
            self.zbytes_in += len(chunk)
            chunk = self.decomp.decompress(chunk)
        self.buf += chunk
        return True

    # Lines are cut at a moving offset (pos) instead of copying the rest
    # of the buffer for every line: a compressed stream arrives in large
    # inflated pieces.
    pos = 0

    def readline(self, timeout=None):
        old = self.sock.gettimeout()
        if timeout is not None:
            self.sock.settimeout(timeout)
        try:
            while True:
                i = self.buf.find(b"\n", self.pos)
                if i >= 0:
                    break
                if not self._fill():
                    out, self.buf, self.pos = self.buf[self.pos:], b"", 0
                    return out
            out, self.pos = self.buf[self.pos:i + 1], i + 1
            if self.pos > 65536:
                self.buf, self.pos = self.buf[self.pos:], 0
            return out
        finally:
            if timeout is not None:
                self.sock.settimeout(old)

    def read_exact(self, n):
        while len(self.buf) - self.pos < n:
            if not self._fill():
                raise EOFError("closed with %d of %d bytes" % (len(self.buf) - self.pos, n))
        out, self.pos = self.buf[self.pos:self.pos + n], self.pos + n
        return out

    def read_until_tag(self, tag, timeout=None):
        """Lines up to and including the tagged one; a line announcing a
        literal is returned with the literal and the rest of its line."""
        lines = []
        t = tag.encode() if isinstance(tag, str) else tag
        while True:
            line = self.readline(timeout)
            if not line:
                raise EOFError("closed before %r; got %r" % (tag, lines[-5:]))
            while line.endswith(b"}\r\n") and b"{" in line:
                n = int(line[line.rindex(b"{") + 1:-3].rstrip(b"+"))
                line += self.read_exact(n) + self.readline(timeout)
            lines.append(line)
            if line.startswith(t + b" "):
                return lines

    def cmd(self, line):
        """Send one command; (untagged lines, tagged line) as str."""
        tag = line.split(" ", 1)[0]
        self.sendline(line)
        lines = [l.decode("utf-8", "replace").rstrip("\r\n") for l in self.read_until_tag(tag)]
        return lines[:-1], lines[-1]

    def compress(self, tag="z"):
        """COMPRESS DEFLATE; turns compression on when the server says OK.
        Returns the tagged line."""
        self.sendline("%s COMPRESS DEFLATE" % tag)
        tagged = self.read_until_tag(tag)[-1].decode().rstrip("\r\n")
        if tagged.startswith(tag + " OK"):
            self.start_compression()
        return tagged

    def start_compression(self, comp=None):
        """Compress from now on (comp: a compressobj already in use);
        whatever followed the OK in the buffer is compressed."""
        rest, self.buf, self.pos = self.buf[self.pos:], b"", 0
        self.comp = comp or zlib.compressobj(6, zlib.DEFLATED, -15)
        self.decomp = zlib.decompressobj(-15)
        if rest:
            self.buf = self.decomp.decompress(rest)

    def eof(self, timeout=5.0):
        """True when the server closes within timeout."""
        self.sock.settimeout(timeout)
        try:
            while self._fill():
                pass
            return True
        except (ConnectionResetError, zlib.error):
            return True
        except socket.timeout:
            return False


def zconnect(srv, name="imap", tls=False):
    """A ZClient on listener name (implicit TLS when tls)."""
    sock = socket.create_connection((srv.address(name), srv.port(name)), timeout=10)
    if tls:
        sock = srv.client_context().wrap_socket(sock, server_hostname="localhost")
    return ZClient(sock)


def zlogin(c, user="alice", pw="secret"):
    greeting = c.readline()
    assert greeting.startswith(b"* OK"), greeting
    _, tagged = c.cmd("L LOGIN %s %s" % (user, pw))
    assert tagged.startswith("L OK"), tagged
    return tagged


def mailbox_dir(srv, user, mailbox="INBOX"):
    """A mailbox's directory (Maildir++: INBOX at the user's root, "A/B"
    as .A.B with '%' and '.' escaped)."""
    d = os.path.join(srv.mail_dir, user)
    if mailbox.upper() == "INBOX":
        return d
    return os.path.join(d, "." + mailbox.replace("%", "%25").replace(".", "%2E")
                        .replace("/", "."))


def messages(srv, user, mailbox="INBOX"):
    """{uid: (bytes, flags)} of a mailbox's message files."""
    d = mailbox_dir(srv, user, mailbox)
    out = {}
    for sub in ("cur", "new"):
        sd = os.path.join(d, sub)
        if not os.path.isdir(sd):
            continue
        for name in os.listdir(sd):
            m = re.search(r",U=(\d+)", name)
            if m is None:
                continue
            flags = name.split(":2,", 1)[1] if ":2," in name else ""
            with open(os.path.join(sd, name), "rb") as f:
                out[int(m.group(1))] = (f.read(), flags)
    return dict(sorted(out.items()))


def tmp_files(srv, user, mailbox="INBOX"):
    """Files left in a mailbox's tmp/."""
    t = os.path.join(mailbox_dir(srv, user, mailbox), "tmp")
    return os.listdir(t) if os.path.isdir(t) else []


def append_lit(data, sync=False):
    if isinstance(data, str):
        data = data.encode()
    return (b"{%d}\r\n" if sync else b"{%d+}\r\n") % len(data) + data


def cmd(c, line, timeout=20):
    """Send one command line on a LineClient; (untagged, tagged) as str."""
    tag = line.split(" ", 1)[0]
    c.sendline(line)
    lines = [l.decode("utf-8").rstrip("\r\n") for l in c.read_until_tag(tag, timeout=timeout)]
    return lines[:-1], lines[-1]


def login(c, user="alice", pw="secret"):
    """Read the greeting and log in; the tagged OK line."""
    assert c.readline().startswith(b"* OK")
    _, tagged = cmd(c, "L LOGIN %s %s" % (user, pw))
    assert tagged.startswith("L OK"), tagged
    return tagged


def wait_tmp_empty(srv, user="alice", mailbox="INBOX", timeout=2.0):
    deadline = time.monotonic() + timeout
    while tmp_files(srv, user, mailbox) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert tmp_files(srv, user, mailbox) == []
