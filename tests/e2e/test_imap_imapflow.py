"""A real modern client, Node's imapflow with CONDSTORE and QRESYNC on
(tests/e2e/node/resync.mjs): it reads INBOX and goes offline; other
clients change flags, expunge, move and append; it reconnects with SELECT
(QRESYNC ...) and must hold exactly the server's state from the resync
responses alone. conf/install-deps.sh installs node and the npm packages of
tests/e2e/node (package-lock.json)."""

import json
import os
import subprocess

from imap_util import PASSWORD, USER, append, cmd, create_mailbox, imap_server, login, \
    message, raw_login
from sync_model import server_state

NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")


def imapflow(srv, mode, state):
    env = dict(os.environ, LOFT_PORT=str(srv.port("imap")), LOFT_USER=USER,
               LOFT_PASS=PASSWORD, LOFT_CA=srv.ca_file)
    p = subprocess.run(["node", "resync.mjs", mode, state], cwd=NODE_DIR, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    with open(state) as f:
        return json.load(f)


def as_state(doc):
    return {int(u): frozenset(f) for u, f in doc["messages"].items()}


def test_imapflow_resyncs_from_qresync_alone(make_loft, tmp_path):
    srv = imap_server(make_loft)
    im = login(srv)
    append(im, [message(i) for i in range(8)])
    create_mailbox(srv, "Archive")
    state = str(tmp_path / "state.json")
    first = imapflow(srv, "init", state)
    assert as_state(first) == server_state(srv)
    assert len(first["messages"]) == 8
    # offline: another client changes flags, expunges, moves and appends
    o = raw_login(srv)
    cmd(o, "s", "SELECT INBOX")
    cmd(o, "a", "UID STORE 1,3 +FLAGS (\\Seen \\Flagged)")
    cmd(o, "b", "UID STORE 2 FLAGS ($Important)")
    cmd(o, "c", "UID STORE 4,5 +FLAGS.SILENT (\\Deleted)")
    cmd(o, "d", "UID EXPUNGE 4,5")
    cmd(o, "e", "UID MOVE 6 Archive")
    append(im, [message(20), message(21)], flags="(\\Answered)")
    cmd(o, "f", "UID STORE 10 -FLAGS (\\Answered)")
    second = imapflow(srv, "resync", state)
    truth = server_state(srv)
    assert as_state(second) == truth
    assert sorted(second["vanished"]) == [4, 5, 6]
    assert int(second["highestModseq"]) > int(first["highestModseq"])
    # nothing changed: a resync brings no event at all
    third = imapflow(srv, "resync", state)
    assert third["events"] == 0 and as_state(third) == truth


def test_imapflow_resync_past_tombstone_retention(make_loft, tmp_path):
    """Tombstones pruned: imapflow sends no known UIDs, so the server
    answers VANISHED (EARLIER) with every UID below UIDNEXT it does not
    hold; the client's state still ends up exact."""
    srv = imap_server(make_loft, config_extra={"storage": {"tombstone_max_count": 1}})
    im = login(srv)
    append(im, [message(i) for i in range(6)])
    state = str(tmp_path / "state.json")
    imapflow(srv, "init", state)
    o = raw_login(srv)
    cmd(o, "s", "SELECT INBOX")
    for uid in (2, 3, 5):
        cmd(o, "d", "UID STORE %d +FLAGS.SILENT (\\Deleted)" % uid)
        cmd(o, "x", "UID EXPUNGE %d" % uid)
    cmd(o, "f", "UID STORE 1 +FLAGS (\\Seen)")
    second = imapflow(srv, "resync", state)
    assert as_state(second) == server_state(srv)
    assert sorted(second["vanished"]) == [2, 3, 5]
