"""WITHIN and SAVEDATE compared with Debian's Dovecot 2.3 (newer_diff.py:
the messages, the queries, what normalizing leaves out). The expected
results were recorded from Dovecot into fixtures/dovecot-newer.json, so
this runs without Dovecot; re-record with `newer_diff.py --record`."""

import json

import newer_diff


def test_within_savedate_match_dovecot(make_loft):
    srv = make_loft(listeners=["imap"], users={"alice": "secret"},
                    config_extra={"storage": {"initial_mailboxes": '""'}})
    with open(newer_diff.FIXTURE, encoding="utf-8") as f:
        want = json.load(f)["results"]
    got = newer_diff.run_queries("127.0.0.1", srv.port("imap"), "alice", "secret")
    assert sorted(got) == sorted(want), "the fixture and QUERIES differ: re-record"
    diffs = ["%s\n  dovecot: %s\n  loft:    %s" % (q, want[q], got[q])
             for q in newer_diff.QUERIES if got[q] != want[q]]
    assert not diffs, "\n".join(diffs)
