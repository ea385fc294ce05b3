"""The SMTP delivery listener (RFC 5321) end to end, with Python's smtplib,
swaks and raw sessions: mail is taken only for local domains and existing
users and never relayed (address tricks of every kind), every advertised
extension works (SIZE, PIPELINING, 8BITMIME, ENHANCEDSTATUSCODES, STARTTLS,
AUTH after TLS, DSN with reports sent to a sink server, SMTPUTF8,
CHUNKING), the trace headers are right, and the listener's own limits hold:
early talkers, errors per session, connection and message rates."""

import email
import email.policy
import re
import smtplib
import ssl
import subprocess
import time

import pytest

from delivery_util import (SinkServer, hello, messages, spool_files, split_trace, stuff,
                           transaction, users_text)

DOMAIN = "example.org"
BODY = (b"From: Sender <sender@ext.example>\r\nTo: alice@example.org\r\n"
        b"Subject: smtp test\r\nMessage-ID: <smtp-1@ext.example>\r\n\r\n"
        b"Hello.\r\n.dot line\r\n")
USERS = {"alice": ("pw", ""), "bob": ("pw", ""), "carol": ("pw", "quota_bytes=300"),
         "pm": ("pw", "")}


def server(make_loft, extra=None, listeners=("smtp",)):
    cfg = {"server": {"local_domains": DOMAIN + " example.net"},
           "delivery": {"postmaster": "pm"}, "auth": {"fail_delay": "200ms"}}
    for sec, kv in (extra or {}).items():
        cfg.setdefault(sec, {}).update(kv)
    return make_loft(listeners=list(listeners), config_extra=cfg, users=users_text(USERS))


def all_messages(srv):
    return sum(len(messages(srv, u)) for u in USERS)


RELAY_TRICKS = [
    # (recipient as sent, acceptable reply prefixes)
    ("victim@other.example", (b"550 5.7.1",)),
    ("VICTIM@OTHER.EXAMPLE", (b"550 5.7.1",)),
    ("victim@example.org.other.example", (b"550 5.7.1",)),
    ("victim@sub.example.org", (b"550 5.7.1",)),
    ("victim@[192.0.2.1]", (b"550 5.7.1",)),
    ("victim@[127.0.0.1]", (b"550 5.7.1",)),
    ("alice@[127.0.0.1]", (b"550 5.7.1",)),
    ("victim@[IPv6:::1]", (b"550 5.7.1",)),
    ("@example.org:victim@other.example", (b"550 5.7.1",)),
    ("@example.org,@example.net:victim@other.example", (b"550 5.7.1",)),
    ("victim%other.example@example.org", (b"550 5.1.1",)),
    ("victim%other.example", (b"550 5.7.1",)),
    ("other.example!victim@example.org", (b"550 5.1.1",)),
    ("other.example!victim", (b"550 5.7.1",)),
    ('"victim@other.example"@example.org', (b"550 5.1.1",)),
    ('"victim@other.example"', (b"550 5.7.1",)),
    ('"alice@other.example"@example.org', (b"550 5.1.1",)),
    ("victim@other.example.", (b"501 5.1.3",)),
    ("alice@example.org.", (b"501 5.1.3",)),
    ("victim@other.example@example.org", (b"501 5.1.3",)),
    ("alice", (b"550 5.7.1",)),
    ("victim", (b"550 5.7.1",)),
    ("alice@localhost", (b"550 5.7.1",)),    # not one of this server's local_domains
    ("alice+victim@other.example", (b"550 5.7.1",)),
    ("alice@example.org@other.example", (b"501 5.1.3",)),
    ("<victim@other.example>", (b"501 5.1.3",)),
]


def test_never_an_open_relay(make_loft):
    srv = server(make_loft, extra={"smtp": {"max_errors": "1000"}})
    with srv.connect("smtp") as c:
        hello(c, "EHLO")
        c.sendline("MAIL FROM:<spammer@other.example>")
        assert c.read_smtp_reply()[0].startswith(b"250")
        for rcpt, want in RELAY_TRICKS:
            c.sendline("RCPT TO:<%s>" % rcpt)
            r = c.read_smtp_reply()[0]
            assert r.startswith(want), (rcpt, r)
        c.sendline("DATA")
        assert c.read_smtp_reply()[0].startswith(b"554 5.5.1")   # no valid recipients
    assert all_messages(srv) == 0
    # local recipients are fine, whatever the case or route
    with srv.smtp() as s:
        s.ehlo("client.example")
        assert s.sendmail("spammer@other.example",
                          ["ALICE@Example.ORG", "@relay.example:bob@example.net",
                           '"alice"@example.org', "Postmaster", "postmaster@example.org"],
                          BODY) == {}
    assert len(messages(srv, "alice")) == 1 and len(messages(srv, "bob")) == 1
    assert len(messages(srv, "pm")) == 1


def test_authenticated_users_cannot_relay(make_loft):
    srv = server(make_loft)
    with srv.smtp() as s:
        s.starttls(context=srv.client_context())
        s.ehlo("client.example")
        s.login("alice", "pw")
        with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
            s.sendmail("alice@example.org", ["victim@other.example"], BODY)
        assert e.value.recipients["victim@other.example"][0] == 550
        assert s.sendmail("alice@example.org", ["bob@example.org"], BODY) == {}
    fields = dict(split_trace(messages(srv, "bob")[0][1])[0])
    assert " with ESMTPSA id " in fields["Received"]


def test_extensions_advertised(make_loft):
    sink = SinkServer()
    try:
        srv = server(make_loft, extra={"smtp": {"dsn_relay_host": "127.0.0.1",
                                                "dsn_relay_port": sink.port}})
        with srv.connect("smtp") as c:
            exts = hello(c, "EHLO")
            assert exts == ["STARTTLS", "DSN", "PIPELINING", "SIZE 52428800", "8BITMIME",
                            "SMTPUTF8", "CHUNKING", "ENHANCEDSTATUSCODES"], exts
            c.sendline("STARTTLS")
            assert c.read_smtp_reply()[0].startswith(b"220 2.0.0")
            c.starttls(srv.client_context())
            c.sendline("EHLO client.example")
            exts = [l[4:].decode().strip() for l in c.read_smtp_reply()[1:]]
            assert exts == ["AUTH PLAIN LOGIN", "DSN", "PIPELINING", "SIZE 52428800",
                            "8BITMIME", "SMTPUTF8", "CHUNKING", "ENHANCEDSTATUSCODES"], exts
            # ENHANCEDSTATUSCODES: every reply after EHLO has a code
            for line in ("NOOP", "MAIL FROM:<a@b.example>", "RCPT TO:<x@y.example>",
                         "RCPT TO:<alice@example.org>", "BOGUS", "RSET"):
                c.sendline(line)
                r = c.read_smtp_reply()[0]
                assert re.match(rb"^\d{3} [245]\.\d{1,3}\.\d{1,3} ", r), (line, r)
    finally:
        sink.close()


def test_helo_and_sequence(make_loft):
    srv = server(make_loft)
    with srv.connect("smtp") as c:
        assert c.read_smtp_reply(timeout=5)[0].startswith(b"220 localhost ESMTP")
        for line, want in [("MAIL FROM:<a@b.example>", b"503 5.5.1"),
                           ("HELO", b"501 5.5.4"), ("HELO bad host", b"501 5.5.4"),
                           ("HELO x(y)", b"501 5.5.4"), ("HELO client.example", b"250 "),
                           ("MAIL FROM:<a@b.example>", b"250 2.1.0"),
                           ("HELO client.example", b"250 "),   # resets the transaction
                           ("RCPT TO:<alice@example.org>", b"503 5.5.1"),
                           ("MAIL FROM:<user-without-domain>", b"501 5.1.7"),
                           ("LHLO client.example", b"500 5.5.1"),
                           ("QUIT", b"221 2.0.0")]:
            c.sendline(line)
            r = c.read_smtp_reply()[0]
            assert r.startswith(want), (line, r)


def test_headers_and_dot_unstuffing(make_loft):
    srv = server(make_loft)
    with srv.smtp() as s:
        s.ehlo("client.example")
        s.sendmail("sender@ext.example", ["alice@example.org"], BODY)
        s.sendmail("", ["bob@example.org", "alice@example.org"], BODY)
    first, second = messages(srv, "alice")
    fields, rest = split_trace(first[1])
    assert rest == BODY
    assert [f[0] for f in fields] == ["Delivered-To", "Return-Path", "Received"]
    assert fields[0][1] == "alice@example.org"
    assert fields[1][1] == "<sender@ext.example>"
    assert re.match(r"^from client\.example \(\[127\.0\.0\.1\]\) by localhost \(Loft\) with "
                    r"ESMTP id \S+ for <alice@example\.org>; \w{3}, \d{1,2} \w{3} \d{4} "
                    r"\d\d:\d\d:\d\d [+-]\d{4}$", fields[2][1]), fields[2][1]
    fields, rest = split_trace(second[1])
    assert [f[0] for f in fields] == ["Return-Path", "Received"]   # two recipients
    assert fields[0][1] == "<>" and "for <" not in fields[1][1]


def test_pipelining(make_loft):
    srv = server(make_loft)
    with srv.connect("smtp") as c:
        hello(c, "EHLO")
        c.send(b"MAIL FROM:<a@ext.example> SIZE=500\r\nRCPT TO:<victim@other.example>\r\n"
               b"RCPT TO:<alice@example.org>\r\nRCPT TO:<nobody@example.org>\r\n"
               b"RCPT TO:<bob@example.org>\r\nDATA\r\n")
        codes = [c.read_smtp_reply()[0][:9] for _ in range(6)]
        assert codes == [b"250 2.1.0", b"550 5.7.1", b"250 2.1.5", b"550 5.1.1", b"250 2.1.5",
                         b"354 End d"], codes
        c.send(stuff(BODY) + b"MAIL FROM:<b@ext.example>\r\nRCPT TO:<alice@example.org>\r\n"
               b"DATA\r\n")
        codes = [c.read_smtp_reply(timeout=20)[0][:9] for _ in range(4)]
        assert codes == [b"250 2.0.0", b"250 2.1.0", b"250 2.1.5", b"354 End d"], codes
        c.send(stuff(BODY) + b"QUIT\r\n")
        assert c.read_smtp_reply(timeout=20)[0].startswith(b"250 2.0.0")
        assert c.read_smtp_reply()[0].startswith(b"221")
    assert len(messages(srv, "alice")) == 2 and len(messages(srv, "bob")) == 1


def test_size(make_loft):
    srv = server(make_loft, extra={"limits": {"max_literal_size": "2K"}})
    big = BODY + (b"x" * 60 + b"\r\n") * 50
    with srv.smtp() as s:
        s.ehlo("client.example")
        assert s.esmtp_features["size"] == "2048"
        # smtplib declares SIZE itself: refused at MAIL (RFC 1870 6.1)
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            s.sendmail("a@ext.example", ["alice@example.org"], big)
        assert e.value.smtp_code == 552 and b"5.3.4" in e.value.smtp_error
    with srv.connect("smtp") as c:
        hello(c, "EHLO")
        # declared small or not declared: refused when the data passes it
        for params in (" SIZE=100", ""):
            mail, rcpts, data, final = transaction(c, "a@ext.example", ["alice@example.org"],
                                                   big, lmtp=False, mail_params=params)
            assert data.startswith(b"354") and final[0].startswith(b"552 5.3.4"), final
    assert all_messages(srv) == 0 and spool_files(srv) == []


def test_auth(make_loft):
    srv = server(make_loft)
    with srv.connect("smtp") as c:
        exts = hello(c, "EHLO")
        assert not any(e.startswith("AUTH") for e in exts)
        c.sendline("AUTH PLAIN AGFsaWNlAHB3")
        assert c.read_smtp_reply()[0].startswith(b"530 5.7.0")   # TLS first
    with srv.smtp() as s:
        s.starttls(context=srv.client_context())
        s.ehlo("client.example")
        assert "PLAIN" in s.esmtp_features["auth"]
        t0 = time.monotonic()
        with pytest.raises(smtplib.SMTPAuthenticationError) as e:
            s.login("alice", "wrong")
        assert e.value.smtp_code == 535 and time.monotonic() - t0 >= 0.15   # the delay
        s.login("alice", "pw")
        code, _ = s.docmd("AUTH", "PLAIN AGFsaWNlAHB3")
        assert code == 503                                       # once only
    with srv.connect("smtp") as c:
        hello(c, "EHLO")
        c.sendline("STARTTLS")
        c.read_smtp_reply()
        c.starttls(srv.client_context())
        c.sendline("EHLO client.example")
        c.read_smtp_reply()
        c.sendline("MAIL FROM:<a@ext.example>")
        c.read_smtp_reply()
        c.sendline("AUTH PLAIN AGFsaWNlAHB3")
        assert c.read_smtp_reply()[0].startswith(b"503 5.5.1")   # not in a transaction
        c.sendline("RSET")
        c.read_smtp_reply()
        c.sendline("AUTH LOGIN")
        assert c.read_smtp_reply()[0] == b"334 VXNlcm5hbWU6\r\n"
        c.sendline("*")
        assert c.read_smtp_reply()[0].startswith(b"501 5.0.0")
        c.sendline("AUTH NOSUCH")
        assert c.read_smtp_reply()[0].startswith(b"504 5.5.4")


def test_auth_settings(make_loft):
    srv = server(make_loft, extra={"smtp": {"auth_without_tls": "yes", "require_auth": "yes"}})
    with srv.smtp() as s:
        s.ehlo("client.example")
        assert "PLAIN" in s.esmtp_features["auth"]    # plaintext on loopback is allowed
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            s.sendmail("a@ext.example", ["alice@example.org"], BODY)
        assert e.value.smtp_code == 530
        s.login("bob", "pw")
        assert s.sendmail("bob@example.org", ["alice@example.org"], BODY) == {}
    assert len(messages(srv, "alice")) == 1


def dsn_parts(data):
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    return msg, msg.get_payload()


def test_dsn_success_report(make_loft):
    sink = SinkServer()
    try:
        srv = server(make_loft, extra={"smtp": {"dsn_relay_host": "127.0.0.1",
                                                "dsn_relay_port": sink.port}})
        with srv.smtp() as s:
            s.ehlo("client.example")
            assert s.has_extn("dsn")
            assert s.sendmail("sender@ext.example", ["alice@example.org", "bob@example.org"],
                              BODY, mail_options=["RET=HDRS", "ENVID=QQ+2B314159"],
                              rcpt_options=["NOTIFY=SUCCESS,FAILURE",
                                            "ORCPT=rfc822;Alice+40Example.org"]) == {}
            # NOTIFY=NEVER: no report
            s.sendmail("sender@ext.example", ["alice@example.org"], BODY,
                       rcpt_options=["NOTIFY=NEVER"])
            # a null sender never gets one
            s.sendmail("", ["alice@example.org"], BODY, rcpt_options=["NOTIFY=SUCCESS"])
            code, _ = s.docmd("MAIL FROM:<x@ext.example> RET=BOGUS")
            assert code == 501
        assert sink.wait(1)
        time.sleep(1)
        assert len(sink.messages) == 1, sink.messages
        sender, rcpts, data = sink.messages[0]
        assert sender == "" and rcpts == ["sender@ext.example"]
        msg, parts = dsn_parts(data)
        assert msg["To"] == "<sender@ext.example>"
        assert msg["From"] == "Mail Delivery System <MAILER-DAEMON@localhost>"
        assert msg["Auto-Submitted"] == "auto-replied"
        assert [p.get_content_type() for p in parts] == [
            "text/plain", "message/delivery-status", "text/rfc822-headers"]
        status = parts[1].get_payload()
        per_msg = status[0]
        assert per_msg["Reporting-MTA"] == "dns; localhost"
        assert per_msg["Original-Envelope-Id"] == "QQ+314159"
        rcpt_fields = status[1:]
        assert [r["Final-Recipient"] for r in rcpt_fields] == [
            "rfc822; alice@example.org", "rfc822; bob@example.org"]
        assert all(r["Action"] == "delivered" and r["Status"] == "2.0.0" for r in rcpt_fields)
        assert rcpt_fields[0]["Original-Recipient"] == "rfc822;Alice@Example.org"
        headers = parts[2].get_payload()
        assert "Subject: smtp test" in headers and "Hello." not in headers
        assert len(messages(srv, "alice")) == 3
    finally:
        sink.close()


def test_dsn_failure_report_when_some_fail(make_loft):
    """After DATA was accepted for everyone, carol's mailbox is too small:
    SMTP can answer only once, so the 250 stands for alice and carol's
    failure goes back as a report (RET=FULL: the whole message)."""
    sink = SinkServer()
    try:
        srv = server(make_loft, extra={"smtp": {"dsn_relay_host": "127.0.0.1",
                                                "dsn_relay_port": sink.port}})
        body = BODY + (b"filler " * 10 + b"\r\n") * 10
        with srv.connect("smtp") as c:
            hello(c, "EHLO")
            # no SIZE: carol's quota cannot refuse her at RCPT
            _, rcpts, _, final = transaction(c, "sender@ext.example",
                                             ["alice@example.org", "carol@example.org"], body,
                                             lmtp=False, mail_params=" RET=FULL")
            assert rcpts[1].startswith(b"250") and final[0].startswith(b"250 2.0.0"), final
        assert sink.wait(1)
        msg, parts = dsn_parts(sink.messages[0][2])
        assert msg["Subject"] == "Undelivered Mail Returned to Sender"
        status = parts[1].get_payload()
        assert [r["Final-Recipient"] for r in status[1:]] == ["rfc822; carol@example.org"]
        assert status[1]["Action"] == "failed" and status[1]["Status"] == "5.2.2"
        assert parts[2].get_content_type() == "message/rfc822"
        assert b"filler filler" in sink.messages[0][2]
        assert len(messages(srv, "alice")) == 1 and messages(srv, "carol") == []
    finally:
        sink.close()


def test_mixed_failure_without_relay_asks_for_retry(make_loft):
    srv = server(make_loft)
    body = BODY + (b"filler " * 10 + b"\r\n") * 10
    with srv.connect("smtp") as c:
        exts = hello(c, "EHLO")
        assert "DSN" not in exts
        _, rcpts, _, final = transaction(c, "sender@ext.example",
                                         ["alice@example.org", "carol@example.org"], body,
                                         lmtp=False)
        assert final[0].startswith(b"451 4.3.0"), final
        c.sendline("RCPT TO:<alice@example.org>")
        assert c.read_smtp_reply()[0].startswith(b"503")   # the transaction is over
    # alice has it (and may get it again when the sender retries): never lost
    assert len(messages(srv, "alice")) == 1 and messages(srv, "carol") == []


def test_smtputf8_and_8bit(make_loft):
    srv = server(make_loft)
    text = "Subject: \u00fcber\r\nFrom: j\u00f6rg@b\u00fccher.example\r\n\r\nsch\u00f6n\r\n"
    with srv.smtp() as s:
        s.ehlo("client.example")
        assert s.has_extn("smtputf8") and s.has_extn("8bitmime")
        assert s.sendmail("j\u00f6rg@b\u00fccher.example", ["alice@example.org"],
                          text.encode(), mail_options=["SMTPUTF8", "BODY=8BITMIME"]) == {}
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            s.sendmail("j\u00f6rg@b\u00fccher.example", ["alice@example.org"], text.encode())
        assert e.value.smtp_code == 553
    fields, rest = split_trace(messages(srv, "alice")[0][1])
    assert rest == text.encode()
    assert " with UTF8SMTP id " in dict(fields)["Received"]


def test_chunking(make_loft):
    srv = server(make_loft)
    raw = b"Subject: bdat\r\n\r\n.starts with a dot\r\n"
    with srv.connect("smtp") as c:
        hello(c, "EHLO")
        c.send(b"BDAT 3\r\nabcNOOP\r\n")     # no transaction: the 3 bytes are skipped
        assert c.read_smtp_reply()[0].startswith(b"503 5.5.1")
        assert c.read_smtp_reply()[0].startswith(b"250 2.0.0")
        c.send(b"MAIL FROM:<a@ext.example>\r\nRCPT TO:<alice@example.org>\r\n"
               b"RCPT TO:<bob@example.org>\r\nBDAT %d LAST\r\n" % len(raw) + raw)
        codes = [c.read_smtp_reply(timeout=20)[0][:9] for _ in range(4)]
        assert codes == [b"250 2.1.0", b"250 2.1.5", b"250 2.1.5", b"250 2.0.0"], codes
        # a chunk over SIZE fails the transaction; later chunks are refused
        c.send(b"MAIL FROM:<a@ext.example> SIZE=10\r\nRCPT TO:<alice@example.org>\r\n"
               b"BDAT 20\r\n" + b"x" * 18 + b"\r\nBDAT 5 LAST\r\nabcde")
        codes = [c.read_smtp_reply(timeout=20)[0][:9] for _ in range(4)]
        assert codes == [b"250 2.1.0", b"250 2.1.5", b"552 5.3.4", b"503 5.5.1"], codes
    assert [split_trace(m[1])[1] for m in messages(srv, "alice")] == [raw]


def test_early_talker(make_loft):
    srv = server(make_loft, extra={"smtp": {"greeting_delay": "700ms"}})
    with srv.connect("smtp") as c:
        c.send(b"EHLO hasty.example\r\n")
        out = c.read_eof(timeout=5)
        assert out.startswith(b"554 5.5.1") and b"220" not in out, out
    srv.wait_log(r"refused: early talker", timeout=5)   # the log is written by a thread
    with srv.connect("smtp") as c:
        t0 = time.monotonic()
        assert c.read_smtp_reply(timeout=5)[0].startswith(b"220")
        assert time.monotonic() - t0 >= 0.6
        c.sendline("EHLO patient.example")
        assert c.read_smtp_reply()[-1].startswith(b"250 ")


def test_error_limit(make_loft):
    srv = server(make_loft, extra={"smtp": {"max_errors": "4"}})
    with srv.connect("smtp") as c:
        hello(c, "EHLO")
        c.sendline("MAIL FROM:<a@ext.example>")
        c.read_smtp_reply()
        for i in range(3):
            c.sendline("RCPT TO:<nobody%d@example.org>" % i)
            assert c.read_smtp_reply()[0].startswith(b"550")
        c.sendline("NOOP")
        assert c.read_smtp_reply()[0].startswith(b"250")   # not bad in a row, but counted
        c.sendline("RCPT TO:<nobody9@example.org>")
        assert c.read_smtp_reply()[0].startswith(b"550")
        rest = c.read_eof(timeout=5)
        assert rest.startswith(b"421 4.7.0"), rest


def test_rate_limits(make_loft):
    srv = server(make_loft, extra={"smtp": {"message_rate": "2"}})
    with srv.smtp() as s:
        s.ehlo("client.example")
        s.sendmail("a@ext.example", ["alice@example.org"], BODY)
        s.sendmail("a@ext.example", ["alice@example.org"], BODY)
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            s.sendmail("a@ext.example", ["alice@example.org"], BODY)
        assert e.value.smtp_code == 450 and b"4.7.1" in e.value.smtp_error
    assert len(messages(srv, "alice")) == 2
    # 3 connections a minute (the harness's start-up probe may be one)
    srv = server(make_loft, extra={"smtp": {"connection_rate": "3"}})
    greeted = 0
    for _ in range(4):
        with srv.connect("smtp") as c:
            first = c.read_smtp_reply(timeout=5)[0]
            if first.startswith(b"220"):
                greeted += 1
                continue
            assert first.startswith(b"421 4.7.0"), first
            break
    else:
        raise AssertionError("a fourth connection within a minute was accepted")
    assert 2 <= greeted <= 3
    # LMTP is not limited
    srv2 = server(make_loft, extra={"smtp": {"connection_rate": "1", "message_rate": "1"}},
                  listeners=("lmtp",))
    for _ in range(3):
        with srv2.lmtp() as l:
            l.ehlo("client.example")
            assert l.sendmail("a@ext.example", ["alice@example.org"], BODY) == {}


def test_command_timeout(make_loft):
    srv = server(make_loft, extra={"delivery": {"command_timeout": "1s"}})
    with srv.connect("smtp") as c:
        hello(c, "EHLO")
        t0 = time.monotonic()
        out = c.read_eof(timeout=6)
        assert out.startswith(b"421 4.4.2") and 0.8 < time.monotonic() - t0 < 4


def swaks(srv, *args):
    cmd = ["swaks", "--server", "127.0.0.1", "--port", str(srv.port("smtp")),
           "--helo", "swaks.example", "--from", "swaks@ext.example"] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


@pytest.mark.parametrize("extension", ["plain", "pipelining", "starttls-auth", "size-8bit",
                                       "attachment"])
def test_swaks(make_loft, tmp_path, extension):
    srv = server(make_loft)
    if extension == "plain":
        out = swaks(srv, "--to", "alice@example.org")
    elif extension == "pipelining":
        out = swaks(srv, "--to", "alice@example.org,bob@example.org", "--pipeline")
        assert " -> DATA" in out and "<-  250 2.1.5 <bob@example.org> OK" in out
    elif extension == "starttls-auth":
        out = swaks(srv, "--to", "alice@example.org", "-tls", "--tls-verify",
                    "--tls-ca-path", srv.ca_file, "--auth", "LOGIN", "--auth-user", "bob",
                    "--auth-password", "pw")
        assert "<~  235 2.7.0" in out
    elif extension == "size-8bit":
        body = tmp_path / "body"
        body.write_bytes("Subject: 8bit\r\n\r\ncaf\u00e9 \u00fcber\r\n".encode())
        out = swaks(srv, "--to", "alice@example.org", "--data", "@%s" % body)
    else:
        att = tmp_path / "att.bin"
        att.write_bytes(bytes(range(256)) * 40)
        out = swaks(srv, "--to", "alice@example.org", "--attach", "@%s" % att)
    assert re.search(r"<[-~]  250 2\.0\.0 Delivered, id \S+", out), out
    got = messages(srv, "alice")
    assert len(got) == 1
    if extension == "size-8bit":   # swaks ends the data with one more CRLF
        assert split_trace(got[0][1])[1].rstrip(b"\r\n") == \
            "Subject: 8bit\r\n\r\ncaf\u00e9 \u00fcber".encode()
