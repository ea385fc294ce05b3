"""LIST, LSUB and STATUS compared with Debian's Dovecot on the same tree
(imap_diff.py: the tree, the commands, what normalizing leaves out). The
expected results were recorded from Dovecot into fixtures/dovecot-list.json,
so this runs without Dovecot; re-record with `imap_diff.py --record`."""

import json

import imap_diff


def test_list_lsub_status_match_dovecot(make_loft):
    srv = make_loft(listeners=["imap"], users={"alice": "secret"},
                    config_extra={"storage": {"initial_mailboxes": '""'}})
    with open(imap_diff.FIXTURE, encoding="utf-8") as f:
        want = json.load(f)["results"]
    got = imap_diff.run_queries("127.0.0.1", srv.port("imap"), "alice", "secret")
    assert sorted(got) == sorted(want), "the fixture and QUERIES differ: re-record"
    diffs = []
    for q in imap_diff.QUERIES:
        if got[q] != want[q]:
            diffs.append("%s\n  dovecot: %s\n  loft:    %s" % (q, want[q], got[q]))
    assert not diffs, "\n".join(diffs)
