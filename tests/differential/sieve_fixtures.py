#!/usr/bin/env python3
"""Record Debian Pigeonhole's decisions (dovecot-sieve's `sieve-test`) for
every script of tests/differential/sieve/ over every message of the corpus,
into tests/differential/fixtures-sieve/<script>.txt: one line per message,
"<message path relative to the corpus>\\t<actions>" with the actions of
sieve_actions.py joined by " | ". CI never runs this: the check
(test_sieve_pigeonhole.py) compares Loft against the committed fixtures.

Needs root (sieve-test runs as `nobody`, which needs no mail_uid setting)
and dovecot-sieve (`conf/install-deps.sh --bench`). Envelope: from
sender@example.org to user@example.org; TZ=UTC.

Regenerate:  sudo python3 tests/differential/sieve_fixtures.py [--only NAME]
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sieve_actions  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(ROOT, "tests", "corpus", "mail")
OUT = os.path.join(HERE, "fixtures-sieve")
FROM, TO = "sender@example.org", "user@example.org"

CONF = """mail_location = maildir:%s/Maildir
plugin {
  sieve_extensions = +vacation-seconds +editheader
  sieve_max_redirects = 10
}
"""


def messages():
    return sorted(os.path.relpath(p, CORPUS)
                  for p in glob.glob(os.path.join(CORPUS, "**", "*.eml"), recursive=True))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    if os.geteuid() != 0 or shutil.which("sieve-test") is None:
        sys.exit("sieve_fixtures: run as root with dovecot-sieve installed")
    os.makedirs(OUT, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="loft-sieve-")
    os.chmod(tmp, 0o755)
    home = os.path.join(tmp, "home")
    os.makedirs(home)
    shutil.chown(home, "nobody")
    conf = os.path.join(tmp, "dovecot.conf")
    with open(conf, "w") as f:
        f.write(CONF % home)
    mdir = os.path.join(tmp, "msgs")
    os.makedirs(mdir)
    msgs = messages()
    local = {}
    for i, rel in enumerate(msgs):
        p = os.path.join(mdir, "%04d.eml" % i)
        shutil.copyfile(os.path.join(CORPUS, rel), p)
        os.chmod(p, 0o644)
        local[rel] = p
    env = dict(os.environ, HOME=home, TZ="UTC")
    for script in sorted(glob.glob(os.path.join(HERE, "sieve", "*.sieve"))):
        name = os.path.basename(script)[:-6]
        if args.only and args.only not in name:
            continue
        sp = os.path.join(tmp, name + ".sieve")
        shutil.copyfile(script, sp)
        os.chmod(sp, 0o644)
        lines = []
        for rel in msgs:
            r = subprocess.run(["runuser", "-u", "nobody", "--", "sieve-test", "-c", conf,
                                "-f", FROM, "-r", TO, sp, local[rel]],
                               capture_output=True, text=True, env=env, timeout=60)
            out = r.stdout + r.stderr
            if "final result: success" in out:
                acts = sieve_actions.from_pigeonhole(r.stdout)
            elif "resolved with successful implicit keep" in out:
                acts = ["failed", "store INBOX"]   # a runtime error: the fallback keep
            else:
                acts = ["error"]
            lines.append("%s\t%s" % (rel, " | ".join(acts)))
        with open(os.path.join(OUT, name + ".txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        print("%s: %d messages" % (name, len(lines)))
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
