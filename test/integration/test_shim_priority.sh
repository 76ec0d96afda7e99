#!/usr/bin/env bash
# Priority rules end to end (issue 8) for an unmodified program: a python3 epoll server on dpsock
# (DPSOCK_PRIORITY='payload[0] == 0x48 -> high'), 8 kernel clients in dps-peer (shim_prio.py).
#   1. a high message that arrives last in a burst is reported first by epoll_wait (NIC layer:
#      processed first; event layer: head of the ready list)
#   2. a connection with low data already ready moves ahead when high data arrives on it
#   3. every connection's byte stream is exact, also the one carrying low then high messages
#   4. the same without rules: arrival order
source "$(dirname "$0")/shim_lib.sh"
N=8
shim_up

run() { # PORT RULES: the server with these rules, its client; leaves the server's output
	local port=$1 rules=$2
	bg_stack prio$port env DPSOCK_PRIORITY="$rules" "$PY" "$IT/shim_prio.py" server $port $N
	wait_output prio$port '^ready'
	on_peer "$PY" "$IT/shim_prio.py" client $STACK_IP $port $N || fail "client ($rules)"
	expect_ok prio$port
	cat "$WORK/prio$port.out"
	for i in $(seq 0 $((N - 1))); do
		grep -qx "stream $i OK" "$WORK/prio$port.out" || fail "stream $i not exact ($rules)"
	done
}
line() { grep "^$1 " "$WORK/$2.out" | cut -d' ' -f2-; }

note "1-3. with rules"
run 20101 'payload[0] == 0x48 -> high; * -> low'
if [ "$SHIM_KERNEL" = 1 ]; then
	note "kernel mode: epoll's order is the kernel's; only the streams are checked"
	echo "PASS"
	exit 0
fi
o1=$(line order1 prio20101) o2=$(line order2 prio20101)
[ "$o1" = "7 0 1 2 3 4 5 6" ] || fail "order1 with rules: '$o1', expected the high connection 7 first"
[ "$o2" = "7 3 0 1 2 4 5 6" ] || fail "order2 with rules: '$o2', expected 7 then 3 (promoted)"

note "4. without rules"
run 20102 ''
o1=$(line order1 prio20102) o2=$(line order2 prio20102)
[ "$o1" = "0 1 2 3 4 5 6 7" ] || fail "order1 without rules: '$o1', expected arrival order"
[ "$o2" = "0 1 2 3 4 5 6 7" ] || fail "order2 without rules: '$o2'"
echo "PASS"
