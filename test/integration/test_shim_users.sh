#!/usr/bin/env bash
# Programs as users run them, on dpsock through the shim (issue 13): what crashed, hung or fell
# back without a word before, each with the real program where Debian has one.
#   4   a socket made after the engine started connects to 127.0.0.1 (kernel), in both orders
#   6   setsockopt gives Linux's answers before and after the engine starts
#   7   IPv6 wildcard listeners are dual-stack: python's AF_INET6 socket on :: (IPv4-mapped
#       addresses), `python3 -m http.server`, iperf3 -s, socat TCP6-LISTEN
#   3   a non-root listener on the stack's address (no engine, no kernel address): said once,
#       never readable (no accept loop)
#   12  a second process while the device is held: says it will not be reachable
# DPSTEST_SHIM_KERNEL=1 runs the same programs on the kernel (the checks of stderr are skipped).
source "$(dirname "$0")/shim_lib.sh"
need iperf3 socat curl setpriv
shim_up

# check NAME: NAME's output has "ok" lines and no "WRONG" line.
check() {
	grep -q '^ok ' "$WORK/$1.out" || fail "$1: no result lines"
	if grep '^WRONG' "$WORK/$1.out"; then fail "$1: wrong results above"; fi
	note "$1: $(grep -c '^ok ' "$WORK/$1.out") results as Linux's"
}
# run NAME CMD...: CMD on the stack, output in $WORK/NAME.out/.err, must exit 0.
run() {
	local name=$1
	shift
	on_stack "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || fail "$name exited with status $?"
}
shim_only() { [ "$SHIM_KERNEL" != 1 ]; }

bg_peer echosrv "$PY" "$IT/tcp_client.py" serve $PEER_IP 20040 250
wait_peer_listen 20040

note "4: connect to 127.0.0.1 after the engine started (and before)"
for order in peer-first loopback-first; do
	run "loop-$order" "$PY" "$IT/shim_users.py" loopback $order $PEER_IP 20040
	check "loop-$order"
done

note "6: setsockopt before and after the engine starts"
run opts "$PY" "$IT/shim_users.py" opts $PEER_IP 20040
check opts
if grep 'set before start' "$WORK/opts.err"; then fail "an option was refused only later"; fi

note "7a: AF_INET6 on :: (IPV6_V6ONLY 0) takes IPv4 connections"
bg_stack v6 "$PY" "$IT/shim_users.py" v6server 20041 $PEER_IP
wait_output v6 '^listening'
on_peer "$PY" "$IT/tcp_client.py" echo $STACK_IP 20041 1000000 || fail "echo through the :: listener"
expect_ok v6
check v6

note "7b: python3 -m http.server (DualStackServer: sets IPV6_V6ONLY whatever the family, item 6)"
mkdir -p "$WORK/www"
head -c 300000 /dev/urandom >"$WORK/www/file"
bg_stack http "$PY" -m http.server 20042 --directory "$WORK/www"
wait_output http 'Serving HTTP'
on_peer curl -sf --retry 5 --retry-connrefused --max-time 10 -o "$WORK/got" \
	"http://$STACK_IP:20042/file" || fail "curl from the peer to http.server"
cmp -s "$WORK/got" "$WORK/www/file" || fail "http.server's file differs"
note "http.server: 300000 bytes intact"
if grep -E 'dpsock: .*(option|set before)' "$WORK/http.err"; then fail "http.server: stderr above"; fi
stop_job "${JOBS[http]}" # one process per device: it must let go before the next one

note "7c: iperf3 -s (listens on :: by default)"
bg_stack iperf iperf3 -s -p 20043 -1 --forceflush
wait_output iperf 'Server listening'
on_peer iperf3 -c $STACK_IP -p 20043 -t 2 -J >"$WORK/iperf.json" || fail "iperf3 -c from the peer"
bytes=$("$PY" -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bytes"]))' "$WORK/iperf.json")
[ "$bytes" -gt 0 ] || fail "iperf3 moved no data"
note "iperf3: $bytes bytes in 2 s to iperf3 -s on dpsock"
expect_ok iperf

note "7d: socat TCP6-LISTEN"
head -c 2000000 /dev/urandom >"$WORK/s6.src"
bg_stack socat6 socat -u TCP6-LISTEN:20044,reuseaddr OPEN:"$WORK/s6.got",creat,trunc
sleep 0.5
on_peer socat -u OPEN:"$WORK/s6.src" TCP:$STACK_IP:20044,connect-timeout=3,retry=6,interval=0.5 ||
	fail "socat from the peer to socat TCP6-LISTEN on dpsock"
expect_ok socat6
cmp -s "$WORK/s6.src" "$WORK/s6.got" || fail "socat TCP6-LISTEN: data differs"
note "socat TCP6-LISTEN: 2000000 bytes intact"

note "3: a non-root listener on the stack's address"
run dead env DPSOCK_FALLBACK=kernel setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$PY" "$IT/shim_users.py" deadlisten $STACK_IP 20045 2
check dead
if shim_only; then
	n=$(grep -c 'listener .* is unusable' "$WORK/dead.err" || true)
	[ "$n" = 1 ] || fail "the unusable listener was reported $n times (want once): $(cat "$WORK/dead.err")"
	grep -q 'will not be reachable' "$WORK/dead.err" || fail "no word that the process is unreachable"
	note "said once: $(grep 'is unusable' "$WORK/dead.err")"
fi

if shim_only; then
	note "12: a second process while another holds the device"
	bg_stack holder "$PY" -c "import socket,time
s = socket.create_connection(('$PEER_IP', 20040), timeout=10); print('up', flush=True); time.sleep(30)"
	wait_output holder '^up'
	on_stack env DPSOCK_FALLBACK=kernel DPSOCK_DEV_WAIT_MS=0 "$PY" -c "import socket
try:
    socket.create_connection(('$PEER_IP', 20040), timeout=3)
    print('connected')
except OSError as e:
    print('failed:', e)" >"$WORK/second.out" 2>"$WORK/second.err" || true
	grep -q 'in use by process' "$WORK/second.err" || fail "no word of the holder: $(cat "$WORK/second.err")"
	grep -q 'will not be reachable' "$WORK/second.err" || fail "no word that it is unreachable"
	note "said: $(head -1 "$WORK/second.err")"
fi
echo "PASS"
