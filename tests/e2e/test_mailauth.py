"""Sender checks end to end, short of the SMTP session: the real checks
(server/mailauth/mailauth.h) on a libuv loop with the real c-ares resolver
(tests/tools/mailauth-check.c), asking a DNS server started here on
loopback (dnsserver.py, standard library only).

- DKIM: messages signed by an independent signer (Debian's python3-dkim,
  `dkimsign` and its module) with rsa-sha256 and ed25519-sha256 in every
  combination of simple and relaxed canonicalisation pass; tampered bodies
  and headers fail; l= and over-signing behave; the signed messages of the
  mail corpus verify as tests/corpus/mail/dkim-keys/verify-results.tsv
  says (offline, tests/tools/dkim-verify.c).
- SPF, DMARC, DNSBL results and the actions of [mailauth]: tag, 550
  5.7.23, 550 5.7.1, the Junk folder, 554 5.7.1.
- Bad input: DNS timeouts and SERVFAIL (temperror within the time
  limits), TXT records of 64 KiB (TCP after truncation), include loops,
  a 16384-bit key (policy, refused before any RSA work) and a bogus base64
  body hash (neutral)."""

import os
import re
import subprocess
import time

import pytest

from dnsserver import DnsServer

BUILD = os.environ.get("LOFT_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
SOURCE = os.environ.get("LOFT_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
CHECK = os.path.join(BUILD, "mailauth-check")
DKIM_VERIFY = os.path.join(BUILD, "dkim-verify")
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "dkim")
CORPUS = os.path.join(SOURCE, "tests", "corpus", "mail")

MESSAGE = (b"From: Alice <alice@example.org>\r\n"
           b"To: bob@localhost\r\n"
           b"Subject: lunch on Friday\r\n"
           b"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
           b"Message-ID: <lunch@example.org>\r\n"
           b"\r\n"
           b"Shall we meet  at noon?\t \r\n"
           b"\r\n"
           b"Alice\r\n\r\n\r\n")


class Result:
    def __init__(self, out, dns):
        self.out = out
        self.dns = dns
        self.fields = dict(re.findall(r"^([a-z_-]+): ?(.*)$", out, re.M))
        self.verdict = self.fields.get("verdict", "").strip()
        self.elapsed_ms = int(self.fields.get("elapsed_ms", "0"))
        m = re.search(r"^Authentication-Results: .*?(?=^\S|\Z)", out, re.M | re.S)
        self.authres = m.group(0) if m else ""

    def method(self, name):
        """[(result, rest of the resinfo)] for a method of the A-R field."""
        return re.findall(r"\b%s=(\w+)([^;\r\n]*)" % name, self.authres)


def check(tmp_path, zone, message=MESSAGE, ip="192.0.2.7", helo="mail.example.org",
          mail_from="alice@example.org", conf="", on_spf=False, dns_timeout="500ms",
          retries=1):
    msg = tmp_path / "msg.eml"
    msg.write_bytes(message)
    with DnsServer(zone) as dns:
        cfg = tmp_path / "loft.conf"
        cfg.write_text("[server]\nhostname = mx.loft.test\n"
                       "[dns]\nresolver = 127.0.0.1\nresolver_port = %d\n"
                       "timeout = %s\nretries = %d\n%s\n"
                       % (dns.port, dns_timeout, retries,
                          conf if conf.lstrip().startswith("[") else "[mailauth]\n" + conf))
        args = [CHECK] + (["--on-spf"] if on_spf else []) + [str(cfg), ip, helo, mail_from,
                                                             str(msg)]
        run = subprocess.run(args, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        res = Result(run.stdout, dns)
        assert "loop: clean" in run.stdout
        return res


def keys(tmp_path):
    """An RSA and an ed25519 key made by dkimpy's dknewkey."""
    out = {}
    for kt in ("rsa", "ed25519"):
        subprocess.run(["dknewkey", "--ktype", kt, str(tmp_path / kt)], check=True,
                       capture_output=True)
        out[kt] = ((tmp_path / (kt + ".key")).read_bytes(),
                   (tmp_path / (kt + ".dns")).read_text().strip())
    return out


def dkimsign(key_path, message, signalg, hcanon, bcanon, selector="sel", domain="example.org"):
    run = subprocess.run(["dkimsign", "--signalg", signalg, "--hcanon", hcanon, "--bcanon",
                          bcanon, selector, domain, str(key_path)],
                         input=message, capture_output=True, check=True)
    return run.stdout


BASE_ZONE = {
    "example.org": [("TXT", "v=spf1 ip4:192.0.2.0/24 -all")],
    "_dmarc.example.org": [("TXT", "v=DMARC1; p=reject")],
}


# ---- DKIM ----

@pytest.mark.parametrize("signalg", ["rsa-sha256", "ed25519-sha256"])
@pytest.mark.parametrize("hcanon", ["simple", "relaxed"])
@pytest.mark.parametrize("bcanon", ["simple", "relaxed"])
def test_dkim_independent_signer(tmp_path, signalg, hcanon, bcanon):
    k = keys(tmp_path)
    kt = "rsa" if signalg.startswith("rsa") else "ed25519"
    signed = dkimsign(tmp_path / (kt + ".key"), MESSAGE, signalg, hcanon, bcanon)
    zone = dict(BASE_ZONE)
    zone["sel._domainkey.example.org"] = [("TXT", k[kt][1])]
    r = check(tmp_path, zone, signed, ip="198.51.100.9")
    [(res, rest)] = r.method("dkim")
    assert res == "pass", r.out
    assert "header.d=example.org" in rest and "header.s=sel" in rest
    b = re.search(r"\bb=([^;]+)", signed.decode()).group(1).replace(" ", "").replace("\r\n", "")
    assert "header.b=" + b[:8] in rest
    # SPF fails from this address, DKIM is aligned: DMARC passes
    assert r.method("spf")[0][0] == "fail"
    assert r.method("dmarc")[0][0] == "pass"
    assert r.verdict.startswith("accept")

    body = signed.replace(b"at noon?", b"at one? ")
    r = check(tmp_path, zone, body, ip="198.51.100.9")
    assert r.method("dkim") == [("fail", r.method("dkim")[0][1])]
    assert "body hash did not verify" in r.authres
    assert r.method("dmarc")[0][0] == "fail"
    assert r.verdict.startswith("reject 550 5.7.1")

    header = signed.replace(b"Subject: lunch", b"Subject: Lunch")
    r = check(tmp_path, zone, header, ip="198.51.100.9")
    assert r.method("dkim")[0][0] == "fail"
    assert "signature did not verify" in r.authres


def test_dkim_length_and_oversigning(tmp_path):
    import dkim
    k = keys(tmp_path)
    zone = dict(BASE_ZONE)
    zone["sel._domainkey.example.org"] = [("TXT", k["rsa"][1])]
    signed = dkim.sign(MESSAGE, b"sel", b"example.org", k["rsa"][0], length=True) + MESSAGE
    assert b" l=" in signed or b";l=" in signed or b"l=" in signed.split(b"\r\n\r\n")[0]
    r = check(tmp_path, zone, signed + b"appended after the signed length\r\n")
    assert r.method("dkim")[0][0] == "pass", r.out
    # dkimpy signs From twice in h= (over-signing): a second From breaks it
    signed = dkim.sign(MESSAGE, b"sel", b"example.org", k["rsa"][0]) + MESSAGE
    forged = signed.replace(b"To: bob", b"From: mallory@example.org\r\nTo: bob")
    r = check(tmp_path, zone, forged)
    assert r.method("dkim")[0][0] == "fail"


def corpus_rows():
    rows = []
    path = os.path.join(CORPUS, "dkim-keys", "verify-results.tsv")
    for line in open(path):
        if line.startswith("#") or line.startswith("file\t"):
            continue
        f, n, keyname, result = line.rstrip("\n").split("\t")
        rows.append((f, int(n), keyname, result))
    return rows


@pytest.mark.parametrize("row", corpus_rows(), ids=lambda r: "%s#%d" % (r[0], r[1]))
def test_dkim_corpus(row):
    f, n, keyname, expected = row
    data = open(os.path.join(CORPUS, f), "rb").read()
    ts = [int(t) for t in re.findall(rb"\bt=(\d+)", data.split(b"\n\n")[0].split(b"\r\n\r\n")[0])]
    now = (ts[n - 1] if n - 1 < len(ts) else max(ts or [int(time.time())])) + 60
    out = subprocess.run([DKIM_VERIFY, "--now", str(now),
                          os.path.join(CORPUS, "dkim-keys", "keys.tsv"), os.path.join(CORPUS, f)],
                         capture_output=True, text=True, check=True).stdout
    results = [l.split("\t") for l in out.splitlines()]
    got = results[n - 1][1]
    if expected == "pass":
        assert got == "pass", out
    elif expected == "no-key":
        assert got == "permerror" and "no key" in results[n - 1][5], out
    elif expected.startswith("error: d= value is not valid"):
        assert got == "neutral", out
    else:
        assert got != "pass", out


# ---- SPF ----

def test_spf_results_and_identities(tmp_path):
    zone = {"example.org": [("TXT", "v=spf1 ip4:192.0.2.0/24 ~all")],
            "helo.example.net": [("TXT", "v=spf1 a -all"), ("A", "203.0.113.5")]}
    r = check(tmp_path, zone, conf="checks = spf")
    assert r.method("spf") == [("pass", " (matched ip4:192.0.2.0/24) smtp.mailfrom=alice@example.org")]
    assert r.method("dkim") == [] and r.method("dmarc") == []
    r = check(tmp_path, zone, ip="198.51.100.1", conf="checks = spf")
    assert r.method("spf")[0][0] == "softfail"
    assert r.verdict.startswith("accept")
    # the null reverse-path: the HELO identity
    r = check(tmp_path, zone, ip="203.0.113.5", helo="helo.example.net", mail_from="",
              conf="checks = spf")
    assert r.method("spf") == [("pass", " (matched a) smtp.helo=helo.example.net")]
    r = check(tmp_path, zone, ip="198.51.100.1", helo="helo.example.net", mail_from="",
              conf="checks = spf")
    assert r.method("spf")[0][0] == "fail"


def test_spf_fail_actions(tmp_path):
    zone = {"example.org": [("TXT", "v=spf1 ip4:192.0.2.0/24 exp=why.example.org -all")],
            "why.example.org": [("TXT", "%{i} is not a mail server of %{d}")]}
    r = check(tmp_path, zone, ip="198.51.100.1", conf="checks = spf\nspf_fail = tag",
              on_spf=True)
    assert r.fields["spf-verdict"].startswith("accept")
    assert r.verdict.startswith("accept")
    assert r.method("spf")[0][0] == "fail"
    r = check(tmp_path, zone, ip="198.51.100.1", conf="checks = spf\nspf_fail = reject",
              on_spf=True)
    assert r.fields["spf-verdict"] == ("reject 550 5.7.23 SPF validation failed: "
                                       "198.51.100.1 is not a mail server of example.org")
    assert r.verdict.startswith("reject 550 5.7.23")


def test_include_loop_is_permerror(tmp_path):
    zone = {"example.org": [("TXT", "v=spf1 include:loop.example.org -all")],
            "loop.example.org": [("TXT", "v=spf1 include:example.org ?all")]}
    r = check(tmp_path, zone, conf="checks = spf")
    assert r.method("spf")[0][0] == "permerror"
    assert "too many DNS lookups" in r.authres
    assert r.elapsed_ms < 5000


# ---- DMARC ----

def dmarc_zone(policy, spf="v=spf1 ip4:192.0.2.0/24 -all"):
    return {"example.org": [("TXT", spf)], "_dmarc.example.org": [("TXT", policy)]}


@pytest.mark.parametrize("policy,conf,verdict", [
    ("v=DMARC1; p=reject", "", "reject 550 5.7.1 Email from example.org rejected per its DMARC policy"),
    ("v=DMARC1; p=reject", "dmarc_reject = quarantine", "junk"),
    ("v=DMARC1; p=reject", "dmarc_reject = tag", "accept"),
    ("v=DMARC1; p=quarantine", "", "junk"),
    ("v=DMARC1; p=quarantine", "dmarc_quarantine = reject", "reject 550 5.7.1"),
    ("v=DMARC1; p=none", "", "accept"),
    ("v=DMARC1; p=reject; pct=0", "", "junk"),
])
def test_dmarc_actions(tmp_path, policy, conf, verdict):
    r = check(tmp_path, dmarc_zone(policy), ip="198.51.100.1", conf=conf)
    assert r.method("dmarc")[0][0] == "fail"
    assert "header.from=example.org" in r.authres
    assert r.verdict.startswith(verdict), r.out
    # aligned SPF passes
    r = check(tmp_path, dmarc_zone(policy), conf=conf)
    assert r.method("dmarc")[0][0] == "pass"
    assert r.verdict.startswith("accept")


def test_dmarc_from_fields(tmp_path):
    zone = dmarc_zone("v=DMARC1; p=none")
    zone["_dmarc.strict.test"] = [("TXT", "v=DMARC1; p=reject")]
    two = MESSAGE.replace(b"From: Alice <alice@example.org>",
                          b"From: Alice <alice@example.org>, Eve <eve@strict.test>")
    r = check(tmp_path, zone, two)
    assert [x[0] for x in r.method("dmarc")] == ["pass", "fail"]
    assert r.verdict.startswith("reject 550 5.7.1 Email from strict.test")
    fields = MESSAGE.replace(b"To: bob", b"From: eve@strict.test\r\nTo: bob")
    r = check(tmp_path, zone, fields)
    assert r.verdict.startswith("reject"), r.out
    assert "several From: fields" in r.authres
    none = MESSAGE.replace(b"From: Alice <alice@example.org>\r\n", b"")
    r = check(tmp_path, zone, none)
    assert r.method("dmarc") == [("permerror", " (no From: field)")]
    assert r.verdict.startswith("accept")
    # no record anywhere: none; a subdomain finds its organizational domain's
    sub = MESSAGE.replace(b"alice@example.org>", b"alice@news.example.org>")
    r = check(tmp_path, dmarc_zone("v=DMARC1; p=reject; sp=quarantine"), sub, ip="198.51.100.1")
    assert r.method("dmarc")[0][0] == "fail"
    assert r.verdict.startswith("junk")
    assert ("_dmarc.news.example.org", "TXT") in r.dns.queries
    r = check(tmp_path, {"example.org": [("TXT", "v=spf1 -all")]}, MESSAGE)
    assert r.method("dmarc")[0][0] == "none"


# ---- bad input ----

def test_dns_timeouts_are_temperror_within_bounds(tmp_path):
    zone = {"example.org": "timeout", "_dmarc.example.org": "timeout"}
    r = check(tmp_path, zone, dns_timeout="300ms", retries=1)
    assert r.method("spf")[0][0] == "temperror"
    assert r.method("dmarc")[0][0] == "temperror"
    assert r.elapsed_ms < 600 + 1000
    # a resolver slower than [mailauth] timeout: the checks end at it
    k = keys(tmp_path)
    signed = dkimsign(tmp_path / "rsa.key", MESSAGE, "rsa-sha256", "relaxed", "relaxed")
    zone = {"example.org": [("TXT", "v=spf1 ip4:192.0.2.0/24 -all")],
            "sel._domainkey.example.org": "timeout", "_dmarc.example.org": "timeout"}
    r = check(tmp_path, zone, signed, dns_timeout="5s", retries=2, conf="timeout = 1s")
    assert r.method("spf")[0][0] == "pass"
    assert r.method("dkim")[0][0] == "temperror"
    assert r.method("dmarc")[0][0] == "temperror"
    assert 900 <= r.elapsed_ms < 3000, r.out
    assert r.verdict.startswith("accept")


def test_servfail_is_temperror(tmp_path):
    k = keys(tmp_path)
    signed = dkimsign(tmp_path / "ed25519.key", MESSAGE, "ed25519-sha256", "relaxed", "simple")
    zone = {"example.org": "servfail", "sel._domainkey.example.org": "refused",
            "_dmarc.example.org": "servfail"}
    r = check(tmp_path, zone, signed)
    assert r.method("spf")[0][0] == "temperror"
    assert r.method("dkim")[0][0] == "temperror"
    assert r.method("dmarc")[0][0] == "temperror"
    assert r.elapsed_ms < 2000


def test_txt_records_of_64k(tmp_path):
    big = "x" * 65000
    zone = {"example.org": [("TXT", big), ("TXT", "v=spf1 ip4:192.0.2.0/24 -all")]}
    r = check(tmp_path, zone, conf="checks = spf")
    assert r.method("spf")[0][0] == "pass", r.out
    terms = " ".join("ip4:10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255)
                     for i in range(4200))
    spf = "v=spf1 " + terms + " ip4:192.0.2.7 -all"
    assert len(spf) > 60000
    zone = {"example.org": [("TXT", spf)]}
    r = check(tmp_path, zone, conf="checks = spf")
    assert r.method("spf")[0][0] == "pass", r.out
    r = check(tmp_path, zone, ip="192.0.2.8", conf="checks = spf")
    assert r.method("spf")[0][0] == "fail"


def test_16384_bit_key_is_policy(tmp_path):
    message = open(os.path.join(FIXTURES, "rsa16384.eml"), "rb").read()
    pub = open(os.path.join(FIXTURES, "rsa16384.pub")).read().strip()
    zone = {"big._domainkey.big.example.org": [("TXT", "v=DKIM1; k=rsa; p=" + pub)]}
    r = check(tmp_path, zone, message, conf="checks = dkim")
    assert r.method("dkim")[0][0] == "policy"
    assert "RSA key larger than dkim_max_rsa_bits" in r.authres
    assert r.elapsed_ms < 1000
    # the key is real: allowed, the signature verifies
    r = check(tmp_path, zone, message, conf="checks = dkim\ndkim_max_rsa_bits = 16384")
    assert r.method("dkim")[0][0] == "pass", r.out
    assert "16384-bit key" in r.authres


def test_bogus_body_hash(tmp_path):
    k = keys(tmp_path)
    signed = dkimsign(tmp_path / "rsa.key", MESSAGE, "rsa-sha256", "relaxed", "relaxed")
    zone = {"sel._domainkey.example.org": [("TXT", k["rsa"][1])]}
    bogus = re.sub(rb"bh=[^;]+;", b"bh=!!not*base64!!;", signed)
    r = check(tmp_path, zone, bogus, conf="checks = dkim")
    assert r.method("dkim")[0][0] == "neutral"
    assert "bh= is not base64" in r.authres
    wrong = re.sub(rb"bh=[^;]+;", b"bh=" + b"A" * 43 + b"=;", signed)
    r = check(tmp_path, zone, wrong, conf="checks = dkim")
    assert r.method("dkim")[0][0] == "fail"
    assert "body hash did not verify" in r.authres


# ---- blocklists ----

@pytest.mark.parametrize("answer,action,dnsbl,verdict", [
    ("127.0.0.2", "reject", "reject 554 5.7.1 Service unavailable; client host [192.0.2.7] "
                            "blocked using bl.test", "accept"),
    ("127.0.0.2", "tag", "accept", "accept"),
    ("127.255.255.254", "reject", "accept", "accept"),
    (None, "reject", "accept", "accept"),
])
def test_dnsbl(tmp_path, answer, action, dnsbl, verdict):
    zone = dict(BASE_ZONE)
    if answer:
        zone["7.2.0.192.bl.test"] = [("A", answer)]
    r = check(tmp_path, zone, conf="dnsbl_zones = bl.test\ndnsbl_action = %s" % action)
    assert r.fields["dnsbl"].strip() == dnsbl
    assert r.verdict.startswith(verdict)
    tagged = "X-Loft-DNSBL: 192.0.2.7 listed in bl.test (127.0.0.2)" in r.out
    assert tagged == (answer == "127.0.0.2" and action == "tag")
    assert ("7.2.0.192.bl.test", "A") in r.dns.queries


def test_authserv_id(tmp_path):
    r = check(tmp_path, BASE_ZONE)
    assert r.authres.startswith("Authentication-Results: mx.loft.test;")
    r = check(tmp_path, BASE_ZONE, conf="authserv_id = auth.example.net")
    assert r.authres.startswith("Authentication-Results: auth.example.net;")
    assert r.method("dkim") == [("none", " (message not signed)")]


# ---- every limit is a setting ----

def test_limits_from_settings(tmp_path):
    zone = {"example.org": [("TXT", "v=spf1 a:a1.example.org a:a2.example.org "
                                    "a:a3.example.org ip4:192.0.2.0/24 -all")],
            "a1.example.org": [("A", "203.0.113.1")], "a2.example.org": [("A", "203.0.113.2")],
            "a3.example.org": [("A", "203.0.113.3")]}
    assert check(tmp_path, zone, conf="checks = spf").method("spf")[0][0] == "pass"
    r = check(tmp_path, zone, conf="checks = spf\nspf_lookup_limit = 2")
    assert r.method("spf")[0][0] == "permerror"
    zone["example.org"] = [("TXT", "v=spf1 a:none.example.org ip4:192.0.2.0/24 -all")]
    assert check(tmp_path, zone, conf="checks = spf").method("spf")[0][0] == "pass"
    r = check(tmp_path, zone, conf="checks = spf\nspf_void_limit = 0")
    assert r.method("spf")[0][0] == "permerror"

    k = keys(tmp_path)
    signed = dkimsign(tmp_path / "rsa.key", MESSAGE, "rsa-sha256", "relaxed", "relaxed")
    zone = {"sel._domainkey.example.org": [("TXT", k["rsa"][1])]}
    assert check(tmp_path, zone, signed, conf="checks = dkim").method("dkim")[0][0] == "pass"
    r = check(tmp_path, zone, signed, conf="checks = dkim\ndkim_min_rsa_bits = 4096")
    assert r.method("dkim")[0][0] == "policy"
    assert "smaller than dkim_min_rsa_bits" in r.authres
    padded = signed.replace(b"To: bob", b"X-Padding: " + b"p" * 70000 + b"\r\nTo: bob")
    r = check(tmp_path, zone, padded, conf="max_header = 64K")
    assert r.method("dkim")[0][0] == "policy"
    assert r.method("dmarc")[0][0] == "permerror"
    twice = dkimsign(tmp_path / "ed25519.key", signed, "ed25519-sha256", "relaxed", "simple",
                     selector="ed")
    zone["ed._domainkey.example.org"] = [("TXT", k["ed25519"][1])]
    r = check(tmp_path, zone, twice, conf="checks = dkim")
    assert [x[0] for x in r.method("dkim")] == ["pass", "pass"]
    r = check(tmp_path, zone, twice, conf="checks = dkim\ndkim_max_signatures = 1")
    assert [x[0] for x in r.method("dkim")] == ["pass", "policy"]
    r = check(tmp_path, zone, twice, conf="checks = none")
    assert r.authres == "Authentication-Results: mx.loft.test; none\n"
