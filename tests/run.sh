#!/usr/bin/env bash
# The whole test suite in one command: installs missing packages, builds
# build/ (RelWithDebInfo) and runs ctest (unit + e2e), builds build-asan/
# (AddressSanitizer + UBSan) and runs ctest again, then builds the libFuzzer
# targets into build-fuzz/ with clang and runs each briefly as a smoke test.
# Works from any directory, as root, without stdin (CI). Exits non-zero on
# any failure and ends with "N passed, M failed" over both ctest runs.
set -uo pipefail
exec </dev/null
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." || exit 1

jobs=$(nproc 2>/dev/null || echo 2)
fuzz_runs=${LOFT_FUZZ_RUNS:-20000}
logdir=$(mktemp -d "${TMPDIR:-/tmp}/loft-run.XXXXXX")
trap 'rm -rf "$logdir"' EXIT

passed=0
failed=0
problems=()

stage() { printf '\n==== %s ====\n' "$*"; }

# Run ctest in build dir $1, add its counts to the totals.
run_ctest() {
	local dir=$1 log="$logdir/ctest-$(basename "$1").log"
	ctest --test-dir "$dir" --output-on-failure -j2 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	local line total nfail
	line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n1)
	if [ -n "$line" ]; then
		nfail=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
		total=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
		passed=$((passed + total - nfail))
		failed=$((failed + nfail))
		[ "$nfail" -eq 0 ] || problems+=("$dir: $nfail of $total tests failed")
	elif grep -q 'No tests were found' "$log"; then
		problems+=("$dir: no tests found")
	else
		problems+=("$dir: ctest did not report results (exit $rc)")
	fi
	[ "$rc" -eq 0 ] || [ -n "$line" ] || problems+=("$dir: ctest exit $rc")
}

# Configure and build $1 with the remaining cmake arguments.
build() {
	local dir=$1
	shift
	if cmake -S . -B "$dir" "$@" >"$logdir/cmake-$dir.log" 2>&1 &&
	   cmake --build "$dir" -j"$jobs"; then
		return 0
	fi
	cat "$logdir/cmake-$dir.log" >&2
	problems+=("$dir: build failed")
	return 1
}

stage "dependencies"
if ! bash conf/install-deps.sh; then
	problems+=("conf/install-deps.sh failed")
fi

stage "build/ (RelWithDebInfo)"
if build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOFT_SANITIZE=OFF -DLOFT_FUZZ=OFF; then
	stage "ctest build/"
	run_ctest build
fi

stage "build-asan/ (AddressSanitizer + UBSan)"
if build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOFT_SANITIZE=ON -DLOFT_FUZZ=OFF; then
	stage "ctest build-asan/"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		run_ctest build-asan
fi

stage "build-fuzz/ (libFuzzer, clang) and $fuzz_runs runs per target"
if build build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOFT_FUZZ=ON; then
	shopt -s nullglob
	targets=(build-fuzz/fuzz-*)
	[ ${#targets[@]} -gt 0 ] || echo "no fuzz targets (tests/fuzz/fuzz-*.c) yet"
	for t in "${targets[@]}"; do
		[ -x "$t" ] && [ -f "$t" ] || continue
		name=$(basename "$t")
		corpus="$logdir/corpus-$name"
		mkdir -p "$corpus"
		# Seed from the checked-in corpus, but let libFuzzer write new
		# inputs into a scratch copy, never into the source tree.
		for seed in "tests/fuzz/corpus/$name" "tests/fuzz/corpus/${name#fuzz-}"; do
			[ -d "$seed" ] && cp -r "$seed"/. "$corpus"/
		done
		mkdir -p build-fuzz/artifacts
		if "$t" -runs="$fuzz_runs" -max_total_time=120 \
			-artifact_prefix=build-fuzz/artifacts/ \
			"$corpus" >"$logdir/$name.log" 2>&1; then
			echo "fuzz $name: ok ($fuzz_runs runs)"
		else
			tail -n 60 "$logdir/$name.log"
			problems+=("fuzz target $name failed (inputs in build-fuzz/artifacts/)")
		fi
	done
fi

stage "summary"
for p in "${problems[@]}"; do
	echo "FAILED: $p"
done
echo "$passed passed, $failed failed"
[ ${#problems[@]} -eq 0 ] && [ "$failed" -eq 0 ]
