"""IMAP logins end to end (RFC 9051 6.2, RFC 4959 SASL-IR, RFC 5530 codes):
LOGIN and AUTHENTICATE through Python's imaplib, curl (--login-options
AUTH=...) and raw exchanges; PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1 and
SCRAM-SHA-256 with their stored keys, SCRAM-SHA-256-PLUS over TLS with both
channel bindings (tls-server-end-point from Python, tls-exporter through
openssl s_client); cancel, bad base64 and overlong responses; the plaintext
policy (LOGINDISABLED, PRIVACYREQUIRED, and its SIGHUP reload); accounts
that are disabled or may not use IMAP; app passwords logged with their
device and recorded as login state; the quota of the user's fields applied
to the store at login; the users file changed while the server runs; and
the post-login line limit."""

import base64
import re
import subprocess
import time

from loftserver import hash_password
from saslclient import SClient, ScramClient, dovecot_scram, tls_server_end_point

ALL_MECHS = "SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN"
# Failed logins answer at once (the throttle's delays have their own test)
# and new passwords hash quickly, in every form a mechanism can use.
FAST = {"auth": {"fail_delay": "0s", "argon2_memory": "1M", "argon2_passes": 1,
                 "store_scram": "both", "store_cram_md5": True, "mechanisms": ALL_MECHS}}


def b64(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.b64encode(data).decode()


def unb64(line):
    """The base64 of a "+ ..." continuation line, decoded."""
    assert line.startswith(b"+ "), line
    return base64.b64decode(line[2:].strip())


def caps_of(c, tag="cap"):
    c.sendline(tag + " CAPABILITY")
    lines = c.read_until_tag(tag)
    assert lines[-1].startswith(tag.encode() + b" OK"), lines
    line = [l for l in lines if l.startswith(b"* CAPABILITY ")][0]
    return line.decode().split()[2:]


def tagged(c, tag, line):
    c.sendline("%s %s" % (tag, line))
    return c.read_until_tag(tag)[-1]


def add_user(srv, name, pw):
    r = srv.run_cli("user", "add", name, "--password", pw)
    assert r.returncode == 0, r.stderr


def scram_login(c, tag, user, pw, mech="SCRAM-SHA-256", **kw):
    """A whole SCRAM exchange with SASL-IR; returns the tagged reply."""
    sc = ScramClient(user, pw, mech, **kw)
    c.sendline("%s AUTHENTICATE %s %s" % (tag, mech, b64(sc.first())))
    line = c.readline()
    if not line.startswith(b"+"):
        return line
    c.sendline(b64(sc.final(unb64(line))))
    line = c.readline()
    if not line.startswith(b"+"):
        return line
    assert sc.verify(unb64(line)), line
    c.sendline("")
    return c.read_until_tag(tag)[-1]


def test_login_imaplib_everywhere(make_loft):
    """LOGIN on the STARTTLS port (loopback may use cleartext), after
    STARTTLS and on the TLS port; the reply carries the new capabilities;
    names are normalised (case, local domain); wrong passwords and unknown
    users get the same NO [AUTHENTICATIONFAILED]."""
    srv = make_loft(listeners=["imap", "imaps"], users={"alice": "secret pw"},
                    config_extra=FAST)
    with srv.imap("imap") as m:
        typ, data = m.login("alice", "secret pw")
        assert typ == "OK" and data[0].startswith(b"[CAPABILITY IMAP4rev1"), data
        assert b"AUTH=" not in data[0] and b"LOGINDISABLED" not in data[0], data
        assert m.state == "AUTH"
    with srv.imap("imap") as m:
        m.starttls(srv.client_context())
        assert m.login("ALICE@localhost", "secret pw")[0] == "OK"
    with srv.imap("imaps") as m:
        assert m.login("Alice", "secret pw")[0] == "OK"
    assert len(re.findall(r"login user=alice mech=LOGIN", srv.log_text())) == 3
    for user, pw in (("alice", "wrong"), ("nobody", "secret pw"), ("alice@other.example",
                                                                   "secret pw")):
        with srv.connect("imaps") as c:
            c.readline()
            last = tagged(c, "l", 'LOGIN "%s" "%s"' % (user, pw))
            assert last == b"l NO [AUTHENTICATIONFAILED] Authentication failed.\r\n", last
            assert tagged(c, "n", "NOOP").startswith(b"n OK")
    with srv.connect("imaps") as c:
        c.readline()
        # a NUL inside the password (a literal) cannot match anything
        c.send(b"l LOGIN alice {10+}\r\nsecret\x00pw1\r\n")
        assert c.read_until_tag("l")[-1].startswith(b"l NO [AUTHENTICATIONFAILED]")
        assert tagged(c, "b", "LOGIN alice").startswith(b"b BAD")


def test_authenticate_plain_imaplib(make_loft):
    srv = make_loft(listeners=["imap", "imaps"], users={"alice": "pw"}, config_extra=FAST)
    for name in ("imap", "imaps"):
        with srv.imap(name) as m:
            typ, data = m.authenticate("PLAIN", lambda challenge: b"\0alice\0pw")
            assert typ == "OK" and b"[CAPABILITY" in data[0], data
            assert m.state == "AUTH"
            assert m.noop()[0] == "OK"
    with srv.imap("imaps") as m:
        try:
            m.authenticate("PLAIN", lambda challenge: b"\0alice\0nope")
            raise AssertionError("wrong password accepted")
        except m.error as e:
            assert "[AUTHENTICATIONFAILED]" in str(e), e
    assert len(re.findall(r"login user=alice mech=PLAIN", srv.log_text())) == 2


def test_authenticate_exchanges(make_loft):
    """SASL-IR and continuations; "=" is an empty initial response; "*"
    cancels with BAD (RFC 9051 6.2.2), so do bad base64 and responses over
    the line limit or sasl_max_response; an unknown mechanism is NO; the
    connection keeps working after each."""
    cfg = dict(FAST)
    cfg["limits"] = {"max_line_length_preauth": 1024}
    cfg["auth"] = dict(FAST["auth"], sasl_max_response="512")
    srv = make_loft(listeners=["imaps"], users={"alice": "pw"}, config_extra=cfg)
    with srv.connect("imaps") as c:
        c.readline()
        caps = caps_of(c)
        assert "SASL-IR" in caps and "AUTH=PLAIN" in caps and "AUTH=LOGIN" in caps, caps
        # PLAIN without an initial response: an empty challenge first
        c.sendline("a AUTHENTICATE PLAIN")
        assert c.readline() == b"+ \r\n"
        c.sendline(b64("\0alice\0wrong"))
        assert c.read_until_tag("a")[-1].startswith(b"a NO [AUTHENTICATIONFAILED]")
        # LOGIN asks for the user name and the password
        c.sendline("b AUTHENTICATE LOGIN")
        assert unb64(c.readline()) == b"Username:"
        c.sendline(b64("alice"))
        assert unb64(c.readline()) == b"Password:"
        c.sendline("*")
        assert c.read_until_tag("b")[-1] == b"b BAD Authentication cancelled.\r\n"
        # "=": an empty initial response, which is no valid PLAIN message
        last = tagged(c, "c", "AUTHENTICATE PLAIN =")
        assert last.startswith(b"c NO [AUTHENTICATIONFAILED]"), last
        c.sendline("d AUTHENTICATE PLAIN")
        assert c.readline() == b"+ \r\n"
        c.sendline("not base64!")
        assert c.read_until_tag("d")[-1] == b"d BAD Invalid base64 in the response.\r\n"
        # over sasl_max_response (512) but within the line limit
        c.sendline("e AUTHENTICATE PLAIN")
        c.readline()
        c.sendline("QUFB" * 150)
        assert c.read_until_tag("e")[-1] == b"e BAD Response too long.\r\n"
        # over the line limit: dropped, and what follows is a command again
        c.sendline("f AUTHENTICATE PLAIN")
        c.readline()
        c.sendline("QUFB" * 600)
        assert c.read_until_tag("f")[-1] == b"f BAD Response too long.\r\n"
        assert tagged(c, "g", "NOOP").startswith(b"g OK")
        assert tagged(c, "h", "AUTHENTICATE DIGEST-MD5").startswith(b"h NO")
        assert tagged(c, "i", "AUTHENTICATE").startswith(b"i BAD")
        assert tagged(c, "j", "AUTHENTICATE PLAIN a b").startswith(b"j BAD")
        # and a good one with SASL-IR, case-insensitive mechanism name
        last = tagged(c, "k", "AUTHENTICATE plain " + b64("\0alice\0pw"))
        assert last.startswith(b"k OK [CAPABILITY IMAP4rev1"), last
        assert tagged(c, "l", "AUTHENTICATE PLAIN").startswith(b"l BAD")   # authenticated


def test_scram_with_stored_keys(make_loft):
    """SCRAM-SHA-256 and SCRAM-SHA-1 from keys made the way doveadm makes
    them (no password on the server), on a cleartext loopback connection
    (SCRAM sends no password); the server proves it knows the key."""
    users = ("alice:{SHA512-CRYPT}*::::::scram_sha256=%s scram_sha1=%s\n"
             % (dovecot_scram("pw"), dovecot_scram("pw", "sha1")))
    srv = make_loft(listeners=["imap"], users=users, config_extra=FAST)
    with srv.connect("imap") as c:
        c.readline()
        caps = caps_of(c)
        assert "AUTH=SCRAM-SHA-256" in caps and "AUTH=SCRAM-SHA-1" in caps, caps
        assert not any(x.endswith("-PLUS") for x in caps), caps   # no TLS here
        assert scram_login(c, "w", "alice", "wrong").startswith(b"w NO [AUTHENTICATIONFAILED]")
        assert scram_login(c, "u", "nobody", "pw").startswith(b"u NO [AUTHENTICATIONFAILED]")
        last = scram_login(c, "a", "alice", "pw", "SCRAM-SHA-1")
        assert last.startswith(b"a OK [CAPABILITY"), last
    with srv.connect("imap") as c:
        c.readline()
        assert scram_login(c, "a", "alice", "pw").startswith(b"a OK")
        assert tagged(c, "p", "AUTHENTICATE SCRAM-SHA-256-PLUS").startswith(b"p BAD")
    with srv.connect("imap") as c:
        c.readline()
        assert tagged(c, "p", "AUTHENTICATE SCRAM-SHA-256-PLUS").startswith(b"p NO")
    log = srv.log_text()
    assert "login user=alice mech=SCRAM-SHA-1" in log and "mech=SCRAM-SHA-256" in log, log


def test_scram_plus_tls_server_end_point(make_loft):
    """SCRAM-SHA-256-PLUS over implicit TLS and STARTTLS, bound to the
    server certificate's hash (RFC 5929) computed by the client; other
    bytes (a man in the middle) fail, and so does the "y" flag where the
    server offers -PLUS (a downgrade, RFC 5802 6)."""
    add = {"auth": dict(FAST["auth"])}
    srv = make_loft(listeners=["imap", "imaps"], users={}, config_extra=add)
    add_user(srv, "alice", "pw")
    with srv.connect("imaps") as c:
        assert c.readline() == b"* OK Loft ready.\r\n"   # capabilities come after TLS
        caps = caps_of(c)
        assert "AUTH=SCRAM-SHA-256-PLUS" in caps and "AUTH=SCRAM-SHA-1-PLUS" in caps, caps
        cb = tls_server_end_point(c.sock)
        last = scram_login(c, "m", "alice", "pw", "SCRAM-SHA-256-PLUS",
                           cb_type="tls-server-end-point", cb_data=b"\x00" * len(cb))
        assert last.startswith(b"m NO [AUTHENTICATIONFAILED]"), last
        last = scram_login(c, "y", "alice", "pw", "SCRAM-SHA-256", flag="y")
        assert last.startswith(b"y NO [AUTHENTICATIONFAILED]"), last
        last = scram_login(c, "u", "alice", "pw", "SCRAM-SHA-256-PLUS", cb_type="tls-unique",
                           cb_data=cb)
        assert last.startswith(b"u NO [AUTHENTICATIONFAILED]"), last
        last = scram_login(c, "a", "alice", "pw", "SCRAM-SHA-256-PLUS",
                           cb_type="tls-server-end-point", cb_data=cb)
        assert last.startswith(b"a OK [CAPABILITY"), last
    with srv.connect("imap") as c:
        c.readline()
        assert "AUTH=SCRAM-SHA-256-PLUS" not in caps_of(c)
        c.sendline("s STARTTLS")
        assert c.readline().startswith(b"s OK")
        c.starttls(srv.client_context())
        assert "AUTH=SCRAM-SHA-256-PLUS" in caps_of(c, "c2")
        last = scram_login(c, "a", "alice", "pw", "SCRAM-SHA-1-PLUS",
                           cb_type="tls-server-end-point", cb_data=tls_server_end_point(c.sock))
        assert last.startswith(b"a OK"), last
    assert "login user=alice mech=SCRAM-SHA-256-PLUS" in srv.log_text()
    assert "login user=alice mech=SCRAM-SHA-1-PLUS" in srv.log_text()


def test_scram_plus_tls_exporter_openssl(make_loft):
    """SCRAM-SHA-256-PLUS with tls-exporter (RFC 9266) under TLS 1.3: the
    exporter bytes come from openssl s_client's own TLS session."""
    srv = make_loft(listeners=["imaps"], users={}, config_extra=FAST)
    add_user(srv, "alice", "pw")
    s = SClient(srv.port("imaps"), srv.ca_file)
    try:
        sc = ScramClient("alice", "pw", "SCRAM-SHA-256-PLUS", cb_type="tls-exporter",
                         cb_data=s.exporter)
        s.sendline("a AUTHENTICATE SCRAM-SHA-256-PLUS " + b64(sc.first()))
        line = s.readline()
        s.sendline(b64(sc.final(unb64(line))))
        line = s.readline()
        assert sc.verify(unb64(line)), line
        s.sendline("")
        last = s.read_until_tag("a")[-1]
        assert last.startswith(b"a OK [CAPABILITY"), last
    finally:
        s.close()
    # the same client with another session's exporter bytes fails
    s1 = SClient(srv.port("imaps"), srv.ca_file)
    s2 = SClient(srv.port("imaps"), srv.ca_file)
    try:
        assert s1.exporter != s2.exporter
        sc = ScramClient("alice", "pw", "SCRAM-SHA-256-PLUS", cb_type="tls-exporter",
                         cb_data=s2.exporter)
        s1.sendline("a AUTHENTICATE SCRAM-SHA-256-PLUS " + b64(sc.first()))
        s1.sendline(b64(sc.final(unb64(s1.readline()))))
        last = s1.read_until_tag("a")[-1]
        assert last.startswith(b"a NO [AUTHENTICATIONFAILED]"), last
    finally:
        s1.close()
        s2.close()
    assert "login user=alice mech=SCRAM-SHA-256-PLUS" in srv.log_text()


def curl_supports_scram():
    """Debian 12's curl 7.88 has no SCRAM (it needs libgsasl, listed as a
    'gsasl' feature by `curl -V`)."""
    out = subprocess.run(["curl", "-V"], stdout=subprocess.PIPE, text=True).stdout
    features = re.search(r"^Features: (.*)$", out, re.M).group(1).lower().split()
    return "gsasl" in features


def test_curl_login_options(make_loft):
    """curl logs in with the mechanism asked for by --login-options and runs
    a command afterwards; a wrong password makes curl fail (exit 67)."""
    srv = make_loft(listeners=["imap", "imaps"], users={}, config_extra=FAST)
    add_user(srv, "alice", "pw")
    mechs = ["PLAIN", "LOGIN", "CRAM-MD5"] + (["SCRAM-SHA-256"] if curl_supports_scram() else [])
    for mech in mechs:
        for url in ("imaps://localhost:%d/" % srv.port("imaps"),
                    "imap://localhost:%d/" % srv.port("imap")):
            mark = srv.log_mark()
            r = subprocess.run(["curl", "-sS", "--cacert", srv.ca_file, "--ssl-reqd",
                                "--user", "alice:pw", "--login-options", "AUTH=" + mech,
                                "-X", "NOOP", url], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=60,
                               stdin=subprocess.DEVNULL)
            assert r.returncode == 0, (mech, url, r.stderr)
            srv.wait_log(r"login user=alice mech=%s$" % mech, since=mark)
    r = subprocess.run(["curl", "-sS", "--cacert", srv.ca_file, "--user", "alice:nope",
                        "--login-options", "AUTH=PLAIN", "-X", "NOOP",
                        "imaps://localhost:%d/" % srv.port("imaps")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 67, (r.returncode, r.stderr)   # CURLE_LOGIN_DENIED


def test_plaintext_policy_and_reload(make_loft):
    """plaintext_auth = never: LOGINDISABLED and no AUTH=PLAIN/LOGIN on a
    cleartext connection, LOGIN and AUTHENTICATE PLAIN refused with
    PRIVACYREQUIRED, SCRAM still offered and working; under TLS all of it
    works. SIGHUP with plaintext_auth = loopback lifts it for new sessions."""
    cfg = {"auth": dict(FAST["auth"]), "server": {"plaintext_auth": "never"}}
    srv = make_loft(listeners=["imap", "imaps"], users={}, config_extra=cfg)
    add_user(srv, "alice", "pw")
    with srv.connect("imap") as c:
        c.readline()
        caps = caps_of(c)
        assert "LOGINDISABLED" in caps, caps
        assert "AUTH=PLAIN" not in caps and "AUTH=LOGIN" not in caps, caps
        assert "AUTH=SCRAM-SHA-256" in caps, caps
        last = tagged(c, "l", "LOGIN alice pw")
        assert last.startswith(b"l NO [PRIVACYREQUIRED]"), last
        last = tagged(c, "p", "AUTHENTICATE PLAIN " + b64("\0alice\0pw"))
        assert last.startswith(b"p NO [PRIVACYREQUIRED]"), last
        assert scram_login(c, "s", "alice", "pw").startswith(b"s OK")
    with srv.connect("imaps") as c:
        c.readline()
        caps = caps_of(c)
        assert "LOGINDISABLED" not in caps and "AUTH=PLAIN" in caps, caps
        assert tagged(c, "l", "LOGIN alice pw").startswith(b"l OK")
    mark = srv.log_mark()
    cfg["server"]["plaintext_auth"] = "loopback"
    srv.write_config(cfg)
    srv.reload()
    srv.wait_log(r"reload: configuration applied", since=mark)
    with srv.connect("imap") as c:
        c.readline()
        caps = caps_of(c)
        assert "LOGINDISABLED" not in caps and "AUTH=PLAIN" in caps, caps
        assert tagged(c, "l", "LOGIN alice pw").startswith(b"l OK")


def test_account_fields_refuse(make_loft):
    """A right password is still refused for a disabled account and for one
    whose protocols do not include imap (NO [CONTACTADMIN], saying which);
    a wrong password gets the usual answer, so nothing leaks."""
    users = ("off:%s::::::disabled=yes\n"
             "popper:%s::::::protocols=pop3\n"
             "both:%s::::::userdb_protocols=pop3,imap\n"
             % (hash_password("pw"), hash_password("pw"), hash_password("pw")))
    srv = make_loft(listeners=["imaps"], users=users, config_extra=FAST)
    with srv.connect("imaps") as c:
        c.readline()
        last = tagged(c, "a", "LOGIN off pw")
        assert last.startswith(b"a NO [CONTACTADMIN]") and b"disabled" in last, last
        last = tagged(c, "b", "AUTHENTICATE PLAIN " + b64("\0popper\0pw"))
        assert last.startswith(b"b NO [CONTACTADMIN]") and b"IMAP" in last, last
        for user in ("off", "popper"):
            last = tagged(c, "w", "LOGIN %s wrong" % user)
            assert last.startswith(b"w NO [AUTHENTICATIONFAILED]"), last
        assert tagged(c, "o", "LOGIN both pw").startswith(b"o OK")
    log = srv.log_text()
    assert "result=EDISABLED" in log and "login user=off" not in log, log


def test_app_password_logged_with_device(make_loft):
    """An app password logs in (LOGIN and PLAIN), the server logs the device,
    and the login state (flushed every second here) shows the last login per
    service and per device in `loft user show`; a revoked one stops at once."""
    cfg = {"auth": dict(FAST["auth"], login_state_flush="1s")}
    srv = make_loft(listeners=["imaps"], users={}, config_extra=cfg)
    add_user(srv, "alice", "pw")
    r = srv.run_cli("user", "app-password", "add", "alice", "phone")
    assert r.returncode == 0, r.stderr
    app_pw = re.search(r"on phone: (\S+)", r.stdout).group(1)
    with srv.imap("imaps") as m:
        assert m.login("alice", app_pw)[0] == "OK"
    with srv.imap("imaps") as m:
        assert m.authenticate("PLAIN", lambda ch: b"\0alice\0" + app_pw.upper().encode())[0] \
            == "OK"
    log = srv.log_text()
    assert "login user=alice mech=LOGIN device=phone" in log, log
    assert "login user=alice mech=PLAIN device=phone" in log, log
    deadline = time.monotonic() + 10
    while True:
        show = srv.run_cli("user", "show", "alice").stdout
        if "last used never" not in show and "imap " in show:
            break
        assert time.monotonic() < deadline, show
        time.sleep(0.3)
    assert re.search(r"phone created \S+ last used \S+ from 127\.0\.0\.1", show), show
    assert re.search(r"^  imap \S+ from 127\.0\.0\.1$", show, re.M), show
    r = srv.run_cli("user", "app-password", "revoke", "alice", "phone")
    assert r.returncode == 0, r.stderr
    with srv.connect("imaps") as c:
        c.readline()
        assert tagged(c, "l", 'LOGIN alice "%s"' % app_pw).startswith(
            b"l NO [AUTHENTICATIONFAILED]")
        assert tagged(c, "m", "LOGIN alice pw").startswith(b"m OK")


def deliver(srv, user, size):
    body = "Subject: quota test\r\n\r\n" + "x" * size + "\r\n"
    return srv.run_cli("deliver", "-u", user, input=body).returncode


def test_quota_field_applied_at_login(make_loft):
    """The user's quota_bytes field becomes the store's per-user quota when
    the user logs in (`loft deliver` then refuses an over-quota message with
    EX_CANTCREAT); removing the field returns the user to the server's
    default at the next login."""
    srv = make_loft(listeners=["imaps"], users="q:%s::::::quota_bytes=2000\n"
                    % hash_password("pw"), config_extra=FAST)
    assert deliver(srv, "q", 1000) == 0      # the store does not know the field yet
    with srv.imap("imaps") as m:
        assert m.login("q", "pw")[0] == "OK"
    assert deliver(srv, "q", 1500) == 73     # 1000 + 1500 > 2000
    assert deliver(srv, "q", 100) == 0
    srv.write_users("q:%s\n" % hash_password("pw"))
    with srv.imap("imaps") as m:
        assert m.login("q", "pw")[0] == "OK"
    assert deliver(srv, "q", 1500) == 0


def test_users_file_changes_while_running(make_loft):
    """`loft user passwd` and `add` while the server runs: the next login
    sees the new file (the old password fails, the new one works); SIGHUP
    keeps logins working."""
    srv = make_loft(listeners=["imaps"], users={}, config_extra=FAST)
    add_user(srv, "alice", "old")
    with srv.imap("imaps") as m:
        assert m.login("alice", "old")[0] == "OK"
    r = srv.run_cli("user", "passwd", "alice", "--password", "new")
    assert r.returncode == 0, r.stderr
    add_user(srv, "bob", "bobpw")
    with srv.connect("imaps") as c:
        c.readline()
        assert tagged(c, "a", "LOGIN alice old").startswith(b"a NO [AUTHENTICATIONFAILED]")
        assert scram_login(c, "s", "alice", "old").startswith(b"s NO")
        assert scram_login(c, "t", "alice", "new").startswith(b"t OK")
    with srv.imap("imaps") as m:
        assert m.login("bob", "bobpw")[0] == "OK"
    mark = srv.log_mark()
    srv.reload()
    srv.wait_log(r"reload: configuration applied", since=mark)
    with srv.imap("imaps") as m:
        assert m.login("alice", "new")[0] == "OK"


def test_post_login_line_limit(make_loft):
    """Before login the short line limit applies, after it the long one."""
    cfg = dict(FAST, limits={"max_line_length_preauth": 256, "max_line_length": 8192})
    srv = make_loft(listeners=["imaps"], users={"alice": "pw"}, config_extra=cfg)
    long_noop = "NOOP " + "x" * 1000
    with srv.connect("imaps") as c:
        c.readline()
        last = tagged(c, "a", long_noop)
        assert last.startswith(b"a BAD") and b"too long" in last, last
        assert tagged(c, "l", "LOGIN alice pw").startswith(b"l OK")
        last = tagged(c, "b", long_noop)
        assert last.startswith(b"b BAD") and b"too long" not in last, last
