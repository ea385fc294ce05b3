"""A stalled log output (stderr is a pipe nobody reads) must not stall the
server: lines that do not fit the log queue are dropped and counted, the
workers keep serving, and once the output moves again the log says how
many lines were lost. Run with debug logging so every connection logs."""

import fcntl
import re
import signal
import socket
import subprocess
import threading
import time

from loftserver import LoftServer, LineClient, loft_bin

F_SETPIPE_SZ = 1031


def greet(port, timeout):
    with LineClient.open("127.0.0.1", port, timeout=timeout) as c:
        line = c.readline()
        c.sendline("a LOGOUT")
        c.read_eof(timeout)
        return line


def test_stalled_log_output_does_not_stall_workers(tmp_path):
    srv = LoftServer(tmp_path, listeners=["imap"], start=False,
                     config_extra={"log": {"level": "debug"}})
    srv.assign_ports()
    srv.write_config()
    p = subprocess.Popen([loft_bin(), "-c", srv.config_path, "serve"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    fcntl.fcntl(p.stderr, F_SETPIPE_SZ, 4096)   # as small as a pipe gets
    port = srv.port("imap")
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                assert greet(port, 5).startswith(b"* OK")
                break
            except OSError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.05)
        # Nobody reads stderr: ~400 bytes of log per connection fill the
        # pipe and the queue many times over. Every client is still served.
        for i in range(2000):
            try:
                line = greet(port, 5)
            except socket.timeout:
                raise AssertionError("connection %d not served: a worker is stuck "
                                     "writing the log" % i)
            assert line.startswith(b"* OK"), (i, line)

        # Read the log from now on: it reports what it dropped.
        chunks = []
        reader = threading.Thread(target=lambda: chunks.append(p.stderr.read()))
        reader.start()
        greet(port, 5)
        time.sleep(0.5)
        p.send_signal(signal.SIGTERM)
        assert p.wait(30) == 0
        reader.join(30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    log = b"".join(chunks).decode(errors="replace")
    m = re.search(r"warn log: dropped (\d+) lines while the log output was stalled "
                  r"\((\d+) since start\)", log)
    assert m, log[-3000:]
    assert int(m.group(1)) > 0
    assert log.rstrip().endswith("info stopped"), log[-500:]
