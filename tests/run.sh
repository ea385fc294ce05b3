#!/usr/bin/env bash
# The whole test suite in one command: installs missing packages, builds
# build/ (RelWithDebInfo) and runs ctest (unit + e2e), builds build-asan/
# (AddressSanitizer + UBSan) and runs ctest again, then builds the libFuzzer
# targets into build-fuzz/ with clang and runs each briefly as a smoke test.
# Works from any directory, as root, without stdin (CI). It counts test
# cases, not ctest entries (cmocka and pytest write JUnit XML; see
# tests/results.py): passed, failed and skipped per build and in total. A
# skip fails the run unless tests/allowed-skips.txt lists it with a reason.
# Exits non-zero on any failure and ends with
# "TOTAL: N passed, M failed, K skipped".
set -uo pipefail
exec </dev/null
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." || exit 1

jobs=$(nproc 2>/dev/null || echo 2)
fuzz_runs=${LOFT_FUZZ_RUNS:-20000}
logdir=$(mktemp -d "${TMPDIR:-/tmp}/loft-run.XXXXXX")
trap 'rm -rf "$logdir"' EXIT

passed=0
failed=0
skipped=0
problems=()

stage() { printf '\n==== %s ====\n' "$*"; }

# Run ctest in build dir $1 and count its test cases into the totals.
run_ctest() {
	local dir=$1 name log
	name=$(basename "$1")
	log="$logdir/ctest-$name.log"
	rm -rf "$dir/junit"
	mkdir -p "$dir/junit"
	CMOCKA_MESSAGE_OUTPUT=xml ctest --test-dir "$dir" --output-on-failure -j2 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	if grep -q 'No tests were found' "$log"; then
		problems+=("$dir: no tests found")
		return
	fi
	local summary
	python3 tests/results.py "$dir/junit" "$log" tests/allowed-skips.txt "$dir" \
		| tee "$logdir/results-$name.txt"
	summary=$(tail -n1 "$logdir/results-$name.txt")
	if [[ $summary =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]]; then
		passed=$((passed + BASH_REMATCH[1]))
		failed=$((failed + BASH_REMATCH[2]))
		skipped=$((skipped + BASH_REMATCH[3]))
		summaries+=("$summary")
		[ "${BASH_REMATCH[2]}" -eq 0 ] || problems+=("$dir: ${BASH_REMATCH[2]} test cases failed")
	else
		problems+=("$dir: test results could not be counted")
	fi
	[ "$rc" -eq 0 ] || [ "$failed" -gt 0 ] || problems+=("$dir: ctest exit $rc")
}
summaries=()
notes=()

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
		# The reader also reads message bodies (APPEND literals): real
		# mail from the corpus copy in tests/corpus/mail.
		if [ "$name" = fuzz-reader ]; then
			python3 tests/fuzz/seeds.py messages tests/corpus/mail "$corpus"
		fi
		seeds=$(find "$corpus" -type f | wc -l)
		[ "$seeds" -gt 0 ] || problems+=("fuzz target $name has no seeds in tests/fuzz/corpus/")
		mkdir -p build-fuzz/artifacts
		if "$t" -runs="$fuzz_runs" -max_total_time=120 \
			-artifact_prefix=build-fuzz/artifacts/ \
			"$corpus" >"$logdir/$name.log" 2>&1; then
			done_runs=$(sed -nE 's/^Done ([0-9]+) runs in ([0-9]+) second.*/\1 \2/p' \
				"$logdir/$name.log" | tail -n1)
			read -r runs secs <<<"${done_runs:-0 0}"
			if [ "$runs" -lt "$fuzz_runs" ]; then
				echo "fuzz $name: STOPPED EARLY by the 120 s limit after $runs of $fuzz_runs runs ($seeds seeds)"
				notes+=("fuzz target $name stopped early by the time limit: $runs of $fuzz_runs runs in ${secs}s")
			else
				echo "fuzz $name: ok ($runs runs in ${secs}s from $seeds seeds)"
			fi
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
for n in "${notes[@]}"; do
	echo "NOTE: $n"
done
for line in "${summaries[@]}"; do
	echo "$line"
done
echo "TOTAL: $passed passed, $failed failed, $skipped skipped"
[ ${#problems[@]} -eq 0 ] && [ "$failed" -eq 0 ]
