#!/usr/bin/env bash
# TCP through dpsock against the kernel's TCP in dps-peer: a bulk echo (sha256 of what went out and
# what came back), then 1000 short connections one after another; afterwards every connection block
# is freed once TIME_WAIT (shortened to 1 s here) has passed.
source "$(dirname "$0")/lib.sh"
BYTES=${DPSTEST_ECHO_BYTES:-$DEFAULT_BULK}

testbed_up
start_echo DPSOCK_TCP_TIME_WAIT_MS=1000
peer timeout 300 python3 "$ROOT/test/integration/tcp_client.py" echo $STACK_IP 7 "$BYTES" ||
	fail "bulk echo failed"
peer timeout 300 python3 "$ROOT/test/integration/tcp_client.py" conns $STACK_IP 7 1000 ||
	fail "short connections failed"
sleep 2.5 # TIME_WAIT is 1 s; connections the peer closed first are gone at once
kill -USR1 "$ECHO_PID"
sleep 0.5
stop_echo
expect_counter echo_rx_bytes -eq $((BYTES + 1000 * 100))
expect_counter echo_tx_bytes -eq $((BYTES + 1000 * 100))
expect_counter tcp_established -eq 1001
expect_counter drop_tcp_csum -eq 0
# The dump taken after TIME_WAIT: every connection block back in the slab.
live=$(awk '$1 == "tcp_conns" { v = $2 } $1 == "" { exit } END { print v }' "$WORK/echo.out")
note "connections alive after TIME_WAIT: $live"
[ "$live" = 0 ] || fail "connection blocks still allocated after TIME_WAIT: $live"
echo "PASS"
