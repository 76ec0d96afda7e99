#!/usr/bin/env bash
# Malformed frames from dps-peer (bad IPv4 checksum, truncated, IHL < 5, total length beyond the
# frame, TTL 0, fragment, bad ICMP checksum, wrong destination MAC, non-Ethernet ARP) are each
# counted under their reason and dropped; ping still works afterwards.
source "$(dirname "$0")/lib.sh"
N=25

testbed_up
start_echo
peer ping -c 3 -i 0.05 -W 2 -q $STACK_IP >/dev/null || fail "ping before the malformed burst failed"
kinds=$(peer python3 "$ROOT/test/integration/send_frames.py" dps1 "$(stack_mac)" $PEER_IP $STACK_IP $N) ||
	fail "could not send the malformed frames"
out=$(peer ping -c 50 -i 0.01 -W 2 $STACK_IP) || { echo "$out"; fail "ping after the malformed burst failed"; }
echo "$out" | grep -q '50 packets transmitted, 50 received, 0% packet loss' || fail "ping lost packets after the burst"
stop_echo

for k in $kinds; do
	if [ "$k" = drop_eth_not_for_us ]; then
		expect_counter "$k" -ge $N # other stray frames on the segment count here too
	else
		expect_counter "$k" -eq $N
	fi
done
expect_counter icmp_echo_tx -eq 53
echo "PASS"
