"""Capability switches (issue 27): extensions withheld from one user (the
passwd-file field imap_caps_off), from clients by the name and version they
send with ID ([imap] client_rules) and by the shipped quirk table ([imap]
client_quirks). A switched-off extension leaves the CAPABILITY response and
the [CAPABILITY] codes, ENABLE ignores it and its commands, keys, items and
modifiers are refused as unknown ones are. Rules change on SIGHUP and users
on a users-file change, for new sessions, without a restart."""

from imap_util import PASSWORD, USER, cmd, imap_server
from loftserver import hash_password


def caps_of(line):
    """The tokens of "* CAPABILITY ..." or of a [CAPABILITY ...] code."""
    text = line.decode()
    if "[CAPABILITY " in text:
        text = text.split("[CAPABILITY ", 1)[1].split("]", 1)[0]
    else:
        text = text.split("* CAPABILITY ", 1)[1]
    return text.split()


def session(srv, id_fields=None):
    """A raw session, optionally after ID; returns (client, login reply)."""
    c = srv.connect("imap")
    assert c.readline().startswith(b"* OK")
    if id_fields is not None:
        r = cmd(c, "i", "ID (%s)" % " ".join('"%s"' % f for f in id_fields))
        assert r[-1] == b"i OK ID completed.", r
    r = cmd(c, "l", "LOGIN %s %s" % (USER, PASSWORD))
    assert r[-1].startswith(b"l OK [CAPABILITY "), r
    return c, r[-1]


def login_caps(srv, id_fields=None):
    """The [CAPABILITY] of a login after ID id_fields."""
    c, ok = session(srv, id_fields)
    c.close()
    return caps_of(ok)


def capability(c):
    r = cmd(c, "c", "CAPABILITY")
    assert r[-1] == b"c OK Capability completed.", r
    return caps_of(r[0])


def full_caps(srv):
    c, _ = session(srv)
    caps = capability(c)
    c.close()
    return caps


def without(caps, *gone):
    return [t for t in caps if t not in gone]


def reconfigure(srv, imap):
    """Rewrite the [imap] section and SIGHUP; waits for the reload's verdict
    and returns the log offset before it."""
    mark = srv.log_mark()
    srv.write_config({"storage": {"initial_mailboxes": ""}, "imap": imap})
    srv.reload()
    srv.wait_log(r"reload(: configuration applied| rejected)", since=mark)
    return mark


CONDSTORE_GONE = ("CONDSTORE", "QRESYNC")
SORT_GONE = ("SORT", "SORT=DISPLAY", "ESORT", "CONTEXT=SORT")


def test_per_user_field(make_loft):
    srv = imap_server(make_loft, users="%s:%s::::::imap_caps_off=CONDSTORE,SORT\n"
                      % (USER, hash_password(PASSWORD)))
    c, ok = session(srv)
    caps = capability(c)
    assert caps_of(ok) == caps
    for t in CONDSTORE_GONE + SORT_GONE:
        assert t not in caps
    assert "IDLE" in caps and "THREAD=REFERENCES" in caps and "CONTEXT=SEARCH" in caps
    # ENABLE ignores what the session does not have (RFC 5161 3.1)
    assert cmd(c, "e", "ENABLE CONDSTORE QRESYNC UTF8=ACCEPT") == [
        b"* ENABLED UTF8=ACCEPT", b"e OK ENABLE completed."]
    assert cmd(c, "a", "APPEND INBOX {3+}\r\nhi\r") [-1].startswith(b"a OK [APPENDUID ")
    r = cmd(c, "s", "SELECT INBOX")
    assert r[-1] == b"s OK [READ-WRITE] SELECT completed."
    assert not any(b"HIGHESTMODSEQ" in ln for ln in r), r
    assert cmd(c, "s2", "SELECT INBOX (CONDSTORE)") == [b"s2 BAD Unknown SELECT parameter."]
    assert cmd(c, "f", "FETCH 1 (FLAGS MODSEQ)") == [b"f BAD Unknown FETCH attribute."]
    assert cmd(c, "g", "FETCH 1 (FLAGS) (CHANGEDSINCE 1)") == [b"g BAD Unknown FETCH modifier."]
    assert cmd(c, "h", "STORE 1 (UNCHANGEDSINCE 9) +FLAGS (x)") == [
        b"h BAD Unknown STORE modifier."]
    assert cmd(c, "k", "SEARCH MODSEQ 1") == [b"k BAD Unknown search key."]
    assert cmd(c, "m", "STATUS INBOX (MESSAGES HIGHESTMODSEQ)") == [
        b"m BAD Unknown STATUS data item."]
    assert cmd(c, "n", "SORT (DATE) UTF-8 ALL") == [b"n BAD Unknown command."]
    assert cmd(c, "o", "UID SORT (DATE) UTF-8 ALL") == [b"o BAD Unknown UID command."]
    # what stays works
    assert cmd(c, "p", "THREAD REFERENCES UTF-8 ALL") == [
        b"* THREAD (1)", b"p OK THREAD completed."]
    assert cmd(c, "q", "FETCH 1 (FLAGS)") == [b"* 1 FETCH (FLAGS (\\Recent))",
                                              b"q OK FETCH completed."]
    c.close()

    # the users file changes: the next session has everything again
    srv.write_users({USER: PASSWORD})
    c, ok = session(srv)
    caps = capability(c)
    assert "CONDSTORE" in caps and "SORT" in caps and caps_of(ok) == caps
    assert cmd(c, "e", "ENABLE CONDSTORE") == [b"* ENABLED CONDSTORE", b"e OK ENABLE completed."]
    c.close()


def test_unknown_user_switch_is_logged_and_ignored(make_loft):
    srv = imap_server(make_loft, users="%s:%s::::::imap_caps_off=IDLE,NOSUCH\n"
                      % (USER, hash_password(PASSWORD)))
    c, ok = session(srv)
    assert "IDLE" not in caps_of(ok) and "MOVE" in caps_of(ok)
    assert cmd(c, "i", "IDLE") == [b"i BAD Unknown command."]
    srv.wait_log(r'imap_caps_off names "NOSUCH", which is no capability switch')
    c.close()


RULES = "Thunderbird/102.: IDLE MOVE; Other Client: COMPRESS=DEFLATE THREAD"


def test_client_rules_by_id(make_loft):
    srv = imap_server(make_loft, config_extra={"imap": {"client_rules": RULES}})
    full = full_caps(srv)
    # matched before login: the login's [CAPABILITY] already lacks them
    c, ok = session(srv, ["name", "thunderbird", "version", "102.15.1"])
    srv.wait_log(r"id: client rules switch off: IDLE MOVE")
    assert caps_of(ok) == without(full, "IDLE", "MOVE")
    assert capability(c) == without(full, "IDLE", "MOVE")
    assert cmd(c, "s", "SELECT INBOX")[-1] == b"s OK [READ-WRITE] SELECT completed."
    assert cmd(c, "i", "IDLE") == [b"i BAD Unknown command."]
    assert cmd(c, "m", "MOVE 1 INBOX") == [b"m BAD Unknown command."]
    assert cmd(c, "u", "UID MOVE 1 INBOX") == [b"u BAD Unknown UID command."]
    c.close()
    # another version: no match
    assert login_caps(srv, ["name", "Thunderbird", "version", "91.0"]) == full
    # ID after login switches off from then on
    c, ok = session(srv)
    assert caps_of(ok) == full
    assert cmd(c, "i", 'ID ("name" "Other Client")')[-1] == b"i OK ID completed."
    assert capability(c) == without(full, "COMPRESS=DEFLATE", "THREAD=ORDEREDSUBJECT",
                                     "THREAD=REFERENCES")
    assert cmd(c, "z", "COMPRESS DEFLATE") == [b"z BAD Unknown command."]
    c.close()


def test_client_rules_reload(make_loft):
    srv = imap_server(make_loft)
    full = full_caps(srv)
    assert login_caps(srv, ["name", "Mailer", "version", "1"]) == full
    reconfigure(srv, {"client_rules": "mailer: QUOTA UNSELECT"})
    c, ok = session(srv, ["name", "Mailer", "version", "1"])
    gone = ("QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE", "UNSELECT")
    assert caps_of(ok) == without(full, *gone)
    assert cmd(c, "q", "GETQUOTAROOT INBOX") == [b"q BAD Unknown command."]
    c.close()
    # a rule naming no switch is refused; the running rules stay
    mark = reconfigure(srv, {"client_rules": "mailer: QUOTA FROBNICATE"})
    srv.wait_log(r'reload rejected: \[imap\] client_rules: rule for "mailer" names '
                 r'"FROBNICATE", which is no capability switch', since=mark)
    assert login_caps(srv, ["name", "Mailer"]) == without(full, *gone)
    r = srv.run_cli("config", "check")
    assert r.returncode == 1 and "FROBNICATE" in r.stderr


def test_quirks_off_by_default(make_loft):
    srv = imap_server(make_loft)
    full = full_caps(srv)
    assert login_caps(srv, ["name", "Thunderbird", "version", "128.0"]) == full
    reconfigure(srv, {"client_quirks": "thunderbird-condstore"})
    c, ok = session(srv, ["name", "Thunderbird", "version", "128.0"])
    assert caps_of(ok) == without(full, *CONDSTORE_GONE)
    assert cmd(c, "e", "ENABLE QRESYNC") == [b"* ENABLED", b"e OK ENABLE completed."]
    c.close()
    assert login_caps(srv, ["name", "K-9 Mail", "version", "6.8"]) == full


def test_objectid_and_binary_off(make_loft):
    srv = imap_server(make_loft, users="%s:%s::::::imap_caps_off=OBJECTID,BINARY\n"
                      % (USER, hash_password(PASSWORD)))
    c, ok = session(srv)
    assert "OBJECTID" not in caps_of(ok) and "BINARY" not in caps_of(ok)
    assert cmd(c, "a", "APPEND INBOX {3+}\r\nhi\r")[-1].startswith(b"a OK [APPENDUID ")
    assert cmd(c, "b", "APPEND INBOX ~{3+}\r\nhi\r") == [
        b"b BAD Literal8 (~{n}) is not known here."]
    r = cmd(c, "s", "SELECT INBOX")
    assert r[-1] == b"s OK [READ-WRITE] SELECT completed."
    assert not any(b"MAILBOXID" in ln for ln in r), r
    for item in ("EMAILID", "THREADID", "BINARY[]", "BINARY.PEEK[1]", "BINARY.SIZE[]"):
        assert cmd(c, "f", "FETCH 1 (UID %s)" % item) == [b"f BAD Unknown FETCH attribute."]
    assert cmd(c, "g", "FETCH 1 (UID BODY.PEEK[])")[-1] == b"g OK FETCH completed."
    assert cmd(c, "k", "SEARCH EMAILID M1") == [b"k BAD Unknown search key."]
    assert cmd(c, "m", "STATUS INBOX (MAILBOXID)") == [b"m BAD Unknown STATUS data item."]
    assert cmd(c, "n", "CREATE Foo") == [b"n OK CREATE completed."]
    c.close()
    # the same user without the field: everything is there
    srv.write_users({USER: PASSWORD})
    c, ok = session(srv)
    assert "OBJECTID" in caps_of(ok) and "BINARY" in caps_of(ok)
    assert cmd(c, "n", "CREATE Bar")[0].startswith(b"n OK [MAILBOXID (")
    c.close()
