# Shared helpers for the integration tests (sourced). They run as root in the standard testbed
# (test/testbed.sh), bring it up if needed and take it down again if they brought it up, also on
# failure. Every wait is bounded.
#   BUILD: the meson build directory (first argument of each test)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
TESTBED="$ROOT/test/testbed.sh"
STACK_IP=198.18.0.2
PEER_IP=198.18.0.1
WORK=$(mktemp -d /tmp/dps-it.XXXXXX)
ECHO_PID=
PEER_PIDS=() # background jobs of a test (peer servers): stopped by cleanup
CREATED_TESTBED=0

fail() { echo "FAIL: $*" >&2; exit 1; }

# Bulk sizes: 1 GiB each way in the normal build (the TCP issue's interop figure); the sanitizer
# build runs the same code paths on 64 MiB. DPSTEST_ECHO_BYTES overrides both.
case "$BUILD" in
*asan*) DEFAULT_BULK=67108864 ;;
*) DEFAULT_BULK=1073741824 ;;
esac
note() { echo "# $*"; }

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root (network namespaces)"
	exit 77
fi

# One user of the testbed at a time: scripts that source this file (tests, test/bench) and run
# side by side (two build trees, a benchmark next to the suite) take turns instead of tearing
# each other's namespaces down. The lock is released when the script exits.
exec 9>/run/dpsock-testbed.lock
flock -w "${DPSTEST_TESTBED_WAIT:-1800}" 9 || { rm -rf "$WORK"; echo "FAIL: the testbed stayed busy (/run/dpsock-testbed.lock)" >&2; exit 1; }

# kill_tree PID: SIGTERM to PID and every descendant (a background `peer CMD &` is a subshell
# over ip-netns-exec over timeout over CMD).
kill_tree() {
	local c
	for c in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$c"; done
	kill -TERM "$1" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	if [ -n "$ECHO_PID" ] && kill -0 "$ECHO_PID" 2>/dev/null; then
		kill -TERM "$ECHO_PID" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$ECHO_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$ECHO_PID" 2>/dev/null || true
	fi
	for p in "${PEER_PIDS[@]}"; do kill_tree "$p"; done
	[ "$CREATED_TESTBED" = 1 ] && "$TESTBED" down
	if [ $rc != 0 ] && [ -s "$WORK/echo.err" ]; then
		echo "--- dps-echo stderr:" >&2; tail -20 "$WORK/echo.err" >&2
	fi
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT

testbed_up() {
	if ! "$TESTBED" status >/dev/null 2>&1; then
		CREATED_TESTBED=1
		"$TESTBED" up
	fi
}

peer() { ip netns exec dps-peer "$@"; }
stack_mac() { ip -n dps-stack -br link show dps0 | awk '{print $3}'; }

# start_echo [VAR=value ...]: dps-echo on dps0 in dps-stack, bounded to 300 s; waits until ready.
start_echo() {
	ip netns exec dps-stack env DPSOCK_DEV=net_af_packet0,iface=dps0 DPSOCK_IP=$STACK_IP/24 "$@" \
		"$BUILD/test/apps/dps-echo" --duration 300 >"$WORK/echo.out" 2>"$WORK/echo.err" &
	ECHO_PID=$!
	for _ in $(seq 300); do
		grep -q 'dps-echo: ready' "$WORK/echo.err" 2>/dev/null && return 0
		kill -0 "$ECHO_PID" 2>/dev/null || fail "dps-echo exited before it was ready"
		sleep 0.1
	done
	fail "dps-echo not ready after 30 s"
}

# stop_echo: SIGTERM, wait (bounded), keep its final counters in $WORK/echo.out.
stop_echo() {
	kill -TERM "$ECHO_PID"
	for _ in $(seq 100); do kill -0 "$ECHO_PID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$ECHO_PID" 2>/dev/null && fail "dps-echo did not stop within 10 s of SIGTERM"
	wait "$ECHO_PID" || fail "dps-echo exited with status $?"
	ECHO_PID=
}

# counter NAME: its value in the last dump of dps-echo.
counter() {
	awk -v n="$1" '$1 == n { v = $2 } END { if (v == "") exit 1; print v }' "$WORK/echo.out" ||
		fail "no counter $1 in dps-echo's output"
}

expect_counter() { # NAME OP VALUE (OP: -eq, -ge, ...)
	local v
	v=$(counter "$1")
	[ "$v" "$2" "$3" ] || fail "counter $1 = $v, expected $2 $3"
	note "$1 = $v"
}
