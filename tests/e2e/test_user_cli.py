"""`loft user add|passwd|del|list` against a temporary configuration.

Checks the users file the CLI writes: Dovecot passwd-file lines with
{SHA512-CRYPT} hashes that Dovecot's own `doveadm pw -t` accepts (that one
assertion is skipped only when doveadm is not installed), mode 0600,
comments and unrelated lines kept, errors for existing/unknown users and bad
names, passwords read from stdin and never echoed.
"""

import os
import shutil
import stat
import subprocess
import warnings

import pytest

from loftserver import loft_bin

DOVEADM = shutil.which("doveadm")


@pytest.fixture
def env(tmp_path):
    conf = tmp_path / "loft.conf"
    conf.write_text("[server]\nstate_dir = .\nmail_dir = mail\nusers_file = users\n")
    return tmp_path


def loft(env, *args, stdin=None):
    return subprocess.run([loft_bin(), "-c", str(env / "loft.conf"), "user", *args],
                          input=stdin, capture_output=True, text=True, timeout=60)


def users_lines(env):
    return (env / "users").read_text().splitlines()


def entry(env, name):
    for line in users_lines(env):
        if line.split(":", 1)[0] == name:
            return line.split(":")[1]
    return None


def verify(hashed, password):
    """True if the hash accepts password: Dovecot's doveadm when present,
    else libxcrypt through Python's crypt module."""
    if DOVEADM:
        r = subprocess.run([DOVEADM, "pw", "-t", hashed, "-p", password],
                           capture_output=True, text=True, timeout=60)
        return r.returncode == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    h = hashed[len("{SHA512-CRYPT}"):]
    return crypt.crypt(password, h) == h


def test_add_list_with_password_option(env):
    r = loft(env, "add", "alice", "--password", "secret")
    assert r.returncode == 0, r.stderr
    assert "secret" not in r.stdout + r.stderr
    r = loft(env, "list")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["alice"]
    st = os.stat(env / "users")
    assert stat.S_IMODE(st.st_mode) == 0o600
    lines = users_lines(env)
    assert len(lines) == 1
    fields = lines[0].split(":")
    assert fields[0] == "alice" and len(fields) == 8      # name:hash::::::
    assert fields[1].startswith("{SHA512-CRYPT}$6$rounds=")
    # no temporary file left next to the users file
    assert sorted(p.name for p in env.iterdir()) == ["loft.conf", "users", "users.lock"]


@pytest.mark.skipif(DOVEADM is None, reason="doveadm (dovecot-core) not installed")
def test_hash_verified_by_dovecot(env):
    assert loft(env, "add", "alice", "--password", "s3cret pass").returncode == 0
    h = entry(env, "alice")
    ok = subprocess.run([DOVEADM, "pw", "-t", h, "-p", "s3cret pass"],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "(verified)" in ok.stdout
    bad = subprocess.run([DOVEADM, "pw", "-t", h, "-p", "s3cret pasS"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0


def test_password_from_stdin(env):
    r = loft(env, "add", "bob", stdin="from stdin\n")
    assert r.returncode == 0, r.stderr
    assert "from stdin" not in r.stdout + r.stderr   # never echoed
    assert verify(entry(env, "bob"), "from stdin")
    assert not verify(entry(env, "bob"), "from stdin\n")
    # CRLF line ending from a Windows editor: the CR is not part of it
    r = loft(env, "passwd", "bob", stdin="crlf pw\r\n")
    assert r.returncode == 0, r.stderr
    assert verify(entry(env, "bob"), "crlf pw")


def test_no_or_empty_password(env):
    r = loft(env, "add", "carol", stdin="")
    assert r.returncode == 1
    assert "password" in r.stderr
    r = loft(env, "add", "carol", stdin="\n")
    assert r.returncode == 1
    r = loft(env, "add", "carol", "--password", "")
    assert r.returncode == 1
    assert not (env / "users").exists() or entry(env, "carol") is None


def test_add_existing_refused(env):
    assert loft(env, "add", "alice", "--password", "one").returncode == 0
    before = (env / "users").read_text()
    r = loft(env, "add", "alice", "--password", "two")
    assert r.returncode == 1
    assert "already exists" in r.stderr
    assert (env / "users").read_text() == before


def test_passwd_keeps_other_lines(env):
    (env / "users").write_text(
        "# migrated from Dovecot\n"
        "alice:{PLAIN}old:1000:1000::/home/alice::userdb_quota_rule=*:storage=1G\n"
        "\n"
        "bob:{SSHA}7hykCalW/muHQEan/qOe8MhNznq76Ixc\n")
    r = loft(env, "passwd", "alice", "--password", "new secret")
    assert r.returncode == 0, r.stderr
    lines = users_lines(env)
    assert lines[0] == "# migrated from Dovecot"
    assert lines[2] == ""
    assert lines[3] == "bob:{SSHA}7hykCalW/muHQEan/qOe8MhNznq76Ixc"
    f = lines[1].split(":", 2)
    assert f[0] == "alice"
    assert f[2] == "1000:1000::/home/alice::userdb_quota_rule=*:storage=1G"
    assert verify(f[1], "new secret")
    assert not verify(f[1], "old")
    assert stat.S_IMODE(os.stat(env / "users").st_mode) == 0o600
    r = loft(env, "passwd", "nobody", "--password", "x")
    assert r.returncode == 1
    assert "no user" in r.stderr


def test_del(env):
    for name in ("alice", "bob", "carol"):
        assert loft(env, "add", name, "--password", "pw-" + name).returncode == 0
    r = loft(env, "del", "bob")
    assert r.returncode == 0, r.stderr
    assert loft(env, "list").stdout.splitlines() == ["alice", "carol"]
    r = loft(env, "del", "bob")
    assert r.returncode == 1
    assert verify(entry(env, "carol"), "pw-carol")


@pytest.mark.parametrize("name", ["../evil", ".hidden", "a/b", "sp ace", "x" * 65, "ä"])
def test_invalid_names(env, name):
    r = loft(env, "add", name, "--password", "x")
    assert r.returncode != 0
    assert not (env / "users").exists()


def test_valid_name_characters(env):
    name = "Jo.Doe_1+tag@example.org-x"
    assert loft(env, "add", name, "--password", "pw").returncode == 0
    # names are case-insensitive and kept in lower case
    assert loft(env, "list").stdout.splitlines() == [name.lower()]
    assert loft(env, "add", name.upper(), "--password", "pw").returncode == 1


def test_usage_and_config_errors(env, tmp_path):
    assert loft(env).returncode == 2
    assert loft(env, "frobnicate").returncode == 2
    assert loft(env, "add").returncode == 2
    assert loft(env, "list", "extra").returncode == 2
    r = subprocess.run([loft_bin(), "-c", str(tmp_path / "missing.conf"), "user", "list"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "missing.conf" in r.stderr


def test_list_empty(env):
    r = loft(env, "list")
    assert r.returncode == 0
    assert r.stdout == ""
