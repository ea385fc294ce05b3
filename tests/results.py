#!/usr/bin/env python3
"""Counts the test cases of one ctest run from the JUnit XML its tests wrote
(cmocka with CMOCKA_MESSAGE_OUTPUT=xml, pytest with --junitxml), for
tests/run.sh: passed, failed and skipped cases, not ctest entries.

usage: results.py JUNIT_DIR CTEST_LOG ALLOWED_SKIPS LABEL

A skip counts as a failure unless ALLOWED_SKIPS lists it. A ctest entry
that failed without any failed case in its XML (a crash, a timeout, no XML
at all) counts as one failed case. Prints the failures and skips, then a
last line "LABEL: P passed, F failed, S skipped" and exits 1 when F > 0."""

import fnmatch
import glob
import os
import re
import sys
import xml.etree.ElementTree as ET


def allowed_patterns(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                pid, _, reason = line.partition(" ")
                out.append((pid, reason.strip()))
    return out


def entry_of(xml_path):
    """ctest entry name from the file name: unit-test-x.xml -> unit/test-x."""
    base = os.path.basename(xml_path)[:-4]
    kind, _, name = base.partition("-")
    return "%s/%s" % (kind, name)


def main():
    junit_dir, ctest_log, allowed_path, label = sys.argv[1:5]
    allowed = allowed_patterns(allowed_path)
    passed = failed = skipped = 0
    lines = []
    failed_entries = set()
    for path in sorted(glob.glob(os.path.join(junit_dir, "*.xml"))):
        entry = entry_of(path)
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:
            lines.append("FAILED %s: unreadable results (%s)" % (entry, e))
            failed += 1
            failed_entries.add(entry)
            continue
        for case in root.iter("testcase"):
            cid = "%s::%s" % (entry, case.get("name"))
            bad = case.find("failure")
            if bad is None:
                bad = case.find("error")
            skip = case.find("skipped")
            if bad is not None:
                failed += 1
                failed_entries.add(entry)
                msg = (bad.get("message") or bad.text or "").strip().splitlines()
                lines.append("FAILED %s: %s" % (cid, msg[0][:300] if msg else ""))
            elif skip is not None:
                reason = (skip.get("message") or skip.text or "").strip()
                ok = [r for p, r in allowed if fnmatch.fnmatchcase(cid, p)]
                if ok:
                    skipped += 1
                    lines.append("skipped %s: %s (allowed: %s)" % (cid, reason, ok[0]))
                else:
                    failed += 1
                    failed_entries.add(entry)
                    lines.append("FAILED %s: skipped (%s) and not in %s" %
                                 (cid, reason or "no reason", allowed_path))
            else:
                passed += 1
    # ctest entries that failed without a failed case: crash, timeout, no XML.
    try:
        with open(ctest_log, errors="replace") as f:
            log = f.read()
    except OSError:
        log = ""
    for m in re.finditer(r"^\s*\d+ - (\S+) \(([^)]*)\)", log, re.M):
        entry, why = m.group(1), m.group(2)
        if entry not in failed_entries:
            failed += 1
            lines.append("FAILED %s: the ctest entry failed (%s) with no failed case "
                         "reported" % (entry, why))
    for line in lines:
        print(line)
    print("%s: %d passed, %d failed, %d skipped" % (label, passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
