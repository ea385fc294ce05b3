"""Sender checks in the live SMTP session (issue 23 end to end): the real
`loft serve` asks a DNS server started here on loopback (dnsserver.py) for
SPF, DKIM and DMARC records and the DNS blocklist, Python's smtplib (and
swaks) sends, and the stored message is read back over IMAP (imaplib).

- Authentication-Results (RFC 8601) prepended with spf, dkim (header.d,
  header.s, header.b) and dmarc for a message signed by an independent
  signer (python3-dkim's dkimsign); a forged Authentication-Results with our
  authserv-id is gone from the stored copy, another server's stays
- DMARC p=reject: 550 5.7.1 at the end of DATA, nothing stored;
  p=quarantine: delivered into Junk
- SPF fail with spf_fail = reject: 550 5.7.23 to DATA
- DNSBL: 554 5.7.1 to MAIL (reject) or an X-Loft-DNSBL header (tag)
- a DNS server that never answers: temperror within [mailauth] timeout
- LMTP with on_lmtp; an authenticated client is not checked"""

import imaplib
import re
import smtplib
import subprocess
import time

import pytest

from dnsserver import DnsServer

AUTHSERV = "mx.loft.test"


def message(frm="Alice <alice@example.org>", extra=b""):
    return (b"From: " + frm.encode() + b"\r\n"
            b"To: bob@localhost\r\n"
            b"Subject: lunch on Friday\r\n"
            b"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
            b"Message-ID: <lunch@example.org>\r\n" + extra +
            b"\r\n"
            b"Shall we meet at noon?\r\n\r\nAlice\r\n")


def dkim_key(tmp_path):
    subprocess.run(["dknewkey", "--ktype", "rsa", str(tmp_path / "rsa")], check=True,
                   capture_output=True)
    return tmp_path / "rsa.key", (tmp_path / "rsa.dns").read_text().strip()


def dkimsign(key, msg, selector="sel", domain="example.org"):
    return subprocess.run(["dkimsign", "--hcanon", "relaxed", "--bcanon", "relaxed", selector,
                           domain, str(key)], input=msg, capture_output=True,
                          check=True).stdout


@pytest.fixture
def dns():
    with DnsServer({}) as d:
        yield d


def checked_server(make_loft, dns, zone, mailauth=None, listeners=("smtp", "imap"), **kw):
    dns.zone.clear()
    dns.zone.update(zone)
    ma = {"checks": "spf dkim dmarc", "authserv_id": AUTHSERV, "timeout": "2s"}
    ma.update(mailauth or {})
    cfg = {"dns": {"resolver": "127.0.0.1", "resolver_port": dns.port, "timeout": "500ms",
                   "retries": "0"},
           "mailauth": ma}
    for sec, kv in kw.pop("extra", {}).items():
        cfg.setdefault(sec, {}).update(kv)
    return make_loft(listeners=list(listeners), config_extra=cfg,
                     users={"bob": "secret", "alice": "secret"}, **kw)


def fetch_headers(srv, mailbox="INBOX"):
    """The header of every message in bob's mailbox, over IMAP."""
    c = srv.imap()
    try:
        c.starttls(srv.client_context())
        c.login("bob", "secret")
        typ, data = c.select('"%s"' % mailbox, readonly=True)
        assert typ == "OK", data
        n = int(data[0])
        out = []
        for i in range(1, n + 1):
            typ, data = c.fetch(str(i), "(BODY.PEEK[HEADER])")
            assert typ == "OK"
            out.append(data[0][1].decode())
        return out
    finally:
        c.logout()


def count(srv, mailbox):
    c = srv.imap()
    try:
        c.starttls(srv.client_context())
        c.login("bob", "secret")
        typ, data = c.status(mailbox, "(MESSAGES)")
        assert typ == "OK", data
        return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))
    finally:
        c.logout()


def authres(header):
    """Our Authentication-Results fields, unfolded."""
    unfolded = re.sub(r"\r?\n[ \t]+", " ", header)
    return [l for l in unfolded.splitlines()
            if re.match(r"(?i)authentication-results:\s*" + re.escape(AUTHSERV) + r"\s*;", l)]


BASE_ZONE = {
    "example.org": [("TXT", "v=spf1 ip4:127.0.0.0/8 -all")],
    "_dmarc.example.org": [("TXT", "v=DMARC1; p=reject")],
}


def test_authentication_results_and_forgery(make_loft, dns, tmp_path):
    key, record = dkim_key(tmp_path)
    forged = (b"Authentication-Results: " + AUTHSERV.encode() + b"; spf=pass; dkim=pass;\r\n"
              b"\tdmarc=pass header.from=bank.example\r\n"
              b"Authentication-Results: other.example; spf=fail smtp.mailfrom=x@y.example\r\n")
    signed = dkimsign(key, message(extra=forged))
    b = re.search(rb"\bb=([A-Za-z0-9+/=\s]+)", signed.split(b"\r\n\r\n")[0].split(b"bh=")[1])
    b_prefix = re.sub(rb"\s", b"", b.group(1))[:8].decode()
    zone = dict(BASE_ZONE)
    zone["sel._domainkey.example.org"] = [("TXT", record)]
    srv = checked_server(make_loft, dns, zone)
    with srv.smtp() as s:
        s.ehlo("mail.example.org")
        s.sendmail("alice@example.org", ["bob@localhost"], signed)
    [hdr] = fetch_headers(srv)
    ours = authres(hdr)
    assert len(ours) == 1, hdr            # the forged one is gone, ours is there
    ar = ours[0]
    assert re.search(r"\bspf=pass\b.*smtp\.mailfrom=alice@example\.org", ar), ar
    assert re.search(r"\bdkim=pass\b", ar), ar
    assert "header.d=example.org" in ar and "header.s=sel" in ar, ar
    assert "header.b=" + b_prefix in ar, (ar, b_prefix)
    assert re.search(r"\bdmarc=pass\b.*header\.from=example\.org", ar), ar
    assert "other.example; spf=fail" in hdr      # another server's stays
    assert "bank.example" not in hdr
    # ours comes first, above the trace fields
    assert hdr.lower().startswith("authentication-results: " + AUTHSERV)
    assert srv.wait_log(r"mailauth id=\S+ spf=pass dkim=pass dmarc=pass dnsbl=- verdict=accept")
    # the DNS server was asked for each record
    names = [q[0] for q in dns.queries]
    assert "example.org" in names and "sel._domainkey.example.org" in names
    assert "_dmarc.example.org" in names


def test_tampered_body_fails_dkim(make_loft, dns, tmp_path):
    key, record = dkim_key(tmp_path)
    signed = dkimsign(key, message()).replace(b"noon", b"nine")
    zone = dict(BASE_ZONE)
    zone["sel._domainkey.example.org"] = [("TXT", record)]
    srv = checked_server(make_loft, dns, zone)
    with srv.smtp() as s:
        s.sendmail("alice@example.org", ["bob@localhost"], signed)
    [ar] = authres(fetch_headers(srv)[0])
    assert re.search(r"\bdkim=fail\b", ar), ar
    # SPF passes and aligns: DMARC still passes
    assert re.search(r"\bdmarc=pass\b", ar), ar


def test_dmarc_reject_at_end_of_data(make_loft, dns):
    zone = {"bank.example": [("TXT", "v=spf1 -all")],
            "_dmarc.bank.example": [("TXT", "v=DMARC1; p=reject")],
            "other.example": [("TXT", "v=spf1 ip4:127.0.0.1 -all")]}
    srv = checked_server(make_loft, dns, zone)
    with srv.smtp() as s:
        s.ehlo("mail.other.example")
        assert s.mail("someone@other.example")[0] == 250
        assert s.rcpt("bob@localhost")[0] == 250
        code, text = s.data(message(frm="CEO <ceo@bank.example>"))
        assert code == 550 and text.startswith(b"5.7.1"), (code, text)
        assert b"DMARC" in text
        # the session goes on: a next message is taken
        s.rset()
        s.sendmail("someone@other.example", ["bob@localhost"],
                   message(frm="Someone <someone@other.example>"))
    assert count(srv, "INBOX") == 1
    assert count(srv, "Junk") == 0


def test_dmarc_quarantine_into_junk(make_loft, dns):
    zone = {"bank.example": [("TXT", "v=spf1 -all")],
            "_dmarc.bank.example": [("TXT", "v=DMARC1; p=quarantine")],
            "other.example": [("TXT", "v=spf1 ip4:127.0.0.1 -all")]}
    srv = checked_server(make_loft, dns, zone)
    # a first login gives bob his initial mailboxes, Junk among them (a
    # user without a \Junk mailbox gets such mail in INBOX, see spam.h)
    assert count(srv, "INBOX") == 0
    with srv.smtp() as s:
        s.sendmail("someone@other.example", ["bob@localhost"],
                   message(frm="CEO <ceo@bank.example>"))
    assert count(srv, "INBOX") == 0
    [hdr] = fetch_headers(srv, "Junk")
    [ar] = authres(hdr)
    assert re.search(r"\bdmarc=fail\b.*p=quarantine", ar), ar
    srv.wait_log(r"verdict=junk")


def test_spf_fail_reject_at_data(make_loft, dns):
    zone = {"example.org": [("TXT", "v=spf1 ip4:192.0.2.0/24 -all")]}
    srv = checked_server(make_loft, dns, zone, mailauth={"spf_fail": "reject"})
    with srv.smtp() as s:
        s.ehlo("mail.example.org")
        assert s.mail("alice@example.org")[0] == 250
        assert s.rcpt("bob@localhost")[0] == 250
        code, text = s.docmd("DATA")
        assert code == 550 and text.startswith(b"5.7.23"), (code, text)
        # refused before the message: the client may start again
        assert s.mail("")[0] == 250
    assert count(srv, "INBOX") == 0


def test_spf_fail_tagged_by_default(make_loft, dns):
    zone = {"example.org": [("TXT", "v=spf1 ip4:192.0.2.0/24 -all")]}
    srv = checked_server(make_loft, dns, zone, mailauth={"checks": "spf"})
    with srv.smtp() as s:
        s.sendmail("alice@example.org", ["bob@localhost"], message())
    [ar] = authres(fetch_headers(srv)[0])
    assert re.search(r"\bspf=fail\b", ar) and "dkim=" not in ar, ar


def test_dnsbl_reject_and_tag(make_loft, dns):
    zone = {"1.0.0.127.bl.test": [("A", "127.0.0.2")],
            "example.org": [("TXT", "v=spf1 ip4:127.0.0.1 -all")]}
    srv = checked_server(make_loft, dns, zone, mailauth={"dnsbl_zones": "bl.test"})
    with srv.smtp() as s:
        s.ehlo("mail.example.org")
        code, text = s.docmd("MAIL FROM:<alice@example.org>")
        assert code == 554 and text.startswith(b"5.7.1"), (code, text)
        assert b"bl.test" in text
    # a reload swaps the sender checks' settings for new connections
    mark = srv.log_mark()
    srv.write_config({**srv.config_extra,
                      "mailauth": {**srv.config_extra["mailauth"], "dnsbl_action": "tag"}})
    srv.reload()
    srv.wait_log(r"reload: configuration applied", since=mark)
    # swaks, a second client
    out = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(srv.port("smtp")),
                          "--from", "alice@example.org", "--to", "bob@localhost",
                          "--helo", "mail.example.org", "--data", message().decode()],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    [hdr] = fetch_headers(srv)
    assert re.search(r"(?m)^X-Loft-DNSBL: 127\.0\.0\.1 listed in bl\.test \(127\.0\.0\.2\)",
                     hdr), hdr


def test_dns_stall_bounded_by_timeout(make_loft, dns):
    zone = {"example.org": "timeout", "_dmarc.example.org": "timeout"}
    srv = checked_server(make_loft, dns, zone,
                         mailauth={"timeout": "1s"},
                         extra={"dns": {"timeout": "5s", "retries": "1"}})
    t0 = time.monotonic()
    with srv.smtp() as s:
        s.sendmail("alice@example.org", ["bob@localhost"], message())
    elapsed = time.monotonic() - t0
    # SPF waits at most the timeout from MAIL, DKIM/DMARC at most the
    # timeout from the end of the message (the DNS server never answers)
    assert elapsed < 4.5, elapsed
    [ar] = authres(fetch_headers(srv)[0])
    assert re.search(r"\bspf=temperror\b", ar), ar
    assert re.search(r"\bdmarc=temperror\b", ar), ar


def test_lmtp_on_lmtp(make_loft, dns):
    zone = dict(BASE_ZONE)
    srv = checked_server(make_loft, dns, zone, mailauth={"on_lmtp": "yes"},
                         listeners=("lmtp", "imap"))
    with srv.lmtp() as c:
        c.sendmail("alice@example.org", ["bob@localhost"], message())
    [ar] = authres(fetch_headers(srv)[0])
    assert re.search(r"\bspf=pass\b", ar), ar


def test_lmtp_unchecked_without_on_lmtp(make_loft, dns):
    srv = checked_server(make_loft, dns, dict(BASE_ZONE), listeners=("lmtp", "imap"))
    with srv.lmtp() as c:
        c.sendmail("alice@example.org", ["bob@localhost"], message())
    assert authres(fetch_headers(srv)[0]) == []
    assert dns.queries == []


def test_bdat_chunks_checked_like_data(make_loft, dns, tmp_path):
    """BDAT in 37-byte chunks: the header block, the body hash and the
    anti-forgery filter see the message across every chunk boundary."""
    from delivery_util import hello
    key, record = dkim_key(tmp_path)
    forged = (b"Authentication-Results: " + AUTHSERV.encode() + b"; dkim=pass\r\n")
    signed = dkimsign(key, message(extra=forged))
    zone = dict(BASE_ZONE)
    zone["sel._domainkey.example.org"] = [("TXT", record)]
    srv = checked_server(make_loft, dns, zone)
    with srv.connect("smtp") as c:
        hello(c, "EHLO")
        c.sendline("MAIL FROM:<alice@example.org>")
        assert c.read_smtp_reply()[0].startswith(b"250")
        c.sendline("RCPT TO:<bob@localhost>")
        assert c.read_smtp_reply()[0].startswith(b"250")
        chunks = [signed[i:i + 37] for i in range(0, len(signed), 37)]
        for i, ch in enumerate(chunks):
            last = " LAST" if i == len(chunks) - 1 else ""
            c.send(b"BDAT %d%s\r\n" % (len(ch), last.encode()) + ch)
            assert c.read_smtp_reply(timeout=10)[0].startswith(b"250"), i
    [hdr] = fetch_headers(srv)
    [ar] = authres(hdr)
    assert re.search(r"\bspf=pass\b", ar) and re.search(r"\bdkim=pass\b", ar), ar
    assert re.search(r"\bdmarc=pass\b", ar), ar


def test_dnsbl_stall_bounded_by_timeout(make_loft, dns):
    """A blocklist that never answers holds MAIL for [mailauth] timeout at
    most; the client then counts as not listed."""
    zone = {"1.0.0.127.bl.test": "timeout",
            "example.org": [("TXT", "v=spf1 ip4:127.0.0.1 -all")]}
    srv = checked_server(make_loft, dns, zone,
                         mailauth={"dnsbl_zones": "bl.test", "timeout": "1s"},
                         extra={"dns": {"timeout": "10s", "retries": "1"}})
    with srv.smtp() as s:
        s.ehlo("mail.example.org")
        t0 = time.monotonic()
        assert s.mail("alice@example.org")[0] == 250
        assert 0.5 < time.monotonic() - t0 < 3
        assert s.rcpt("bob@localhost")[0] == 250
        assert s.data(message())[0] == 250
    srv.wait_log(r"DNSBL answers overdue after 1000 ms")
    assert len(fetch_headers(srv)) == 1
