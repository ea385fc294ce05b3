"""The RFC 7208 SPF test suite (tests/conformance/spf/rfc7208-tests.yml, the
openspf.org suite maintained with pyspf: 203 cases with their DNS zone data)
run against Loft's SPF evaluator, server/mailauth/spf-eval.c.

Each scenario's zone is turned into records the way pyspf's test driver
(testspf.py) reads it: a name with SPF but no TXT records gets TXT copies of
them appended after its other entries, "NONE" values are no record but stop
that copying, "TIMEOUT" entries time out. tests/tools/spf-suite.c serves
them from a fake resolver (tests/support/fake-dns.h) and evaluates every
case; a case passes when the result is the one the suite expects (or one of
its alternatives) and, where the suite gives one, the explanation matches.
Every case is its own test; test_every_case_passes prints the count."""

import os
import subprocess

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SUITE = os.path.join(HERE, "spf", "rfc7208-tests.yml")
TOOL = os.path.join(os.environ.get("LOFT_BUILD_DIR", os.path.join(HERE, "..", "..", "build")),
                    "spf-suite")


def x(s):
    if isinstance(s, str):
        s = s.encode("utf-8")
    return "x" + s.hex()


def zone_lines(zonedata):
    """The scenario's zone as spf-suite input lines, in pyspf's order."""
    out = []
    for name, entries in zonedata.items():
        has_txt = any(isinstance(e, dict) and "TXT" in e for e in entries)
        generated = []
        for e in entries:
            if e == "TIMEOUT":
                out.append("T\t%s" % x(name))
                continue
            (t, v), = e.items()
            if t == "SPF":
                if not has_txt:
                    generated.append(v)
                continue   # type SPF (99) is never asked for (RFC 7208 3.1)
            if v == "NONE":
                continue
            if v == "TIMEOUT":
                out.append("T\t%s\t%s" % (x(name), t))
            elif t == "TXT":
                out.append(txt_line(name, v))
            elif t == "MX":
                out.append("Z\t%s\tMX\t%d\t%s" % (x(name), v[0], x(v[1])))
            else:
                out.append("Z\t%s\t%s\t%s" % (x(name), t, x(str(v))))
        for v in generated:
            if v == "NONE":
                continue
            if v == "TIMEOUT":
                out.append("T\t%s\tTXT" % x(name))
            else:
                out.append(txt_line(name, v))
    return out


def txt_line(name, v):
    parts = v if isinstance(v, list) else [v]
    return "Z\t%s\tTXT\t%s" % (x(name), ",".join(x(p) for p in parts))


def load_cases():
    cases = []
    with open(SUITE, "rb") as f:
        for scenario in yaml.safe_load_all(f):
            lines = zone_lines(scenario.get("zonedata") or {})
            for tid, t in scenario["tests"].items():
                cases.append((tid, scenario["description"], t, lines))
    return cases


CASES = load_cases()


@pytest.fixture(scope="module")
def results():
    feed = []
    for tid, _, t, lines in CASES:
        feed.append("R")
        feed.extend(lines)
        feed.append("C\t%s\t%s\t%s\t%s" % (tid, x(t["host"]), x(t["mailfrom"]), x(t["helo"])))
    out = subprocess.run([TOOL], input="\n".join(feed) + "\n", capture_output=True,
                         text=True, check=True, timeout=120).stdout
    got = {}
    for line in out.splitlines():
        tid, result, exp, reason = (line.split("\t") + ["", "", ""])[:4]
        got[tid] = (result, exp, reason)
    return got


def verdict(t, got):
    want = t["result"] if isinstance(t["result"], list) else [t["result"]]
    result, exp, reason = got
    if result not in want:
        return "result %s (%s), want %s" % (result, reason, "/".join(want))
    if "explanation" in t and t["explanation"] != exp:
        return "explanation %r, want %r" % (exp, t["explanation"])
    return None


def test_suite_has_203_cases():
    assert len(CASES) == 203


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_case(case, results):
    tid, desc, t, _ = case
    assert tid in results, "no result for %s" % tid
    problem = verdict(t, results[tid])
    assert problem is None, "%s (%s, spec %s): %s" % (tid, desc, t.get("spec"), problem)


def test_every_case_passes(results):
    passed = [c[0] for c in CASES if c[0] in results and verdict(c[2], results[c[0]]) is None]
    print("\nRFC 7208 SPF suite: %d of %d cases pass" % (len(passed), len(CASES)))
    assert len(passed) == len(CASES)
