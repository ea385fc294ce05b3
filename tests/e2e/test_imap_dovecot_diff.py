"""LIST, LSUB and STATUS compared with Debian's Dovecot on the same tree
(imap_diff.py: the tree, the commands, what normalizing leaves out). The
expected results were recorded from Dovecot into fixtures/dovecot-list.json,
so this runs without Dovecot; re-record with `imap_diff.py --record`."""

import imap_diff


def test_list_lsub_status_match_dovecot(make_loft):
    srv = make_loft(listeners=["imap"], users={"alice": "secret"},
                    config_extra={"storage": {"initial_mailboxes": '""'}})
    imap_diff.compare(srv)
