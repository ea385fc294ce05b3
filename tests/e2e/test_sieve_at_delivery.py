"""Sieve on the live delivery path: a script uploaded with Debian's
`sieve-connect`, then mail delivered by the real server over LMTP
(smtplib.LMTP, one reply per recipient), SMTP (smtplib) and `loft deliver`,
read back over IMAP (imaplib) and from the Maildir: fileinto with :create,
imap4flags, discard, reject per recipient in LMTP (one refused, the other
stored), reject in SMTP (the whole message when every recipient rejects;
a notice to the sender when another recipient took it), reject in `loft
deliver` (a notice), editheader, a vacation reply through a sink smarthost
once per period, redirect through the relay, a broken script (kept,
logged), and one message filed into two mailboxes sharing one file."""

import imaplib
import os
import smtplib
import subprocess

import pytest

from loftserver import loft_bin
from sieve_util import SmtpSink, relay_config, upload_with_sieve_connect

USERS = {"alice": "secret", "bob": "secret"}
LISTENERS = ["sieve", "imap-plain", "lmtp", "smtp"]


def make(make_loft, sink=None):
    extra = relay_config(sink.port) if sink is not None else {}
    return make_loft(listeners=LISTENERS, users=USERS, config_extra=extra)


def message(subject, extra=b"", sender=b"bob@example.org", body=b"Hello.\r\n"):
    return (b"From: " + sender + b"\r\nTo: alice@localhost\r\nSubject: " + subject +
            b"\r\nMessage-ID: <" + subject.replace(b" ", b"-") + b"@example.org>\r\n" +
            extra + b"\r\n" + body)


def imap(srv, user="alice"):
    c = imaplib.IMAP4(srv.address("imap-plain"), srv.port("imap-plain"))
    c.login(user, "secret")
    return c


def fetch_all(srv, mailbox, user="alice"):
    """[(flags, header bytes, text bytes)] of a mailbox, in UID order; None
    when it does not exist."""
    c = imap(srv, user)
    try:
        typ, data = c.select('"%s"' % mailbox, readonly=True)
        if typ != "OK":
            return None
        n = int(data[0])
        out = []
        for i in range(1, n + 1):
            typ, d = c.fetch(str(i), "(FLAGS BODY.PEEK[HEADER] BODY.PEEK[TEXT])")
            assert typ == "OK", d
            flags = imaplib.ParseFlags(d[0][0])
            parts = [x for x in d if isinstance(x, tuple)]
            out.append((sorted(f.decode() for f in flags), parts[0][1], parts[1][1]))
        return out
    finally:
        c.logout()


def lmtp_deliver(srv, rcpts, data, sender="bob@example.org"):
    """One LMTP transaction; the final reply of each recipient (RFC 2033)."""
    with smtplib.LMTP(srv.address("lmtp"), srv.port("lmtp")) as c:
        c.ehlo("client.example")
        assert c.mail(sender)[0] == 250
        for r in rcpts:
            assert c.rcpt(r)[0] == 250
        replies = [c.data(data)]
        for _ in rcpts[1:]:
            replies.append(c.getreply())
        return [(code, msg.decode()) for code, msg in replies]


def deliver_cli(srv, user, data, sender="bob@example.org", *args):
    """`loft deliver` with the message on stdin (bytes)."""
    return subprocess.run([loft_bin(), "-c", srv.config_path, "deliver", "-u", user, "-f",
                           sender, *args], input=data, capture_output=True, timeout=60)


FILTER = """require ["fileinto", "imap4flags", "mailbox", "reject"];
if header :contains "subject" "list" {
    fileinto :create :flags ["\\\\Flagged", "$List"] "Lists/Python";
} elsif header :contains "subject" "junk" {
    discard;
} elsif header :contains "subject" "refuse" {
    reject "I do not take mail about that.";
} elsif header :contains "subject" "missing" {
    fileinto "No/Such";
} else {
    addflag "\\\\Seen";
}
"""


def test_lmtp_fileinto_flags_discard_and_reject_per_recipient(make_loft, tmp_path):
    srv = make(make_loft)
    upload_with_sieve_connect(srv, tmp_path, FILTER)
    assert lmtp_deliver(srv, ["alice@localhost"], message(b"a list post"))[0][0] == 250
    assert lmtp_deliver(srv, ["alice@localhost"], message(b"plain"))[0][0] == 250
    assert lmtp_deliver(srv, ["alice@localhost"], message(b"junk mail"))[0][0] == 250
    # a missing mailbox without :create: INBOX, and the log says so
    mark = srv.log_mark()
    assert lmtp_deliver(srv, ["alice@localhost"], message(b"missing box"))[0][0] == 250
    srv.wait_log(r'fileinto "No/Such": not found; delivered to INBOX',
                 since=mark)
    # alice's script refuses, bob (no script) takes it: one reply each
    replies = lmtp_deliver(srv, ["alice@localhost", "bob@localhost"],
                           message(b"please refuse"))
    assert replies[0][0] == 550 and replies[0][1].startswith("5.7.1 <alice@localhost>: I do "
                                                              "not take mail about that."), \
        replies
    assert replies[1][0] == 250, replies
    lists = fetch_all(srv, "Lists/Python")
    assert [f for f, _, _ in lists] == [["$List", "\\Flagged"]]
    inbox = fetch_all(srv, "INBOX")
    subjects = [h.split(b"Subject: ")[1].split(b"\r\n")[0] for _, h, _ in inbox]
    assert subjects == [b"plain", b"missing box"], subjects
    assert inbox[0][0] == ["\\Seen"] and inbox[1][0] == []
    bob = fetch_all(srv, "INBOX", user="bob")
    assert len(bob) == 1 and b"Subject: please refuse" in bob[0][1]


def test_smtp_reject_and_mixed_recipients(make_loft, tmp_path):
    with SmtpSink() as sink:
        srv = make(make_loft, sink)
        upload_with_sieve_connect(srv, tmp_path, FILTER)
        c = smtplib.SMTP(srv.address("smtp"), srv.port("smtp"))
        c.ehlo("client.example")
        # the only recipient rejects: the message is refused with the reason
        with pytest.raises(smtplib.SMTPDataError) as e:
            c.sendmail("bob@example.org", ["alice@localhost"], message(b"refuse this"))
        assert e.value.smtp_code == 550
        assert e.value.smtp_error.decode().startswith("5.7.1 I do not take mail about that.")
        # another recipient takes it: 250, and a notice goes to the sender
        assert c.sendmail("carol@example.org", ["alice@localhost", "bob@localhost"],
                          message(b"refuse that", sender=b"carol@example.org")) == {}
        c.quit()
        got = sink.wait(1)
        assert len(got) == 1, [m.data for m in got]
        assert got[0].mail_from == "" and got[0].rcpts == ["carol@example.org"]
        assert b"I do not take mail about that." in got[0].data
        assert fetch_all(srv, "INBOX") == []
        assert len(fetch_all(srv, "INBOX", user="bob")) == 1


def test_loft_deliver_runs_the_script(make_loft, tmp_path):
    with SmtpSink() as sink:
        srv = make(make_loft, sink)
        upload_with_sieve_connect(srv, tmp_path, FILTER)
        r = deliver_cli(srv, "alice", message(b"a list post"))
        assert r.returncode == 0, r.stderr
        r = deliver_cli(srv, "alice", message(b"junk again"))
        assert r.returncode == 0, r.stderr
        # reject cannot be refused here: a notice to the sender, exit 0
        r = deliver_cli(srv, "alice", message(b"refuse me"), "dave@example.org")
        assert r.returncode == 0, r.stderr
        got = sink.wait(1)
        assert [m.rcpts for m in got] == [["dave@example.org"]]
        assert b"I do not take mail about that." in got[0].data
        assert len(fetch_all(srv, "Lists/Python")) == 1
        assert fetch_all(srv, "INBOX") == []


def test_loft_deliver_reject_without_relay_tempfails(make_loft, tmp_path):
    srv = make(make_loft)
    upload_with_sieve_connect(srv, tmp_path, FILTER)
    r = deliver_cli(srv, "alice", message(b"refuse me"))
    assert r.returncode == 75, (r.returncode, r.stderr)   # EX_TEMPFAIL: retried
    assert b"notice to the sender could not be sent" in r.stderr


def test_editheader_changes_only_the_header(make_loft, tmp_path):
    srv = make(make_loft)
    upload_with_sieve_connect(srv, tmp_path, """require ["editheader", "fileinto", "mailbox"];
deleteheader "X-Drop";
addheader "X-Filtered" "by sieve";
fileinto :create "Edited";
""")
    body = b"".join(b"line %d of the body\r\n" % i for i in range(5000))
    assert lmtp_deliver(srv, ["alice@localhost"],
                        message(b"edit me", extra=b"X-Drop: secret\r\n", body=body))[0][0] == 250
    (flags, header, text), = fetch_all(srv, "Edited")
    assert header.startswith(b"X-Filtered: by sieve\r\n")
    assert b"X-Drop" not in header and b"Subject: edit me" in header
    assert text == body


def test_one_message_into_two_mailboxes_shares_one_file(make_loft, tmp_path):
    srv = make(make_loft)
    upload_with_sieve_connect(srv, tmp_path, """require ["fileinto", "mailbox", "copy"];
fileinto :copy :create "One";
fileinto :create "Two";
keep;
""")
    assert lmtp_deliver(srv, ["alice@localhost"], message(b"twice"))[0][0] == 250
    inodes = set()
    for folder in (".One", ".Two", ""):
        d = os.path.join(srv.mail_dir, "alice", folder, "cur")
        names = os.listdir(d)
        assert len(names) == 1, (folder, names)
        st = os.stat(os.path.join(d, names[0]))
        inodes.add(st.st_ino)
        assert st.st_nlink == 3
    assert len(inodes) == 1
    assert len(fetch_all(srv, "One")) == len(fetch_all(srv, "Two")) == 1
    assert len(fetch_all(srv, "INBOX")) == 1


def test_edited_message_into_two_mailboxes_shares_its_copy(make_loft, tmp_path):
    srv = make(make_loft)
    upload_with_sieve_connect(srv, tmp_path, """require ["fileinto", "mailbox", "editheader"];
addheader "X-Edited" "yes";
fileinto :create "One";
fileinto :create "Two";
""")
    assert lmtp_deliver(srv, ["alice@localhost", "bob@localhost"],
                        message(b"edited twice"))[0][0] == 250
    files = []
    for folder in (".One", ".Two"):
        d = os.path.join(srv.mail_dir, "alice", folder, "cur")
        names = os.listdir(d)
        assert len(names) == 1
        files.append(os.stat(os.path.join(d, names[0])))
    assert files[0].st_ino == files[1].st_ino and files[0].st_nlink == 2
    bob = os.listdir(os.path.join(srv.mail_dir, "bob", "cur"))
    assert os.stat(os.path.join(srv.mail_dir, "bob", "cur", bob[0])).st_ino != files[0].st_ino
    (_, header, _), = fetch_all(srv, "One")
    assert header.startswith(b"X-Edited: yes\r\n")
    (_, header, _), = fetch_all(srv, "INBOX", user="bob")
    assert b"X-Edited" not in header


def test_vacation_over_smtp_once_per_period(make_loft, tmp_path):
    with SmtpSink() as sink:
        srv = make(make_loft, sink)
        upload_with_sieve_connect(srv, tmp_path, """require ["vacation"];
vacation :days 2 :subject "Away" :addresses ["alice@localhost"] "Back on Monday.";
""")
        for i in range(3):
            with smtplib.SMTP(srv.address("smtp"), srv.port("smtp")) as c:
                assert c.sendmail("bob@example.org", ["alice@localhost"],
                                  message(b"hello %d" % i)) == {}
        got = sink.wait(1)
        got = sink.wait(2, timeout=1.5)
        assert len(got) == 1, [m.data for m in got]
        assert got[0].mail_from == "" and got[0].rcpts == ["bob@example.org"]
        assert b"Subject: Away" in got[0].data and b"Back on Monday." in got[0].data
        assert b"In-Reply-To: <hello-0@example.org>" in got[0].data
        assert len(fetch_all(srv, "INBOX")) == 3


def test_redirect_through_the_relay(make_loft, tmp_path):
    with SmtpSink() as sink:
        srv = make(make_loft, sink)
        upload_with_sieve_connect(srv, tmp_path, """require ["copy"];
redirect :copy "carol@example.net";
""")
        body = b"".join(b".dotted line %d\r\n" % i for i in range(3000))
        assert lmtp_deliver(srv, ["alice@localhost"], message(b"fwd", body=body))[0][0] == 250
        got = sink.wait(1)
        assert len(got) == 1
        assert got[0].mail_from == "bob@example.org" and got[0].rcpts == ["carol@example.net"]
        assert got[0].data.endswith(body) and b"Subject: fwd" in got[0].data
        assert len(fetch_all(srv, "INBOX")) == 1   # :copy keeps it


def test_broken_script_keeps_and_logs(make_loft, tmp_path):
    srv = make(make_loft)
    sdir = os.path.join(srv.mail_dir, "alice", "sieve")
    os.makedirs(sdir, exist_ok=True)
    with open(os.path.join(sdir, "broken.sieve"), "w") as f:
        f.write('require "fileinto";\nif header :contains "subject" {\n fileinto "X";\n}\n')
    os.symlink("broken.sieve", os.path.join(sdir, ".active"))
    mark = srv.log_mark()
    assert lmtp_deliver(srv, ["alice@localhost"], message(b"still here"))[0][0] == 250
    srv.wait_log(r"sieve: user=alice script=broken: .*line 2.*kept in INBOX", since=mark)
    assert len(fetch_all(srv, "INBOX")) == 1
