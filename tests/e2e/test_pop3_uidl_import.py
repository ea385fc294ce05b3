"""UIDLs kept from a previous server ([pop3] uidl_import = dovecot-uidlist):
a Maildir migrated from Dovecot keeps the UIDLs Dovecot gave (the P field
of dovecot-uidlist, else pop3_uidl_format over the old UID and
UIDVALIDITY), so "leave on server" clients do not download everything
again; new mail gets Loft's own UIDLs; both survive `loft index rebuild`."""
import os

from pop3_util import deliver, login, pop3_server, user_dir

UIDLIST = """3 V1234567890 N5 G0123456789abcdef
1 :1700000001.M1P1.oldhost,S=31,W=33:2,S
2 P0000abcd :1700000002.M2P2.oldhost,S=31
3 W33 :1700000003.M3P3.oldhost
4 P0000abcd :1700000004.M4P4.oldhost
"""


def migrate(srv):
    login(srv).quit()                        # makes the user's Maildir
    d = user_dir(srv, "alice")
    for i in range(1, 5):
        name = "1700000%03d.M%dP%d.oldhost,S=31,W=33:2,S" % (i, i, i)
        with open(os.path.join(d, "cur", name), "w") as f:
            f.write("Subject: old %d\n\nmigrated mail\n" % i)
    with open(os.path.join(d, "dovecot-uidlist"), "w") as f:
        f.write(UIDLIST)


def uidls(srv):
    c = login(srv)
    out = {}
    for n in range(1, c.stat()[0] + 1):
        subject = c.top(n, 0)[1][0].decode()
        out[subject] = c.uidl(n).split()[2].decode()
    c.quit()
    return out


def test_dovecot_uidls_are_kept(make_loft):
    srv = pop3_server(make_loft, pop3={"uidl_import": "dovecot-uidlist"})
    migrate(srv)
    deliver(srv, "alice", "Subject: new\r\n\r\nfresh\r\n")
    got = uidls(srv)
    assert got["Subject: old 1"] == "00000001499602D2"     # %08Xu%08Xv
    assert got["Subject: old 2"] == "0000abcd"             # P field
    assert got["Subject: old 3"] == "00000003499602D2"
    # a UIDL the list gave twice is used once only
    assert got["Subject: old 4"] != "0000abcd" and len(got["Subject: old 4"]) == 20
    assert len(got["Subject: new"]) == 20
    assert len(set(got.values())) == 5
    srv.stop()
    r = srv.run_cli("index", "rebuild", "alice")
    assert r.returncode == 0, r.stderr
    srv.restart()
    assert uidls(srv) == got


def test_format_and_off_by_default(make_loft):
    srv = pop3_server(make_loft, pop3={"uidl_import": "dovecot-uidlist",
                                       "uidl_import_format": "%v.%u"})
    migrate(srv)
    got = uidls(srv)
    assert got["Subject: old 1"] == "1234567890.1"
    srv.write_config({"pop3": {"uidl_import": "none"}, "auth": {"fail_delay": "0s"}})
    mark = srv.log_mark()
    srv.reload()
    srv.wait_log("reload: configuration applied", since=mark)
    got = uidls(srv)
    assert all(len(u) == 20 for u in got.values()), got
