"""Capability lists: IMAP CAPABILITY, POP3 CAPA, SMTP EHLO and LMTP LHLO
advertise STARTTLS only before TLS, list what they must (IMAP4rev1, SIZE),
and every IMAP capability that names a command is backed by a command the
server knows (not answered like an unknown command)."""

import re


def imap_caps(c, tag="c1"):
    c.sendline(tag + " CAPABILITY")
    lines = c.read_until_tag(tag)
    assert lines[-1].startswith(tag.encode() + b" OK"), lines
    caps = [l for l in lines if l.startswith(b"* CAPABILITY ")]
    assert len(caps) == 1, lines
    return caps[0][len(b"* CAPABILITY "):].decode().split()


def greeting_caps(line):
    m = re.search(rb"\[CAPABILITY ([^\]]*)\]", line)
    return m.group(1).decode().split() if m else None


def upper(caps):
    return [c.upper() for c in caps]


def test_imap_capability_starttls_only_before_tls(loft):
    with loft.connect("imap") as c:
        greet = c.readline()
        caps = upper(imap_caps(c))
        assert "IMAP4REV1" in caps, caps
        assert "STARTTLS" in caps, caps
        g = greeting_caps(greet)
        if g is not None:
            assert sorted(upper(g)) == sorted(caps), (greet, caps)
        c.sendline("t1 STARTTLS")
        assert c.readline().startswith(b"t1 OK")
        c.starttls(loft.client_context())
        after = upper(imap_caps(c, "c2"))
        assert "IMAP4REV1" in after, after
        assert "STARTTLS" not in after, after


def test_imap_logindisabled_only_where_plaintext_is_refused(make_loft):
    """LOGINDISABLED is advertised exactly where LOGIN would be refused:
    on a plaintext connection when plaintext_auth = never. After STARTTLS
    (and on the implicit TLS port) LOGIN is offered and works."""
    srv = make_loft(listeners=["imap", "imaps"], users={"alice": "pw"},
                    config_extra={"server": {"plaintext_auth": "never"}})
    with srv.connect("imap") as c:
        c.readline()
        caps = upper(imap_caps(c))
        assert "LOGINDISABLED" in caps, caps
        c.sendline("l LOGIN alice pw")
        last = c.read_until_tag("l")[-1]
        assert last.startswith(b"l NO [PRIVACYREQUIRED]"), last
        c.sendline("t STARTTLS")
        assert c.readline().startswith(b"t OK")
        c.starttls(srv.client_context())
        caps = upper(imap_caps(c, "c2"))
        assert "LOGINDISABLED" not in caps, caps
        c.sendline("l2 LOGIN alice pw")
        last = c.read_until_tag("l2")[-1]
        assert last.startswith(b"l2 OK"), last
    with srv.connect("imaps") as c:
        c.readline()
        caps = upper(imap_caps(c))
        assert "LOGINDISABLED" not in caps, caps
        c.sendline("l LOGIN alice wrong")
        last = c.read_until_tag("l")[-1]
        assert last.startswith(b"l NO [AUTHENTICATIONFAILED]"), last
        c.sendline("n NOOP")
        assert c.read_until_tag("n")[-1].startswith(b"n OK")


def test_imap_login_offered_after_tls(make_loft):
    """RFC 9051 6.2.3/11.1: once TLS is up the client must be able to log
    in: no LOGINDISABLED, AUTH=PLAIN offered, and both work."""
    srv = make_loft(listeners=["imaps"], users={"alice": "pw"})
    with srv.connect("imaps") as c:
        c.readline()
        caps = upper(imap_caps(c))
        assert "LOGINDISABLED" not in caps, caps
        assert "AUTH=PLAIN" in caps and "SASL-IR" in caps, caps
        c.sendline("l LOGIN alice pw")
        assert c.read_until_tag("l")[-1].startswith(b"l OK [CAPABILITY ")
    with srv.connect("imaps") as c:
        c.readline()
        c.sendline("a AUTHENTICATE PLAIN AGFsaWNlAHB3")   # \0alice\0pw
        assert c.read_until_tag("a")[-1].startswith(b"a OK [CAPABILITY ")


def test_imaps_capability_has_no_starttls(loft):
    with loft.connect("imaps") as c:
        c.readline()
        caps = upper(imap_caps(c))
        assert "IMAP4REV1" in caps and "STARTTLS" not in caps, caps


def test_imap_plain_listener_has_no_starttls(make_loft):
    srv = make_loft(listeners=["imap-plain"])
    with srv.connect("imap-plain") as c:
        c.readline()
        caps = upper(imap_caps(c))
        assert "IMAP4REV1" in caps and "STARTTLS" not in caps, caps
        c.sendline("t1 STARTTLS")
        line = c.readline()
        assert re.match(rb"t1 (BAD|NO)", line), line


def pop3_capa(c):
    c.sendline("CAPA")
    lines = c.read_multiline()
    assert lines[0].startswith(b"+OK"), lines
    return [l.decode().strip().upper() for l in lines[1:-1]]


def test_pop3_capa_stls_only_before_tls(loft):
    with loft.connect("pop3") as c:
        c.readline()
        capa = pop3_capa(c)
        assert "STLS" in capa, capa
        c.sendline("STLS")
        assert c.readline().startswith(b"+OK")
        c.starttls(loft.client_context())
        after = pop3_capa(c)
        assert "STLS" not in after, after


def test_pop3_capa_offers_user_where_plaintext_is_allowed(make_loft):
    """USER is announced only where USER/PASS may be used (RFC 2449 5:
    CAPA lists only what works), and SASL lists exactly the mechanisms
    this connection may use: none of the cleartext ones without TLS when
    plaintext_auth = never."""
    srv = make_loft(listeners=["pop3", "pop3s"],
                    config_extra={"server": {"plaintext_auth": "never"}})
    with srv.connect("pop3s") as c:
        c.readline()
        caps = pop3_capa(c)
        keys = [x.split()[0] for x in caps]
        assert "USER" in keys and "SASL" in keys, keys
        sasl = [x for x in caps if x.startswith("SASL")][0].split()[1:]
        assert "PLAIN" in sasl, caps
        c.sendline("AUTH NONSENSE")
        assert c.readline().startswith(b"-ERR")
    with srv.connect("pop3") as c:
        c.readline()
        caps = pop3_capa(c)
        keys = [x.split()[0] for x in caps]
        assert "USER" not in keys and "STLS" in keys, keys
        sasl = [x for x in caps if x.startswith("SASL")]
        assert not sasl or "PLAIN" not in sasl[0].split(), caps
        c.sendline("USER alice")
        assert c.readline().startswith(b"-ERR [AUTH]")
        c.sendline("QUIT")
        assert c.readline().startswith(b"+OK")


def test_pop3s_capa_has_no_stls(loft):
    with loft.connect("pop3s") as c:
        c.readline()
        capa = pop3_capa(c)
        assert "STLS" not in capa and capa, capa


def ehlo(c, verb):
    c.sendline(verb + " client.example")
    lines = c.read_smtp_reply()
    assert all(l.startswith(b"250") for l in lines), lines
    return [l[4:].decode().strip().upper() for l in lines[1:]]


def check_smtp_like(srv, name, verb):
    with srv.connect(name) as c:
        c.read_smtp_reply()
        exts = ehlo(c, verb)
        assert "STARTTLS" in exts, exts
        size = [e for e in exts if e.split()[0] == "SIZE"]
        assert size, exts
        if len(size[0].split()) > 1:
            assert int(size[0].split()[1]) > 0, size
        c.sendline("STARTTLS")
        assert c.read_smtp_reply()[0].startswith(b"220")
        c.starttls(srv.client_context())
        after = ehlo(c, verb)
        assert "STARTTLS" not in after, after
        assert any(e.split()[0] == "SIZE" for e in after), after


def test_smtp_ehlo_extensions(loft):
    check_smtp_like(loft, "smtp", "EHLO")


def test_lmtp_lhlo_extensions(loft):
    check_smtp_like(loft, "lmtp", "LHLO")


def test_smtp_size_honours_config(make_loft):
    srv = make_loft(listeners=["smtp"], config_extra={"limits": {"max_literal_size": "1M"}})
    with srv.connect("smtp") as c:
        c.read_smtp_reply()
        exts = ehlo(c, "EHLO")
        size = [e for e in exts if e.split()[0] == "SIZE"]
        assert size and size[0].split()[1:] == [str(1024 * 1024)], exts
        # RFC 1870: a declared size above the limit is refused at MAIL FROM.
        c.sendline("MAIL FROM:<a@example.org> SIZE=%d" % (2 * 1024 * 1024))
        reply = c.read_smtp_reply()
        assert reply[0].startswith(b"552"), reply


# Commands implied by IMAP capabilities; each must be a known command (a
# state error or a syntax error is fine, "unknown command" is not).
CAP_COMMANDS = {
    "IDLE": "IDLE",
    "NAMESPACE": "NAMESPACE",
    "ID": "ID NIL",
    "ENABLE": "ENABLE CONDSTORE",
    "UNSELECT": "UNSELECT",
    "MOVE": "MOVE 1 INBOX",
    "UIDPLUS": "UID EXPUNGE 1",
    "SORT": "SORT (ARRIVAL) UTF-8 ALL",
    "QUOTA": "GETQUOTAROOT INBOX",
    "ACL": "MYRIGHTS INBOX",
    "METADATA": "GETMETADATA INBOX /private/comment",
    "NOTIFY": "NOTIFY NONE",
    "UNAUTHENTICATE": "UNAUTHENTICATE",
    "LANGUAGE": "LANGUAGE",
    "XLIST": "XLIST \"\" *",
}


def cap_command(cap):
    cap = cap.upper()
    if cap in CAP_COMMANDS:
        return CAP_COMMANDS[cap]
    if cap.startswith("THREAD="):
        return "THREAD %s UTF-8 ALL" % cap.split("=", 1)[1]
    if cap.startswith("AUTH="):
        return "AUTHENTICATE %s" % cap.split("=", 1)[1]
    if cap.startswith("COMPRESS="):
        return None   # would switch the stream to DEFLATE if accepted
    return None


def response_text(line):
    # "tag BAD [CODE] text" -> "BAD [CODE] text" without the tag
    return line.split(b" ", 1)[1].strip().decode(errors="replace")


def check_commands_known(c, caps):
    """Send the command behind each capability in caps; none may be answered
    like an unknown command. Returns the capabilities checked."""
    c.sendline("u1 XYZZYNOSUCHCOMMAND")
    unknown = response_text(c.read_until_tag("u1")[-1])
    assert unknown.startswith("BAD"), unknown
    checked = []
    # Commands that change the session state go last.
    order = sorted(caps, key=lambda x: x.upper() in ("UNAUTHENTICATE",))
    for i, cap in enumerate(order):
        cmd = cap_command(cap)
        if cmd is None:
            continue
        tag = "k%d" % i
        c.send(("%s %s\r\n" % (tag, cmd)).encode())
        line = c.readline()
        if line.startswith(b"+"):
            assert cmd.startswith(("AUTHENTICATE", "IDLE")), (cap, cmd, line)
            # cancel the exchange (RFC 3501 6.2.2) or end the IDLE
            c.sendline("*" if cmd.startswith("AUTH") else "DONE")
            line = c.readline()
        lines = [line] if line.startswith(tag.encode() + b" ") else \
            [line] + c.read_until_tag(tag)
        text = response_text(lines[-1])
        checked.append(cap)
        assert text != unknown, (cap, cmd, text)
        assert not re.search(r"unknown command|unrecognized command|not implemented|"
                             r"unsupported (authentication )?mechanism",
                             text, re.I), (cap, cmd, text)
    # Still in sync after all of that.
    c.sendline("z1 NOOP")
    assert c.read_until_tag("z1")[-1].startswith(b"z1 OK")
    return checked


def test_advertised_imap_commands_are_known(loft):
    with loft.connect("imap") as c:
        c.readline()
        check_commands_known(c, imap_caps(c))


def test_advertised_imap_commands_are_known_after_login(make_loft):
    """After login every advertised capability still names a command the
    server knows. (Mailbox selection and the capabilities that need it
    come with the IMAP mailbox commands.)"""
    srv = make_loft(listeners=["imap"], users={"alice": "secret pw"})
    with srv.connect("imap") as c:
        c.readline()
        c.sendline("t STARTTLS")
        assert c.readline().startswith(b"t OK")
        c.starttls(srv.client_context())
        c.sendline('l LOGIN alice "secret pw"')
        line = c.read_until_tag("l")[-1]
        assert line.startswith(b"l OK"), line
        caps = imap_caps(c)
        assert "IMAP4rev1" in caps and not any(x.startswith("AUTH=") for x in caps), caps
        check_commands_known(c, caps)


def test_imap_unknown_command_is_bad(loft):
    with loft.connect("imap") as c:
        c.readline()
        c.sendline("u1 XYZZYNOSUCHCOMMAND")
        line = c.read_until_tag("u1")[-1]
        assert line.startswith(b"u1 BAD"), line
        c.sendline("u2 NOOP")
        assert c.read_until_tag("u2")[-1].startswith(b"u2 OK")


def test_pop3_and_smtp_unknown_command(loft):
    with loft.connect("pop3") as c:
        c.readline()
        c.sendline("XYZZY")
        assert c.readline().startswith(b"-ERR")
        assert pop3_capa(c)
    for name in ("smtp", "lmtp"):
        with loft.connect(name) as c:
            c.read_smtp_reply()
            c.sendline("XYZZY")
            assert c.read_smtp_reply()[0].startswith(b"500"), name
            c.sendline("NOOP")
            assert c.read_smtp_reply()[0].startswith(b"250"), name


def test_noop_each_protocol(loft):
    with loft.connect("imaps") as c:
        c.readline()
        c.sendline("n1 NOOP")
        assert c.read_until_tag("n1")[-1].startswith(b"n1 OK")
    with loft.connect("pop3s") as c:
        c.readline()
        assert pop3_capa(c)



# POP3 CAPA tags that name a command valid before login (RFC 2449 lists
# TOP/UIDL there too, but those are for the TRANSACTION state).
POP3_CAPA_COMMANDS = {"USER": "USER nobody"}


def test_advertised_pop3_commands_are_known(loft):
    with loft.connect("pop3") as c:
        c.readline()
        capa = pop3_capa(c)
        c.sendline("XYZZY")
        unknown = c.readline().decode().strip()
        assert unknown.startswith("-ERR"), unknown
        for item in capa:
            words = item.split()
            cmds = []
            if words[0] in POP3_CAPA_COMMANDS:
                cmds.append(POP3_CAPA_COMMANDS[words[0]])
            if words[0] == "SASL":
                cmds += ["AUTH " + mech for mech in words[1:]]
            for cmd in cmds:
                c.sendline(cmd)
                line = c.readline()
                if line.startswith(b"+ ") or line == b"+\r\n":
                    c.sendline("*")   # RFC 5034: cancel the exchange
                    line = c.readline()
                text = line.decode().strip()
                assert text != unknown, (item, cmd, text)
                assert not re.search(r"unknown command|not implemented|unsupported mechanism",
                                     text, re.I), (item, cmd, text)
        assert pop3_capa(c) == capa


ESC = re.compile(rb"^\d{3}[ -][245]\.\d{1,3}\.\d{1,3}[ \r]")


def check_smtp_extensions_honoured(srv, name, verb):
    with srv.connect(name) as c:
        c.read_smtp_reply()
        exts = ehlo(c, verb)
        keys = [e.split()[0] for e in exts]
        replies = []
        c.sendline("NOOP")
        replies.append(c.read_smtp_reply())
        c.sendline("XYZZY")
        replies.append(c.read_smtp_reply())
        params = []
        if "8BITMIME" in keys:
            params.append("BODY=8BITMIME")
        if "SMTPUTF8" in keys:
            params.append("SMTPUTF8")
        if "SIZE" in keys:
            params.append("SIZE=100")
        c.sendline("MAIL FROM:<a@example.org> " + " ".join(params))
        mail = c.read_smtp_reply()
        replies.append(mail)
        # 555: "MAIL FROM/RCPT TO parameters not recognized" (RFC 5321 4.5.3.1.x)
        assert not mail[0].startswith((b"555", b"504")), (params, mail)
        c.sendline("RSET")
        replies.append(c.read_smtp_reply())
        if any(k == "AUTH" for k in keys):
            mechs = [e for e in exts if e.split()[0] == "AUTH"][0].split()[1:]
            for mech in mechs:
                c.sendline("AUTH " + mech)
                r = c.read_smtp_reply()
                if r[0].startswith(b"334"):
                    c.sendline("*")
                    r = c.read_smtp_reply()
                assert not r[0].startswith((b"502", b"504")), (mech, r)
        if "CHUNKING" in keys:
            c.sendline("BDAT 0 LAST")
            r = c.read_smtp_reply()
            assert not r[0].startswith(b"500"), r
        if "ENHANCEDSTATUSCODES" in keys:
            for r in replies:
                assert ESC.match(r[0]), r   # RFC 2034: every reply after EHLO


def test_smtp_extensions_honoured(loft):
    check_smtp_extensions_honoured(loft, "smtp", "EHLO")


def test_lmtp_extensions_honoured(loft):
    check_smtp_extensions_honoured(loft, "lmtp", "LHLO")
