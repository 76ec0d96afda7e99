#!/usr/bin/env bash
# The shim and a bad configuration or an unusable device (issue 5, "Config errors"): one line on
# stderr naming the key / device, then `fallback`: kernel sockets (the program works, over the
# kernel) or, with DPSOCK_FALLBACK=error, exit status 1. Runs a python3 TCP round trip on
# 127.0.0.1 inside a private network namespace (unshare -n: loopback only); no testbed.
set -uo pipefail
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
LIB="$BUILD/preload/libdpsock.so"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (unshare -n)"; exit 77; }
PRELOAD="$LIB"
ASAN_RT=$(ldd "$LIB" | awk '$1 ~ /^libasan\.so/ { print $3 }')
if [ -n "$ASAN_RT" ]; then # the runtime the library was linked with, first in the list
	PRELOAD="$ASAN_RT:$LIB"
	export ASAN_OPTIONS=detect_leaks=0
fi
fails=0
# A loopback echo in one process: listener on 127.0.0.1 (always the kernel's) and a client.
PROG='
import socket, threading
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
def serve():
    c, _ = s.accept(); c.sendall(c.recv(100)); c.close()
threading.Thread(target=serve).start()
c = socket.create_connection(s.getsockname(), timeout=5); c.sendall(b"ping")
print("roundtrip", c.recv(100).decode())'

# run VAR=value...: the program under the shim in a fresh netns; sets OUT, ERR, RC.
run() {
	local o e
	o=$(mktemp); e=$(mktemp)
	timeout 30 unshare -n sh -c 'ip link set lo up; exec "$@"' sh \
		env LD_PRELOAD="$PRELOAD" "$@" /usr/bin/python3 -c "$PROG" >"$o" 2>"$e"
	RC=$?; OUT=$(cat "$o"); ERR=$(cat "$e"); rm -f "$o" "$e"
}

# expect_kernel WANT VAR=value...: one "dpsock:" line containing WANT, and the program works.
expect_kernel() {
	local want=$1; shift
	run "$@"
	if [ $RC != 0 ] || [ "$OUT" != "roundtrip ping" ] || [ "$(grep -c '^dpsock:' <<<"$ERR")" != 1 ] ||
		! grep -qF -- "$want" <<<"$ERR"; then
		echo "FAIL (fallback kernel): $* -> status $RC, out '$OUT', err:"; echo "$ERR"
		fails=$((fails + 1))
	else
		echo "ok: $* -> kernel, warned: $want"
	fi
}

# expect_exit WANT VAR=value...: status 1 and one "dpsock:" line containing WANT.
expect_exit() {
	local want=$1; shift
	run "$@"
	if [ $RC != 1 ] || [ -n "$OUT" ] || [ "$(grep -c '^dpsock:' <<<"$ERR")" != 1 ] ||
		! grep -qF -- "$want" <<<"$ERR"; then
		echo "FAIL (fallback error): $* -> status $RC, out '$OUT', err:"; echo "$ERR"
		fails=$((fails + 1))
	else
		echo "ok: $* -> exit 1: $want"
	fi
}

DEV=DPSOCK_DEV=net_af_packet0,iface=lo
IP=DPSOCK_IP=198.18.0.2/24
expect_kernel "DPSOCK_MTU: 'jumbo' is not valid for mtu" $DEV $IP DPSOCK_MTU=jumbo
expect_kernel "unknown option 'DPSOCK_GATEWY' (did you mean 'DPSOCK_GATEWAY'?)" $DEV $IP DPSOCK_GATEWY=1.2.3.4
expect_exit "DPSOCK_MTU: 'jumbo' is not valid for mtu" $DEV $IP DPSOCK_MTU=jumbo DPSOCK_FALLBACK=error
# A bad fallback itself falls back to its default, the kernel.
expect_kernel "DPSOCK_FALLBACK: 'maybe' is not valid for fallback" $DEV $IP DPSOCK_FALLBACK=maybe
# Loopback only: the engine is never needed, so even a missing device goes unnoticed.
run DPSOCK_DEV=net_af_packet0,iface=dps-nonexistent $IP
if [ $RC = 0 ] && [ "$OUT" = "roundtrip ping" ] && [ -z "$ERR" ]; then
	echo "ok: loopback only: no engine, no message"
else
	echo "FAIL: loopback only -> status $RC, out '$OUT', err:"; echo "$ERR"; fails=$((fails + 1))
fi
# A device that cannot start, with a destination that needs the engine: the kernel answers
# (no route in this namespace), after one line naming the device; or exit 1 with fallback=error.
PROG='
import socket, errno
try:
    socket.create_connection(("198.18.0.1", 9), timeout=2); print("connected?!")
except OSError as e:
    print("roundtrip", errno.errorcode.get(e.errno, e.errno))'
BADDEV=DPSOCK_DEV=net_af_packet0,iface=dps-nonexistent
run $BADDEV $IP
if [ $RC = 0 ] && [ "$OUT" = "roundtrip ENETUNREACH" ] && [ "$(grep -c '^dpsock:' <<<"$ERR")" = 1 ] &&
	grep -q "no interface 'dps-nonexistent'" <<<"$ERR"; then
	echo "ok: missing device -> kernel socket (ENETUNREACH here), one warning"
else
	echo "FAIL: missing device, fallback kernel -> status $RC, out '$OUT', err:"; echo "$ERR"
	fails=$((fails + 1))
fi
expect_exit "no interface 'dps-nonexistent'" $BADDEV $IP DPSOCK_FALLBACK=error
[ $fails = 0 ] || { echo "$fails failure(s)"; exit 1; }
