"""Loft's Sieve decisions against Debian Pigeonhole's, recorded as fixtures
(fixtures-sieve/, by sieve_fixtures.py with dovecot-sieve's sieve-test):
every script of sieve/ over every message of the shared corpus gives the
same folders, flags, redirects and rejects (sieve_actions.py says exactly
what is compared). Deliberate differences are listed in DIFFERENCES with
their reason (and in docs/PROTOCOLS.md); a fixed one must be taken out of
the list, so the list cannot hide a regression.

Needs neither Dovecot nor root: Loft's side is tests/tools/sieve-plan."""

import glob
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import sieve_actions  # noqa: E402
from storage_util import tool_bin  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(ROOT, "tests", "corpus", "mail")
SCRIPTS = sorted(glob.glob(os.path.join(HERE, "sieve", "*.sieve")))

# (script, message) -> reason; docs/PROTOCOLS.md "Sieve" lists the same.
PANIC = ("Pigeonhole 2.3.19 aborts (edit-mail.c: assertion body_offset > 0) when "
         "editheader changes a message whose header does not end where it expects "
         "(no header, or no blank line); it then keeps the message in INBOX. Loft "
         "edits the header it found and files the message as the script says.")
DIFFERENCES = {
    ("10-editheader", "cpython/msg_19.eml"): PANIC,
    ("10-editheader", "cpython/msg_35.eml"): PANIC,
    ("10-editheader", "enmime/mail/erroneous.eml"): PANIC,
    ("10-editheader", "enmime/mail/qp-utf8-header-no-break.eml"): PANIC,
    ("10-editheader", "mime-tools/testmsgs/hdr-fakeout.eml"): PANIC,
    ("10-editheader", "mime4j/testmsgs/basic-plain-with-bad-header-separator.eml"): PANIC,
    ("10-editheader", "mime4j/testmsgs/malformedHeader-nocrlfcrlf.eml"): PANIC,
    ("10-editheader", "mime4j/testmsgs/malformedHeader-noheader.eml"): PANIC,
    ("10-editheader", "mimekit/messages/issue358.eml"): PANIC,
    ("10-editheader", "ruby-mail/error_emails__multiple_references_with_one_invalid.eml"): PANIC,
    ("10-editheader", "ruby-mail/rfc2822__example13.eml"): PANIC,
}


def fixtures(name):
    path = os.path.join(HERE, "fixtures-sieve", name + ".txt")
    out = {}
    with open(path) as f:
        for line in f:
            rel, _, acts = line.rstrip("\n").partition("\t")
            acts = sorted(a for a in acts.split(" | ") if a)
            # fixtures recorded before "failed" was told apart
            out[rel] = ["failed", "store INBOX"] if acts == ["error"] else acts
    return out


@pytest.mark.parametrize("script", SCRIPTS, ids=[os.path.basename(s) for s in SCRIPTS])
def test_same_decisions_as_pigeonhole(script, tmp_path):
    name = os.path.basename(script)[:-6]
    want = fixtures(name)
    rels = sorted(want)
    listing = tmp_path / "msgs"
    r = subprocess.run([tool_bin("sieve-plan"), "--script", script, "--from",
                        "sender@example.org", "--to", "user@example.org"] +
                       [os.path.join(CORPUS, rel) for rel in rels],
                       capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, TZ="UTC"))
    assert r.returncode == 0, r.stderr
    plans = sieve_actions.parse_plan_output(r.stdout)
    bad = []
    for rel in rels:
        got = sieve_actions.from_loft(plans[os.path.join(CORPUS, rel)])
        exp = want[rel]
        key = (name, rel)
        if key in DIFFERENCES:
            assert got != exp, "%s is listed as a difference but now agrees: take it out" % (
                key,)
            continue
        if got != exp:
            bad.append("%s: loft %s, pigeonhole %s" % (rel, got, exp))
    assert not bad, "%d of %d messages differ:\n%s" % (len(bad), len(rels),
                                                       "\n".join(bad[:40]))
