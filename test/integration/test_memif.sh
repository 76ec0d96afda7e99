#!/usr/bin/env bash
# The pure user-space path (issue 7, scenario 4): two unmodified programs, each on its own dpsock
# engine, joined by net_memif (shared memory, no kernel in the data path): redis-server (memif
# server role) and redis-cli / redis-benchmark (client role). Checks a round trip of a 1 MiB value
# and that redis-benchmark completes SET/GET. No network namespace is needed: memif's control
# socket is a file in the test's own directory.
set -euo pipefail
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
LIB="$BUILD/preload/libdpsock.so"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (DPDK)"; exit 77; }
for p in redis-server redis-cli redis-benchmark; do
	command -v $p >/dev/null || { echo "SKIP: $p is not installed"; exit 77; }
done
WORK=$(mktemp -d /tmp/dps-memif.XXXXXX)
PORT=20060
N=20000
PRELOAD=$LIB
if ldd "$LIB" | grep libasan >/dev/null; then
	PRELOAD="$(ldd "$LIB" | awk '$1 ~ /^libasan\.so/ { print $3 }'):$LIB"
	export ASAN_OPTIONS=detect_leaks=0
	N=2000
fi
server_pid=
cleanup() {
	local rc=$?
	set +e
	if [ -n "$server_pid" ]; then
		pkill -TERM -P "$server_pid" 2>/dev/null # timeout, which passes it on to redis-server
		kill -TERM "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
	fi
	[ $rc != 0 ] && [ -s "$WORK/server.log" ] && { echo "--- server log:"; tail -20 "$WORK/server.log"; }
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

side() { # ROLE IP CMD...: CMD on its own engine over the memif link
	local role=$1 ip=$2
	shift 2
	env LD_PRELOAD="$PRELOAD" DPSOCK_DEV="net_memif0,role=$role,id=0,socket=$WORK/memif.sock" DPSOCK_LISTEN_KERNEL=0 \
		DPSOCK_IP="$ip/24" DPSOCK_FALLBACK=error DPSOCK_DEV_WAIT_MS=0 timeout 120 "$@"
}
cli() { side client 198.19.0.2 redis-cli -h 198.19.0.1 -p $PORT "$@"; }
# A try: a new process, hence a new memif client engine; bounded (a SYN to a link that never came
# up would retry for two minutes).
try_ping() { [ "$(side client 198.19.0.2 timeout 15 redis-cli -h 198.19.0.1 -p $PORT PING 2>/dev/null)" = PONG ]; }

side server 198.19.0.1 redis-server --port $PORT --protected-mode no --save '' --appendonly no \
	>"$WORK/server.log" 2>&1 &
server_pid=$!
# The server's engine (memif server role) starts when redis adds its listener to epoll, before
# it says it is ready; its link comes up when a client engine connects.
for _ in $(seq 300); do
	grep -q 'Ready to accept connections' "$WORK/server.log" && break
	kill -0 "$server_pid" 2>/dev/null || fail "redis-server on memif exited"
	sleep 0.1
done
ok=0
for _ in $(seq 4); do
	try_ping && { ok=1; break; }
	kill -0 "$server_pid" 2>/dev/null || fail "redis-server on memif exited"
done
[ $ok = 1 ] || fail "no PONG over memif"
echo "# PONG over memif"

head -c 786432 /dev/urandom | base64 -w0 >"$WORK/value"
cli -x SET big <"$WORK/value" | grep -q OK || fail "SET of 1 MiB failed"
cli --raw GET big | head -c -1 | cmp -s - "$WORK/value" || fail "GET of 1 MiB returned other bytes"
echo "# 1 MiB value round trip exact"

side client 198.19.0.2 redis-benchmark -h 198.19.0.1 -p $PORT -t set,get -n $N -c 50 --csv \
	>"$WORK/bench.csv" 2>"$WORK/bench.err" || { cat "$WORK/bench.err"; fail "redis-benchmark failed"; }
sed 's/^/#   /' "$WORK/bench.csv"
for t in SET GET; do grep -q "^\"$t\"" "$WORK/bench.csv" || fail "no result for $t"; done
echo "PASS"
