"""mbsync (isync) against Loft: a mailbox tree built from the shared corpus
is pulled whole, a second run changes nothing, then changes on both sides
(new messages, flags, deletions with Expunge) converge, a third run
changes nothing again, and changes to the same messages on both sides at
once leave both sides with the same messages and flags. mbsync names its mailboxes (PathDelimiter /), so no
LIST is needed."""

import os
import re
import subprocess

from imap_util import USER, PASSWORD, append, corpus, create_mailbox, imap_server, login

TREE = {
    "INBOX": ("cpython", 20),
    "Lists/imaptest": ("imaptest", 15),
    "Archive": ("crymap", 10),
}


def messages(source, n):
    return [data for _, data in corpus(source, n)]


def norm(data):
    """A message as both sides keep it: LF line ends, no mbsync X-TUID,
    NUL as 0x80 (IMAP literals cannot carry NUL)."""
    data = data.replace(b"\r\n", b"\n").replace(b"\0", b"\x80")
    return re.sub(rb"(?m)^X-TUID: .*\n", b"", data)


def local_box(local, name):
    """{file base (up to ':2,'): (flags, bytes)} of a local Maildir."""
    out = {}
    d = os.path.join(local, name)
    for sub in ("cur", "new"):
        for f in os.listdir(os.path.join(d, sub)):
            base, _, flags = f.partition(":2,")
            out[base] = (flags, open(os.path.join(d, sub, f), "rb").read())
    return out


def server_box(srv, name):
    """[(uid, flags, bytes)] of a server mailbox, read over IMAP."""
    c = login(srv)
    c.select('"%s"' % name, readonly=True)
    typ, data = c.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
    c.logout()
    out = []
    for item in data:
        if not isinstance(item, tuple):
            continue
        uid = int(re.search(rb"UID (\d+)", item[0]).group(1))
        flags = set(re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).split()) - {b"\\Recent"}
        out.append((uid, flags, item[1]))
    return sorted(out)


def run_mbsync(rc, local):
    p = subprocess.run(["mbsync", "-c", rc, "-a"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    return {name: local_box(local, name) for name in TREE}


def test_mbsync_two_way_tree(make_loft, tmp_path):
    srv = imap_server(make_loft)
    im = login(srv)
    for name, (source, n) in TREE.items():
        if name != "INBOX":
            create_mailbox(srv, name)
        append(im, messages(source, n), mailbox=name)
    im.logout()
    local = str(tmp_path / "local")
    os.makedirs(local)
    rc = str(tmp_path / "mbsyncrc")
    channels = "".join(
        "Channel c%d\nFar :remote:%s\nNear :local:%s\nCreate Near\nExpunge Both\n"
        "SyncState *\n\n" % (i, name, name) for i, name in enumerate(TREE))
    with open(rc, "w") as f:
        f.write("IMAPAccount loft\nHost 127.0.0.1\nPort %d\nUser %s\nPass %s\n"
                "SSLType None\nAuthMechs LOGIN\n\nIMAPStore remote\nAccount loft\n"
                "PathDelimiter /\n\nMaildirStore local\nPath %s/\nInbox %s/INBOX\n"
                "SubFolders Verbatim\n\n%s"
                % (srv.port("imap"), USER, PASSWORD, local, local, channels))

    # 1. the whole tree comes down
    first = run_mbsync(rc, local)
    for name, (source, n) in TREE.items():
        want = sorted(norm(m) for m in messages(source, n))
        assert sorted(norm(b) for _, b in first[name].values()) == want, name

    # 2. a second run changes nothing on either side
    before = {name: server_box(srv, name) for name in TREE}
    assert run_mbsync(rc, local) == first
    assert {name: server_box(srv, name) for name in TREE} == before

    # 3. changes on both sides
    inbox = os.path.join(local, "INBOX")
    names = {}
    for sub in ("new", "cur"):
        for f in os.listdir(os.path.join(inbox, sub)):
            names[f] = sub
    files = sorted(names)
    flag_me, delete_me = files[0], files[1]
    base = flag_me.partition(":2,")[0]
    os.rename(os.path.join(inbox, names[flag_me], flag_me),
              os.path.join(inbox, "cur", base + ":2,F"))
    base = delete_me.partition(":2,")[0]
    os.rename(os.path.join(inbox, names[delete_me], delete_me),
              os.path.join(inbox, "cur", base + ":2,T"))
    local_new = b"From: me@example.org\nSubject: written offline\n\nhello from the laptop\n"
    with open(os.path.join(inbox, "cur", "1700000000.local1.laptop:2,S"), "wb") as f:
        f.write(local_new)

    im = login(srv)
    im.select('"Lists/imaptest"')
    im.uid("STORE", "1", "+FLAGS", "(\\Answered)")
    im.uid("STORE", "2", "+FLAGS", "(\\Deleted)")
    im.expunge()
    server_new = b"From: boss@example.org\r\nSubject: on the server\r\n\r\nread me\r\n"
    append(im, [server_new], mailbox="Lists/imaptest")
    im.logout()

    third = run_mbsync(rc, local)
    # the server got the local changes
    box = server_box(srv, "INBOX")
    assert len(box) == TREE["INBOX"][1]                  # one deleted, one added
    offline = [(u, fl) for u, fl, b in box if norm(b) == norm(local_new)]
    assert len(offline) == 1 and offline[0][1] == {b"\\Seen"}
    assert sum(1 for _, fl, _ in box if fl == {b"\\Flagged"}) == 1
    # the laptop got the server's changes
    lists = third["Lists/imaptest"]
    assert len(lists) == TREE["Lists/imaptest"][1]       # one expunged, one added
    assert any(norm(b) == norm(server_new) for _, b in lists.values())
    assert sum(1 for fl, _ in lists.values() if "R" in fl) == 1
    assert len(third["INBOX"]) == TREE["INBOX"][1]

    # 4. and then it is stable again
    before = {name: server_box(srv, name) for name in TREE}
    assert run_mbsync(rc, local) == third
    assert {name: server_box(srv, name) for name in TREE} == before

    # 5. changes to the same messages on both sides at once converge:
    # both sides end with the same messages and the same flags
    files = sorted(f for sub in ("cur", "new") for f in os.listdir(os.path.join(inbox, sub)))
    cur = {f: sub for sub in ("cur", "new") for f in os.listdir(os.path.join(inbox, sub))}
    a, c = files[2], files[4]
    os.rename(os.path.join(inbox, cur[a], a),
              os.path.join(inbox, "cur", a.partition(":2,")[0] + ":2,S"))
    os.rename(os.path.join(inbox, cur[c], c),
              os.path.join(inbox, "cur", c.partition(":2,")[0] + ":2,ST"))
    im = login(srv)
    im.select("INBOX")
    uids = [u for u, _, _ in server_box(srv, "INBOX")]
    im.uid("STORE", str(uids[2]), "+FLAGS", "(\\Flagged)")
    im.uid("STORE", str(uids[6]), "+FLAGS", "(\\Deleted)")
    im.expunge()
    append(im, [b"From: x@example.org\r\nSubject: both sides\r\n\r\nz\r\n"], flags="(\\Seen)")
    im.logout()
    run_mbsync(rc, local)
    fifth = run_mbsync(rc, local)                     # settles in one more run
    letters = {b"\\Draft": "D", b"\\Flagged": "F", b"\\Answered": "R", b"\\Seen": "S",
               b"\\Deleted": "T"}
    for name in TREE:
        srv_side = sorted((norm(b), "".join(sorted(letters[f] for f in fl if f in letters)))
                          for _, fl, b in server_box(srv, name))
        local_side = sorted((norm(b), "".join(sorted(fl))) for fl, b in fifth[name].values())
        assert srv_side == local_side, name
