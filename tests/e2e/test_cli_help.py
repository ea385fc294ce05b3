"""Every `loft` subcommand answers --help and -h, alone or among its other
arguments, with its usage on stdout and exit status 0, and touches nothing
(no configuration file is read)."""

import subprocess

import pytest

from loftserver import loft_bin

CASES = [
    ["serve"], ["demo"], ["demo", "/nonexistent/dir"], ["deliver"],
    ["deliver", "-u", "alice"], ["index"], ["index", "check", "alice"],
    ["user"], ["user", "add", "alice"], ["config"], ["config", "doc"],
]


@pytest.mark.parametrize("flag", ["--help", "-h"])
@pytest.mark.parametrize("args", CASES, ids=lambda a: "-".join(a).replace("/", ""))
def test_subcommand_help(args, flag):
    p = subprocess.run([loft_bin(), "-c", "/nonexistent/loft.conf"] + args + [flag],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    out = p.stdout.decode()
    assert p.returncode == 0, (p.returncode, out, p.stderr)
    assert out.startswith("usage: loft"), out
    assert " %s" % args[0] in out.splitlines()[0], out
    assert p.stderr == b"", p.stderr


def test_top_level_help():
    for flag in ("--help", "-h"):
        p = subprocess.run([loft_bin(), flag], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        assert p.returncode == 0
        assert p.stdout.startswith(b"usage: loft")


def test_unknown_argument_is_still_an_error():
    p = subprocess.run([loft_bin(), "deliver", "--bogus"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert p.returncode == 64     # EX_USAGE
    assert b"unexpected argument --bogus" in p.stderr
    assert b"usage: loft" in p.stderr
