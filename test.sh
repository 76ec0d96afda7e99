#!/usr/bin/env bash
# test.sh: the whole dpsock test suite, from a fresh clone (root, Debian 12).
#
#   installs the packages (tools/install-deps.sh), builds three trees and runs every suite:
#     build/       gcc, -O2: unit, fuzz (corpus replay), integration (testbed, real peers)
#     build-asan/  gcc, ASan+UBSan: the same suites
#     build-fuzz/  clang, libFuzzer+ASan: each fuzz target for DPSTEST_FUZZ_SECONDS (default 20)
#   checks formatting (.clang-format) and ends with one line "tests: N passed, N failed, N skipped".
#
# Environment: DPSTEST_NO_INSTALL=1 skips the package step; DPSTEST_FUZZ_SECONDS=N.
set -uo pipefail
cd "$(dirname "$0")"
export DPSTEST_FUZZ_SECONDS=${DPSTEST_FUZZ_SECONDS:-20}
passed=0 failed=0 skipped=0 broken=()

step() { printf '\n=== %s\n' "$*"; }

if [ "${DPSTEST_NO_INSTALL:-0}" != 1 ]; then
	step "packages"
	tools/install-deps.sh || exit 1
fi

# setup DIR [meson options...]: configure (or reconfigure) and build.
setup() {
	local dir=$1
	shift
	step "build $dir $*"
	local how=()
	[ -d "$dir" ] && how=(--reconfigure)
	if ! meson setup "${how[@]}" "$dir" "$@" >"$dir.setup.log" 2>&1; then
		tail -20 "$dir.setup.log"
		return 1
	fi
	meson compile -C "$dir"
}

# run DIR [meson test options...]: run tests and add their results up (from meson's testlog.json).
run() {
	local dir=$1 log counts
	shift
	step "test $dir $*"
	meson test -C "$dir" --print-errorlogs "$@"
	log="$dir/meson-logs/testlog.json"
	counts=$(python3 -c '
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): p += 1
    elif r == "SKIP": s += 1
    else: f += 1
print(p, f, s)' "$log") || counts="0 1 0"
	read -r p f s <<<"$counts"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	[ "$f" = 0 ] || broken+=("$dir $*")
}

build_failed() { failed=$((failed + 1)); broken+=("build $1"); }

setup build && run build --no-suite bench || build_failed build
setup build-asan -Db_sanitize=address,undefined -Db_lundef=false &&
	run build-asan --no-suite bench || build_failed build-asan
CC=clang setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false &&
	run build-fuzz --suite fuzz || build_failed build-fuzz

step "format (.clang-format)"
if git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror; then
	passed=$((passed + 1))
else
	failed=$((failed + 1)) broken+=("clang-format: run clang-format -i on the files above")
fi

echo
for b in "${broken[@]}"; do echo "failed: $b"; done
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
