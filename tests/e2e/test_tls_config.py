"""TLS settings: SNI picks the [certificate] whose server_name matches,
min_version = TLSv1.3 refuses TLS 1.2 clients, and SIGHUP reloads the
certificate for new connections."""

import socket
import ssl
import time

from loftserver import client_context, make_cert


def peer_names(srv, name, server_hostname, ca_file):
    s = socket.create_connection(("127.0.0.1", srv.port(name)), timeout=5)
    ctx = client_context(ca_file)
    with ctx.wrap_socket(s, server_hostname=server_hostname) as t:
        cert = t.getpeercert()
        return [v for k, v in cert.get("subjectAltName", ()) if k == "DNS"]


def test_sni_selects_certificate(make_loft, tmp_path):
    cert, key = make_cert(tmp_path, "mail.example.net", "DNS:mail.example.net", "sni")
    srv = make_loft(listeners=["imaps"], config_extra={"certificate example": {
        "server_name": "mail.example.net", "cert_file": cert, "key_file": key}})
    assert peer_names(srv, "imaps", "mail.example.net", cert) == ["mail.example.net"]
    # No match (or no SNI at all): the default certificate.
    assert peer_names(srv, "imaps", "localhost", srv.ca_file) == ["localhost"]
    s = socket.create_connection(("127.0.0.1", srv.port("imaps")), timeout=5)
    ctx = client_context(srv.ca_file)
    ctx.check_hostname = False
    with ctx.wrap_socket(s) as t:   # no server_hostname: no SNI sent
        sans = [v for k, v in t.getpeercert()["subjectAltName"] if k == "DNS"]
        assert sans == ["localhost"]


def test_min_version_tls13(make_loft):
    srv = make_loft(listeners=["imaps", "imap"], config_extra={"tls": {"min_version": "TLSv1.3"}})
    s = socket.create_connection(("127.0.0.1", srv.port("imaps")), timeout=5)
    ctx = srv.client_context(maximum_version=ssl.TLSVersion.TLSv1_2)
    try:
        t = ctx.wrap_socket(s, server_hostname="localhost")
        raise AssertionError("TLS 1.2 accepted with min_version = TLSv1.3: %s" % t.version())
    except (ssl.SSLError, ConnectionResetError) as e:
        assert "NO_PROTOCOLS_AVAILABLE" not in str(e), e
    with srv.connect("imaps") as c:
        assert c.sock.version() == "TLSv1.3"
        assert c.readline().startswith(b"* OK")


def test_sighup_reloads_certificate(make_loft, tmp_path):
    srv = make_loft(listeners=["imaps"])
    cert, key = make_cert(tmp_path, "other.example", "DNS:other.example,DNS:localhost", "new")
    assert peer_names(srv, "imaps", "localhost", srv.ca_file) == ["localhost"]
    srv.write_config({"tls": {"cert_file": cert, "key_file": key}})
    srv.reload()
    deadline = time.monotonic() + 5
    while True:
        try:
            names = peer_names(srv, "imaps", "localhost", cert)
        except ssl.SSLError:
            names = None   # still the old certificate
        if names == ["other.example", "localhost"]:
            break
        assert time.monotonic() < deadline, (names, srv.log_tail())
        time.sleep(0.1)
