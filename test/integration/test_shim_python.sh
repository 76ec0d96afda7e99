#!/usr/bin/env bash
# Python's socket module on dpsock (LD_PRELOAD shim), against the kernel's TCP in dps-peer:
#   1. a blocking echo server on dpsock, kernel clients one after another (sha256-exact echo)
#   2. the reverse: a kernel echo server in dps-peer, a blocking client on dpsock
#   3. an asyncio (epoll) echo server on dpsock, several kernel clients at once
#   4. errors and timeouts: refused connects (blocking and non-blocking), recv with
#      settimeout(0.5) on an idle connection, a connect timeout to an address nobody answers
source "$(dirname "$0")/shim_lib.sh"
BYTES=${DPSTEST_SHIM_BYTES:-$(sized 16777216 4194304)}
CLIENTS=8

shim_up

note "1. blocking server on dpsock: 2 kernel clients, $BYTES bytes each"
bg_stack pysrv "$PY" "$IT/shim_app.py" echo-server 20001 2
wait_output pysrv '^ready'
on_peer "$PY" "$IT/shim_peer.py" clients $STACK_IP 20001 2 "$BYTES" || fail "clients of the blocking server"
expect_ok pysrv
grep -qx "served 2 bytes $((2 * BYTES))" "$WORK/pysrv.out" ||
	fail "blocking server: $(cat "$WORK/pysrv.out")"

note "2. blocking client on dpsock, kernel echo server in dps-peer"
bg_peer peersrv "$PY" "$IT/tcp_client.py" serve $PEER_IP 20002 110
wait_peer_listen 20002
on_stack "$PY" "$IT/shim_app.py" echo-client $PEER_IP 20002 "$BYTES" || fail "client on dpsock"

note "3. asyncio server on dpsock: $CLIENTS kernel clients at once"
bg_stack aiosrv "$PY" "$IT/shim_app.py" async-server 20003 $CLIENTS 90
wait_output aiosrv '^ready'
on_peer "$PY" "$IT/shim_peer.py" clients $STACK_IP 20003 $CLIENTS $((BYTES / 8)) --concurrent ||
	fail "clients of the asyncio server"
expect_ok aiosrv
cat "$WORK/aiosrv.out"
want="served $CLIENTS bytes $((CLIENTS * (BYTES / 8))) max_concurrent $CLIENTS selector EpollSelector"
grep -qx "$want" "$WORK/aiosrv.out" || fail "asyncio server: expected '$want'"

note "4. errors and timeouts (client on dpsock)"
on_stack "$PY" "$IT/shim_app.py" timeouts $PEER_IP 20004 20002 198.18.0.3 | tee "$WORK/timeouts.log" ||
	fail "timeouts"
[ "$(grep -c '^ok: ' "$WORK/timeouts.log")" = 6 ] || fail "expected 6 checks to pass"
echo "PASS"
