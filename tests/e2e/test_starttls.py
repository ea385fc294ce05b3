"""STARTTLS (IMAP), STLS (POP3) and STARTTLS (SMTP, LMTP): the upgrade works
with a verifying client, negotiates TLS 1.2+, refuses TLS 1.1 clients,
cannot be repeated, and drops plaintext bytes pipelined after the command
(the command-injection class, CVE-2011-0411 and friends)."""

import re
import shutil
import subprocess

import pytest

from loftserver import expect_tls11_refused

TLS_OK = ("TLSv1.2", "TLSv1.3")


# ---- upgrade with the stdlib clients -------------------------------------

def test_imap_starttls(loft):
    c = loft.imap()
    typ, _ = c.starttls(loft.client_context())
    assert typ == "OK"
    assert c.sock.version() in TLS_OK
    assert "STARTTLS" not in c.capabilities
    assert c.noop()[0] == "OK"
    c.logout()


def test_pop3_stls(loft):
    c = loft.pop3()
    resp = c.stls(loft.client_context())
    assert resp.startswith(b"+OK")
    assert c.sock.version() in TLS_OK
    caps = c.capa()          # NOOP is a TRANSACTION-state command (RFC 1939)
    assert "STLS" not in caps and caps, caps
    c.quit()


def test_smtp_starttls(loft):
    c = loft.smtp()
    c.ehlo("client.example")
    assert c.has_extn("starttls")
    code, _ = c.starttls(context=loft.client_context())
    assert code == 220
    assert c.sock.version() in TLS_OK
    c.ehlo("client.example")
    assert not c.has_extn("starttls")
    assert c.noop()[0] == 250
    c.quit()


def test_lmtp_starttls(loft):
    c = loft.lmtp()
    c.ehlo("client.example")          # smtplib.LMTP sends LHLO
    assert c.has_extn("starttls")
    code, _ = c.starttls(context=loft.client_context())
    assert code == 220
    assert c.sock.version() in TLS_OK
    c.ehlo("client.example")
    assert not c.has_extn("starttls")
    assert c.noop()[0] == 250
    c.quit()


# ---- raw protocol steps shared by the tests below -------------------------

def begin_tls(srv, name, payload=None):
    """Connect to listener name, do what each protocol needs before STARTTLS
    and send the STARTTLS command (or payload, which starts with it) in one
    write. Returns the client after reading the go-ahead reply."""
    c = srv.connect(name)
    proto = srv._find(name)["protocol"]
    if proto == "imap":
        assert c.readline().startswith(b"* OK")
        c.send(payload or b"a STARTTLS\r\n")
        line = c.readline()
        assert line.startswith(b"a OK"), line
    elif proto == "pop3":
        assert c.readline().startswith(b"+OK")
        c.send(payload or b"STLS\r\n")
        line = c.readline()
        assert line.startswith(b"+OK"), line
    else:
        c.read_smtp_reply()
        c.sendline("LHLO client.example" if proto == "lmtp" else "EHLO client.example")
        c.read_smtp_reply()
        c.send(payload or b"STARTTLS\r\n")
        line = c.read_smtp_reply()[0]
        assert line.startswith(b"220"), line
    return c


def roundtrip_after_tls(c, proto):
    """One real command after the handshake; returns its reply lines."""
    if proto == "imap":
        c.sendline("c NOOP")
        return c.read_until_tag("c")
    if proto == "pop3":
        c.sendline("CAPA")   # valid before login, unlike NOOP (RFC 1939)
        return c.read_multiline()
    c.sendline("NOOP")
    return c.read_smtp_reply()


INJECT = {
    "imap": b"a STARTTLS\r\nb NOOP\r\n",
    "pop3": b"STLS\r\nNOOP\r\n",
    "smtp": b"STARTTLS\r\nRSET\r\n",
    "lmtp": b"STARTTLS\r\nRSET\r\n",
}


@pytest.mark.parametrize("name", ["imap", "pop3", "smtp", "lmtp"])
def test_starttls_discards_pipelined_plaintext(loft, name):
    mark = loft.log_mark()
    c = begin_tls(loft, name, INJECT[name])
    leftover = c.starttls(loft.client_context())
    assert leftover == b"", "plaintext after the go-ahead: %r" % leftover
    assert c.sock.version() in TLS_OK
    # The injected command must not run: nothing arrives unasked ...
    extra = c.pending(0.7)
    assert extra == b"", "reply to an injected command: %r" % extra
    # ... and the first real command gets exactly its own reply.
    lines = roundtrip_after_tls(c, name)
    if name == "imap":
        assert not any(l.startswith(b"b ") for l in lines), lines
        assert lines[-1].startswith(b"c OK"), lines
        assert len(lines) == 1, lines
    elif name == "pop3":
        assert lines[0].startswith(b"+OK") and lines[-1] == b".\r\n", lines
    else:
        assert lines[0].startswith(b"250"), lines
    assert c.pending(0.3) == b""
    c.close()
    loft.wait_log(r"discard", since=mark)


@pytest.mark.parametrize("name", ["imap", "pop3", "smtp", "lmtp"])
def test_starttls_refuses_tls11(loft, name):
    c = begin_tls(loft, name)
    expect_tls11_refused(c.sock)
    c.close()
    # The server is unharmed.
    with loft.connect(name) as c2:
        assert c2.readline()[:1] in (b"*", b"+", b"2")


@pytest.mark.parametrize("name", ["imap", "pop3", "smtp", "lmtp"])
def test_starttls_twice_is_refused(loft, name):
    c = begin_tls(loft, name)
    c.starttls(loft.client_context())
    proto = name
    if proto == "imap":
        c.sendline("d STARTTLS")
        line = c.read_until_tag("d")[-1]
        assert re.match(rb"d (BAD|NO)", line), line
    elif proto == "pop3":
        c.sendline("STLS")
        line = c.readline()
        assert line.startswith(b"-ERR"), line
    else:
        c.sendline("EHLO again.example" if proto == "smtp" else "LHLO again.example")
        c.read_smtp_reply()
        c.sendline("STARTTLS")
        line = c.read_smtp_reply()[0]
        assert re.match(rb"5\d\d", line), line
    # And the session continues normally.
    lines = roundtrip_after_tls(c, proto)
    first = lines[-1] if proto == "imap" else lines[0]
    assert re.match(rb"c OK|\+OK|250", first), lines
    c.close()


def test_handshake_garbage_closes_only_that_connection(loft):
    c = begin_tls(loft, "imap")
    c.send(b"this is not a TLS ClientHello\r\n" * 4)
    c.read_eof(timeout=10)
    c.close()
    with loft.connect("imap") as c2:
        assert c2.readline().startswith(b"* OK")


# ---- external clients ---------------------------------------------------

S_CLIENT_INPUT = {
    "imap": b"a NOOP\r\nb LOGOUT\r\n",
    "pop3": b"CAPA\r\nQUIT\r\n",
    "smtp": b"NOOP\r\nQUIT\r\n",
    "lmtp": b"NOOP\r\nQUIT\r\n",
}
S_CLIENT_EXPECT = {
    "imap": rb"^b OK",
    "pop3": rb"^\+OK",
    "smtp": rb"^221",
    "lmtp": rb"^221",
}


def s_client(srv, port, starttls=None, stdin=b""):
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
           "-servername", "localhost", "-CAfile", srv.ca_file,
           "-verify_return_error", "-verify_hostname", "localhost", "-ign_eof"]
    if starttls:
        cmd += ["-starttls", starttls]
    return subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=20)


@pytest.mark.parametrize("name", ["imap", "pop3", "smtp", "lmtp"])
def test_openssl_s_client_starttls(loft, name):
    r = s_client(loft, loft.port(name), name, S_CLIENT_INPUT[name])
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, (out, r.stderr.decode(errors="replace"))
    assert "Verify return code: 0 (ok)" in out, out
    assert re.search(r"Protocol\s*:\s*TLSv1\.[23]", out), out
    assert re.search(S_CLIENT_EXPECT[name].decode(), out, re.M), out


def curl_supports(proto):
    if not shutil.which("curl"):
        return False
    out = subprocess.run(["curl", "--version"], stdout=subprocess.PIPE).stdout.decode()
    return re.search(r"^Protocols:.*\b%s\b" % proto, out, re.M) is not None


@pytest.mark.skipif(not curl_supports("imap"), reason="curl without IMAP")
def test_curl_imap_capability_over_starttls(loft):
    r = subprocess.run(
        ["curl", "-sS", "--max-time", "15", "--ssl-reqd", "--cacert", loft.ca_file,
         "-X", "CAPABILITY", "imap://127.0.0.1:%d/" % loft.port("imap")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, (r.returncode, out, r.stderr.decode(errors="replace"))
    m = re.search(r"^\* CAPABILITY (.*)$", out, re.M)
    assert m, out
    caps = m.group(1).upper().split()
    assert "IMAP4REV1" in caps and "STARTTLS" not in caps, caps


@pytest.mark.skipif(not curl_supports("pop3"), reason="curl without POP3")
def test_curl_pop3_capa_over_stls(loft):
    r = subprocess.run(
        ["curl", "-sS", "--max-time", "15", "--ssl-reqd", "--cacert", loft.ca_file,
         "-X", "CAPA", "pop3://127.0.0.1:%d/" % loft.port("pop3")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, (r.returncode, out, r.stderr.decode(errors="replace"))
    capa = [l.strip().upper() for l in out.splitlines()]
    assert "STLS" not in capa, capa
    assert any(l.split()[:1] == ["PIPELINING"] for l in capa), capa
