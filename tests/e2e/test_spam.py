"""Spam verdicts through a real rspamd (Debian's package, started on loopback
from a temporary configuration by rspamd_util.Rspamd).

Here the scans are driven by tests/tools/spam-scan, which links the same client and
decision code the sessions call (server/spam/spam.h) and delivers into
the real store; the real `loft serve` then shows the result over IMAP.
The same checks through the live sessions (smtplib/LMTP into `loft
serve`, IMAP MOVE into and out of Junk) are in test_spam_delivery.py.

  - GTUBE is refused (SMTP), filed into Junk (LMTP, or reject = junk), both
    streamed (chunked) and from the spool file (Content-Length)
  - a clean corpus message is delivered to INBOX with its summary header,
    and its verdict is kept in the index (Sieve spamtest)
  - SPF/DKIM/DMARC results reach rspamd's http_headers module
  - rspamd that does not answer (SIGSTOP) or is not there: 451 or an
    unscanned delivery with a header, within the configured timeout, logged
    and counted
  - learn_spam reaches rspamd: its /stat "learned" counter grows
"""

import imaplib
import os
import re
import subprocess
import time

import pytest

from rspamd_util import Rspamd
from storage_util import tool_bin

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(os.path.dirname(HERE), "corpus", "mail")
GTUBE = (b"From: spammer@example.net\r\nTo: alice@localhost\r\nSubject: offer\r\n"
         b"Message-ID: <gtube@example.net>\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n\r\n"
         b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n")
# corpus messages rspamd finds clean (plain text, ordinary headers)
CLEAN = ["cpython/msg_01.eml", "cpython/msg_03.eml", "cpython/msg_05.eml"]


@pytest.fixture(scope="module")
def rspamd():
    r = Rspamd()
    yield r
    r.stop()


def spam_config(r, **extra):
    cfg = {"enabled": "yes", "rspamd_address": "127.0.0.1", "rspamd_port": r.scan_port,
           "controller_port": r.controller_port, "password": r.password,
           "timeout": "5s", "connect_timeout": "1s"}
    cfg.update(extra)
    return {"spam": cfg}


def scan(srv, *args, files):
    """Run spam-scan with the server's configuration; parsed lines."""
    p = subprocess.run([tool_bin("spam-scan"), "-c", srv.config_path, *args, "scan", *files],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    out, err = p.stdout.decode(), p.stderr.decode()
    assert p.returncode == 0, out + err
    results, delivered = [], []
    for line in out.splitlines():
        if line.startswith("file="):
            results.append({"fields": dict(re.findall(r"(\w+)=(\S+)", line.split(" reply=")[0])),
                            "reply": line.split(" reply=", 1)[1] if " reply=" in line else "",
                            "headers": []})
        elif line.startswith("  | "):
            results[-1]["headers"].append(line[4:])
        elif line.startswith("delivered "):
            delivered.append(dict(re.findall(r"(\w+)=(\S+)", line)))
        elif line.startswith("stats "):
            stats = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", line))
    return results, delivered, stats, err


def write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


def mailbox_messages(srv, mailbox):
    """The messages of alice's mailbox: counted by the real server over IMAP
    (STATUS; SELECT and FETCH come with another branch) and read from the
    Maildir files the store wrote, in UID order."""
    with srv.imap("imap") as c:
        c.starttls(srv.client_context())
        c.login("alice", "secret")
        typ, data = c.status(mailbox, "(MESSAGES)")
        assert typ == "OK", data
        n = int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))
        c.logout()
    folder = os.path.join(srv.mail_dir, "alice", "" if mailbox == "INBOX" else "." + mailbox)
    files = []
    for sub in ("cur", "new"):
        d = os.path.join(folder, sub)
        for name in os.listdir(d) if os.path.isdir(d) else []:
            uid = int(re.search(r",U=(\d+)", name).group(1))
            with open(os.path.join(d, name), "rb") as f:
                files.append((uid, f.read()))
    assert len(files) == n, (files, n)
    return [data for _, data in sorted(files)]


def test_gtube_refused_on_smtp(make_loft, rspamd, tmp_path):
    srv = make_loft(listeners=["imap"], users={"alice": "secret"},
                    config_extra=spam_config(rspamd))
    g = write(tmp_path, "gtube.eml", GTUBE)
    for mode in ([], ["--stream"]):
        res, delivered, stats, log = scan(srv, *mode, "--deliver", "alice", files=[g])
        f = res[0]["fields"]
        assert f["outcome"] == "reject" and f["action"] == "reject", res
        assert res[0]["reply"] == "550 5.7.1 Message refused as spam (Gtube pattern)"
        assert delivered == []
        assert stats["rejected"] == 1
        assert 'action="reject"' in log and "outcome=reject" in log
    assert mailbox_messages(srv, "INBOX") == []
    assert mailbox_messages(srv, "Junk") == []


@pytest.mark.parametrize("how", ["lmtp", "reject-junk"])
def test_gtube_filed_into_junk(make_loft, rspamd, tmp_path, how):
    extra = {} if how == "lmtp" else {"reject": "junk"}
    srv = make_loft(listeners=["imap"], users={"alice": "secret"},
                    config_extra=spam_config(rspamd, scan_lmtp="yes", **extra))
    g = write(tmp_path, "gtube.eml", GTUBE)
    proto = ["--proto", "lmtp"] if how == "lmtp" else []
    res, delivered, stats, _ = scan(srv, *proto, "--stream", "--deliver", "alice", files=[g])
    f = res[0]["fields"]
    assert f["outcome"] == "deliver" and f["junk"] == "1", res
    assert res[0]["headers"][0] == "X-Spam: Yes"
    assert res[0]["headers"][1].startswith("X-Spamd-Result: default: True [15.00 / 15.00]; "
                                           "action=reject")
    assert delivered == [{"mailbox": "Junk", "uid": "1", "spamtest": "10"}]
    junk = mailbox_messages(srv, "Junk")
    assert len(junk) == 1
    assert junk[0].startswith(b"X-Spam: Yes\r\nX-Spamd-Result: default: True")
    assert b"GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL" in junk[0]
    assert mailbox_messages(srv, "INBOX") == []
    # the verdict is in the index beside the message (Sieve spamtest 10)
    p = subprocess.run([tool_bin("spam-scan"), "-c", srv.config_path, "verdict", "alice",
                        "Junk", "1"], stdout=subprocess.PIPE, timeout=60)
    assert p.stdout.decode().split() == ["verdict=2", "action=reject", "score_milli=15000",
                                         "required_milli=15000", "spamtest=10", "percent=100"]


def test_clean_corpus_to_inbox(make_loft, rspamd):
    srv = make_loft(listeners=["imap"], users={"alice": "secret"},
                    config_extra=spam_config(rspamd))
    files = [os.path.join(CORPUS, f) for f in CLEAN]
    res, delivered, stats, _ = scan(srv, "--deliver", "alice", files=files)
    for r in res:
        assert r["fields"]["outcome"] == "deliver" and r["fields"]["junk"] == "0", r
        assert r["fields"]["action"] == "no_action"
        assert r["headers"][0].startswith("X-Spamd-Result: default: False [")
        assert not any(h.startswith("X-Spam: ") for h in r["headers"])
    assert [d["mailbox"] for d in delivered] == ["INBOX"] * len(CLEAN)
    inbox = mailbox_messages(srv, "INBOX")
    assert len(inbox) == len(CLEAN)
    for msg, name in zip(inbox, CLEAN):
        with open(os.path.join(CORPUS, name), "rb") as f:
            original = f.read()
        head, _, rest = msg.partition(b"\r\n\t")
        assert head.startswith(b"X-Spamd-Result: default: False")
        # the original follows the prepended header, as stored
        assert msg.replace(b"\r\n", b"\n").endswith(original.replace(b"\r\n", b"\n"))
    assert mailbox_messages(srv, "Junk") == []
    p = subprocess.run([tool_bin("spam-scan"), "-c", srv.config_path, "verdict", "alice",
                        "INBOX", "1"], stdout=subprocess.PIPE, timeout=60)
    v = dict(x.split("=") for x in p.stdout.decode().split())
    assert v["verdict"] == "1" and v["action"] == "no_action", v
    assert 1 <= int(v["spamtest"]) <= 2


def test_auth_results_reach_rspamd(make_loft, rspamd):
    srv = make_loft(listeners=[], config_extra=spam_config(rspamd))
    msg = os.path.join(CORPUS, CLEAN[0])
    res, _, _, _ = scan(srv, "--spf", "pass", "--dkim", "python.org:pass", "--dmarc", "pass",
                        files=[msg])
    text = "\n".join(res[0]["headers"])
    assert "R_SPF_ALLOW(-0.20)" in text and "R_DKIM_ALLOW(-0.20)" in text, text
    assert "DMARC_POLICY_ALLOW(-0.50)" in text, text
    res, _, _, _ = scan(srv, "--spf", "fail", "--dkim", "python.org:fail", "--dmarc", "fail",
                        files=[msg])
    text = "\n".join(res[0]["headers"])
    assert "R_SPF_FAIL(" in text and "R_DKIM_REJECT(" in text, text
    assert "DMARC_POLICY_SOFTFAIL(" in text, text


@pytest.mark.parametrize("on_failure", ["tempfail", "accept"])
def test_rspamd_not_answering(make_loft, rspamd, tmp_path, on_failure):
    srv = make_loft(listeners=["imap"], users={"alice": "secret"},
                    config_extra=spam_config(rspamd, timeout="1s", on_failure=on_failure))
    g = write(tmp_path, "gtube.eml", GTUBE)
    rspamd.suspend()
    try:
        t0 = time.monotonic()
        res, delivered, stats, log = scan(srv, "--deliver", "alice", files=[g])
        took = time.monotonic() - t0
    finally:
        rspamd.resume()
    f = res[0]["fields"]
    assert f["fail"] == "timeout" and f["scanned"] == "0", res
    assert 900 <= int(f["elapsed_ms"]) < 3000, f
    assert took < 10
    assert "rspamd unavailable (timeout" in log
    if on_failure == "tempfail":
        assert f["outcome"] == "tempfail"
        assert res[0]["reply"] == "451 4.7.1 Spam filter unavailable, try again later"
        assert stats["unscanned_tempfailed"] == 1 and delivered == []
        assert mailbox_messages(srv, "INBOX") == []
    else:
        assert f["outcome"] == "deliver"
        assert res[0]["headers"] == ["X-Spam-Status: Unscanned (rspamd timeout)"]
        assert stats["unscanned_accepted"] == 1
        inbox = mailbox_messages(srv, "INBOX")
        assert len(inbox) == 1 and inbox[0].startswith(b"X-Spam-Status: Unscanned")
    # rspamd answers again afterwards
    res, _, _, _ = scan(srv, files=[g])
    assert res[0]["fields"]["outcome"] == "reject"


def test_rspamd_not_running(make_loft, rspamd, tmp_path):
    from loftserver import free_port
    cfg = spam_config(rspamd)
    cfg["spam"]["rspamd_port"] = free_port()      # nobody listens there
    srv = make_loft(listeners=[], config_extra=cfg)
    g = write(tmp_path, "gtube.eml", GTUBE)
    res, _, stats, log = scan(srv, files=[g])
    f = res[0]["fields"]
    assert f["outcome"] == "tempfail" and f["fail"] == "connect", res
    assert int(f["elapsed_ms"]) < 1000
    assert "rspamd unavailable (connect: connection refused)" in log


def test_learn_spam_reaches_rspamd(make_loft, rspamd):
    # rspamd's first learn (its Bayes store) can take seconds on a loaded
    # machine: generous time limits, so a retry here means a real failure
    srv = make_loft(listeners=["imap"], users={"alice": "secret"},
                    config_extra=spam_config(rspamd, learn="yes", learn_per_user="no",
                                             timeout="60s", connect_timeout="10s"))
    before = rspamd.stat()["learned"]
    files = [os.path.join(CORPUS, f) for f in ("cpython/msg_02.eml", "cpython/msg_04.eml",
                                                "cpython/msg_06.eml")]
    p = subprocess.run([tool_bin("spam-scan"), "-c", srv.config_path, "learn", "spam", "alice",
                        *files], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    out = p.stdout.decode()
    assert p.returncode == 0, out + p.stderr.decode()
    counts = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", out))
    assert counts["learned"] == 3 and counts["failed"] == 0, out + p.stderr.decode()
    st = rspamd.stat()
    assert st["learned"] == before + 3, st
    # rspamd's statistics hold the spam class now
    spam = [s for s in st["statfiles"] if s["symbol"] == "BAYES_SPAM"][0]
    assert spam["revision"] >= 3
    # learning the same message again is done, not a failure to retry:
    # rspamd answers "already learned" (404) when its learn cache has it
    p = subprocess.run([tool_bin("spam-scan"), "-c", srv.config_path, "learn", "spam", "alice",
                        files[0]], stdout=subprocess.PIPE, timeout=120)
    counts = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", p.stdout.decode()))
    assert counts["learned"] == 1 and counts["failed"] == 0 and counts["retried"] == 0
    # the server itself runs the learner thread with learn = yes, and stops
    # it cleanly (the fixture checks the exit and the log)
    srv.wait_log(r"loft .* serving")
