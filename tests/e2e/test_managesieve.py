"""ManageSieve (RFC 5804) end to end: the real `loft serve` with a
`protocol = sieve` listener, driven by a raw client (sieve_util.ManageSieve)
command by command, every reply and response code checked, and the scripts
found in the user's directory afterwards."""

import base64
import os

import pytest

from sieve_util import ManageSieve, manage_sieve

USERS = {"alice": "secret", "bob": "other"}
GOOD = 'require "fileinto";\r\nif header :contains "subject" "x" { fileinto "X"; }\r\n'


@pytest.fixture
def srv(make_loft):
    return make_loft(listeners=["sieve", "sieve-plain"], users=USERS)


def login(srv, name="sieve-plain"):
    c = manage_sieve(srv, name)
    st, _ = c.authenticate_plain("alice", "secret")
    assert st.startswith("OK"), st
    return c


def caps(lines):
    out = {}
    for l in lines:
        parts = l.decode().split(" ", 1)
        out[parts[0].strip('"')] = parts[1].strip('"') if len(parts) > 1 else None
    return out


def test_greeting_and_capability(srv):
    c = manage_sieve(srv, "sieve")
    st, lines = c.greeting
    assert st.startswith("OK")
    cp = caps(lines)
    assert cp["IMPLEMENTATION"] == "Loft"
    assert cp["VERSION"] == "1.0"
    assert "STARTTLS" in cp
    assert "PLAIN" in cp["SASL"].split()
    sieve = cp["SIEVE"].split()
    for ext in ("fileinto", "reject", "ereject", "envelope", "imap4flags", "vacation",
                "vacation-seconds", "body", "variables", "relational", "subaddress", "copy",
                "mailbox", "date", "index", "editheader", "duplicate", "include", "spamtest",
                "spamtestplus"):
        assert ext in sieve, ext
    st, lines2 = c.cmd("CAPABILITY")
    assert st.startswith("OK") and lines2 == lines
    st, _ = c.cmd("CAPABILITY extra")
    assert st.startswith("NO")


def test_starttls_recapability_and_pipelined_bytes_dropped(srv):
    c = manage_sieve(srv, "sieve")
    # a command pipelined behind STARTTLS must not survive the handshake
    c.send("STARTTLS\r\nNOOP \"injected\"\r\n")
    st, _ = c.response()
    assert st.startswith("OK")
    c.sock = srv.client_context().wrap_socket(c.sock, server_hostname="localhost")
    c.buf = b""
    st, lines = c.response()
    assert st.startswith("OK")
    cp = caps(lines)
    assert "STARTTLS" not in cp and "SASL" in cp
    st, _ = c.cmd("NOOP")
    assert st == 'OK "Done"'
    st, _ = c.cmd("STARTTLS")
    assert st.startswith("NO")
    assert "dropped" in srv.log_text() or "discard" in srv.log_text()


def test_authenticate_plain_outcomes(srv):
    c = manage_sieve(srv)
    st, _ = c.authenticate_plain("alice", "wrong")
    assert st == 'NO "Authentication failed."'
    st, _ = c.cmd('AUTHENTICATE "NOPE"')
    assert st.startswith("NO") and "Unsupported" in st
    st, _ = c.cmd("AUTHENTICATE")
    assert st.startswith("NO")
    st, _ = c.cmd("LISTSCRIPTS")
    assert st == 'NO "Authenticate first."'
    st, _ = c.authenticate_plain("alice", "secret")
    assert st == 'OK "Logged in."'
    st, lines = c.cmd("CAPABILITY")
    cp = caps(lines)
    assert cp.get("OWNER") == "alice" and "SASL" not in cp and "STARTTLS" not in cp
    st, _ = c.cmd('AUTHENTICATE "PLAIN" ""')
    assert st == 'NO "Not valid after authentication."'


def test_authenticate_with_continuations_and_cancel(srv):
    c = manage_sieve(srv)
    # no initial response: an empty challenge, then the response as a string
    c.send('AUTHENTICATE "PLAIN"\r\n')
    assert c._line() == b'""'
    c.send('"*"\r\n')
    st, _ = c.response()
    assert st == 'NO "Authentication cancelled."'
    # LOGIN: two challenges, one response as a literal
    c.send('AUTHENTICATE "LOGIN"\r\n')
    ch = c._line()
    assert base64.b64decode(ch.strip(b'"')).lower().startswith(b"user")
    user = base64.b64encode(b"alice")
    c.send(b"{%d+}\r\n%s\r\n" % (len(user), user))
    c._line()
    c.send('"%s"\r\n' % base64.b64encode(b"secret").decode())
    st, _ = c.response()
    assert st == 'OK "Logged in."'


def test_plaintext_refused_without_tls(make_loft):
    srv = make_loft(listeners=["sieve"], users=USERS,
                    config_extra={"server": {"plaintext_auth": "never"}})
    c = manage_sieve(srv, "sieve")
    cp = caps(c.greeting[1])
    assert "PLAIN" not in cp["SASL"].split()
    st, _ = c.authenticate_plain("alice", "secret")
    assert st.startswith("NO (ENCRYPT-NEEDED)")
    c.starttls(srv.client_context())
    st, _ = c.authenticate_plain("alice", "secret")
    assert st.startswith("OK")


def test_script_commands(srv):
    c = login(srv)
    st, lines = c.cmd("LISTSCRIPTS")
    assert st.startswith("OK") and lines == []
    st, _ = c.putscript("main", GOOD)
    assert st == 'OK "Done."'
    st, _ = c.putscript("second", "keep;\r\n")
    assert st.startswith("OK")
    st, lines = c.cmd("LISTSCRIPTS")
    assert lines == [b'"main"', b'"second"']
    st, _ = c.cmd('SETACTIVE "main"')
    assert st.startswith("OK")
    st, lines = c.cmd("LISTSCRIPTS")
    assert lines == [b'"main" ACTIVE', b'"second"']
    st, lines = c.cmd('GETSCRIPT "main"')
    assert st.startswith("OK")
    assert lines[0] == b"{%d}\r\n" % len(GOOD) + GOOD.encode()
    st, _ = c.cmd('GETSCRIPT "nope"')
    assert st.startswith("NO (NONEXISTENT)")
    st, _ = c.cmd('SETACTIVE "nope"')
    assert st.startswith("NO (NONEXISTENT)")
    st, _ = c.cmd('DELETESCRIPT "main"')
    assert st.startswith("NO (ACTIVE)")
    st, _ = c.cmd('RENAMESCRIPT "main" "second"')
    assert st.startswith("NO (ALREADYEXISTS)")
    st, _ = c.cmd('RENAMESCRIPT "nope" "third"')
    assert st.startswith("NO (NONEXISTENT)")
    st, _ = c.cmd('RENAMESCRIPT "main" "renamed"')
    assert st.startswith("OK")
    st, lines = c.cmd("LISTSCRIPTS")
    assert lines == [b'"renamed" ACTIVE', b'"second"']
    st, _ = c.cmd('SETACTIVE ""')
    assert st.startswith("OK")
    st, _ = c.cmd('DELETESCRIPT "renamed"')
    assert st.startswith("OK")
    st, _ = c.cmd('DELETESCRIPT "renamed"')
    assert st.startswith("NO (NONEXISTENT)")
    st, lines = c.cmd("LISTSCRIPTS")
    assert lines == [b'"second"']
    # the files are in the user's own directory
    sdir = os.path.join(srv.mail_dir, "alice", "sieve")
    assert sorted(f for f in os.listdir(sdir) if not f.startswith(".")) == ["second.sieve"]
    st, _ = c.cmd('SETACTIVE "second"')
    assert os.readlink(os.path.join(sdir, ".active")) == "second.sieve"


def test_putscript_and_checkscript_errors(srv):
    c = login(srv)
    st, _ = c.putscript("bad", 'if header :is "a" {\r\n')
    assert st.startswith("NO") and "line" in st and "column" in st
    st, lines = c.cmd('CHECKSCRIPT "fileinto \\"x\\";"')
    assert st.startswith("NO") and "require" in st
    st, _ = c.cmd('CHECKSCRIPT "keep;"')
    assert st.startswith("OK")
    st, _ = c.cmd('PUTSCRIPT "a/../b" "keep;"')
    assert st.startswith("OK")  # names may hold '/': escaped on disk
    st, lines = c.cmd("LISTSCRIPTS")
    assert b'"a/../b"' in lines
    st, _ = c.cmd('PUTSCRIPT "" "keep;"')
    assert st == 'NO "Invalid script name."'
    st, _ = c.cmd('PUTSCRIPT "x"')
    assert st.startswith("NO")
    st, _ = c.cmd("BOGUS")
    assert st == 'NO "Unknown command."'
    st, _ = c.cmd('NOOP "tag \\"1\\""')
    assert st == 'OK (TAG "tag \\"1\\"") "Done"'


def test_havespace_and_limits(make_loft):
    srv = make_loft(listeners=["sieve-plain"], users=USERS,
                    config_extra={"sieve": {"max_script_size": "2K", "max_scripts": 2}})
    c = login(srv)
    st, _ = c.cmd('HAVESPACE "a" 100')
    assert st == 'OK "Putscript would succeed."'
    st, _ = c.cmd('HAVESPACE "a" 5000')
    assert st.startswith("NO (QUOTA/MAXSIZE)")
    st, _ = c.cmd('HAVESPACE "a" "x"')
    assert st.startswith("NO")
    st, _ = c.putscript("big", "#" + "x" * 3000 + "\r\nkeep;\r\n")
    assert st.startswith("NO (QUOTA/MAXSIZE)")
    # the connection still works after the dropped literal
    assert c.putscript("a", "keep;")[0].startswith("OK")
    assert c.putscript("b", "keep;")[0].startswith("OK")
    st, _ = c.cmd('HAVESPACE "c" 10')
    assert st.startswith("NO (QUOTA/MAXSCRIPTS)")
    st, _ = c.putscript("c", "keep;")
    assert st.startswith("NO (QUOTA/MAXSCRIPTS)")
    assert c.putscript("a", "discard;")[0].startswith("OK")  # replacing is fine


def test_preauth_literal_limit(make_loft):
    srv = make_loft(listeners=["sieve-plain"], users=USERS,
                    config_extra={"limits": {"max_literal_total_preauth": "1K"}})
    c = manage_sieve(srv)
    data = b"x" * 5000
    c.send(b'AUTHENTICATE "PLAIN" {5000+}\r\n' + data + b"\r\n")
    st, _ = c.response()
    assert st == 'NO "Literal too large."'
    st, _ = c.authenticate_plain("alice", "secret")
    assert st.startswith("OK")


def test_unauthenticate_and_logout(srv):
    c = login(srv)
    assert c.putscript("s", "keep;")[0].startswith("OK")
    st, _ = c.cmd("UNAUTHENTICATE")
    assert st.startswith("OK")
    st, _ = c.cmd("LISTSCRIPTS")
    assert st == 'NO "Authenticate first."'
    st, _ = c.authenticate_plain("bob", "other")
    assert st.startswith("OK")
    st, lines = c.cmd("LISTSCRIPTS")
    assert lines == []  # bob's scripts, not alice's
    st, _ = c.cmd("LOGOUT")
    assert st.startswith("OK")
    with pytest.raises((EOFError, ConnectionError)):
        c._fill()


def test_too_many_bad_commands(make_loft):
    srv = make_loft(listeners=["sieve-plain"], users=USERS,
                    config_extra={"limits": {"max_bad_commands": 3}})
    c = manage_sieve(srv)
    for _ in range(2):
        assert c.cmd("NOPE")[0].startswith("NO")
    c.send("NOPE\r\n")
    st, _ = c.response()
    assert st.startswith("NO")
    st, _ = c.response()
    assert st.startswith("BYE")


def test_disabled_service(make_loft):
    users = "alice:{PLAIN}secret::::::protocols=imap\n"
    srv = make_loft(listeners=["sieve-plain"], users=users)
    c = manage_sieve(srv)
    st, _ = c.authenticate_plain("alice", "secret")
    assert st.startswith("NO") and "ManageSieve" in st
