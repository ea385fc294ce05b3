"""rspamd in the live delivery path (issue 26 end to end): the real `loft
serve` asks a real rspamd (Debian's, on loopback, rspamd_util.Rspamd) about
every message that comes in over SMTP (and LMTP with scan_lmtp), Python's
smtplib sends, the result is read back over IMAP and from the index.

- GTUBE over SMTP: 550 5.7.1 at the end of DATA, nothing stored
- a clean corpus message: INBOX, X-Spamd-Result prepended, verdict kept in
  the index (spam-scan verdict reads it as Sieve's spamtest would)
- GTUBE over LMTP: no refusal after the fact, filed into Junk instead
- rspamd not there: 451 4.7.1 (on_failure = tempfail) or delivered with
  X-Spam-Status: Unscanned (accept)
- the sender checks' results reach rspamd (its R_SPF_ALLOW symbol) and both
  headers are stored, Authentication-Results first
- IMAP MOVE into Junk teaches rspamd spam, out of Junk ham (its /stat)"""

import os
import re
import smtplib
import subprocess
import time

import pytest

from dnsserver import DnsServer
from loftserver import free_port
from rspamd_util import Rspamd
from storage_util import tool_bin
from test_spam import CLEAN, CORPUS, GTUBE, spam_config


@pytest.fixture(scope="module")
def rspamd():
    r = Rspamd()
    yield r
    r.stop()


def server(make_loft, cfg, listeners=("smtp", "imap")):
    return make_loft(listeners=list(listeners), config_extra=cfg, users={"alice": "secret"})


def imap(srv):
    c = srv.imap()
    c.starttls(srv.client_context())
    c.login("alice", "secret")
    return c


def stored(srv, mailbox):
    """Every message of alice's mailbox, over IMAP."""
    c = imap(srv)
    try:
        typ, data = c.select('"%s"' % mailbox, readonly=True)
        assert typ == "OK", data
        out = []
        for i in range(1, int(data[0]) + 1):
            typ, data = c.fetch(str(i), "(BODY.PEEK[])")
            out.append(data[0][1])
        return out
    finally:
        c.logout()


def verdict(srv, mailbox, uid):
    p = subprocess.run([tool_bin("spam-scan"), "-c", srv.config_path, "verdict", "alice",
                        mailbox, str(uid)], stdout=subprocess.PIPE, timeout=60)
    return dict(x.split("=") for x in p.stdout.decode().split())


def corpus(name):
    """A corpus message with CRLF line ends (smtplib declares SIZE as sent)."""
    with open(os.path.join(CORPUS, name), "rb") as f:
        return re.sub(rb"\r?\n", b"\r\n", f.read())


def test_gtube_refused_at_data(make_loft, rspamd):
    srv = server(make_loft, spam_config(rspamd))
    with srv.smtp() as s:
        s.ehlo("mail.example.net")
        assert s.mail("spammer@example.net")[0] == 250
        assert s.rcpt("alice@localhost")[0] == 250
        code, text = s.data(GTUBE)
        assert (code, text) == (550, b"5.7.1 Message refused as spam (Gtube pattern)")
    assert stored(srv, "INBOX") == [] and stored(srv, "Junk") == []
    srv.wait_log(r'spam: queue=\S+ proto=smtp action="reject" .*outcome=reject')


def test_clean_message_to_inbox_with_verdict(make_loft, rspamd):
    srv = server(make_loft, spam_config(rspamd))
    original = corpus(CLEAN[0])
    with srv.smtp() as s:
        s.sendmail("sender@example.net", ["alice@localhost"], original)
    [msg] = stored(srv, "INBOX")
    assert msg.startswith(b"X-Spamd-Result: default: False ["), msg[:200]
    assert b"\r\nX-Spam: Yes" not in msg.split(b"\r\n\r\n")[0]
    assert msg.replace(b"\r\n", b"\n").endswith(original.replace(b"\r\n", b"\n"))
    v = verdict(srv, "INBOX", 1)
    assert v["verdict"] == "1" and v["action"] == "no_action", v
    assert stored(srv, "Junk") == []


def test_gtube_over_lmtp_into_junk(make_loft, rspamd):
    srv = server(make_loft, spam_config(rspamd, scan_lmtp="yes"), listeners=("lmtp", "imap"))
    assert stored(srv, "INBOX") == []     # the first login makes Junk
    with srv.lmtp() as c:
        c.sendmail("spammer@example.net", ["alice@localhost"], GTUBE)
    [junk] = stored(srv, "Junk")
    assert junk.startswith(b"X-Spam: Yes\r\nX-Spamd-Result: default: True"), junk[:200]
    assert b"GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL" in junk
    assert stored(srv, "INBOX") == []
    v = verdict(srv, "Junk", 1)
    assert v["verdict"] == "2" and v["spamtest"] == "10", v


@pytest.mark.parametrize("on_failure", ["tempfail", "accept"])
def test_rspamd_down(make_loft, rspamd, on_failure):
    cfg = spam_config(rspamd, on_failure=on_failure)
    cfg["spam"]["rspamd_port"] = free_port()      # nobody listens there
    srv = server(make_loft, cfg)
    with srv.smtp() as s:
        s.ehlo("mail.example.net")
        s.mail("sender@example.net")
        s.rcpt("alice@localhost")
        code, text = s.data(corpus(CLEAN[1]))
    if on_failure == "tempfail":
        assert (code, text) == (451, b"4.7.1 Spam filter unavailable, try again later")
        assert stored(srv, "INBOX") == []
    else:
        assert code == 250, text
        [msg] = stored(srv, "INBOX")
        assert msg.startswith(b"X-Spam-Status: Unscanned (rspamd connect)"), msg[:100]
    srv.wait_log(r"rspamd unavailable \(connect")


def test_sender_checks_reach_rspamd(make_loft, rspamd):
    with DnsServer({"example.net": [("TXT", "v=spf1 ip4:127.0.0.1 -all")]}) as dns:
        cfg = spam_config(rspamd)
        cfg["dns"] = {"resolver": "127.0.0.1", "resolver_port": dns.port, "timeout": "500ms"}
        cfg["mailauth"] = {"checks": "spf", "authserv_id": "mx.loft.test"}
        srv = server(make_loft, cfg)
        with srv.smtp() as s:
            s.ehlo("mail.example.net")
            s.sendmail("sender@example.net", ["alice@localhost"], corpus(CLEAN[2]))
    [msg] = stored(srv, "INBOX")
    head = re.sub(rb"\r\n[ \t]+", b" ", msg.split(b"\r\n\r\n")[0]).decode()
    lines = head.split("\r\n")
    assert lines[0].startswith("Authentication-Results: mx.loft.test; spf=pass"), lines[0]
    assert lines[1].startswith("X-Spamd-Result: default: False"), lines[1]
    assert "R_SPF_ALLOW(" in lines[1], lines[1]


def wait_learned(r, n, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if r.stat()["learned"] >= n:
            return
        time.sleep(0.2)
    raise AssertionError("rspamd learned %d, not %d" % (r.stat()["learned"], n))


def test_move_into_and_out_of_junk_teaches_rspamd(make_loft, rspamd):
    # generous limits: rspamd's first learn can take seconds on a loaded machine
    srv = server(make_loft, spam_config(rspamd, learn="yes", learn_per_user="no",
                                        timeout="60s", connect_timeout="10s"),
                 listeners=("lmtp", "imap"))
    c = imap(srv)
    try:
        with srv.lmtp() as l:
            for name in ("cpython/msg_07.eml", "cpython/msg_08.eml"):
                l.sendmail("sender@example.net", ["alice@localhost"], corpus(name))
        before = rspamd.stat()
        assert c.select("INBOX")[0] == "OK"
        typ, data = c.uid("MOVE", "1", "Junk")
        assert typ == "OK", data
        wait_learned(rspamd, before["learned"] + 1)
        spam = [s for s in rspamd.stat()["statfiles"] if s["symbol"] == "BAYES_SPAM"][0]
        old = [s for s in before["statfiles"] if s["symbol"] == "BAYES_SPAM"][0]
        assert spam["revision"] > old["revision"]
        # a copy within INBOX teaches nothing; out of Junk teaches ham
        typ, data = c.uid("COPY", "2", "INBOX")
        assert typ == "OK", data
        assert c.select("Junk")[0] == "OK"
        typ, data = c.uid("MOVE", "1", "INBOX")
        assert typ == "OK", data
        wait_learned(rspamd, before["learned"] + 2)
        time.sleep(0.5)
        assert rspamd.stat()["learned"] == before["learned"] + 2
        ham = [s for s in rspamd.stat()["statfiles"] if s["symbol"] == "BAYES_HAM"][0]
        old = [s for s in before["statfiles"] if s["symbol"] == "BAYES_HAM"][0]
        assert ham["revision"] > old["revision"]
    finally:
        c.logout()
    srv.wait_log(r"spam: learned user=alice as=spam")
    srv.wait_log(r"spam: learned user=alice as=ham")
