"""`loft user add|passwd|del|list|show|test|hash|app-password` against a
temporary configuration.

Checks the users file the CLI writes: Dovecot passwd-file lines with
{ARGON2ID} hashes (plus SCRAM keys and a CRAM-MD5 context when the [auth]
settings ask for them), mode 0600, comments and unrelated lines kept, errors
for existing/unknown users and bad names, passwords read from stdin and
never echoed, names normalised to lower case. Dovecot compatibility is
proven without Dovecot: the hashes Debian's `doveadm pw` made for every
scheme (tests/unit/fixtures/doveadm-pw.tsv, with the commands that made
them) are accepted by `loft user test`, and test-password proves that what
Loft writes is byte for byte what doveadm accepted (loft-pw.tsv). App
passwords: add, use (the device is reported), list, revoke, removed with
the user. `show` never prints a hash.
"""

import os
import re
import stat
import subprocess

import pytest

from loftserver import loft_bin

SRC = os.environ.get("LOFT_SOURCE_DIR",
                     os.path.join(os.path.dirname(__file__), "..", ".."))


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


def verify(env, name, password):
    """True if `loft user test` accepts password for name (as a login
    would: the user's password or an app password)."""
    return loft(env, "test", name, stdin=password + "\n").returncode == 0


def fixtures(name):
    """(password, hash, command) rows of a committed fixtures file."""
    rows = []
    with open(os.path.join(SRC, "tests", "unit", "fixtures", name), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                pw, hashed, cmd = line.split("\t")[:3]
                rows.append((pw, hashed, cmd))
    return rows


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
    assert fields[1].startswith("{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$")
    # no temporary file left next to the users file
    assert sorted(p.name for p in env.iterdir()) == ["loft.conf", "users", "users.lock"]


def test_dovecot_hashes_accepted(env):
    """Every hash Debian's doveadm made (committed with its command) logs in
    through the real binary, and a wrong password does not."""
    rows = fixtures("doveadm-pw.tsv")
    assert len(rows) >= 30
    lines = [f"u{i}:{hashed}" for i, (pw, hashed, cmd) in enumerate(rows)]
    (env / "users").write_text("\n".join(lines) + "\n")
    for i, (pw, hashed, cmd) in enumerate(rows):
        assert verify(env, f"u{i}", pw), cmd
        assert not verify(env, f"u{i}", pw + "x"), cmd
    schemes = {re.match(r"\{([A-Z0-9-]+)", h).group(1) for _, h, _ in rows}
    for s in ("ARGON2ID", "SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "SHA512-CRYPT",
              "BLF-CRYPT", "PBKDF2", "SSHA512", "PLAIN"):
        assert s in schemes


def test_password_from_stdin(env):
    r = loft(env, "add", "bob", stdin="from stdin\n")
    assert r.returncode == 0, r.stderr
    assert "from stdin" not in r.stdout + r.stderr   # never echoed
    assert verify(env, "bob", "from stdin")
    assert not verify(env, "bob", "from stdin ")
    # CRLF line ending from a Windows editor: the CR is not part of it
    r = loft(env, "passwd", "bob", stdin="crlf pw\r\n")
    assert r.returncode == 0, r.stderr
    assert verify(env, "bob", "crlf pw")
    assert not verify(env, "bob", "from stdin")


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
    assert f[1].startswith("{ARGON2ID}")
    assert verify(env, "alice", "new secret")
    assert not verify(env, "alice", "old")
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
    assert verify(env, "carol", "pw-carol")


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
    assert verify(env, "JO.DOE_1+TAG@EXAMPLE.ORG-X", "pw")


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


@pytest.fixture
def scram_env(tmp_path):
    conf = tmp_path / "loft.conf"
    conf.write_text("[server]\nstate_dir = .\nusers_file = users\n"
                    "local_domains = example.org\n"
                    "[auth]\nstore_scram = both\nstore_cram_md5 = yes\n"
                    "argon2_memory = 1M\nargon2_passes = 1\n")
    return tmp_path


def test_several_forms_and_no_stale_keys(scram_env):
    env = scram_env
    assert loft(env, "add", "alice", "--password", "s3cret").returncode == 0
    line = users_lines(env)[0]
    assert line.startswith("alice:{ARGON2ID}$argon2id$v=19$m=1024,t=1,p=1$")
    extra = line.split(":", 7)[7]
    assert re.search(r"scram_sha256=\{SCRAM-SHA-256\}4096,", extra)
    assert re.search(r"scram_sha1=\{SCRAM-SHA-1\}4096,", extra)
    assert re.search(r"cram_md5=\{CRAM-MD5\}[0-9a-f]{64}", extra)
    assert verify(env, "alice", "s3cret")
    r = loft(env, "hash", "--password", "s3cret")
    assert r.returncode == 0
    out = r.stdout.splitlines()
    assert out[0].startswith("{ARGON2ID}") and out[1].startswith("scram_sha256=")
    # without SCRAM in the settings a new password drops the old keys
    (env / "loft.conf").write_text("[server]\nstate_dir = .\nusers_file = users\n")
    (env / "users").write_text(line + " quota_bytes=1G\n")
    assert loft(env, "passwd", "alice", "--password", "n3w").returncode == 0
    line = users_lines(env)[0]
    assert "scram" not in line and "cram_md5" not in line
    assert line.endswith(":quota_bytes=1G")
    assert verify(env, "alice", "n3w")


def test_show_never_prints_hashes(scram_env):
    env = scram_env
    assert loft(env, "add", "alice", "--password", "pw").returncode == 0
    line = users_lines(env)[0]
    (env / "users").write_text(
        line + " userdb_quota_rule=*:storage=2G quota_messages=500 pop3_delete=hide "
        "pop3_seen=no protocols=imap,pop3 imap_caps_off=CONDSTORE,IDLE mail=maildir:~/Mail\n")
    # the server's login state file, as it writes it
    (env / "logins").write_text("alice\timap\t1767225600\t192.0.2.7\n"
                                "alice\tapp:phone\t1767229200\t2001:db8::5\n"
                                "bob\timap\t1\t198.51.100.1\n")
    r = loft(env, "app-password", "add", "alice", "phone")
    assert r.returncode == 0, r.stderr
    r = loft(env, "show", "Alice@example.org")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "user: alice\n" in out
    assert "password: ARGON2ID m=1024 t=1 p=1\n" in out
    assert "stored forms: ARGON2ID SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5\n" in out
    assert f"quota_bytes: {2 << 30}\n" in out
    assert "quota_messages: 500\n" in out
    assert "pop3_delete: hide\n" in out and "pop3_seen: no\n" in out
    assert "protocols: imap pop3\n" in out and "disabled: no\n" in out
    assert "imap_caps_off: CONDSTORE,IDLE\n" in out
    assert "other fields (not used by Loft): mail\n" in out
    assert re.search(r"app passwords: 1\n  phone created \S+ last used "
                     r"2026-01-01T01:00:00Z from 2001:db8::5\n", out)
    assert "last logins: 1\n  imap 2026-01-01T00:00:00Z from 192.0.2.7\n" in out
    assert "198.51.100.1" not in out
    for secret in re.findall(r"[A-Za-z0-9+/]{20,}", (env / "users").read_text()):
        assert secret not in out
    assert "$argon2id" not in out and "maildir" not in out
    assert loft(env, "show", "nobody").returncode == 1


def test_app_password_round_trip(env):
    assert loft(env, "add", "alice", "--password", "main pw").returncode == 0
    r = loft(env, "app-password", "add", "alice", "phone")
    assert r.returncode == 0, r.stderr
    m = re.search(r"app password for alice on phone: ([a-z2-7]{5}(?:-[a-z2-7]{5}){3})\n",
                  r.stdout)
    assert m, r.stdout
    phone = m.group(1)
    assert stat.S_IMODE(os.stat(env / "app-passwords").st_mode) == 0o600
    assert phone not in (env / "app-passwords").read_text()
    r = loft(env, "app-password", "add", "alice", "laptop")
    laptop = re.search(r": (\S+)\n", r.stdout).group(1)
    t = loft(env, "test", "alice", stdin=phone + "\n")
    assert t.returncode == 0 and t.stdout == "accepted user=alice device=phone\n"
    t = loft(env, "test", "alice", stdin=phone.upper().replace("-", " ") + "\n")
    assert t.stdout == "accepted user=alice device=phone\n"
    assert loft(env, "test", "alice", stdin="main pw\n").stdout == "accepted user=alice\n"
    r = loft(env, "app-password", "list", "alice")
    assert [l.split("\t")[0] for l in r.stdout.splitlines()] == ["phone", "laptop"]
    assert "last used never" in r.stdout
    # errors
    assert loft(env, "app-password", "add", "alice", "phone").returncode == 1
    assert loft(env, "app-password", "add", "nobody", "phone").returncode == 1
    assert loft(env, "app-password", "add", "alice", "bad/name").returncode == 1
    assert loft(env, "app-password", "revoke", "alice", "tablet").returncode == 1
    assert loft(env, "app-password", "frob", "alice").returncode == 2
    assert loft(env, "app-password", "list").returncode == 2
    # revoke one: the other still works
    r = loft(env, "app-password", "revoke", "alice", "phone")
    assert r.returncode == 0, r.stderr
    assert loft(env, "test", "alice", stdin=phone + "\n").returncode == 1
    assert loft(env, "test", "alice", stdin=laptop + "\n").returncode == 0
    # deleting the user removes their app passwords
    assert loft(env, "del", "alice").returncode == 0
    assert "alice" not in (env / "app-passwords").read_text()
    assert loft(env, "add", "alice", "--password", "again").returncode == 0
    assert loft(env, "test", "alice", stdin=laptop + "\n").returncode == 1


def test_test_command(env):
    (env / "users").write_text("off:{PLAIN}pw::::::disabled=yes\nimap:{PLAIN}pw::::::"
                               "protocols=pop3\n")
    r = loft(env, "test", "off", "--password", "pw")
    assert r.returncode == 1 and r.stdout == "refused: EDISABLED\n"
    r = loft(env, "test", "imap", "--password", "pw")
    assert r.returncode == 1 and r.stdout == "refused: EDISABLED\n"
    r = loft(env, "test", "nobody", "--password", "pw")
    assert r.returncode == 1 and r.stdout == "refused: EFAIL\n"
    # one-shot checks write no login state and no secret
    assert not (env / "logins").exists()
    assert not (env / "auth-secret").exists()
