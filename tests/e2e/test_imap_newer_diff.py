"""WITHIN and SAVEDATE compared with Debian's Dovecot 2.3 (newer_diff.py:
the messages, the queries, what normalizing leaves out). The expected
results were recorded from Dovecot into fixtures/dovecot-newer.json, so
this runs without Dovecot; re-record with `newer_diff.py --record`."""

import imap_diff
import newer_diff


def test_within_savedate_match_dovecot(make_loft):
    srv = make_loft(listeners=["imap"], users={"alice": "secret"},
                    config_extra={"storage": {"initial_mailboxes": '""'}})
    imap_diff.compare(srv, newer_diff.FIXTURE, newer_diff.QUERIES, newer_diff.run_queries)
