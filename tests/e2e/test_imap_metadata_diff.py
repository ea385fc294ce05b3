"""METADATA on mailboxes compared with Debian's Dovecot 2.3 configured with
a mail_attribute_dict (metadata_diff.py: the queries, what normalizing
leaves out). The expected results were recorded from Dovecot into
fixtures/dovecot-metadata.json, so this runs without Dovecot; re-record
with `metadata_diff.py --record`."""

import imap_diff
import metadata_diff


def test_metadata_matches_dovecot(make_loft):
    srv = make_loft(listeners=["imap"], users={"alice": "secret"},
                    config_extra={"storage": {"initial_mailboxes": '""'}})
    imap_diff.compare(srv, metadata_diff.FIXTURE, metadata_diff.QUERIES,
                      metadata_diff.run_queries)
