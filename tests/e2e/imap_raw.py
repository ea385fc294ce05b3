"""A raw IMAP client that can switch on COMPRESS=DEFLATE (RFC 4978) the way
a real client does: Python's zlib with wbits=-15 (raw DEFLATE) both ways,
a sync flush after every batch of commands. It is loftserver's LineClient
with a compression layer under its line buffer, plus literal-aware reads.
Used by test_imap_compress.py and the other extension tests (curl and
imaplib cannot compress)."""

import socket
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
