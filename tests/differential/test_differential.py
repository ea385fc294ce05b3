"""Loft's message parser against Debian Dovecot's recorded answers.

For every corpus message, tests/tools/msg-dump (parser + cache blob +
server/imap/fetch-format.c) must give byte for byte the FETCH items that
Dovecot gave (fixtures/, recorded by dovecot_fixtures.py), except the
differences listed in known-differences.txt, each of which docs/PROTOCOLS.md
justifies. Dovecot is not needed here: only the fixtures.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import compare  # noqa: E402
import fixture  # noqa: E402

SOURCE = os.environ.get("LOFT_SOURCE_DIR", os.path.join(HERE, "..", ".."))
BUILD = os.environ.get("LOFT_BUILD_DIR", os.path.join(SOURCE, "build"))


def corpus_dir():
    """The mail corpus: $LOFT_CORPUS, or the copy in tests/corpus/mail."""
    for d in (os.environ.get("LOFT_CORPUS"),
              os.path.join(SOURCE, "tests", "corpus", "mail")):
        if d and os.path.isfile(os.path.join(d, "MANIFEST.tsv")):
            return d
    raise AssertionError("corpus not found: set LOFT_CORPUS")


def known():
    rows = {}
    with open(os.path.join(HERE, "known-differences.txt"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            rel, item, category = line.rstrip("\n").split("\t")
            rows[(rel, item)] = category
    return rows


def test_every_message_matches_dovecot_or_a_known_difference():
    corpus = corpus_dir()
    files, diffs = compare.differences(os.path.join(BUILD, "msg-dump"), corpus)
    assert len(files) >= 1000
    got = {(rel, item) for rel, item, _, _ in diffs}
    expected = known()
    new = sorted(got - set(expected))
    gone = sorted(set(expected) - got)
    detail = [f"{rel} {item}\n  dovecot {want[:300]!r}\n  loft    {have[:300]!r}"
              for rel, item, want, have in diffs if (rel, item) in set(new)]
    assert not new, "new differences:\n" + "\n".join(detail[:20])
    assert not gone, f"listed differences that no longer occur: {gone[:20]}"


def test_every_category_is_justified_in_protocols_md():
    with open(os.path.join(SOURCE, "docs", "PROTOCOLS.md"), encoding="utf-8") as f:
        doc = f.read()
    for category in set(known().values()):
        assert f"`{category}`" in doc, f"docs/PROTOCOLS.md does not explain {category}"


def test_fixtures_cover_the_corpus():
    corpus = corpus_dir()
    for rel in fixture.corpus_files(corpus):
        assert os.path.isfile(fixture.path_for(os.path.join(HERE, "fixtures"), rel)), rel
