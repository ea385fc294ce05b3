#!/usr/bin/env python3
"""Record Debian Dovecot's SEARCH, SORT and THREAD answers on the corpus.

Starts a throwaway Dovecot as dovecot_fixtures.py does (TZ=UTC, so its
BEFORE/ON/SINCE read INTERNALDATE in UTC as Loft does), APPENDs the corpus
with the flags and dates of search_battery.py, runs the battery and writes
tests/differential/search-fixtures.tsv. Needs root and dovecot-imapd; CI
only compares against the committed file
(tests/e2e/test_search_differential.py).

Regenerate:  sudo python3 tests/differential/search_fixtures.py
"""
import argparse
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dovecot_fixtures  # noqa: E402
import search_battery  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=os.environ.get("LOFT_CORPUS", "tests/corpus/mail"))
    ap.add_argument("--out", default=os.path.join(HERE, "search-fixtures.tsv"))
    args = ap.parse_args()
    os.environ["TZ"] = "UTC"
    d = tempfile.mkdtemp(prefix="loft-dovecot-search.")
    proc, port = dovecot_fixtures.start_dovecot(d)
    try:
        imap = dovecot_fixtures.connect(port)
        n = search_battery.load(imap, args.corpus)
        imap.ok(b"SELECT INBOX")
        rows = search_battery.run(imap)
        imap.command(b"LOGOUT")
    finally:
        proc.terminate()
        proc.wait(20)
        shutil.rmtree(d, ignore_errors=True)
    search_battery.write(args.out, rows)
    print(f"{n} messages, {len(rows)} answers in {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
