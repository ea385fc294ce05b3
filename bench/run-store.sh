#!/bin/sh
# Build Loft in Release mode and run the store benchmark (bench/bench-store.c).
# Usage: bench/run-store.sh [WORK_DIR] [--quick]
#   WORK_DIR  where the benchmark's mail directories go; must be on a real
#             disk, not tmpfs, because fsync cost is what is measured
#             (default /var/tmp/loft-bench). Removed again afterwards.
# Environment: BUILD_DIR (default build-release next to the source tree).
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$src/build-release}
work=${1:-/var/tmp/loft-bench}
[ $# -gt 0 ] && shift

fs=$(stat -f -c %T "$(dirname "$work")" 2>/dev/null || echo unknown)
if [ "$fs" = tmpfs ] || [ "$fs" = ramfs ]; then
	echo "run-store.sh: $work is on $fs; fsync is free there, results would mislead" >&2
	exit 2
fi

cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DLOFT_TESTS=OFF >/dev/null
cmake --build "$build" --target bench-store -j2 >/dev/null
exec "$build/bench-store" "$work" "$@"
