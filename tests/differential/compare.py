"""Compare msg-dump's output with the recorded Dovecot fixtures.

Usage: compare.py MSG_DUMP CORPUS [--only SUBSTR] [--show N]
Prints each differing (file, item) and a summary; used by
test_differential.py and by hand while working on the parser.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def loft_items(msg_dump, corpus, files, extra=0):
    """{file: {item: bytes}} from msg-dump; extra: how many --extra items
    follow the fixture's (0: no --extra)."""
    args = [msg_dump] + (["--extra"] if extra else []) + ["--root", corpus]
    out = subprocess.run(args, input="\n".join(files).encode(), capture_output=True,
                         check=False)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.decode(errors="replace"))
    data = out.stdout
    result = {}
    i = 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        assert line.startswith(b"#FILE "), line[:80]
        rel = line[6:].decode()
        i = nl + 1
        items = {}
        for _ in range(len(fixture.FIELDS) + extra):
            nl = data.index(b"\n", i)
            head = data[i:nl].split(b" ")
            n = int(head[2])
            items[head[1].decode()] = data[nl + 1:nl + 1 + n]
            i = nl + 1 + n + 1
        result[rel] = items
    return result


def differences(msg_dump, corpus, only=None):
    files = fixture.corpus_files(corpus)
    if only:
        files = [f for f in files if only in f]
    loft = loft_items(msg_dump, corpus, files)
    diffs = []
    for rel in files:
        want = fixture.read(os.path.join(HERE, "fixtures"), rel)
        got = loft[rel]
        for name, _ in fixture.FIELDS:
            if fixture.squash(got[name]) != want[name]:
                diffs.append((rel, name, want[name], fixture.squash(got[name])))
    return files, diffs


def main():
    msg_dump, corpus = sys.argv[1], sys.argv[2]
    only = None
    show = 20
    args = sys.argv[3:]
    while args:
        if args[0] == "--only":
            only = args[1]
        elif args[0] == "--show":
            show = int(args[1])
        args = args[2:]
    files, diffs = differences(msg_dump, corpus, only)
    by_item = {}
    for rel, name, want, got in diffs:
        by_item[name] = by_item.get(name, 0) + 1
    for rel, name, want, got in diffs[:show]:
        print(f"--- {rel} {name}\n dovecot: {want[:600]!r}\n loft:    {got[:600]!r}")
    print(f"{len(files)} messages, {len(diffs)} differences: {by_item}")


if __name__ == "__main__":
    main()
