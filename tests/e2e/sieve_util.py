"""Helpers for the Sieve and ManageSieve end-to-end tests.

SmtpSink       a tiny SMTP server on a free loopback port, standing in for
               the [relay] smarthost: it records every message (envelope
               and data) it accepts.  `with SmtpSink() as sink:` ...
               sink.port, sink.messages (list of Msg), sink.wait(n, timeout)
ManageSieve    a raw ManageSieve (RFC 5804) client over a socket: reads
               the greeting, sends commands, returns (status, lines) where
               lines are the response lines before the status line, with
               literals read whole; starttls(context), authenticate_plain().
sieve_plan(srv, user, *args, messages=...)   runs tests/tools/sieve-plan
               against the running server's configuration and returns its
               stdout (see the tool's header for the output).
relay_config(port)  the config_extra for a relay at 127.0.0.1:port.
upload_with_sieve_connect(srv, tmp_path, text, name="main", user="alice",
                          password="secret")   PUTSCRIPT and SETACTIVE with
               Debian's sieve-connect (STARTTLS on the "sieve" listener).
"""

import base64
import os
import re
import socket
import socketserver
import subprocess
import threading
import time

from storage_util import tool_bin


class Msg:
    def __init__(self, mail_from, rcpts, data):
        self.mail_from = mail_from
        self.rcpts = rcpts
        self.data = data


class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        sink = self.server.sink
        self.wfile.write(b"220 sink ESMTP\r\n")
        mail_from, rcpts = None, []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            cmd = line.strip().decode("latin-1")
            up = cmd.upper()
            if up.startswith("EHLO") or up.startswith("HELO"):
                self.wfile.write(b"250-sink\r\n250-8BITMIME\r\n250 PIPELINING\r\n")
            elif up.startswith("MAIL FROM:"):
                mail_from = re.sub(r"^<|>.*$", "", cmd[10:].strip())
                rcpts = []
                self.wfile.write(b"250 ok\r\n")
            elif up.startswith("RCPT TO:"):
                rcpts.append(re.sub(r"^<|>.*$", "", cmd[8:].strip()))
                self.wfile.write(b"250 ok\r\n")
            elif up == "DATA":
                self.wfile.write(b"354 go\r\n")
                data = b""
                while True:
                    l = self.rfile.readline()
                    if not l or l == b".\r\n":
                        break
                    if l.startswith(b".."):
                        l = l[1:]
                    data += l
                with sink.lock:
                    sink.messages.append(Msg(mail_from, rcpts, data))
                self.wfile.write(b"250 queued\r\n")
            elif up == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            elif up == "RSET" or up == "NOOP":
                self.wfile.write(b"250 ok\r\n")
            else:
                self.wfile.write(b"502 unknown\r\n")


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class SmtpSink:
    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.sink = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def wait(self, n, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= n:
                    return list(self.messages)
            time.sleep(0.05)
        with self.lock:
            return list(self.messages)


def upload_with_sieve_connect(srv, tmp_path, text, name="main", user="alice",
                              password="secret"):
    script = tmp_path / ("%s-%s.sieve" % (user, name))
    script.write_text(text)
    r, w = os.pipe()
    os.write(w, password.encode() + b"\n")
    os.close(w)
    base = ["sieve-connect", "--server", "localhost", "--port", str(srv.port("sieve")),
            "--user", user, "--passwordfd", str(r), "--tlscafile", srv.ca_file,
            "--authmech", "PLAIN"]
    try:
        up = subprocess.run(base + ["--upload", "--localsieve", str(script),
                                    "--remotesieve", name],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=60, pass_fds=(r,))
    finally:
        os.close(r)
    assert up.returncode == 0, up.stdout + up.stderr
    r, w = os.pipe()
    os.write(w, password.encode() + b"\n")
    os.close(w)
    try:
        act = subprocess.run(base + ["--activate", "--remotesieve", name],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=60, pass_fds=(r,))
    finally:
        os.close(r)
    assert act.returncode == 0, act.stdout + act.stderr


def relay_config(port):
    return {"relay": {"smarthost": "127.0.0.1", "smarthost_port": port}}


class ManageSieve:
    def __init__(self, address, timeout=10):
        self.sock = socket.create_connection(address, timeout=timeout)
        self.buf = b""
        self.greeting = self.response()

    def _fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self):
        """(status line, [lines]); a line ending in {n} has its literal
        appended (bytes)."""
        lines = []
        while True:
            line = self._line()
            m = re.search(rb"\{(\d+)\+?\}$", line)
            if m:
                lit = self._exact(int(m.group(1)))
                rest = self._line()
                line = line + b"\r\n" + lit + rest
            if re.match(rb"^(OK|NO|BYE)\b", line):
                return line.decode("utf-8", "replace"), lines
            lines.append(line)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.response()

    def starttls(self, context):
        st, _ = self.cmd("STARTTLS")
        assert st.startswith("OK"), st
        self.sock = context.wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""
        return self.response()

    def authenticate_plain(self, user, password):
        token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
        return self.cmd('AUTHENTICATE "PLAIN" "%s"' % token)

    def putscript(self, name, text):
        data = text.encode() if isinstance(text, str) else text
        self.send(('PUTSCRIPT "%s" {%d+}\r\n' % (name, len(data))).encode() + data + b"\r\n")
        return self.response()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def manage_sieve(srv, name="sieve-plain"):
    return ManageSieve((srv.address(name), srv.port(name)))


def sieve_plan(srv, *args, messages=(), check=True, timeout=60):
    cmd = [tool_bin("sieve-plan"), "--config", srv.config_path, *args, *messages]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError("sieve-plan failed (%d):\n%s\n%s" % (r.returncode, r.stdout,
                                                                  r.stderr))
    return r


def corpus(*names):
    root = os.path.join(os.environ.get("LOFT_SOURCE_DIR") or
                        os.path.dirname(os.path.dirname(os.path.dirname(
                            os.path.abspath(__file__)))), "tests", "corpus", "mail")
    return [os.path.join(root, n) for n in names]
