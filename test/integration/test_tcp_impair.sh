#!/usr/bin/env bash
# TCP through our own fault injector (netem does not exist here): 2 % loss, 5 % reordering, 1 %
# duplication and 1 ms delay in both directions of the stack's device, seeded. A bulk echo with
# the kernel as client (sha256 of both directions), then dpsock as client against a kernel echo
# server (every byte checked).
source "$(dirname "$0")/lib.sh"
BYTES=${DPSTEST_IMPAIR_BYTES:-8388608}
IMPAIR="loss=2%,reorder=5%,dup=1%,delay=1ms,seed=11"

testbed_up
start_echo DPSOCK_IMPAIR="$IMPAIR"
peer timeout 200 python3 "$ROOT/test/integration/tcp_client.py" echo $STACK_IP 7 "$BYTES" ||
	fail "bulk echo through impairment failed"
stop_echo
expect_counter echo_rx_bytes -eq "$BYTES"
expect_counter echo_tx_bytes -eq "$BYTES"
expect_counter dev_rx_missed -gt 0 # the injector really dropped frames
expect_counter tcp_rexmit_fast -gt 0

peer timeout 200 python3 "$ROOT/test/integration/tcp_client.py" serve $PEER_IP 7007 150 >"$WORK/srv.out" 2>&1 &
PEER_PIDS+=($!)
SRV=$!
for _ in $(seq 50); do grep -q serving "$WORK/srv.out" 2>/dev/null && break; sleep 0.1; done
ip netns exec dps-stack env DPSOCK_DEV=net_af_packet0,iface=dps0 DPSOCK_IP=$STACK_IP/24 \
	DPSOCK_IMPAIR="$IMPAIR" timeout 200 "$BUILD/test/apps/dps-echo" --connect $PEER_IP:7007 \
	--bytes "$BYTES" --conns 1 >"$WORK/echo.out" 2>"$WORK/echo.err" ||
	{ fail "dpsock client through impairment failed"; }
grep '^client:' "$WORK/echo.out"
expect_counter tcp_rexmit_fast -gt 0
kill_tree $SRV
echo "PASS"
