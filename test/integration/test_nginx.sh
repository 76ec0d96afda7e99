#!/usr/bin/env bash
# Unmodified nginx (Debian's) on dpsock (issue 6), kernel clients in dps-peer:
#   - master_process on (worker_processes 1) and master_process off;
#   - sendfile on and sendfile off;
#   - a 612-byte page and a 10 MiB file fetched with curl, sha256-checked; wrk for a few seconds
#     with no socket errors and only 200s;
#   - `nginx -s reload` repeated under wrk load (master mode): nginx keeps serving, the reloads'
#     failed requests are reported (Linux also fails some), and the last page is still right;
#   - a clean stop (SIGQUIT, then the device is free for the next start at once).
# The master prepares the listener and forks; the worker starts its engine (DESIGN.md §6).
source "$(dirname "$0")/shim_lib.sh"
need nginx wrk curl
PORT=20040
RELOADS=${DPSTEST_NGINX_RELOADS:-$(sized 20 5)}
URL=http://$STACK_IP:$PORT

shim_up
mkdir -p "$WORK/html" "$WORK/ng"
head -c 459 /dev/urandom | base64 -w0 | head -c 612 >"$WORK/html/index.html"
head -c 10485760 /dev/urandom >"$WORK/html/big.bin"
small_sum=$(sha256sum <"$WORK/html/index.html" | cut -d' ' -f1)
big_sum=$(sha256sum <"$WORK/html/big.bin" | cut -d' ' -f1)

# conf MASTER(on|off) SENDFILE(on|off): write the configuration. `user root`: the worker drives
# the DPDK device, which needs root (nginx's default user would be refused, with a message).
conf() {
	cat >"$WORK/ng/nginx.conf" <<CONF
user root;
master_process $1;
worker_processes 1;
daemon off;
pid $WORK/ng/nginx.pid;
error_log $WORK/ng/error.log notice;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile $2;
    keepalive_requests 1000000;
    server {
        listen $PORT;
        root $WORK/html;
    }
}
CONF
}

fetch_check() { # NAME SUM
	on_peer curl --noproxy '*' -sS --fail --max-time 30 -o "$WORK/got" "$URL/$1" ||
		fail "curl $URL/$1 failed"
	[ "$(sha256sum <"$WORK/got" | cut -d' ' -f1)" = "$2" ] || fail "$1 arrived different"
}

# wrk_check SECONDS CONNS: wrk from the peer; every request answered 200, no socket error.
wrk_check() {
	on_peer wrk -t1 -c"$2" -d"$1"s --timeout 5s "$URL/" >"$WORK/wrk.txt" 2>&1 || fail "wrk failed"
	grep -E 'Requests/sec|Socket errors|Non-2xx' "$WORK/wrk.txt" | sed 's/^/#   /'
	grep -qE 'Socket errors|Non-2xx' "$WORK/wrk.txt" && fail "wrk saw errors"
	return 0
}

# start_nginx [launcher]: nginx in dps-stack; with "launcher", through `dpsock run` (which sets
# LD_PRELOAD and the device itself) instead of on_stack's environment.
start_nginx() {
	if [ "${1:-}" = launcher ]; then
		bg nginx ip netns exec dps-stack env ${SHIM_ASAN_RT:+LD_PRELOAD=$SHIM_ASAN_RT} \
			${SHIM_ASAN_RT:+ASAN_OPTIONS=detect_leaks=0} DPSOCK_FALLBACK=error \
			"$BUILD/tools/dpsock" run --dev net_af_packet0,iface=dps0 --ip "$STACK_IP/24" -- \
			nginx -c "$WORK/ng/nginx.conf" -e "$WORK/ng/error.log"
	else
		bg_stack nginx nginx -c "$WORK/ng/nginx.conf" -e "$WORK/ng/error.log"
	fi
	for _ in $(seq 300); do
		on_peer curl --noproxy '*' -s -o /dev/null --max-time 1 "$URL/" && return 0
		sleep 0.1
	done
	cat "$WORK/ng/error.log" >&2
	fail "nginx on dpsock did not answer within 30 s"
}

stop_nginx() {
	kill -QUIT "$(cat "$WORK/ng/nginx.pid")"
	job_wait nginx 30
	[ "$JOB_RC" = 0 ] || fail "nginx exited with status $JOB_RC"
	grep -E '\[(alert|emerg|crit)\]' "$WORK/ng/error.log" && fail "nginx logged errors"
	return 0
}

# stat_check: the master never started DPDK (DESIGN.md §6), the worker did, and `dpsock stat`
# reads the worker's counters: the requests above show as accepted connections.
stat_check() {
	local master worker out
	master=$(cat "$WORK/ng/nginx.pid")
	worker=$(pgrep -P "$master" | head -1)
	[ -n "$worker" ] || fail "no nginx worker"
	[ -e "/var/run/dpdk/dpsock$master" ] && fail "the nginx master started DPDK"
	out=$("$BUILD/tools/dpsock" stat "$worker") || fail "dpsock stat $worker failed"
	echo "$out" | grep -E '^(== pid|tcp_accepts|tcp_conns|rx_frames) ' | sed 's/^/#   /'
	echo "$out" | awk '$1 == "tcp_accepts" { ok = $2 > 10 } END { exit !ok }' ||
		fail "dpsock stat shows no traffic"
	out=$("$BUILD/tools/dpsock" stat --all) || fail "dpsock stat --all failed"
	grep -q "^== pid $worker " <<<"$out" || fail "dpsock stat --all misses $worker"
}

first=launcher
for master in on off; do
	for sf in on off; do
		note "master_process $master, sendfile $sf${first:+, started with dpsock run}"
		conf $master $sf
		: >"$WORK/ng/error.log"
		start_nginx $first
		fetch_check index.html "$small_sum"
		fetch_check big.bin "$big_sum"
		wrk_check 3 16
		[ -n "$first" ] && stat_check
		first=
		stop_nginx
	done
done

# reloads LABEL: RELOADS x SIGHUP (nginx -s reload) under wrk load; the socket errors wrk saw
# go to $WORK/reload-LABEL (reported next to the kernel's: a reload closes keep-alive
# connections on Linux too, so some errors are expected on both).
reloads() {
	local secs=$((RELOADS * 2 + 6)) req
	bg_peer "wrk-$1" wrk -t1 -c8 -d${secs}s --timeout 5s "$URL/"
	for _ in $(seq "$RELOADS"); do
		sleep 1
		kill -HUP "$(cat "$WORK/ng/nginx.pid")"
		sleep 1
	done
	job_wait "wrk-$1" $((secs + 30))
	[ "$JOB_RC" = 0 ] || fail "wrk failed"
	grep -qE 'Non-2xx' "$WORK/wrk-$1.out" && fail "$1: non-2xx answers during the reloads"
	req=$(awk '/requests in/ { print $1 }' "$WORK/wrk-$1.out")
	[ "${req:-0}" -gt 0 ] || fail "$1: no request was served during the reloads"
	echo "$1: $req requests, $(grep -E 'Socket errors' "$WORK/wrk-$1.out" || echo 'no socket errors')" |
		tee "$WORK/reload-$1"
	fetch_check index.html "$small_sum"
	workers=$(grep -c 'start worker process' "$WORK/ng/error.log")
	[ "$workers" -ge $((RELOADS + 1)) ] || fail "$1: expected $((RELOADS + 1)) workers, saw $workers"
}

note "$RELOADS x nginx -s reload under wrk load (master_process on), dpsock then the kernel"
conf on on
: >"$WORK/ng/error.log"
start_nginx
reloads dpsock
stop_nginx
if [ "$SHIM_KERNEL" != 1 ]; then
	# The same nginx on the kernel's stack of dps-stack, for comparison.
	ip -n dps-stack addr add "$STACK_IP/24" dev dps0
	AT_EXIT+=(kernel_ip_off)
	kernel_ip_off() { ip -n dps-stack addr del "$STACK_IP/24" dev dps0 2>/dev/null; true; }
	ip -n dps-peer neigh flush dev dps1
	: >"$WORK/ng/error.log"
	STACK_RUN=(ip netns exec dps-stack env)
	start_nginx
	reloads kernel
	stop_nginx
	kernel_ip_off
	ip -n dps-peer neigh flush dev dps1
fi
echo "PASS"
