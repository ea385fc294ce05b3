"""TLS session tickets and the TLS close. [tls] session_tickets sets how
many TLS 1.3 tickets a full handshake issues (1 by default; 0 turns
ticket resumption off); a client offering its ticket is resumed. At
LOGOUT the server sends the reply, its close_notify and its FIN together,
and every byte of the reply arrives before a clean TLS end."""

import socket
import ssl

import pytest


def connect(srv, ctx, session=None):
    s = socket.create_connection(("127.0.0.1", srv.port("imaps")), timeout=5)
    t = ctx.wrap_socket(s, server_hostname="localhost", session=session,
                        suppress_ragged_eofs=False)
    assert t.recv(4096).startswith(b"* OK")
    return t


def logout(t):
    """LOGOUT, then everything to the end: raises SSLEOFError when the
    server's close_notify does not come before its FIN."""
    t.sendall(b"a LOGOUT\r\n")
    data = b""
    while True:
        chunk = t.recv(4096)
        if not chunk:
            return data
        data += chunk


@pytest.mark.parametrize("tickets,resumed", [(1, True), (0, False)])
def test_session_tickets_setting(make_loft, tickets, resumed):
    srv = make_loft(listeners=["imaps"], config_extra={"tls": {"session_tickets": tickets}})
    ctx = srv.client_context()
    t = connect(srv, ctx)
    assert t.version() == "TLSv1.3"
    assert b"\r\na OK" in logout(t)
    session = t.session
    t.close()
    t2 = connect(srv, ctx, session=session)
    assert t2.session_reused is resumed
    logout(t2)
    t2.close()
    srv.wait_log(r"tls established .*resumed=%s" % ("yes" if resumed else "no"))


def test_logout_reply_then_close_notify(make_loft):
    srv = make_loft(listeners=["imaps"])
    t = connect(srv, srv.client_context())
    data = logout(t)   # no SSLEOFError: close_notify came before the FIN
    lines = data.split(b"\r\n")
    assert lines[0].startswith(b"* BYE"), data
    assert lines[1].startswith(b"a OK"), data
    assert lines[2:] == [b""], data
    t.close()
