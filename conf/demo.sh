#!/usr/bin/env bash
# One command to try Loft: installs what is missing, builds a Release binary
# into build/ and starts `loft demo` in ./demo (or $LOFT_DEMO_DIR), which
# prints the ports, the demo user and its password. Extra arguments go to
# `loft demo` (for example --port-base 2000).
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

bash conf/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"
exec build/loft demo "${LOFT_DEMO_DIR:-$PWD/demo}" "$@"
