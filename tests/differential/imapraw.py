"""A minimal IMAP client that keeps server responses byte for byte.

imaplib rewrites line ends in APPEND literals and splits responses into
tuples; the differential check needs the exact bytes Dovecot sends and
needs to hand it the exact bytes of each corpus file, so this speaks the
few commands it uses over a plain socket itself.
"""
import re
import socket

LITERAL_RE = re.compile(rb"\{(\d+)\+?\}\r\n$")


class ImapError(Exception):
    pass


class RawImap:
    def __init__(self, host, port, timeout=60):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.tagn = 0
        greeting = self._line()
        if not greeting.startswith(b"* OK"):
            raise ImapError(greeting)

    def _fill(self):
        data = self.sock.recv(1 << 16)
        if not data:
            raise ImapError("connection closed")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n") + 2
        line, self.buf = self.buf[:i], self.buf[i:]
        return line

    def _bytes(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _response(self):
        """One response line with its literals, exactly as received."""
        out = self._line()
        while True:
            m = LITERAL_RE.search(out)
            if not m:
                return out
            out += self._bytes(int(m.group(1)))
            out += self._line()

    def command(self, *parts):
        """Send a command (parts: bytes; a tuple ("lit", data) becomes a
        synchronising literal). Returns (untagged responses, tagged line)."""
        self.tagn += 1
        tag = b"D%d" % self.tagn
        # Literals: send up to each literal, wait for "+", send data.
        seq = [tag] + list(parts)
        line = b""
        for i, p in enumerate(seq):
            if isinstance(p, tuple):
                line += b" {%d}\r\n" % len(p[1])
                self.sock.sendall(line)
                cont = self._response()
                if not cont.startswith(b"+"):
                    raise ImapError(cont)
                self.sock.sendall(p[1])
                line = b""
            else:
                line += (b" " if i else b"") + p
        self.sock.sendall(line + b"\r\n")
        untagged = []
        while True:
            r = self._response()
            if r.startswith(tag + b" "):
                return untagged, r
            untagged.append(r)

    def ok(self, *parts):
        untagged, tagged = self.command(*parts)
        if not tagged.split(b" ", 2)[1] == b"OK":
            raise ImapError(tagged)
        return untagged, tagged
