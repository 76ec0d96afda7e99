#!/usr/bin/env bash
# A client restarted on one host (issue 13 item 5): ab on dpsock (LD_PRELOAD shim) against a
# kernel nginx in dps-peer, many short connections (HTTP/1.0: nginx closes first, so every
# connection leaves a TIME_WAIT at the server), run twice back to back. The second ab is a new
# process: it picks the same ports (RFC 6056 §3.3.3, offset keyed per boot) and must be let in by
# the server's TIME_WAITs, because its ISNs and TSvals continue the first one's (docs/tcp.md, "ISN,
# timestamps and ports"). Checked: both runs complete every request with none failed, the second
# within BOUND seconds (a correctness bound, not a speed figure: before the fix a quarter to a half
# of the reused tuples were refused by PAWS, and each such connect waited for its 1 s RTO, so the
# run took minutes); the server's TIME_WAIT refused no SYN in the second run (TcpExtPAWSTimewait in
# dps-peer unchanged; PAWSEstab on kernels before 6.13). Sizes: DPSTEST_RESTART_N requests (default 20000, 5000 in the ASan build),
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

# The server's TcpExt counters about SYNs meeting a TIME_WAIT: PAWSTimewait (Linux 6.13+;
# PAWSEstab before) counts those refused for an older TSval, TCPACKSkippedTimeWait the ACKs it
# rate-limited, TWRecycled the TIME_WAITs a new SYN took over.
PAWS=TcpExtPAWSTimewait
"${PEER_RUN[@]}" nstat -az $PAWS | grep -q "^$PAWS" || PAWS=TcpExtPAWSEstab
tw_counters() {
	"${PEER_RUN[@]}" nstat -az $PAWS TcpExtTCPACKSkippedTimeWait TcpExtTWRecycled |
		awk '/^TcpExt/ { printf "%s=%s ", $1, $2 }'
}
tw_count() { tr ' ' '\n' <<<"$1" | awk -F= -v n="$2" '$1 == n { print $2 }'; }
time_waits() { "${PEER_RUN[@]}" ss -Htan state time-wait "sport = :$PORT" | wc -l; }

# run_ab LABEL: ab on dpsock, bounded to BOUND s; sets AB_RC, AB_COMPLETE, AB_FAILED.
run_ab() {
	local out="$WORK/ab.$1.out" took
	AB_RC=0
	SHIM_TIMEOUT=$BOUND on_stack ab -q -s 10 -n "$N" -c $C "$URL" >"$out" 2>&1 || AB_RC=$?
	AB_COMPLETE=$(awk '/^Complete requests:/ { print $3 }' "$out")
	AB_FAILED=$(awk '/^Failed requests:/ { print $3 }' "$out")
	took=$(awk '/^Time taken for tests:/ { print $5 }' "$out")
	note "$1 run: status $AB_RC, ${AB_COMPLETE:-?} complete, ${AB_FAILED:-?} failed, ${took:-?} s"
}
# check_ab LABEL: every request complete, none failed, within the bound.
check_ab() {
	[ $AB_RC = 124 ] || [ $AB_RC = 137 ] && fail "$1 ab did not complete $N requests within $BOUND s"
	[ $AB_RC = 0 ] || fail "$1 ab exited with status $AB_RC: $(tail -3 "$WORK/ab.$1.out" | tr '\n' ' ')"
	[ "$AB_COMPLETE" = "$N" ] || fail "$1 run: $AB_COMPLETE requests complete, expected $N"
	[ "$AB_FAILED" = 0 ] || fail "$1 run: $AB_FAILED requests failed"
}

note "ab -n $N -c $C $URL on dpsock, twice back to back (second run bounded to $BOUND s)"
run_ab first
check_ab first
tw=$(time_waits)
note "TIME_WAIT at the server before the second run: $tw"
[ "$tw" -ge $((N / 2)) ] || fail "only $tw TIME_WAITs at the server: the second run would test nothing"
c0=$(tw_counters)
run_ab second
c1=$(tw_counters)
note "server counters before the second run: $c0"
note "server counters after it:              $c1"
check_ab second
refused=$(($(tw_count "$c1" $PAWS) - $(tw_count "$c0" $PAWS)))
[ "$refused" = 0 ] || fail "the server's TIME_WAIT refused $refused SYNs of the second process ($PAWS)"
grep -E '\[(alert|emerg|crit)\]' "$WORK/ng/error.log" && fail "nginx logged errors"
echo "PASS"
