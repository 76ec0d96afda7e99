#!/usr/bin/env bash
# The load generator against the IoT server, the small version of issue 7's scale test: the
# unmodified epoll program test/apps/iot-server on dpsock through the shim (memif server role)
# and loadgen on its own engine (memif client) with a range of 8 source addresses. iot mode:
# C long-lived connections, requests of both classes and heartbeats; loadgen checks every answer
# (order, id, class, the server's hash) and the server's counts must match what was sent. Then
# echo mode: every byte echoed exactly. No network namespace: memif's socket is in our own dir.
set -euo pipefail
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
LIB="$BUILD/preload/libdpsock.so"
LOADGEN="$BUILD/test/bench/loadgen/loadgen"
SERVER="$BUILD/test/apps/iot-server"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (DPDK)"; exit 77; }
WORK=$(mktemp -d /tmp/dps-loadgen.XXXXXX)
PORT=20070
CONNS=2000
RATE=20000
PRELOAD=$LIB
if ldd "$LIB" | grep libasan >/dev/null; then
	PRELOAD="$(ldd "$LIB" | awk '$1 ~ /^libasan\.so/ { print $3 }'):$LIB"
	export ASAN_OPTIONS=detect_leaks=0
	CONNS=300
	RATE=3000
fi
server_pid=
cleanup() {
	local rc=$?
	set +e
	stop_server
	[ $rc != 0 ] && for f in server.log server.err client.err; do
		[ -s "$WORK/$f" ] && { echo "--- $f:"; tail -20 "$WORK/$f"; }
	done
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
stop_server() {
	if [ -n "$server_pid" ]; then
		pkill -INT -P "$server_pid" 2>/dev/null # timeout, which passes it on
		kill -INT "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
		server_pid=
	fi
}
memif() { echo "net_memif0,role=$1,id=0,socket=$WORK/memif.sock"; }

start_server() { # MODE
	rm -f "$WORK/server.log" "$WORK/server.err"
	env LD_PRELOAD="$PRELOAD" DPSOCK_DEV="$(memif server)" DPSOCK_IP=198.19.0.1/16 DPSOCK_ARP_QUEUE_LEN=256 \
		DPSOCK_LISTEN_KERNEL=0 DPSOCK_FALLBACK=error DPSOCK_DEV_WAIT_MS=0 \
		timeout 120 "$SERVER" --port $PORT --mode "$1" >"$WORK/server.log" 2>"$WORK/server.err" &
	server_pid=$!
	for _ in $(seq 300); do
		grep -q 'iot-server: ready' "$WORK/server.err" && return 0
		kill -0 "$server_pid" 2>/dev/null || fail "iot-server on memif exited"
		sleep 0.1
	done
	fail "iot-server never said ready"
}
client() { # loadgen ARGS...
	env DPSOCK_DEV="$(memif client)" DPSOCK_IP=198.19.0.10-198.19.0.17/16 DPSOCK_DEV_WAIT_MS=0 \
		DPSOCK_FALLBACK=error timeout 120 "$LOADGEN" --connect 198.19.0.1:$PORT "$@" \
		2>"$WORK/client.err"
}
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

start_server iot
client --conns $CONNS --mode iot --rate $RATE --high 0.2 --hb 0.5 --duration 3 --json \
	>"$WORK/iot.json" || { cat "$WORK/iot.json"; fail "loadgen iot run failed"; }
json "$WORK/iot.json" '"# %d connections in %.2f s, %d requests (%d high), %d heartbeats, %d answers checked; p99 high %.0f us, low %.0f us" % (d["established"], d["ramp_s"], d["requests"], d["high_requests"], d["heartbeats"], d["answers"], d["latency"]["high"]["p99_us"], d["latency"]["low"]["p99_us"])'
[ "$(json "$WORK/iot.json" 'd["ok"] and d["established"] == d["conns"] and d["bad_answers"] == 0 and d["answers"] == d["requests"] and d["high_requests"] > 0 and d["heartbeats"] > 0')" = True ] ||
	{ cat "$WORK/iot.json"; fail "not every connection opened or not every answer checked"; }
stop_server
line=$(grep '^iot-server:' "$WORK/server.log" | tail -1)
echo "# server: ${line#iot-server: }"
want_req=$(json "$WORK/iot.json" 'd["requests"]')
want_high=$(json "$WORK/iot.json" 'd["high_requests"]')
want_hb=$(json "$WORK/iot.json" 'd["heartbeats"]')
echo "$line" | grep -q " accepted $CONNS " || fail "the server accepted other than $CONNS connections"
echo "$line" | grep -q " requests $want_req high $want_high heartbeats $want_hb answers $want_req proto_errors 0 " ||
	fail "the server's counts differ from what loadgen sent (requests $want_req high $want_high heartbeats $want_hb)"

start_server echo
client --conns $((CONNS / 10)) --mode echo --bytes 100000 --duration 60 --json >"$WORK/echo.json" ||
	{ cat "$WORK/echo.json"; fail "loadgen echo run failed"; }
json "$WORK/echo.json" '"# echo: %d connections x 100000 bytes, %d bytes checked" % (d["established"], d["echo_bytes"])'
[ "$(json "$WORK/echo.json" 'd["ok"] and d["echo_bad"] == 0 and d["echo_bytes"] == d["conns"] * 100000')" = True ] ||
	{ cat "$WORK/echo.json"; fail "echo: bytes missing or different"; }
echo "PASS"
