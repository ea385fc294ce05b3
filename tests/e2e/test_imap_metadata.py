"""METADATA (RFC 5464): GETMETADATA and SETMETADATA on mailboxes and on
the server (mailbox ""), /private and /shared entries, the read-only
/shared/admin from [imap] metadata_admin, DEPTH and MAXSIZE (with
[METADATA LONGENTRIES n]), deleting with NIL, the limits ([METADATA
MAXSIZE n], [METADATA TOOMANY], all or nothing), entry-name refusals,
RENAME carrying and DELETE dropping a mailbox's entries, and their
survival across a restart (they live in the user's index)."""

from imap_util import cmd, imap_server, raw_login


def server(make_loft, **imap):
    conf = {"metadata_admin": "mailto:postmaster@example.org"}
    conf.update(imap)
    return imap_server(make_loft, config_extra={"imap": conf})


def test_capability_and_server_entries(make_loft):
    srv = server(make_loft)
    c = raw_login(srv)
    caps = cmd(c, "c", "CAPABILITY")[0].split()
    assert b"METADATA" in caps and b"METADATA-SERVER" in caps
    assert cmd(c, "a", 'GETMETADATA "" /shared/admin') == [
        b'* METADATA "" (/shared/admin "mailto:postmaster@example.org")',
        b"a OK GETMETADATA completed."]
    # nothing stored yet: the names asked for come back NIL
    assert cmd(c, "b", 'GETMETADATA "" (/private/comment /shared/comment)') == [
        b'* METADATA "" (/private/comment NIL /shared/comment NIL)',
        b"b OK GETMETADATA completed."]
    assert cmd(c, "d", 'SETMETADATA "" (/private/comment "my server" '
                       '/shared/comment "shared note")') == [b"d OK SETMETADATA completed."]
    assert cmd(c, "e", 'GETMETADATA (DEPTH infinity) "" /shared') == [
        b'* METADATA "" (/shared/admin "mailto:postmaster@example.org" '
        b'/shared/comment "shared note")',
        b"e OK GETMETADATA completed."]
    assert cmd(c, "f", 'GETMETADATA "" /private/comment') == [
        b'* METADATA "" (/private/comment "my server")', b"f OK GETMETADATA completed."]
    # /shared/admin is the administrator's
    assert cmd(c, "g", 'SETMETADATA "" (/shared/admin "me")') == [
        b"g NO [NOPERM] /shared/admin is set by the administrator."]
    # server entries are not INBOX's
    assert cmd(c, "h", "GETMETADATA INBOX /private/comment") == [
        b"* METADATA INBOX (/private/comment NIL)", b"h OK GETMETADATA completed."]


def test_mailbox_entries_depth_maxsize(make_loft):
    srv = server(make_loft)
    c = raw_login(srv)
    c.sendline('a SETMETADATA INBOX (/private/comment "mine" /Shared/Comment "ours" '
               '/shared/vendor/loft/a "1" /shared/vendor/loft/a/b "22" '
               '/shared/vendor/loft/big {40}')
    assert c.readline().startswith(b"+ ")
    c.send(b"x" * 40 + b")\r\n")
    assert [l.rstrip(b"\r\n") for l in c.read_until_tag("a")] == [
        b"a OK SETMETADATA completed."]
    # entry names are case-insensitive (kept lower-case)
    assert cmd(c, "b", "GETMETADATA INBOX (/shared/comment /PRIVATE/comment)") == [
        b'* METADATA INBOX (/shared/comment "ours" /private/comment "mine")',
        b"b OK GETMETADATA completed."]
    assert cmd(c, "c", "GETMETADATA (DEPTH 1) INBOX /shared/vendor/loft") == [
        b'* METADATA INBOX (/shared/vendor/loft/a "1" /shared/vendor/loft/big '
        b'"' + b"x" * 40 + b'")',
        b"c OK GETMETADATA completed."]
    assert cmd(c, "d", "GETMETADATA (DEPTH infinity MAXSIZE 10) INBOX /shared") == [
        b'* METADATA INBOX (/shared/comment "ours" /shared/vendor/loft/a "1" '
        b'/shared/vendor/loft/a/b "22")',
        b"d OK [METADATA LONGENTRIES 40] GETMETADATA completed."]
    assert cmd(c, "e", "GETMETADATA (MAXSIZE 3 DEPTH 0) INBOX /shared/vendor/loft/big") == [
        b"e OK [METADATA LONGENTRIES 40] GETMETADATA completed."]
    # NIL deletes; deleting what is not there is fine
    assert cmd(c, "f", "SETMETADATA INBOX (/shared/comment NIL /private/nothing NIL)") == [
        b"f OK SETMETADATA completed."]
    assert cmd(c, "g", "GETMETADATA (DEPTH 1) INBOX /shared") == [
        b"g OK GETMETADATA completed."]
    # a value with CRLF goes out as a literal
    c.send(b'h SETMETADATA INBOX (/private/comment {7+}\r\nl1\r\nl2 )\r\n')
    assert c.read_until_tag("h")[-1] == b"h OK SETMETADATA completed.\r\n"
    assert cmd(c, "i", "GETMETADATA INBOX /private/comment") == [
        b"* METADATA INBOX (/private/comment {7}", b"l1", b"l2 )",
        b"i OK GETMETADATA completed."]


def test_refusals(make_loft):
    srv = server(make_loft)
    c = raw_login(srv)
    assert cmd(c, "a", "GETMETADATA Nowhere /private/comment") == [
        b"a NO [NONEXISTENT] Mailbox does not exist."]
    assert cmd(c, "b", "SETMETADATA Nowhere (/private/comment x)") == [
        b"b BAD A value is a string, a literal or NIL."]
    assert cmd(c, "b2", 'SETMETADATA Nowhere (/private/comment "x")') == [
        b"b2 NO [NONEXISTENT] Mailbox does not exist."]
    for tag, line, why in [
            ("c", "GETMETADATA INBOX /comment", b"Entry names begin with /private or /shared."),
            ("d", 'GETMETADATA INBOX "/private/a*"',
             b"Entry names are printable ASCII without '*' or '%'."),
            ("e", "GETMETADATA INBOX /private//a",
             b"Entry names have no empty component and no trailing '/'."),
            ("f", "GETMETADATA INBOX /shared/", 
             b"Entry names have no empty component and no trailing '/'."),
            ("g", 'SETMETADATA INBOX (/shared "x")',
             b"Only entries below /private or /shared hold values."),
            ("h", "GETMETADATA (DEPTH 2) INBOX /shared", b"DEPTH is 0, 1 or infinity."),
            ("i", "GETMETADATA (FOO 1) INBOX /shared", b"Unknown or repeated GETMETADATA option."),
            ("j", "SETMETADATA INBOX ()", b"SETMETADATA mailbox (entry value ...)"),
            ("k", "GETMETADATA INBOX ()", b"Entry list is empty."),
            ("l", 'SETMETADATA INBOX (/private/a "1" /private/b)',
             b"SETMETADATA mailbox (entry value ...)")]:
        assert cmd(c, tag, line) == [tag.encode() + b" BAD " + why], line


def test_limits(make_loft):
    srv = server(make_loft, metadata_max_value_size="16", metadata_max_entries="3")
    c = raw_login(srv)
    assert cmd(c, "a", 'SETMETADATA INBOX (/private/a "1" /private/b "%s")' % ("y" * 17)) == [
        b"a NO [METADATA MAXSIZE 16] Value too long: nothing was changed."]
    # all or nothing: /private/a was not set
    assert cmd(c, "b", "GETMETADATA INBOX /private/a") == [
        b"* METADATA INBOX (/private/a NIL)", b"b OK GETMETADATA completed."]
    assert cmd(c, "c", 'SETMETADATA INBOX (/private/a "1" /private/b "%s" /private/c "3")'
               % ("y" * 16)) == [b"c OK SETMETADATA completed."]
    assert cmd(c, "d", 'SETMETADATA INBOX (/private/a "9" /private/d "4")') == [
        b"d NO [METADATA TOOMANY] Too many entries: nothing was changed."]
    assert cmd(c, "e", "GETMETADATA INBOX (/private/a /private/d)") == [
        b'* METADATA INBOX (/private/a "1" /private/d NIL)', b"e OK GETMETADATA completed."]
    # changing an entry, or one out and one in, stays within the limit
    assert cmd(c, "f", 'SETMETADATA INBOX (/private/a "2" /private/c NIL /private/d "4")') == [
        b"f OK SETMETADATA completed."]
    # a literal longer than a value may be is refused before it is sent
    # ({n}) or while it is skipped ({n+}), with the same reply
    c.sendline("h SETMETADATA INBOX (/private/e {17}")
    assert c.readline() == b"h NO [METADATA MAXSIZE 16] Value too long: nothing was changed.\r\n"
    c.send(b"i SETMETADATA INBOX (/private/e {17+}\r\n" + b"z" * 17 + b")\r\n")
    assert c.read_until_tag("i") == [
        b"i NO [METADATA MAXSIZE 16] Value too long: nothing was changed.\r\n"]
    c.send(b"j SETMETADATA INBOX (/private/e {16+}\r\n" + b"z" * 16 + b")\r\n")
    assert c.read_until_tag("j") == [b"j NO [METADATA TOOMANY] Too many entries: nothing was "
                                     b"changed.\r\n"]
    assert cmd(c, "k", "GETMETADATA INBOX /private/e") == [
        b"* METADATA INBOX (/private/e NIL)", b"k OK GETMETADATA completed."]
    # the limit is per mailbox: the server has its own
    assert cmd(c, "g", 'SETMETADATA "" (/private/a "1" /private/b "2" /private/c "3")') == [
        b"g OK SETMETADATA completed."]


def test_rename_delete_restart(make_loft):
    srv = server(make_loft)
    c = raw_login(srv)
    assert cmd(c, "a", "CREATE Work")[-1].startswith(b"a OK")
    assert cmd(c, "b", 'SETMETADATA Work (/shared/comment "work stuff")')[-1].startswith(b"b OK")
    assert cmd(c, "c", "RENAME Work Job")[-1].startswith(b"c OK")
    assert cmd(c, "d", "GETMETADATA Job /shared/comment") == [
        b'* METADATA Job (/shared/comment "work stuff")', b"d OK GETMETADATA completed."]
    assert cmd(c, "e", "CREATE Work")[-1].startswith(b"e OK")
    assert cmd(c, "f", "GETMETADATA Work /shared/comment") == [
        b"* METADATA Work (/shared/comment NIL)", b"f OK GETMETADATA completed."]
    assert cmd(c, "g", "DELETE Job")[-1].startswith(b"g OK")
    assert cmd(c, "h", "CREATE Job")[-1].startswith(b"h OK")
    assert cmd(c, "i", "GETMETADATA Job /shared/comment") == [
        b"* METADATA Job (/shared/comment NIL)", b"i OK GETMETADATA completed."]
    # RENAME INBOX hands INBOX's entries to the new mailbox with its mail
    assert cmd(c, "j", 'SETMETADATA INBOX (/private/comment "inbox")')[-1].startswith(b"j OK")
    assert cmd(c, "k", "RENAME INBOX Old")[-1].startswith(b"k OK")
    assert cmd(c, "l", "GETMETADATA Old /private/comment") == [
        b'* METADATA Old (/private/comment "inbox")', b"l OK GETMETADATA completed."]
    assert cmd(c, "m", "GETMETADATA INBOX /private/comment") == [
        b"* METADATA INBOX (/private/comment NIL)", b"m OK GETMETADATA completed."]
    assert cmd(c, "n", 'SETMETADATA "" (/private/vendor/loft/x "kept")')[-1].startswith(b"n OK")
    c.close()
    srv.restart()
    c = raw_login(srv)
    assert cmd(c, "o", 'GETMETADATA "" /private/vendor/loft/x') == [
        b'* METADATA "" (/private/vendor/loft/x "kept")', b"o OK GETMETADATA completed."]
    assert cmd(c, "p", "GETMETADATA Old /private/comment")[0] == (
        b'* METADATA Old (/private/comment "inbox")')
    c.close()
    # an index rebuild keeps them (by mailbox name)
    srv.stop()
    r = srv.run_cli("index", "rebuild", "alice")
    assert r.returncode == 0, r.stderr
    srv.restart()
    c = raw_login(srv)
    assert cmd(c, "q", 'GETMETADATA "" /private/vendor/loft/x')[0] == (
        b'* METADATA "" (/private/vendor/loft/x "kept")')
    assert cmd(c, "r", "GETMETADATA Old /private/comment")[0] == (
        b'* METADATA Old (/private/comment "inbox")')


def test_list_metadata(make_loft):
    """LIST-METADATA (RFC 9590): LIST ... RETURN (METADATA ...) sends each
    listed mailbox's entries right after its LIST line."""
    srv = server(make_loft)
    c = raw_login(srv)
    assert b"LIST-METADATA" in cmd(c, "c", "CAPABILITY")[0].split()
    for tag, box in (("a", "Work"), ("b", "Work/Old"), ("d", "Lists")):
        assert cmd(c, tag, "CREATE %s" % box)[-1].startswith(tag.encode() + b" OK")
    assert cmd(c, "e", 'SETMETADATA INBOX (/private/comment "mine")')[-1].startswith(b"e OK")
    assert cmd(c, "f", 'SETMETADATA Work (/shared/comment "work" /private/comment "%s")'
               % ("z" * 30))[-1].startswith(b"f OK")
    assert cmd(c, "g", 'LIST "" "%" RETURN (METADATA (/shared/comment /private/comment))') == [
        b'* LIST (\\HasNoChildren) "/" INBOX',
        b'* METADATA INBOX (/private/comment "mine" /shared/comment NIL)',
        b'* LIST (\\HasNoChildren) "/" Lists',
        b"* METADATA Lists (/shared/comment NIL /private/comment NIL)",
        b'* LIST (\\HasChildren) "/" Work',
        b'* METADATA Work (/shared/comment "work" /private/comment "' + b"z" * 30 + b'")',
        b"g OK LIST completed."]
    # one entry without parentheses, MAXSIZE, and with STATUS
    assert cmd(c, "h", 'LIST "" "W*" RETURN (STATUS (MESSAGES) METADATA (MAXSIZE 10) '
                       '/private/comment)') == [
        b'* LIST (\\HasChildren) "/" Work',
        b"* STATUS Work (MESSAGES 0)",
        b'* LIST (\\HasNoChildren) "/" Work/Old',
        b"* STATUS Work/Old (MESSAGES 0)",
        b"* METADATA Work/Old (/private/comment NIL)",
        b"h OK [METADATA LONGENTRIES 30] LIST completed."]
    for tag, opts, why in [
            ("i", "METADATA", b"METADATA needs entry names."),
            ("j", "METADATA (DEPTH 1) (/shared/comment)", b"Entry names begin with /private or /shared."),
            ("k", "METADATA (MAXSIZE 1 DEPTH 1) /shared/comment", b"METADATA options are (MAXSIZE n)."),
            ("l", "METADATA /x", b"Entry names begin with /private or /shared."),
            ("m", "METADATA /shared/a METADATA /shared/b", b"Unknown LIST return option.")]:
        assert cmd(c, tag, 'LIST "" "*" RETURN (%s)' % opts) == [tag.encode() + b" BAD " + why]
