"""POP3 under pressure: a client that pipelines a thousand RETRs and never
reads cannot make the server grow (output back-pressure stops both the
stream and the parsing of further commands), and one that does read gets
every reply, in order, with the exact bytes."""
import socket
import time

from pop3_util import deliver, pop3_server, raw_login, read_body

BIG = b"Subject: big\r\n\r\n" + b"".join(b"line %06d of a long message\r\n" % i
                                        for i in range(8000))   # ~240 KB


def test_flood_of_pipelined_retr_from_a_client_that_never_reads(make_loft):
    srv = pop3_server(make_loft)
    deliver(srv, "alice", BIG)
    c = raw_login(srv)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    base = srv.rss_kb()
    c.sock.settimeout(5)
    sent = 0
    try:
        for _ in range(1000):
            c.sock.sendall(b"RETR 1\r\n" * 10)
            sent += 10
    except socket.timeout:
        pass   # the server stopped reading: our send buffer filled up
    time.sleep(1.0)
    grown = srv.rss_kb() - base
    # 1000 replies would be 240 MB; the server holds at most its output
    # buffer and one chunk per connection
    assert grown < 16 * 1024, "RSS grew by %d KiB" % grown
    # another session is served meanwhile
    other = raw_login(srv, "bob")
    other.sendline("STAT")
    assert other.readline().startswith(b"+OK")
    other.sendline("QUIT")
    other.readline()
    c.close()
    assert sent > 0


def test_pipelined_retr_all_answered_in_order(make_loft):
    srv = pop3_server(make_loft, pop3={"retr_chunk_size": "8K"},
                      extra={"limits": {"max_output_buffer": "16K"}})
    msgs = [b"Subject: n%d\r\n\r\n" % i + b"x" * (i * 997) + b"\r\n.\r\n" for i in range(1, 40)]
    for m in msgs:
        deliver(srv, "alice", m)
    c = raw_login(srv)
    order = [(i % len(msgs)) + 1 for i in range(300)]
    c.send(b"".join(b"RETR %d\r\n" % n for n in order))
    for n in order:
        line = c.readline()
        assert line == b"+OK %d octets\r\n" % len(msgs[n - 1]), (n, line)
        assert read_body(c) == msgs[n - 1]
    c.sendline("QUIT")
    assert c.readline().startswith(b"+OK")
