#!/usr/bin/env bash
# Checksum offload against a kernel peer, through a device that offers it: net_tap. dps-echo runs
# in its own namespace dps-tap (made and removed here, also on failure), where the tap PMD creates
# the interface dpstap0; the kernel of that namespace, with 198.19.0.1/24 on dpstap0, is the peer
# of the stack at 198.19.0.2 (198.18.0.0/15: the benchmarking range, inside our namespace only).
# A bulk echo and an echo written in odd-sized pieces (so that the send queue is cut at odd bytes)
# are checked by sha256 on the kernel side; dpsock's counters must show the offload used
# (tx_csum_offload), no checksum drop on either side (drop_tcp_csum, the kernel's InCsumErrors).
# What the tap offers and what the stack enabled is measured (the engine logs it), not assumed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
NS=dps-tap
TAP=dpstap0
KERN_IP=198.19.0.1
STACK_IP=198.19.0.2
case "$BUILD" in
*asan*) BYTES=${DPSTEST_ECHO_BYTES:-16777216} ;;
*) BYTES=${DPSTEST_ECHO_BYTES:-268435456} ;;
esac
ECHO_PID=

note() { echo "# $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root (network namespaces)"
	exit 77
fi
WORK=$(mktemp -d /tmp/dps-tap.XXXXXX)

cleanup() {
	local rc=$?
	if [ -n "$ECHO_PID" ] && kill -0 "$ECHO_PID" 2>/dev/null; then
		kill -TERM "$ECHO_PID" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$ECHO_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$ECHO_PID" 2>/dev/null || true
	fi
	ip netns del "$NS" 2>/dev/null || true
	if [ $rc != 0 ] && [ -s "$WORK/echo.err" ]; then
		echo "--- dps-echo stderr:" >&2; tail -20 "$WORK/echo.err" >&2
	fi
	rm -rf "$WORK"
	exit $rc
}
trap cleanup EXIT

ns() { ip netns exec "$NS" "$@"; }
counter() {
	awk -v n="$1" '$1 == n { v = $2 } END { if (v == "") exit 1; print v }' "$WORK/echo.out" ||
		fail "no counter $1 in dps-echo's output"
}
kernel_csum_errors() { ns awk '$1 == "Tcp:" && !h { for (i = 1; i <= NF; i++) c[$i] = i; h = 1; next }
	$1 == "Tcp:" { print $c["InCsumErrors"] }' /proc/net/snmp; }

ip netns del "$NS" 2>/dev/null || true # left over by a run that was killed
ip netns add "$NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" env DPSOCK_DEV="net_tap0,iface=$TAP" DPSOCK_IP="$STACK_IP/24" DPSOCK_LOG_LEVEL=info \
	"$BUILD/test/apps/dps-echo" --duration 280 >"$WORK/echo.out" 2>"$WORK/echo.err" &
ECHO_PID=$!
for _ in $(seq 300); do
	grep -q 'dps-echo: ready' "$WORK/echo.err" 2>/dev/null && break
	kill -0 "$ECHO_PID" 2>/dev/null || fail "dps-echo exited before it was ready"
	sleep 0.1
done
grep -q 'dps-echo: ready' "$WORK/echo.err" || fail "dps-echo not ready after 30 s"
offloads=$(grep -o 'device offers.*' "$WORK/echo.err" | head -1)
note "net_tap: ${offloads:-no offload line logged}"

# The tap's kernel side is the peer.
ns sysctl -qw "net.ipv6.conf.$TAP.disable_ipv6=1"
ip -n "$NS" addr add "$KERN_IP/24" dev "$TAP"
ip -n "$NS" link set "$TAP" up
note "kernel features of $TAP: $(ns ethtool -k "$TAP" 2>/dev/null | grep -E '^tx-checksumming|^rx-checksumming' | tr -s ' \n' ' ')"
errs0=$(kernel_csum_errors)

ns timeout 200 python3 "$ROOT/test/integration/tcp_client.py" echo "$STACK_IP" 7 "$BYTES" ||
	fail "bulk echo failed"
# Odd-sized writes (1 to 3001 bytes, seeded): dps-echo echoes what each read returns, so its send
# queue is cut at odd bytes and segments span buffers at odd offsets.
ns timeout 120 python3 - "$STACK_IP" <<'EOF' || fail "odd-sized echo failed"
import hashlib, random, socket, sys, threading
rnd, n = random.Random(7), 8 << 20
s = socket.create_connection((sys.argv[1], 7), timeout=10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.settimeout(30)
h_out, h_in, got = hashlib.sha256(), hashlib.sha256(), [0]
def reader():
    while got[0] < n:
        b = s.recv(1 << 16)
        if not b:
            break
        h_in.update(b)
        got[0] += len(b)
th = threading.Thread(target=reader)
th.start()
left = n
while left > 0:
    b = rnd.randbytes(min(left, rnd.randrange(1, 3002, 2)))
    h_out.update(b)
    s.sendall(b)
    left -= len(b)
th.join(60)
s.close()
print("odd-sized echo: sent %d, received %d, sha256 %s" % (n, got[0], h_in.hexdigest()))
sys.exit(0 if got[0] == n and h_in.digest() == h_out.digest() else "mismatch")
EOF
errs1=$(kernel_csum_errors)

kill -USR1 "$ECHO_PID"
sleep 0.5
kill -TERM "$ECHO_PID"
for _ in $(seq 100); do kill -0 "$ECHO_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$ECHO_PID" 2>/dev/null && fail "dps-echo did not stop within 10 s of SIGTERM"
wait "$ECHO_PID" || fail "dps-echo exited with status $?"
ECHO_PID=

tx=$(counter tx_csum_offload)
rx=$(counter rx_csum_offload)
segs=$(counter tcp_tx_segs)
note "tcp_tx_segs = $segs, tx_csum_offload = $tx (the rest summed in software), rx_csum_offload = $rx"
note "kernel TCP InCsumErrors during the test: $((errs1 - errs0))"
[ "$(counter drop_tcp_csum)" = 0 ] || fail "drop_tcp_csum = $(counter drop_tcp_csum)"
[ "$(counter drop_ip_csum)" = 0 ] || fail "drop_ip_csum = $(counter drop_ip_csum)"
[ $((errs1 - errs0)) = 0 ] || fail "the kernel counted $((errs1 - errs0)) TCP checksum errors"
case "$offloads" in
*tx-tcp*) [ "$tx" -gt 0 ] || fail "the device offers TCP checksum offload but tx_csum_offload = 0" ;;
*) note "no TCP tx checksum offload enabled: software path only" ;;
esac
echo "PASS"
