#!/usr/bin/env python3
"""Record Debian Dovecot's FETCH answers for every corpus message.

Starts a throwaway Dovecot (imap only, plain text on a free loopback port,
mail owned by the unprivileged system user `nobody`) in a temporary
directory, APPENDs every message of the corpus byte for byte (no line-end
rewriting), and writes one fixture file per message into
tests/differential/fixtures/ holding the FETCH items Loft is compared on
(see FIELDS). Needs root (Dovecot drops to `nobody` for the mail). CI never
runs this: it only compares against the committed fixtures.

Regenerate:  sudo python3 tests/differential/dovecot_fixtures.py \
                 [--corpus tests/corpus/mail] [--only SUBSTRING]
"""
import argparse
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import fixture  # noqa: E402
from peers import free_port, wait_port  # noqa: E402
from imapraw import ImapError, RawImap  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MAIL_USER = "nobody"


def start_dovecot(d):
    pw = pwd.getpwnam(MAIL_USER)
    for sub in ("run", "state", "mail"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    shutil.chown(os.path.join(d, "mail"), pw.pw_uid, pw.pw_gid)
    os.chmod(d, 0o755)
    with open(os.path.join(d, "users"), "w") as f:
        f.write(f"diff:{{PLAIN}}secret:{pw.pw_uid}:{pw.pw_gid}::{d}/mail/diff::\n")
    port = free_port()
    conf = os.path.join(d, "dovecot.conf")
    with open(conf, "w") as f:
        f.write(f"""base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:~/Maildir
first_valid_uid = {pw.pw_uid}
last_valid_uid = {pw.pw_uid}
imap_max_line_length = 10M
passdb {{
  driver = passwd-file
  args = {d}/users
}}
userdb {{
  driver = passwd-file
  args = {d}/users
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
""")
    out = open(os.path.join(d, "dovecot.out"), "wb")
    proc = subprocess.Popen(["dovecot", "-F", "-c", conf], stdin=subprocess.DEVNULL,
                            stdout=out, stderr=out)
    wait_port(port)
    return proc, port


def connect(port):
    imap = RawImap("127.0.0.1", port)
    imap.ok(b"LOGIN diff secret")
    imap.ok(b"SELECT INBOX")
    return imap


def fetch_item(imap, uid, item):
    """The bytes of one FETCH item as Dovecot sends them, or the tagged
    NO/BAD line when it refuses, or "ERROR disconnected" when Dovecot drops
    the connection instead of answering (it does so on corrupt base64)."""
    try:
        untagged, tagged = imap.command(b"UID FETCH %d (%s)" % (uid, item))
    except (ImapError, OSError):
        return b"ERROR disconnected"
    if tagged.split(b" ", 2)[1] != b"OK":
        text = tagged.split(b" ", 1)[1].rstrip(b"\r\n")
        # Dovecot appends its timing "(0.001 + 0.000 secs)."; drop it.
        text = re.sub(rb" \([0-9.]+ \+ [0-9.]+ secs\)\.$", b".", text)
        return b"ERROR " + text
    for r in untagged:
        if b" FETCH (" in r:
            return fixture.strip_fetch(r, uid)
    raise RuntimeError(f"no FETCH response for uid {uid} {item}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=os.environ.get("LOFT_CORPUS", "tests/corpus/mail"))
    ap.add_argument("--out", default=os.path.join(HERE, "fixtures"))
    ap.add_argument("--only", default=None, help="only files whose path contains this")
    ap.add_argument("--keep", action="store_true", help="keep the Dovecot directory")
    args = ap.parse_args()

    files = fixture.corpus_files(args.corpus)
    if args.only:
        files = [f for f in files if args.only in f]
    d = tempfile.mkdtemp(prefix="loft-dovecot-diff.")
    proc, port = start_dovecot(d)
    try:
        imap = connect(port)
        os.makedirs(args.out, exist_ok=True)
        for n, rel in enumerate(files):
            with open(os.path.join(args.corpus, rel), "rb") as f:
                data = f.read()
            _, tagged = imap.ok(b"APPEND INBOX", ("lit", data))
            # [APPENDUID <uidvalidity> <uid>]
            uid = int(tagged.split(b"APPENDUID ", 1)[1].split(b"]", 1)[0].split()[1])
            items = {}
            for name, item in fixture.FIELDS:
                items[name] = fetch_item(imap, uid, item)
                if items[name] == b"ERROR disconnected":
                    imap = connect(port)
            fixture.write(args.out, rel, items)
            if (n + 1) % 100 == 0:
                print(f"{n + 1}/{len(files)}", file=sys.stderr)
        imap.command(b"LOGOUT")
    finally:
        proc.terminate()
        proc.wait(20)
        if args.keep:
            print(f"kept {d}", file=sys.stderr)
        else:
            shutil.rmtree(d, ignore_errors=True)
    print(f"wrote {len(files)} fixtures to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
