#!/usr/bin/env bash
# A client restarted on one host (issue 13 item 5): ab on dpsock (LD_PRELOAD shim) against a
# kernel nginx in dps-peer, many short connections (HTTP/1.0: nginx closes first, so every
# connection leaves a TIME_WAIT at the server), run twice back to back. The second ab is a new
# process: it picks the same ports (RFC 6056 §3.3.3, offset keyed per boot) and must be let in by
# the server's TIME_WAITs, because its ISNs and TSvals continue the first one's (docs/tcp.md, "ISN,
# timestamps and ports"). Checked: both runs complete every request with none failed, the second
# within BOUND seconds (a correctness bound, not a speed figure: before the fix a quarter to a half
# of the reused tuples were refused by PAWS, and each such connect waited for its 1 s RTO, so the
# run took minutes); the server's TIME_WAIT refused no SYN in the second run (TcpExtPAWSEstab in
# dps-peer unchanged). Sizes: DPSTEST_RESTART_N requests (default 20000, 5000 in the ASan build),
# 50 at a time.
source "$(dirname "$0")/shim_lib.sh"
need ab nginx nstat ss
N=${DPSTEST_RESTART_N:-$(sized 20000 5000)}
C=50
PORT=20030
BOUND=${DPSTEST_RESTART_BOUND:-30}
URL=http://$PEER_IP:$PORT/

shim_up
mkdir -p "$WORK/ng" "$WORK/html"
echo "restart test" >"$WORK/html/index.html"
cat >"$WORK/ng/nginx.conf" <<CONF
master_process off;
worker_processes 1;
daemon off;
pid $WORK/ng/nginx.pid;
error_log $WORK/ng/error.log notice;
events { worker_connections 4096; }
http {
    access_log off;
    server {
        listen $PEER_IP:$PORT;
        root $WORK/html;
    }
}
CONF
bg_peer nginx nginx -c "$WORK/ng/nginx.conf" -e "$WORK/ng/error.log"
wait_peer_listen $PORT

paws_rejects() { "${PEER_RUN[@]}" nstat -az TcpExtPAWSEstab | awk '$1 == "TcpExtPAWSEstab" { print $2 }'; }
time_waits() { "${PEER_RUN[@]}" ss -Htan state time-wait "sport = :$PORT" | wc -l; }

# run_ab LABEL: ab on dpsock, bounded to BOUND s; every request complete, none failed.
run_ab() {
	local out="$WORK/ab.$1.out" rc=0 complete failed took
	SHIM_TIMEOUT=$BOUND on_stack ab -q -s 10 -n "$N" -c $C "$URL" >"$out" 2>&1 || rc=$?
	[ $rc = 124 ] || [ $rc = 137 ] &&
		fail "$1 ab did not complete $N requests within $BOUND s ($(grep -c . "$out") lines of output)"
	[ $rc = 0 ] || fail "$1 ab exited with status $rc: $(tail -3 "$out" | tr '\n' ' ')"
	complete=$(awk '/^Complete requests:/ { print $3 }' "$out")
	failed=$(awk '/^Failed requests:/ { print $3 }' "$out")
	took=$(awk '/^Time taken for tests:/ { print $5 }' "$out")
	note "$1 run: $complete complete, $failed failed, $took s"
	[ "$complete" = "$N" ] || fail "$1 run: $complete requests complete, expected $N"
	[ "$failed" = 0 ] || fail "$1 run: $failed requests failed"
}

note "ab -n $N -c $C $URL on dpsock, twice back to back (second run bounded to $BOUND s)"
run_ab first
tw=$(time_waits)
note "TIME_WAIT at the server before the second run: $tw"
[ "$tw" -ge $((N / 2)) ] || fail "only $tw TIME_WAITs at the server: the second run would test nothing"
paws0=$(paws_rejects)
run_ab second
paws1=$(paws_rejects)
note "SYNs the server's TIME_WAIT refused (TcpExtPAWSEstab) during the second run: $((paws1 - paws0))"
[ "$paws1" = "$paws0" ] || fail "the second process's TSvals went back for $((paws1 - paws0)) tuples"
grep -E '\[(alert|emerg|crit)\]' "$WORK/ng/error.log" && fail "nginx logged errors"
echo "PASS"
