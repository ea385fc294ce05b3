"""The client examples of README.md ("Connecting a client to the demo"),
run as written against `loft demo` on a random port base: the Thunderbird
settings (IMAPS port, SSL/TLS, "normal password" = AUTHENTICATE PLAIN, user
name), the mbsync configuration (isync + Cyrus SASL's SCRAM-SHA-256 module)
and every curl command of the first IMAP curl block. Only the paths, the
port base and the password placeholder are substituted.

mbsync logs in and then stops at LIST, because the IMAP mailbox commands
have not landed yet: the test requires the SCRAM login and allows that one
error only, so it tightens by itself to a full sync once LIST works.
fetchmail needs POP3 logins (the POP3 work in progress) and is not run."""

import base64
import os
import re
import subprocess

import pytest

from test_demo import OFFSETS, Demo, free_port_base

HERE = os.path.dirname(os.path.abspath(__file__))
README = os.path.join(os.environ.get("LOFT_SOURCE_DIR") or os.path.join(HERE, "..", ".."),
                      "README.md")


def readme_section():
    text = open(README).read()
    start = text.index("## Connecting a client to the demo")
    end = text.index("\n## ", start + 1) if "\n## " in text[start + 1:] else len(text)
    return text[start:end]


def code_block_after(section, marker):
    i = section.index(marker)
    m = re.compile(r"```[a-z]*\n(.*?)```", re.S).search(section, i)
    return m.group(1)


@pytest.fixture
def demo(tmp_path):
    base = free_port_base()
    d = tmp_path / "demo"
    proc = Demo(tmp_path, d, ["--port-base", str(base)], "demo")
    ports = {name: base + off for name, off in OFFSETS.items()}
    proc.wait_listening(ports.values())
    password = (d / "demo-password").read_text().strip()
    yield {"dir": d, "base": base, "ports": ports, "password": password, "proc": proc,
           "tmp": tmp_path}
    proc.stop()


def localize(text, demo):
    """README's placeholders -> this demo (ports are N+offset, N = 1000)."""
    out = re.sub(r"(?<=\s)demo/cert\.pem", str(demo["dir"] / "cert.pem"), text)
    out = out.replace("/path/to/loft/demo", str(demo["dir"]))
    out = out.replace("PASSWORD", demo["password"])
    for name, off in OFFSETS.items():
        out = re.sub(r"(?<=[ :])%d\b" % (1000 + off), str(demo["base"] + off), out)
    return out


def test_thunderbird_settings(demo):
    """Port 1993 with SSL/TLS is the demo's implicit-TLS IMAP listener, and
    "normal password" (AUTHENTICATE PLAIN, which Thunderbird prefers) logs
    in user demo there."""
    section = readme_section()
    m = re.search(r"\*\*Thunderbird\*\*:(.*?)\n\n", section, re.S)
    para = " ".join(m.group(1).split())
    assert "port 1993, SSL/TLS, normal password" in para, para
    assert "user name `demo`" in para, para
    port = int(localize(" 1993", demo))
    r = subprocess.run(
        ["openssl", "s_client", "-connect", "localhost:%d" % port, "-servername",
         "localhost", "-CAfile", str(demo["dir"] / "cert.pem"), "-verify_return_error",
         "-crlf", "-quiet"],
        input=("c CAPABILITY\na AUTHENTICATE PLAIN %s\nz LOGOUT\n"
               % base64.b64encode(b"\0demo\0" + demo["password"].encode()).decode()),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert re.search(r"^\* CAPABILITY .*AUTH=PLAIN", r.stdout, re.M), r.stdout
    assert re.search(r"^a OK \[CAPABILITY ", r.stdout, re.M), r.stdout


def test_mbsync_as_in_readme(demo):
    section = readme_section()
    rc = localize(code_block_after(section, "**mbsync**"), demo)
    home = demo["tmp"] / "home"
    home.mkdir()
    (home / ".mbsyncrc").write_text(rc)
    sasl = subprocess.run(["saslpluginviewer", "-c"], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=60).stdout
    assert re.search(r"^Available SASL \(client side\).*\n.*\bSCRAM-SHA-256\b", sasl, re.M), sasl
    env = dict(os.environ, HOME=str(home))
    # the README's command line: mkdir -p ~/Mail/loft && mbsync -a
    r = subprocess.run("mkdir -p ~/Mail/loft && mbsync -V -a", shell=True, env=env,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=120)
    out = r.stdout
    assert "Authenticating with SASL mechanism SCRAM-SHA-256" in out, out
    assert not re.search(r"authenticat\w* fail|LOGIN failed|certificate", out, re.I), out
    if r.returncode != 0:
        errors = [l for l in out.splitlines() if re.search(r"error|fail", l, re.I)]
        assert errors and all("'LIST " in l and "Unknown command" in l for l in errors), out
    log = demo["proc"].errors()
    assert re.search(r"login user=demo mech=SCRAM-SHA-256$", log, re.M), log[-3000:]
    assert "login failed" not in log, log[-3000:]


def test_curl_commands_as_in_readme(demo):
    section = readme_section()
    block = code_block_after(section, "**curl**")
    cmds = [l for l in block.splitlines() if l.startswith("curl ")]
    assert len(cmds) >= 3 and any("--login-options" in c for c in cmds), cmds
    mark = len(demo["proc"].errors())
    for cmd in cmds:
        r = subprocess.run(localize(cmd, demo), shell=True, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60)
        assert r.returncode == 0, (cmd, r.returncode, r.stderr)
        if "CAPABILITY" in cmd:
            assert "AUTH=SCRAM-SHA-256" in r.stdout, r.stdout
    log = demo["proc"].errors()[mark:]
    for mech in re.findall(r"AUTH=(\S+)", block):
        assert re.search(r"login user=demo mech=%s$" % mech, log, re.M), (mech, log[-3000:])
