#!/usr/bin/env bash
# Installs the Debian packages Loft needs to build and test, and nothing
# else: it asks dpkg which are missing and only then runs apt-get (so a
# second run does no network access). Runs as root or through sudo, never
# reads stdin. --bench adds Debian's Dovecot, the benchmark reference peer.
set -euo pipefail

packages=(
	build-essential cmake pkg-config
	libuv1-dev liblmdb-dev lmdb-utils libssl-dev openssl libcmocka-dev libcrypt-dev
	libargon2-dev
	clang libclang-rt-14-dev
	python3 python3-pytest curl ca-certificates isync fetchmail getmail6 procps
	# tests/e2e/test_storage_crash.py traces the durable write order;
	# test_user_cli.py checks our hashes with doveadm; unit tests use
	# unshare/mount (util-linux) for the disk-full and host-name cases.
	strace dovecot-core util-linux
	# tests/e2e/test_sieve_delivery.py uploads scripts with a real
	# ManageSieve client
	sieve-connect
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

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#packages[@]} packages present"
	exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		# -n: never prompt unless someone is at a terminal to answer.
		if [ -t 0 ]; then as_root=(sudo); else as_root=(sudo -n); fi
	else
		echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
		exit 1
	fi
fi

echo "install-deps: installing ${missing[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	--no-install-recommends "${missing[@]}" </dev/null
