#!/usr/bin/env bash
# A veth made as users make it, default offloads (issue 13 item 9): the kernel peer's TCP leaves
# its checksums to offload (the field holds the pseudo-header sum) and sends TSO super-frames;
# net_af_packet hands both to dpsock as they are. dps-echo runs on dpsock in its own namespace
# dps-off-stack (veth dpo0), the kernel in dps-off-peer (dpo1, 198.19.8.1/24) sends small
# messages and 8 MiB of echo (both directions, sha256-checked). dpsock's counters must show the
# path taken: rx_csum_partial > 0 (accepted partial checksums), drop_tcp_csum = 0, and, when super-
# frames came, the one-time line saying it attached its XDP program (which stops the peer's TSO).
# Then peer_offloads=off: the same peer gets nothing through, and dpsock says once on stderr what
# is wrong and the fix. Both namespaces are made and removed here (also on failure), so the
# shared testbed is never changed; lib.sh's lock still serialises us with the other tests.
# Without the fix (dpsock before this test), the first small message times out.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

S_NS=dps-off-stack
P_NS=dps-off-peer
S_IF=dpo0
P_IF=dpo1
S_IP=198.19.8.2
P_IP=198.19.8.1
BYTES=${DPSTEST_ECHO_BYTES:-8388608}

my_cleanup() {
	local rc=$?
	if [ -n "$ECHO_PID" ] && kill -0 "$ECHO_PID" 2>/dev/null; then
		kill -TERM "$ECHO_PID" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$ECHO_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$ECHO_PID" 2>/dev/null || true
	fi
	ip netns del "$S_NS" 2>/dev/null || true
	ip netns del "$P_NS" 2>/dev/null || true
	(exit $rc)
	cleanup
}
trap my_cleanup EXIT

speer() { ip netns exec "$P_NS" "$@"; }
peer_feature() { speer ethtool -k "$P_IF" | awk -v f="$1:" '$1 == f { print $2 }'; }

# echo_up [VAR=value ...]: dps-echo on dpo0, bounded to 200 s; waits until ready.
echo_up() {
	: >"$WORK/echo.out"
	ip netns exec "$S_NS" env DPSOCK_DEV="net_af_packet0,iface=$S_IF" DPSOCK_IP="$S_IP/24" "$@" \
		"$BUILD/test/apps/dps-echo" --duration 200 >"$WORK/echo.out" 2>"$WORK/echo.err" &
	ECHO_PID=$!
	for _ in $(seq 300); do
		grep -q 'dps-echo: ready' "$WORK/echo.err" 2>/dev/null && return 0
		kill -0 "$ECHO_PID" 2>/dev/null || fail "dps-echo exited before it was ready"
		sleep 0.1
	done
	fail "dps-echo not ready after 30 s"
}

ip netns del "$S_NS" 2>/dev/null || true # left over by a run that was killed
ip netns del "$P_NS" 2>/dev/null || true
ip netns add "$S_NS"
ip netns add "$P_NS"
ip link add "$S_IF" netns "$S_NS" type veth peer name "$P_IF" netns "$P_NS"
ip -n "$S_NS" link set lo up
ip -n "$P_NS" link set lo up
ip netns exec "$S_NS" sysctl -qw "net.ipv6.conf.$S_IF.disable_ipv6=1"
ip -n "$S_NS" link set "$S_IF" up
speer sysctl -qw "net.ipv6.conf.$P_IF.disable_ipv6=1"
ip -n "$P_NS" addr add "$P_IP/24" dev "$P_IF"
ip -n "$P_NS" link set "$P_IF" up
# No ethtool -K: what a new veth has. The test proves nothing unless the offloads are on.
[ "$(peer_feature tx-checksumming)" = on ] || fail "$P_IF: tx checksum offload is not on by default here"
[ "$(peer_feature tx-tcp-segmentation)" = on ] || fail "$P_IF: TSO is not on by default here"
note "$P_IF: tx-checksumming on, tx-tcp-segmentation on (defaults)"

echo_up
# Small messages, one at a time (each a single segment with a partial checksum).
speer timeout 60 python3 - "$S_IP" <<'PY' || fail "small messages were not echoed"
import socket, sys
s = socket.create_connection((sys.argv[1], 7), timeout=10)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for i in range(1, 101):
    msg = bytes((i + k) & 0xff for k in range(i))
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        b = s.recv(4096)
        if not b:
            sys.exit("closed after %d messages" % (i - 1))
        got += b
    if got != msg:
        sys.exit("message %d came back different" % i)
s.close()
print("100 small messages (1-100 bytes) echoed")
PY
# Bulk both ways: the peer's sends are TSO super-frames until dpsock stops them.
speer timeout 150 python3 "$ROOT/test/integration/tcp_client.py" echo "$S_IP" 7 "$BYTES" ||
	fail "bulk echo of $BYTES bytes failed"
[ "$(peer_feature tx-tcp-segmentation)" = on ] ||
	note "$P_IF: TSO now $(peer_feature tx-tcp-segmentation) (dpsock's XDP program is attached)"
kill -TERM "$ECHO_PID"
for _ in $(seq 100); do kill -0 "$ECHO_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$ECHO_PID" 2>/dev/null && fail "dps-echo did not stop within 10 s of SIGTERM"
wait "$ECHO_PID" || fail "dps-echo exited with status $?"
ECHO_PID=

partial=$(counter rx_csum_partial)
trunc=$(counter drop_rx_truncated)
note "rx_csum_partial = $partial, drop_rx_truncated = $trunc, tcp_rx_segs = $(counter tcp_rx_segs), tcp_rexmit_rto = $(counter tcp_rexmit_rto)"
[ "$partial" -gt 0 ] || fail "rx_csum_partial = 0: the partial-checksum path was not taken"
[ "$(counter drop_tcp_csum)" = 0 ] || fail "drop_tcp_csum = $(counter drop_tcp_csum)"
[ "$(counter echo_rx_bytes)" -ge $((BYTES + 5050)) ] || fail "echo_rx_bytes = $(counter echo_rx_bytes)"
if [ "$trunc" -gt 0 ]; then
	grep -q 'attached a pass-all XDP program to dpo0' "$WORK/echo.err" ||
		fail "super-frames were cut ($trunc) but dpsock did not say it attached its XDP program"
	note "$(grep -o 'the veth peer sends TSO super-frames ([^)]*)' "$WORK/echo.err")"
fi
# The program went with the process: the peer has its TSO back.
[ "$(peer_feature tx-tcp-segmentation)" = on ] || fail "$P_IF: TSO still off after dps-echo ended"

# peer_offloads=off: nothing gets through, and stderr says why and how to fix it, once.
echo_up DPSOCK_PEER_OFFLOADS=off
if speer timeout 20 python3 -c "import socket, sys; socket.create_connection((sys.argv[1], 7), timeout=3)" "$S_IP" 2>/dev/null; then
	fail "peer_offloads=off: a connection got through"
fi
kill -TERM "$ECHO_PID"
for _ in $(seq 100); do kill -0 "$ECHO_PID" 2>/dev/null || break; sleep 0.1; done
wait "$ECHO_PID" || fail "dps-echo exited with status $?"
ECHO_PID=
[ "$(counter drop_tcp_csum)" -gt 0 ] || fail "peer_offloads=off: drop_tcp_csum = 0"
[ "$(grep -c 'dropping TCP segments whose checksum' "$WORK/echo.err")" = 1 ] ||
	fail "peer_offloads=off: expected one line on stderr about the dropped segments"
grep 'dropping TCP segments whose checksum' "$WORK/echo.err" | grep -q "net_af_packet0 on $S_IF.*ethtool -K PEER_IFACE tx off" ||
	fail "peer_offloads=off: the line does not name the device and the fix"
note "peer_offloads=off: $(counter drop_tcp_csum) segments dropped, said once on stderr"
echo "PASS"
