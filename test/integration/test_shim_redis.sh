#!/usr/bin/env bash
# redis-cli on dpsock (LD_PRELOAD shim) against redis-server in dps-peer (the kernel's TCP):
# SET/GET round trip (checked from the peer side too), a 1 MiB value sha256-exact, 1000 commands
# on one connection, INFO, and `redis-cli --latency` for 2 s (it must report samples).
source "$(dirname "$0")/shim_lib.sh"
need redis-server redis-cli
PORT=20020
BIG=${DPSTEST_SHIM_BYTES:-$(sized 1048576 262144)}

shim_up
bg_peer redis redis-server --bind $PEER_IP --port $PORT --protected-mode no --save '' \
	--appendonly no --daemonize no --dir "$WORK" --logfile ''
wait_peer_listen $PORT
cli() { SHIM_TIMEOUT=30 on_stack redis-cli -h $PEER_IP -p $PORT "$@"; }

note "SET/GET"
val=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
[ "$(cli SET dpsock:key "$val")" = OK ] || fail "SET did not answer OK"
got=$(cli GET dpsock:key)
[ "$got" = "$val" ] || fail "GET gave '$got', expected '$val'"
got=$(on_peer redis-cli -h $PEER_IP -p $PORT GET dpsock:key)
[ "$got" = "$val" ] || fail "the server holds '$got', expected '$val'"

note "a $BIG-byte value"
head -c $((BIG / 2)) /dev/urandom | od -An -tx1 -v | tr -d ' \n' >"$WORK/big.val"
[ "$(cli -x SET dpsock:big <"$WORK/big.val")" = OK ] || fail "SET of the big value"
cli --raw GET dpsock:big >"$WORK/big.got" || fail "GET of the big value"
# --raw ends the value with a newline.
{ cat "$WORK/big.val"; echo; } | cmp - "$WORK/big.got" || fail "the big value came back different"

note "1000 commands on one connection"
for i in $(seq 1000); do echo "SET dpsock:k$i $i"; done | cli >"$WORK/many.log" ||
	fail "batch of commands"
[ "$(grep -cx OK "$WORK/many.log")" = 1000 ] || fail "expected 1000 OK"
[ "$(cli GET dpsock:k1000)" = 1000 ] || fail "GET dpsock:k1000"
[ "$(on_peer redis-cli -h $PEER_IP -p $PORT DBSIZE)" = 1002 ] || fail "DBSIZE is not 1002"

note "INFO"
cli INFO server >"$WORK/info.log" || fail "INFO"
grep -q '^redis_version:' "$WORK/info.log" || fail "INFO without redis_version"
grep '^redis_version:' "$WORK/info.log"

note "--latency for 2 s"
# Non-interactive, redis-cli samples for -i seconds and prints "min max avg count" once.
cli --latency -i 2 --raw >"$WORK/latency.log" || fail "redis-cli --latency"
cat "$WORK/latency.log"
read -r min max avg count _ <"$WORK/latency.log" || fail "no latency line"
[[ "$count" =~ ^[0-9]+$ ]] && [ "$count" -ge 20 ] || fail "only '$count' latency samples in 2 s"
awk -v a="$min" -v b="$avg" -v c="$max" 'BEGIN { exit !(a <= b && b <= c && c < 1000) }' ||
	fail "latency min/avg/max out of order or over 1 s"

# redis-benchmark on dpsock too (issue 6): 20 connections from one event loop.
n=$(sized 20000 2000)
note "redis-benchmark on dpsock: -t set,get,incr -n $n -c 20"
SHIM_TIMEOUT=120 on_stack redis-benchmark -h $PEER_IP -p $PORT -t set,get,incr -n "$n" -c 20 --csv \
	>"$WORK/bench.csv" 2>"$WORK/bench.err" || fail "redis-benchmark on dpsock failed"
sed 's/^/#   /' "$WORK/bench.csv"
for t in SET GET INCR; do grep -q "^\"$t" "$WORK/bench.csv" || fail "no result for $t"; done
echo "PASS"
