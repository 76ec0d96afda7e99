#!/usr/bin/env bash
# dps-echo on dpsock answers the kernel's ping and arping from dps-peer without loss, and the
# pcapng capture holds every frame (read back by tshark).
source "$(dirname "$0")/lib.sh"

testbed_up
start_echo DPSOCK_CAPTURE="$WORK/cap.pcapng"

out=$(peer ping -c 200 -i 0.01 -W 2 $STACK_IP) || { echo "$out"; fail "ping failed"; }
echo "$out" | tail -2
echo "$out" | grep -q '200 packets transmitted, 200 received, 0% packet loss' || fail "ping lost packets"

out=$(peer arping -c 5 -w 10 -I dps1 $STACK_IP 2>&1) || { echo "$out"; fail "arping failed"; }
echo "$out" | tail -2
echo "$out" | grep -q '5 packets transmitted, 5 packets received' || fail "arping got no 5 replies"
echo "$out" | grep -qi "$(stack_mac)" || fail "arping replies do not carry dps0's MAC $(stack_mac)"

stop_echo
expect_counter icmp_echo_rx -eq 200
expect_counter icmp_echo_tx -eq 200
expect_counter arp_tx_reply -ge 5
expect_counter drop_ip_csum -eq 0

if command -v tshark >/dev/null; then
	replies=$(tshark -r "$WORK/cap.pcapng" -Y 'icmp.type == 0' 2>/dev/null | wc -l)
	requests=$(tshark -r "$WORK/cap.pcapng" -Y 'icmp.type == 8' 2>/dev/null | wc -l)
	note "capture: $requests echo requests, $replies echo replies"
	[ "$replies" = 200 ] && [ "$requests" = 200 ] || fail "capture does not hold 200 requests and 200 replies"
	expect_counter capture_frames -ge 405
else
	note "tshark not installed: capture not read back"
fi
echo "PASS"
