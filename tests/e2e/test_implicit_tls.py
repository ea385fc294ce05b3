"""Implicit TLS (IMAPS, POP3S): verified TLS 1.2+ from the first byte, TLS
1.1 refused, no STARTTLS inside TLS, plaintext sent to a TLS port is
dropped without harm, and external clients (openssl s_client, curl) work."""

import re
import socket
import subprocess

import pytest

from loftserver import LineClient, expect_tls11_refused
from test_starttls import curl_supports, s_client

TLS_OK = ("TLSv1.2", "TLSv1.3")


def test_imaps_stdlib(loft):
    c = loft.imap("imaps")
    assert c.sock.version() in TLS_OK
    assert "IMAP4REV1" in c.capabilities
    assert "STARTTLS" not in c.capabilities
    assert c.noop()[0] == "OK"
    c.logout()


def test_pop3s_stdlib(loft):
    c = loft.pop3("pop3s")
    assert c.sock.version() in TLS_OK
    caps = c.capa()
    assert "STLS" not in caps and "PIPELINING" in caps, caps
    c.quit()


def test_peer_certificate_is_the_configured_one(loft):
    with loft.connect("imaps") as c:
        cert = c.sock.getpeercert()
        sans = [v for k, v in cert.get("subjectAltName", ()) if k == "DNS"]
        assert "localhost" in sans, cert


@pytest.mark.parametrize("name", ["imaps", "pop3s"])
def test_implicit_tls_refuses_tls11(loft, name):
    s = socket.create_connection(("127.0.0.1", loft.port(name)), timeout=5)
    expect_tls11_refused(s)
    s.close()
    with loft.connect(name) as c:
        assert c.readline()[:1] in (b"*", b"+")


@pytest.mark.parametrize("name", ["imaps", "pop3s"])
def test_no_starttls_inside_tls(loft, name):
    with loft.connect(name) as c:
        c.readline()
        if name == "imaps":
            c.sendline("a STARTTLS")
            line = c.read_until_tag("a")[-1]
            assert re.match(rb"a (BAD|NO)", line), line
            c.sendline("b NOOP")
            assert c.read_until_tag("b")[-1].startswith(b"b OK")
        else:
            c.sendline("STLS")
            assert c.readline().startswith(b"-ERR")
            c.sendline("CAPA")
            assert c.read_multiline()[-1] == b".\r\n"


@pytest.mark.parametrize("name", ["imaps", "pop3s"])
def test_plaintext_on_tls_port_is_dropped(loft, name):
    """A plaintext client on a TLS port gets no plaintext protocol reply and
    is disconnected; the server keeps serving others."""
    with LineClient.open("127.0.0.1", loft.port(name)) as c:
        c.send(b"a CAPABILITY\r\nUSER x\r\n")
        got = c.read_eof(timeout=10)
        assert b"* CAPABILITY" not in got and b"+OK" not in got, got
    with loft.connect(name) as c:
        assert c.readline()[:1] in (b"*", b"+")


def test_openssl_s_client_imaps(loft):
    r = s_client(loft, loft.port("imaps"), None, b"a NOOP\r\nb LOGOUT\r\n")
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, (out, r.stderr.decode(errors="replace"))
    assert "Verify return code: 0 (ok)" in out, out
    assert re.search(r"^\* OK", out, re.M), out
    assert re.search(r"^a OK", out, re.M) and re.search(r"^b OK", out, re.M), out


def test_openssl_s_client_pop3s(loft):
    r = s_client(loft, loft.port("pop3s"), None, b"CAPA\r\nQUIT\r\n")
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, (out, r.stderr.decode(errors="replace"))
    assert "Verify return code: 0 (ok)" in out, out
    assert len(re.findall(r"^\+OK", out, re.M)) >= 3, out


@pytest.mark.skipif(not curl_supports("imaps"), reason="curl without IMAPS")
def test_curl_imaps_capability(loft):
    r = subprocess.run(
        ["curl", "-sS", "--max-time", "15", "--cacert", loft.ca_file,
         "-X", "CAPABILITY", "imaps://127.0.0.1:%d/" % loft.port("imaps")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, (r.returncode, out, r.stderr.decode(errors="replace"))
    m = re.search(r"^\* CAPABILITY (.*)$", out, re.M)
    assert m and "IMAP4REV1" in m.group(1).upper().split(), out


@pytest.mark.skipif(not curl_supports("pop3s"), reason="curl without POP3S")
def test_curl_pop3s_capa(loft):
    r = subprocess.run(
        ["curl", "-sS", "--max-time", "15", "--cacert", loft.ca_file,
         "-X", "CAPA", "pop3s://127.0.0.1:%d/" % loft.port("pop3s")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, (r.returncode, out, r.stderr.decode(errors="replace"))
    capa = [l.strip().upper() for l in out.splitlines()]
    assert capa and "STLS" not in capa, capa
