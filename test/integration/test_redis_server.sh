#!/usr/bin/env bash
# Unmodified redis-server (Debian's) on dpsock (issue 6), kernel clients in dps-peer:
#   - redis-benchmark -t set,get,incr,lpush,lpop,mset -n N -c 50, then the same with -P 16:
#     every test completes (redis-benchmark prints a rate for each, no error);
#   - redis-cli round trips (SET/GET of a 1 MiB value, INCR);
#   - BGSAVE during load: the fork()ed child writes the dump while the parent keeps serving
#     (DESIGN.md §6: the child never touches the device), rdb_last_bgsave_status:ok;
#   - SIGTERM ends it cleanly, and the device is free for the next process at once.
source "$(dirname "$0")/shim_lib.sh"
need redis-server redis-benchmark redis-cli
PORT=20050
N=$(sized 100000 10000)

shim_up
cli() { on_peer redis-cli -h "$STACK_IP" -p $PORT "$@"; }
bg_stack redis redis-server --port $PORT --protected-mode no --save '' --appendonly no \
	--dir "$WORK" --dbfilename dump.rdb
for _ in $(seq 300); do
	[ "$(cli PING 2>/dev/null)" = PONG ] && break
	sleep 0.1
done
[ "$(cli PING)" = PONG ] || fail "redis-server on dpsock did not answer PING within 30 s"

for pipe in 1 16; do
	note "redis-benchmark -t set,get,incr,lpush,lpop,mset -n $N -c 50 -P $pipe"
	on_peer redis-benchmark -h "$STACK_IP" -p $PORT -t set,get,incr,lpush,lpop,mset -n "$N" \
		-c 50 -P $pipe --csv >"$WORK/bench.csv" 2>"$WORK/bench.err" || fail "redis-benchmark failed"
	sed 's/^/#   /' "$WORK/bench.csv"
	for t in SET GET INCR LPUSH LPOP MSET; do
		grep -q "^\"$t" "$WORK/bench.csv" || fail "no result for $t (-P $pipe)"
	done
	grep -qi error "$WORK/bench.err" "$WORK/bench.csv" && fail "redis-benchmark reported errors"
done

note "round trips: a 1 MiB value, INCR"
head -c 786432 /dev/urandom | base64 -w0 >"$WORK/value"
on_peer sh -c "redis-cli -h $STACK_IP -p $PORT -x SET big <'$WORK/value'" | grep -q OK ||
	fail "SET of 1 MiB failed"
cli --raw GET big | head -c -1 | cmp -s - "$WORK/value" || fail "GET of 1 MiB returned other bytes"
cli DEL counter >/dev/null
for _ in $(seq 100); do cli INCR counter >/dev/null; done
[ "$(cli GET counter)" = 100 ] || fail "INCR x100 gave $(cli GET counter)"

note "BGSAVE under load"
bg_peer load redis-benchmark -h "$STACK_IP" -p $PORT -t set,get -n "$N" -c 20 -q
sleep 0.5
cli BGSAVE | grep -qE 'Background saving started|already in progress' || fail "BGSAVE refused"
for _ in $(seq 300); do
	cli INFO persistence | grep -q 'rdb_bgsave_in_progress:0' && break
	sleep 0.1
done
cli INFO persistence | grep -q 'rdb_last_bgsave_status:ok' || fail "BGSAVE did not succeed"
[ -s "$WORK/dump.rdb" ] || fail "no dump.rdb written"
expect_ok load 120
[ "$(cli PING)" = PONG ] || fail "redis-server stopped answering after BGSAVE"

note "one process per device: a second one is refused (fallback=error) naming the holder"
rc=0
SHIM_TIMEOUT=30 on_stack env DPSOCK_DEV_WAIT_MS=300 "$PY" -c '
import socket
socket.create_connection(("'$PEER_IP'", 9), timeout=2)' 2>"$WORK/second.err" || rc=$?
grep '^dpsock:' "$WORK/second.err" | sed 's/^/#   /'
[ $rc = 1 ] && grep -q "is in use by process $(pgrep -P "${JOBS[redis]}" redis-server || echo x)" "$WORK/second.err" ||
	fail "a second process on the device: status $rc, expected 1 and the holder's pid"

note "SIGTERM: a clean stop, and the device is free again"
kill -TERM "${JOBS[redis]}"
job_wait redis 30
[ "$JOB_RC" = 0 ] || fail "redis-server exited with status $JOB_RC"
bg_stack redis2 redis-server --port $PORT --protected-mode no --save '' --appendonly no
for _ in $(seq 300); do
	[ "$(cli PING 2>/dev/null)" = PONG ] && break
	sleep 0.1
done
[ "$(cli PING)" = PONG ] || fail "a second redis-server could not start on the device"
grep -q 'is busy' "$WORK/redis2.err" && fail "the device was still held by the stopped server"
echo "PASS"
