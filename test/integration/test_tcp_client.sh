#!/usr/bin/env bash
# dpsock opening connections (active open) to the kernel's TCP in dps-peer: dps-echo --connect
# sends a bulk stream to a kernel echo server and checks every byte that comes back, then opens
# 1000 short connections one after another.
source "$(dirname "$0")/lib.sh"
BYTES=${DPSTEST_ECHO_BYTES:-$DEFAULT_BULK}
PORT=7007

testbed_up
peer timeout 200 python3 "$ROOT/test/integration/tcp_client.py" serve $PEER_IP $PORT 180 >"$WORK/srv.out" 2>&1 &
PEER_PIDS+=($!)
SRV=$!
for _ in $(seq 50); do grep -q serving "$WORK/srv.out" 2>/dev/null && break; sleep 0.1; done
run_client() { # BYTES CONNS
	ip netns exec dps-stack env DPSOCK_DEV=net_af_packet0,iface=dps0 DPSOCK_IP=$STACK_IP/24 \
		timeout 300 "$BUILD/test/apps/dps-echo" --connect $PEER_IP:$PORT --bytes "$1" --conns "$2" \
		>"$WORK/client.out" 2>"$WORK/echo.err" || { cat "$WORK/echo.err"; fail "client run $1 x $2 failed"; }
	grep '^client:' "$WORK/client.out"
}
run_client "$BYTES" 1
run_client 100 1000
cp "$WORK/client.out" "$WORK/echo.out"
expect_counter tcp_active_opens -eq 1000
expect_counter tcp_established -eq 1000
expect_counter tcp_rst_rx -eq 0
kill_tree $SRV
echo "PASS"
