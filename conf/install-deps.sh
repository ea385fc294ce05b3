#!/usr/bin/env bash
# Installs the Debian packages Loft needs to build and test, and nothing
# else: it asks dpkg which are missing and only then runs apt-get (so a
# second run does no network access). Runs as root or through sudo, never
# reads stdin. --bench adds Debian's Dovecot, the benchmark reference peer.
set -euo pipefail

packages=(
	build-essential cmake pkg-config
	libuv1-dev liblmdb-dev lmdb-utils libssl-dev openssl libcmocka-dev libcrypt-dev
	libargon2-dev libsodium-dev
	libargon2-dev
	# IMAP COMPRESS=DEFLATE (RFC 4978) is zlib's raw DEFLATE.
	zlib1g-dev
	# server/dns/: c-ares is the DNS transport of the sender checks (SPF,
	# DKIM, DMARC, DNSBL); DMARC's organizational domains come from
	# Debian's Public Suffix List.
	libc-ares-dev publicsuffix
	clang libclang-rt-14-dev
	python3 python3-pytest curl ca-certificates isync fetchmail getmail6 procps
	# mbsync's SCRAM-SHA-256 comes from Cyrus SASL's modules (a Recommends,
	# not installed with --no-install-recommends); saslpluginviewer lists them.
	libsasl2-modules sasl2-bin
	# tests/e2e/test_storage_crash.py traces the durable write order;
	# test_user_cli.py checks our hashes with doveadm; unit tests use
	# unshare/mount (util-linux) for the disk-full and host-name cases.
	strace dovecot-core util-linux
	# tests/e2e/test_spam.py and bench/spam.py run a real rspamd on loopback
	rspamd
	# delivery tests: swaks (with TLS for STARTTLS/AUTH runs) and a private
	# Postfix instance relaying into Loft over LMTP (test_postfix.py)
	swaks libnet-ssleay-perl libio-socket-ssl-perl postfix
	# tests/conformance/test_spf_suite.py reads the RFC 7208 suite (YAML);
	# the DKIM tests sign with an independent signer (dkimpy's dkimsign).
	python3-yaml python3-dkim
	# tests/e2e/test_sieve_delivery.py uploads scripts with a real
	# ManageSieve client
	sieve-connect
	# tests/e2e/test_imap_imapflow.py drives Node's imapflow (npm, below)
	nodejs
)

for arg in "$@"; do
	case "$arg" in
	# --bench also brings Pigeonhole: the Sieve reference peer whose
	# decisions tests/differential/sieve_fixtures.py records
	--bench) packages+=(dovecot-imapd dovecot-pop3d dovecot-lmtpd dovecot-sieve
			   dovecot-managesieved) ;;
	-h|--help)
		echo "usage: $0 [--bench]   install missing build/test packages (Debian)"
		exit 0 ;;
	*) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
	esac
done

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps: not a Debian system (no dpkg/apt-get); install by hand: ${packages[*]}" >&2
	exit 1
fi

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$p")
done

# Sets as_root to run a command as root (sudo when not root), or exits.
as_root=()
need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		if command -v sudo >/dev/null 2>&1; then
			# -n: never prompt unless someone is at a terminal to answer.
			if [ -t 0 ]; then as_root=(sudo); else as_root=(sudo -n); fi
		else
			echo "install-deps: need root (or sudo) to install: ${missing[*]:-npm}" >&2
			exit 1
		fi
	fi
}

# The npm packages of the Node clients the e2e tests drive, exactly as
# tests/e2e/node/package-lock.json pins them (skipped when installed).
npm_deps() {
	local dir
	dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/e2e/node"
	if [ -f "$dir/package-lock.json" ] && ! [ -d "$dir/node_modules/imapflow" ]; then
		# Debian's nodejs comes without npm (package npm); a NodeSource
		# nodejs bundles it and conflicts with Debian's npm package.
		if ! command -v npm >/dev/null 2>&1; then
			echo "install-deps: installing npm"
			need_root
			"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
				--no-install-recommends npm </dev/null
		fi
		echo "install-deps: npm ci in $dir"
		(cd "$dir" && npm ci --no-audit --no-fund </dev/null)
	fi
}

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#packages[@]} packages present"
	npm_deps
	exit 0
fi

need_root

echo "install-deps: installing ${missing[*]}"
# Postfix is only run by the tests, from their own configuration: install
# it unconfigured ("No configuration") so no system instance is set up.
if printf '%s\n' "${missing[@]}" | grep -qx postfix; then
	echo "postfix postfix/main_mailer_type select No configuration" |
		"${as_root[@]}" debconf-set-selections
fi
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	--no-install-recommends "${missing[@]}" </dev/null
npm_deps
