"""LMTP delivery (RFC 2033) end to end: Python's smtplib.LMTP and raw
sessions against the real server, on TCP and on a UNIX socket.

One reply per accepted recipient after DATA and BDAT, in RCPT order; a
recipient whose mailbox fails (over quota at delivery) gets its own 552
while the others are delivered; the message is one spooled file linked into
every mailbox (one inode) and reads back byte-identical apart from the
Return-Path/Received/Delivered-To lines Loft adds; plus-addressing,
Delivered-To policy, PIPELINING batches, CHUNKING, SIZE, 8BITMIME,
SMTPUTF8, STARTTLS; and bad input (over SIZE, a line over 1000 bytes, bare
LF, NUL, a client that stops mid-DATA, 10,000 RCPTs, a stalled client) gets
the RFC's reply, leaves nothing half-delivered, and the server serves on."""

import os
import smtplib
import socket
import stat
import subprocess
import threading
import time

import pytest

from delivery_util import (hello, messages, spool_files, split_trace, stuff, transaction,
                           users_text)
from loftserver import loft_bin

DOMAIN = "example.org"
BODY = (b"From: Sender <sender@ext.example>\r\nTo: alice@example.org\r\n"
        b"Subject: lmtp test\r\nMessage-ID: <lmtp-1@ext.example>\r\n\r\n"
        b"Hello.\r\n.A line that starts with a dot.\r\n..two dots\r\nThe end.\r\n")


def server(make_loft, extra=None, users=None, listeners=("lmtp",)):
    cfg = {"server": {"local_domains": DOMAIN}}
    for sec, kv in (extra or {}).items():
        cfg.setdefault(sec, {}).update(kv)
    spec = users or {"alice": ("pw", ""), "bob": ("pw", ""), "carol": ("pw", "")}
    return make_loft(listeners=list(listeners), config_extra=cfg, users=users_text(spec))


def only_message(srv, user, mailbox="INBOX"):
    msgs = messages(srv, user, mailbox)
    assert len(msgs) == 1, msgs
    return msgs[0]


def test_smtplib_lmtp_delivers(make_loft):
    srv = server(make_loft)
    with srv.lmtp() as l:
        code, caps = l.ehlo("client.example")
        assert code == 250
        for ext in (b"PIPELINING", b"SIZE 52428800", b"8BITMIME", b"SMTPUTF8", b"CHUNKING",
                    b"ENHANCEDSTATUSCODES", b"STARTTLS"):
            assert ext in caps.split(b"\n"), caps
        assert b"AUTH" not in caps and b"DSN" not in caps
        refused = l.sendmail("sender@ext.example", ["alice@" + DOMAIN], BODY)
        assert refused == {}
    path, data = only_message(srv, "alice")
    fields, rest = split_trace(data)
    assert rest == BODY
    assert [f[0] for f in fields] == ["Delivered-To", "Return-Path", "Received"]
    assert fields[0][1] == "alice@" + DOMAIN
    assert fields[1][1] == "<sender@ext.example>"
    assert fields[2][1].startswith("from client.example ([127.0.0.1]) by localhost (Loft) "
                                   "with LMTP id ")
    assert "for <alice@example.org>;" in fields[2][1]
    assert spool_files(srv) == []


def test_one_failing_recipient(make_loft):
    """Three recipients of one message: bob's mailbox cannot take it (quota
    in the users file), alice and carol get it -- one file, three links
    gone to two; an unknown user is refused at RCPT."""
    srv = server(make_loft, users={"alice": ("pw", ""), "bob": ("pw", "quota_bytes=500"),
                                   "carol": ("pw", "")})
    body = BODY + (b"x" * 100 + b"\r\n") * 10
    with srv.connect("lmtp") as c:
        hello(c)
        mail, rcpts, data, final = transaction(
            c, "sender@ext.example",
            ["alice@" + DOMAIN, "nobody@" + DOMAIN, "bob@" + DOMAIN, "carol@" + DOMAIN], body)
        assert mail.startswith(b"250 2.1.0")
        assert [r[:9] for r in rcpts] == [b"250 2.1.5", b"550 5.1.1", b"250 2.1.5",
                                          b"250 2.1.5"]
        assert data.startswith(b"354")
        assert final[0] == b"250 2.0.0 <alice@example.org> Delivered\r\n"
        assert final[1].startswith(b"552 5.2.2 <bob@example.org>"), final
        assert final[2] == b"250 2.0.0 <carol@example.org> Delivered\r\n"
        # the session goes on
        c.sendline("NOOP")
        assert c.read_smtp_reply()[0].startswith(b"250 2.0.0")
    pa, da = only_message(srv, "alice")
    pc, dc = only_message(srv, "carol")
    assert messages(srv, "bob") == []
    assert da == dc
    assert split_trace(da)[1] == body
    # three recipients: no Delivered-To, so one file serves all
    assert [f[0] for f in split_trace(da)[0]] == ["Return-Path", "Received"]
    assert os.stat(pa).st_ino == os.stat(pc).st_ino
    assert os.listdir(os.path.join(srv.mail_dir, "bob", "tmp")) == []
    assert spool_files(srv) == []


def test_quota_tempfail_setting(make_loft):
    srv = server(make_loft, extra={"delivery": {"quota_full_tempfail": "yes"}},
                 users={"alice": ("pw", "quota_messages=1"), "bob": ("pw", "")})
    with srv.connect("lmtp") as c:
        hello(c)
        transaction(c, "s@ext.example", ["alice@" + DOMAIN], BODY)
        # full now: refused at RCPT already, with 452 4.2.2
        _, rcpts, _, final = transaction(c, "s@ext.example",
                                         ["alice@" + DOMAIN, "bob@" + DOMAIN], BODY)
        assert rcpts[0].startswith(b"452 4.2.2 <alice@example.org>"), rcpts
        assert final == [b"250 2.0.0 <bob@example.org> Delivered\r\n"]
    assert len(messages(srv, "alice")) == 1


def test_duplicate_recipients_delivered_once(make_loft):
    srv = server(make_loft)
    with srv.connect("lmtp") as c:
        hello(c)
        _, rcpts, _, final = transaction(c, "s@ext.example",
                                         ["alice@" + DOMAIN, "ALICE@" + DOMAIN], BODY)
        assert len(final) == 2 and all(f.startswith(b"250 2.0.0") for f in final), final
    assert len(messages(srv, "alice")) == 1


def test_plus_addressing(make_loft, tmp_path):
    srv = server(make_loft, listeners=("lmtp", "imap"))
    with srv.imap() as m:
        m.login("alice", "pw")
        assert m.create("Lists")[0] == "OK"
        assert m.create("Lists/loft")[0] == "OK"
    with srv.connect("lmtp") as c:
        hello(c)
        for rcpt in ("alice+Lists@", "alice+Lists/loft@", "alice+nowhere@",
                     '"alice+../x"@'):
            _, rcpts, _, final = transaction(c, "s@ext.example", [rcpt + DOMAIN], BODY)
            assert rcpts[0].startswith(b"250") and final[0].startswith(b"250"), (rcpt, final)
    assert len(messages(srv, "alice", "Lists")) == 1
    assert len(messages(srv, "alice", "Lists/loft")) == 1
    inbox = messages(srv, "alice")
    assert len(inbox) == 2   # a missing and an invalid folder: INBOX
    assert split_trace(inbox[0][1])[0][0] == ("Delivered-To", "alice+nowhere@example.org")


def test_plus_addressing_settings(make_loft):
    srv = server(make_loft, extra={"delivery": {"recipient_delimiter": "-"}})
    with srv.connect("lmtp") as c:
        hello(c)
        _, rcpts, _, _ = transaction(c, "s@ext.example", ["alice-x@" + DOMAIN], BODY)
        assert rcpts[0].startswith(b"250")
        _, rcpts, _, _ = transaction(c, "s@ext.example", ["alice+x@" + DOMAIN], BODY)
        assert rcpts[0].startswith(b"550 5.1.1")
    srv2 = server(make_loft, extra={"delivery": {"plus_addressing": "no"}})
    with srv2.connect("lmtp") as c:
        hello(c)
        _, rcpts, _, _ = transaction(c, "s@ext.example", ["alice+x@" + DOMAIN], BODY)
        assert rcpts[0].startswith(b"550 5.1.1"), rcpts


def test_delivered_to_always(make_loft):
    srv = server(make_loft, extra={"delivery": {"delivered_to": "always"}})
    with srv.connect("lmtp") as c:
        hello(c)
        _, _, _, final = transaction(c, "s@ext.example", ["alice@" + DOMAIN, "bob@" + DOMAIN],
                                     BODY)
        assert all(f.startswith(b"250") for f in final)
    pa, da = only_message(srv, "alice")
    pb, db = only_message(srv, "bob")
    assert split_trace(da)[0][0] == ("Delivered-To", "alice@example.org")
    assert split_trace(db)[0][0] == ("Delivered-To", "bob@example.org")
    assert split_trace(da)[1] == split_trace(db)[1] == BODY
    assert os.stat(pa).st_ino != os.stat(pb).st_ino


def test_pipelining_batches(make_loft):
    """RFC 2920: a whole transaction in one write, another after the message
    in the same write as the data; replies come in order, each batch's
    replies as soon as the input is used up."""
    srv = server(make_loft)
    with srv.connect("lmtp") as c:
        hello(c)
        c.send(b"MAIL FROM:<a@ext.example>\r\nRCPT TO:<alice@example.org>\r\n"
               b"RCPT TO:<nobody@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n")
        replies = [c.read_smtp_reply()[0] for _ in range(5)]
        assert [r[:3] for r in replies] == [b"250", b"250", b"550", b"250", b"354"], replies
        c.send(stuff(BODY) + b"MAIL FROM:<b@ext.example>\r\nRCPT TO:<carol@example.org>\r\n"
               b"DATA\r\n")
        replies = [c.read_smtp_reply(timeout=20)[0] for _ in range(5)]
        assert [r[:9] for r in replies] == [b"250 2.0.0", b"250 2.0.0", b"250 2.1.0",
                                            b"250 2.1.5", b"354 End d"], replies
        c.send(stuff(BODY) + b"RSET\r\nNOOP\r\nVRFY alice\r\nHELP\r\nQUIT\r\n")
        replies = [c.read_smtp_reply(timeout=20)[0] for _ in range(6)]
        assert [r[:3] for r in replies] == [b"250", b"250", b"250", b"252", b"214", b"221"]
    for user in ("alice", "bob", "carol"):
        assert split_trace(only_message(srv, user)[1])[1] == BODY


def test_chunking(make_loft):
    """RFC 3030 BDAT: chunks in any size, no dot-stuffing, replies per
    chunk and one per recipient after LAST; BDAT without a transaction has
    its bytes read and refused."""
    srv = server(make_loft)
    raw = b"Subject: chunks\r\n\r\n.no stuffing here\r\nline two\r\n"
    with srv.connect("lmtp") as c:
        hello(c)
        c.send(b"BDAT 5\r\nhello")           # no transaction: read, then refused
        assert c.read_smtp_reply()[0].startswith(b"503 5.5.1")
        c.send(b"MAIL FROM:<s@ext.example>\r\nRCPT TO:<alice@example.org>\r\n"
               b"RCPT TO:<bob@example.org>\r\n")
        assert [c.read_smtp_reply()[0][:3] for _ in range(3)] == [b"250"] * 3
        c.send(b"BDAT %d\r\n" % 10 + raw[:10] + b"BDAT %d\r\n" % (len(raw) - 10) + raw[10:])
        assert c.read_smtp_reply()[0] == b"250 2.0.0 10 octets received\r\n"
        assert c.read_smtp_reply()[0].startswith(b"250 2.0.0 %d octets" % (len(raw) - 10))
        c.send(b"DATA\r\n")                   # not after BDAT
        assert c.read_smtp_reply()[0].startswith(b"503 5.5.1")
        c.send(b"BDAT 0 LAST\r\n")
        assert c.read_smtp_reply(timeout=20)[0] == b"250 2.0.0 <alice@example.org> Delivered\r\n"
        assert c.read_smtp_reply(timeout=20)[0] == b"250 2.0.0 <bob@example.org> Delivered\r\n"
        # one chunk with LAST, and a bare LF inside (normalised by default)
        chunk = b"A: b\nc\r\n\r\nx\r\n"
        c.send(b"MAIL FROM:<s@ext.example>\r\nRCPT TO:<carol@example.org>\r\n"
               b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        replies = [c.read_smtp_reply(timeout=20)[0] for _ in range(3)]
        assert replies[2] == b"250 2.0.0 <carol@example.org> Delivered\r\n", replies
    assert split_trace(only_message(srv, "alice")[1])[1] == raw
    assert split_trace(only_message(srv, "carol")[1])[1] == b"A: b\r\nc\r\n\r\nx\r\n"


def test_size_declared_and_real(make_loft):
    srv = server(make_loft, extra={"limits": {"max_literal_size": "10K"}})
    with srv.connect("lmtp") as c:
        exts = hello(c)
        assert "SIZE 10240" in exts
        c.sendline("MAIL FROM:<s@ext.example> SIZE=20000")
        assert c.read_smtp_reply()[0].startswith(b"552 5.3.4")
        # declared small, sent large: refused during DATA, per recipient
        big = BODY + b"y" * 990 + b"\r\n"
        _, _, _, final = transaction(c, "s@ext.example", ["alice@" + DOMAIN, "bob@" + DOMAIN],
                                     big, mail_params=" SIZE=100")
        assert [f[:9] for f in final] == [b"552 5.3.4"] * 2, final
        # over the limit without a declaration
        huge = BODY + (b"z" * 998 + b"\r\n") * 12
        _, _, _, final = transaction(c, "s@ext.example", ["alice@" + DOMAIN], huge)
        assert final[0].startswith(b"552 5.3.4"), final
        # exactly at the limit is fine, trace headers or not
        body = b"Subject: s\r\n\r\n" + (b"a" * 98 + b"\r\n") * 101
        body += b"b" * (10240 - len(body) - 2) + b"\r\n"
        assert len(body) == 10240
        _, _, _, final = transaction(c, "s@ext.example", ["alice@" + DOMAIN], body,
                                     mail_params=" SIZE=%d" % len(body))
        assert final[0].startswith(b"250 2.0.0"), final
    assert len(messages(srv, "alice")) == 1 and messages(srv, "bob") == []
    assert spool_files(srv) == []


def test_8bit_and_smtputf8(make_loft):
    srv = server(make_loft)
    latin = "Subject: caf\u00e9\r\n\r\nGr\u00fc\u00dfe, \u00e9t\u00e9 \u20ac\r\n".encode()
    with srv.connect("lmtp") as c:
        hello(c)
        _, _, _, final = transaction(c, "s@ext.example", ["alice@" + DOMAIN], latin,
                                     mail_params=" BODY=8BITMIME")
        assert final[0].startswith(b"250")
        # a UTF-8 sender needs SMTPUTF8 (RFC 6531 3.5)
        c.sendline("MAIL FROM:<j\u00f6rg@b\u00fccher.example>")
        assert c.read_smtp_reply()[0].startswith(b"553 5.6.7")
        c.sendline("MAIL FROM:<j\u00f6rg@b\u00fccher.example> SMTPUTF8 BODY=8BITMIME")
        assert c.read_smtp_reply()[0].startswith(b"250")
        c.sendline("RCPT TO:<bob@example.org>")
        assert c.read_smtp_reply()[0].startswith(b"250")
        c.sendline("RCPT TO:<b\u00f6b@example.org>")   # no such user, but valid
        assert c.read_smtp_reply()[0].startswith(b"550 5.1.1")
        c.sendline("DATA")
        assert c.read_smtp_reply()[0].startswith(b"354")
        c.send(stuff(latin))
        assert c.read_smtp_reply(timeout=20)[0].startswith(b"250")
    assert split_trace(only_message(srv, "alice")[1])[1] == latin
    fields, rest = split_trace(only_message(srv, "bob")[1])
    assert rest == latin
    assert ("Return-Path", "<j\u00f6rg@b\u00fccher.example>") in fields
    assert " with UTF8LMTP id " in dict(fields)["Received"]


def test_starttls_then_deliver(make_loft):
    srv = server(make_loft)
    with srv.connect("lmtp") as c:
        exts = hello(c)
        assert "STARTTLS" in exts
        c.sendline("MAIL FROM:<s@ext.example>")
        assert c.read_smtp_reply()[0].startswith(b"250")
        c.sendline("STARTTLS")
        assert c.read_smtp_reply()[0].startswith(b"220 2.0.0")
        c.starttls(srv.client_context())
        c.sendline("RCPT TO:<alice@example.org>")   # the transaction is gone
        assert c.read_smtp_reply()[0].startswith(b"503")
        c.sendline("LHLO client.example")
        r = c.read_smtp_reply()
        assert not any(b"STARTTLS" in l for l in r)
        _, _, _, final = transaction(c, "s@ext.example", ["alice@" + DOMAIN], BODY)
        assert final[0].startswith(b"250")
    fields = dict(split_trace(only_message(srv, "alice")[1])[0])
    assert " with LMTPS id " in fields["Received"]


def test_unix_socket(make_loft, tmp_path):
    sock = os.path.join(str(tmp_path), "lmtp.sock")
    srv = server(make_loft, extra={"listener local": {"protocol": "lmtp", "socket": sock,
                                                      "socket_mode": "0600"}})
    st = os.stat(sock)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    l = smtplib.LMTP(sock)
    assert l.ehlo("client.example")[0] == 250
    assert l.sendmail("s@ext.example", ["alice@" + DOMAIN], BODY) == {}
    l.quit()
    fields = dict(split_trace(only_message(srv, "alice")[1])[0])
    assert fields["Received"].startswith("from client.example (unix) by localhost")
    srv.wait_log(r"remote=unix:pid=", timeout=5)
    # a socket left behind by a killed server is replaced at start
    srv.kill()
    assert os.path.exists(sock)
    srv.restart()
    with smtplib.LMTP(sock) as l:
        assert l.ehlo("client.example")[0] == 250
    srv.stop()
    assert not os.path.exists(sock)
    # a file that is no socket is not replaced: the server refuses to start
    with open(sock, "w") as f:
        f.write("keep me")
    p = srv.run_cli("serve", "--check-config")
    assert p.returncode == 0
    p = subprocess.run([loft_bin(), "-c", srv.config_path, "serve"], capture_output=True,
                       text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert p.returncode != 0 and "not a socket" in p.stderr
    assert open(sock).read() == "keep me"
    os.unlink(sock)
    srv.restart()


def test_unknown_sequence_and_syntax(make_loft):
    srv = server(make_loft)
    with srv.connect("lmtp") as c:
        hello(c)
        for line, want in [
                ("RCPT TO:<alice@example.org>", b"503 5.5.1"),
                ("DATA", b"503 5.5.1"),
                ("MAIL FROM:alice@example.org", b"501 5.1.7"),
                ("MAIL TO:<a@b.org>", b"501 5.5.4"),
                ("MAIL FROM:<a@b.org> BOGUS=1", b"555 5.5.4"),
                ("MAIL FROM:<a@b.org> SIZE=1 SIZE=2", b"501 5.5.4"),
                ("MAIL FROM:<a@b.org> BODY=BINARYMIME", b"501 5.5.4"),
                ("MAIL FROM:<a@b.org> RET=HDRS", b"555 5.5.4"),   # no DSN on LMTP
                ("AUTH PLAIN", b"500 5.5.1"),
                ("VRFY", b"501 5.5.4"),
                ("VRFY alice", b"252 2.5.0"),
                ("EXPN list", b"502 5.5.1"),
                ("MAIL FROM:<a@b.org>", b"250 2.1.0"),
                ("MAIL FROM:<a@b.org>", b"503 5.5.1"),
                ("DATA", b"554 5.5.1"),
                ("RCPT TO:<alice@example.org> NOTIFY=SUCCESS", b"555 5.5.4"),
                ("RCPT TO:alice@example.org", b"501 5.1.3"),
                ("RSET", b"250 2.0.0"),
                ("BDAT x", b"501 5.5.4")]:
            c.sendline(line)
            r = c.read_smtp_reply()[0]
            assert r.startswith(want), (line, r)


def test_bad_message_data(make_loft):
    """Over-long lines, bare LF (policy reject), NUL: the RFC's reply for
    every recipient, nothing stored, the session goes on."""
    srv = server(make_loft, extra={"limits": {"data_bare_newline": "reject"}})
    cases = [
        (b"Subject: long\r\n\r\n" + b"x" * 999 + b"\r\n", b"500 5.5.2"),
        (b"Subject: lf\r\n\r\nbare\nline\r\n", b"550 5.6.2"),
        (b"Subject: nul\r\n\r\nnul \x00 here\r\n", b"550 5.6.0"),
    ]
    with srv.connect("lmtp") as c:
        hello(c)
        for body, want in cases:
            _, _, _, final = transaction(c, "s@ext.example", ["alice@" + DOMAIN,
                                                              "bob@" + DOMAIN], body)
            assert [f[:9] for f in final] == [want] * 2, (body[:20], final)
        # a 998-octet line is fine (1000 with CRLF)
        ok = b"Subject: ok\r\n\r\n" + b"x" * 998 + b"\r\n"
        _, _, _, final = transaction(c, "s@ext.example", ["alice@" + DOMAIN], ok)
        assert final[0].startswith(b"250"), final
    assert len(messages(srv, "alice")) == 1 and messages(srv, "bob") == []
    assert spool_files(srv) == []


def test_client_stops_mid_data(make_loft):
    srv = server(make_loft, extra={"delivery": {"data_timeout": "1s"}})
    # the client goes away in the middle of the message
    c = srv.connect("lmtp")
    hello(c)
    c.send(b"MAIL FROM:<s@ext.example>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n")
    for _ in range(3):
        c.read_smtp_reply()
    c.send(BODY[:40] + b"x" * 200000)
    c.close()
    # another one stalls until the data timeout
    c = srv.connect("lmtp")
    hello(c)
    c.send(b"MAIL FROM:<s@ext.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n")
    for _ in range(3):
        c.read_smtp_reply()
    c.send(BODY[:40])
    t0 = time.monotonic()
    rest = c.read_eof(timeout=10)
    assert rest.startswith(b"421 4.4.2"), rest
    assert 0.8 < time.monotonic() - t0 < 5
    c.close()
    srv.wait_log(r"disconnect reason=\"timeout\"", timeout=5)
    # nothing half-delivered, no spool left, and the server serves on
    for _ in range(50):
        if not spool_files(srv):
            break
        time.sleep(0.1)
    assert spool_files(srv) == []
    assert messages(srv, "alice") == [] and messages(srv, "bob") == []
    with srv.lmtp() as l:
        l.ehlo("client.example")
        assert l.sendmail("s@ext.example", ["carol@" + DOMAIN], BODY) == {}
    assert len(messages(srv, "carol")) == 1


def test_ten_thousand_rcpts(make_loft):
    """10,000 RCPTs in one pipelined batch: the first max_recipients are
    taken, the rest get 452 4.5.3 (RFC 5321 4.5.3.1.10), one reply per
    accepted recipient follows DATA, and the message is stored once."""
    srv = server(make_loft, extra={"delivery": {"max_recipients": "100"}})
    with srv.connect("lmtp", timeout=60) as c:
        hello(c)
        batch = b"MAIL FROM:<s@ext.example>\r\n" + b"RCPT TO:<alice@example.org>\r\n" * 10000
        # the replies outgrow the buffers: read while sending (RFC 2920 4)
        sender = threading.Thread(target=c.send, args=(batch,))
        sender.start()
        assert c.read_smtp_reply(timeout=60)[0].startswith(b"250")
        codes = [c.read_smtp_reply(timeout=60)[0][:9] for _ in range(10000)]
        assert codes[:100] == [b"250 2.1.5"] * 100
        assert codes[100:] == [b"452 4.5.3"] * 9900
        sender.join()
        c.sendline("DATA")
        assert c.read_smtp_reply()[0].startswith(b"354")
        c.send(stuff(BODY))
        final = [c.read_smtp_reply(timeout=60)[0] for _ in range(100)]
        assert all(f.startswith(b"250 2.0.0") for f in final)
        c.sendline("QUIT")
        assert c.read_smtp_reply()[0].startswith(b"221")
    assert len(messages(srv, "alice")) == 1   # the same recipient, delivered once


def test_swaks_lmtp_over_unix_socket(make_loft, tmp_path):
    sock = os.path.join(str(tmp_path), "s.sock")
    srv = server(make_loft, extra={"listener local": {"protocol": "lmtp", "socket": sock}})
    p = subprocess.run(["swaks", "--to", "alice@example.org,bob@example.org",
                        "--from", "swaks@ext.example", "--socket", sock, "--protocol", "LMTP",
                        "--pipeline", "--helo", "swaks.example"],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "<-  250 2.0.0 <bob@example.org> Delivered" in p.stdout, p.stdout
    assert len(messages(srv, "alice")) == 1 and len(messages(srv, "bob")) == 1


def test_delivered_structure_cached_with_the_message(make_loft):
    """Delivery parses the message once as it is spooled: every recipient
    sharing the spooled file gets its MIME structure in the same commit as
    the message (no FETCH needs to read the file for it)."""
    from storage_util import tool_bin
    srv = server(make_loft)
    body = (b"From: a@ext.example\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=xx\r\n\r\n--xx\r\n"
            b"Content-Type: text/plain\r\n\r\none\r\n--xx\r\n"
            b"Content-Type: text/html\r\n\r\n<p>two</p>\r\n--xx--\r\n")
    with srv.connect("lmtp") as c:
        hello(c)
        _, _, _, final = transaction(c, "a@ext.example", ["alice@" + DOMAIN, "bob@" + DOMAIN],
                                     body)
        assert all(f.startswith(b"250 ") for f in final), final
    srv.stop()
    for user in ("alice", "bob"):
        p = subprocess.run([tool_bin("store-ctl"), "-d", srv.mail_dir, "-u", user, "cached",
                            "INBOX", "1"], capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        assert p.stdout.strip() == "parts 3", p.stdout
