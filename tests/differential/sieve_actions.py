"""The Sieve outcome both sides are compared on (see test_sieve_pigeonhole.py
and sieve_fixtures.py): for one script over one message, the sorted list of
  store FOLDER[ flag ...]     (explicit or implicit keep; flags lower case,
                               sorted)
  redirect ADDRESS
  reject
  failed                      (a runtime error: the plan is the fallback keep)
Vacation replies are left out: Pigeonhole's sieve-test does not apply the
recipient checks a delivery does (RFC 5230 4.5), so it answers where a
delivery would not. Discard shows as nothing stored."""

import re


def _store(folder, flags):
    flags = sorted(set(f.lower() for f in flags))
    return "store " + folder + "".join(" " + f for f in flags)


def from_pigeonhole(text):
    """Actions from sieve-test's "Performed actions" and "Implicit keep"."""
    out = []
    cur = None
    for line in text.splitlines():
        m = re.match(r"^ \* store message in folder: (.*)$", line)
        if m:
            cur = [m.group(1), []]
            out.append(cur)
            continue
        m = re.match(r"^\s+\+ add IMAP flags: (.*)$", line)
        if m and cur is not None and isinstance(cur, list):
            cur[1].extend(m.group(1).split())
            continue
        m = re.match(r"^ \* redirect message to: <(.*)>$", line)
        if m:
            out.append("redirect " + m.group(1))
            cur = None
            continue
        if re.match(r"^ \* (e?reject|refuse)", line):
            out.append("reject")
            cur = None
            continue
        if line.startswith(" * "):
            cur = None
    res = [(_store(a[0], a[1]) if isinstance(a, list) else a) for a in out]
    return sorted(res)


def from_loft(lines):
    """Actions from tests/tools/sieve-plan's lines for one message."""
    res = []
    for l in lines:
        kind, _, rest = l.partition(" ")
        if kind in ("keep", "fileinto"):
            if rest.startswith('"'):
                m = re.match(r'^"((?:[^"]|"")*)"(.*)$', rest)
                folder, rest = m.group(1).replace('""', '"'), m.group(2)
                words = rest.split()
            else:
                words = rest.split()
                folder, words = words[0], words[1:]
            flags = [w for w in words if w != ":create"]
            res.append(_store(folder, flags))
        elif kind == "redirect":
            res.append("redirect " + rest)
        elif kind in ("reject", "ereject"):
            res.append("reject")
        elif kind == "error":
            res.append("failed")
    return sorted(res)


def parse_plan_output(text):
    """{path: [lines]} of sieve-plan's output."""
    plans = {}
    cur = None
    for line in text.splitlines():
        if line.startswith("#FILE "):
            cur = line[6:]
            plans[cur] = []
        elif cur is not None:
            plans[cur].append(line)
    return plans
