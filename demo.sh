#!/usr/bin/env bash
# demo.sh: the main job, from a fresh clone (root, Debian 12). Installs the packages, builds, brings
# up the testbed, and runs unmodified programs on dpsock next to the same programs on the kernel,
# on the same veth, in one run:
#   1. nginx (Debian's binary, master + 1 worker) started with `dpsock run` in dps-stack; a page
#      fetched with curl and wrk (-c8, -c64) from the kernel peer in dps-peer; then the same nginx
#      on the kernel's stack of dps-stack (dps0 given the address). Rounds alternate; medians and
#      ratios are printed side by side.
#   2. redis-server the same way, driven by redis-benchmark (SET, GET).
#   3. ICMP: ping RTTs to dps-echo on dpsock vs the kernel.
# Takes the testbed down again if it brought it up. Figures are noisy on a shared machine: read
# the ratios (dpsock/kernel), not the absolute numbers.
set -euo pipefail
cd "$(dirname "$0")"
COUNT=${DPSTEST_DEMO_PINGS:-500}
WRK_SECONDS=${DPSTEST_DEMO_WRK_SECONDS:-5}
ROUNDS=${DPSTEST_DEMO_ROUNDS:-3}
REQUESTS=${DPSTEST_DEMO_REQUESTS:-50000}
STACK_IP=198.18.0.2
WORK=$(mktemp -d /tmp/dps-demo.XXXXXX)
created=0 echo_pid= redis_pid= nginx_pid=

cleanup() {
	[ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
	[ -n "$redis_pid" ] && kill -TERM "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
	[ -n "$echo_pid" ] && kill -TERM "$echo_pid" 2>/dev/null && wait "$echo_pid" 2>/dev/null
	ip -n dps-stack addr flush dev dps0 2>/dev/null || true
	[ $created = 1 ] && test/testbed.sh down
	rm -rf "$WORK"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (network namespaces, DPDK)" >&2; exit 1; }
[ "${DPSTEST_NO_INSTALL:-0}" = 1 ] || tools/install-deps.sh
[ -d build ] || meson setup build >/dev/null
meson compile -C build >/dev/null
test/testbed.sh status >/dev/null 2>&1 || { created=1; test/testbed.sh up; }

# ping_stats: "median p99 max loss%" of the RTTs (ms) of COUNT pings from dps-peer.
ping_stats() {
	ip netns exec dps-peer ping -c "$COUNT" -i 0.005 -W 2 $STACK_IP >"$WORK/ping.txt" || true
	awk -F'time=' '/time=/ { split($2, a, " "); print a[1] }' "$WORK/ping.txt" | sort -g >"$WORK/rtt.txt"
	local n loss
	n=$(wc -l <"$WORK/rtt.txt")
	loss=$(grep -o '[0-9.]*% packet loss' "$WORK/ping.txt" | cut -d% -f1)
	[ "$n" -gt 0 ] || { echo "- - - ${loss:-100}"; return; }
	awk -v n="$n" -v loss="$loss" '{ r[NR] = $1 } END {
		i = int(n * 0.99); if (i < 1) i = 1
		printf "%s %s %s %s\n", r[int((n + 1) / 2)], r[i], r[n], loss }' "$WORK/rtt.txt"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# nginx_start [dpsock]: nginx in dps-stack (through `dpsock run` when asked), up to 30 s to answer.
mkdir -p "$WORK/html"
head -c 459 /dev/urandom | base64 -w0 | head -c 612 >"$WORK/html/index.html"
cat >"$WORK/nginx.conf" <<CONF
user root;
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx.log notice;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    server { listen 8080; root $WORK/html; }
}
CONF
nginx_start() {
	local run=()
	[ "${1:-}" = dpsock ] && run=(build/tools/dpsock run --dev net_af_packet0,iface=dps0 \
		--ip $STACK_IP/24 --)
	ip netns exec dps-stack "${run[@]}" nginx -c "$WORK/nginx.conf" >>"$WORK/nginx.log" 2>&1 &
	nginx_pid=$!
	for _ in $(seq 300); do
		ip netns exec dps-peer curl -s -o /dev/null --max-time 1 http://$STACK_IP:8080/ && return
		sleep 0.1
	done
	cat "$WORK/nginx.log"; exit 1
}
nginx_stop() { kill -QUIT "$(cat "$WORK/nginx.pid")"; wait "$nginx_pid" || true; nginx_pid=; }
# wrk_rps CONNS: "req/s p99_ms" of one wrk run from the peer.
wrk_rps() {
	ip netns exec dps-peer wrk -t1 -c"$1" -d"${WRK_SECONDS}"s --latency http://$STACK_IP:8080/ |
		awk '/Requests\/sec/ { r = $2 } $1 == "99%" { p = $2 }
		END { if (p ~ /us$/) p = p / 1000; else if (p ~ /ms$/) p = p + 0; else p = p * 1000;
		printf "%.0f %.2f\n", r, p }'
}
kernel_on() { ip -n dps-stack addr add $STACK_IP/24 dev dps0; ip -n dps-peer neigh flush dev dps1; }
kernel_off() { ip -n dps-stack addr flush dev dps0; ip -n dps-peer neigh flush dev dps1; }

echo "== nginx on dpsock vs on the kernel: wrk -t1 -d${WRK_SECONDS}s, -c8, -c64 and -c256, $ROUNDS rounds"
: >"$WORK/nd.txt"; : >"$WORK/nk.txt"
for r in $(seq "$ROUNDS"); do
	nginx_start dpsock
	[ "$r" = 1 ] && ip netns exec dps-peer curl -s http://$STACK_IP:8080/ | cmp -s - "$WORK/html/index.html" &&
		echo "   curl from dps-peer: the page arrived intact from nginx on dpsock"
	echo "$(wrk_rps 8) $(wrk_rps 64) $(wrk_rps 256)" >>"$WORK/nd.txt"
	nginx_stop
	kernel_on
	nginx_start
	echo "$(wrk_rps 8) $(wrk_rps 64) $(wrk_rps 256)" >>"$WORK/nk.txt"
	nginx_stop
	kernel_off
	echo "   round $r: dpsock $(tail -1 "$WORK/nd.txt")   kernel $(tail -1 "$WORK/nk.txt")  (req/s p99ms @c8, @c64, @c256)"
done
col() { cut -d' ' -f"$2" "$1" | median; }
row() { # LABEL FILE
	printf '%-8s' "$1"
	for c in 1 2 3 4 5 6; do printf ' %10s' "$(col "$2" $c)"; done
	echo
}
printf '%-8s %10s %10s %10s %10s %10s %10s\n' stack "c8 req/s" "c8 p99ms" "c64 req/s" \
	"c64 p99ms" "c256 req/s" "c256 p99ms"
row dpsock "$WORK/nd.txt"
row kernel "$WORK/nk.txt"
awk -v a="$(col "$WORK/nd.txt" 1)" -v b="$(col "$WORK/nk.txt" 1)" -v c="$(col "$WORK/nd.txt" 3)" \
	-v d="$(col "$WORK/nk.txt" 3)" -v e="$(col "$WORK/nd.txt" 5)" -v f="$(col "$WORK/nk.txt" 5)" \
	'BEGIN { if (b > 0 && d > 0 && f > 0)
	printf "dpsock/kernel req/s: c8 %.2f, c64 %.2f, c256 %.2f\n", a / b, c / d, e / f }'
echo

# redis_start [LD_PRELOAD value]: redis-server in dps-stack, up to 30 s to answer PING.
redis_start() {
	ip netns exec dps-stack env ${1:+LD_PRELOAD=$1} DPSOCK_DEV=net_af_packet0,iface=dps0 \
		DPSOCK_IP=$STACK_IP/24 timeout 600 redis-server --port 6379 --protected-mode no \
		--save '' --appendonly no >"$WORK/redis.log" 2>&1 &
	redis_pid=$!
	for _ in $(seq 300); do
		ip netns exec dps-peer redis-cli -h $STACK_IP PING 2>/dev/null | grep -q PONG && return
		sleep 0.1
	done
	cat "$WORK/redis.log"; exit 1
}
redis_stop() { kill -TERM "$redis_pid"; wait "$redis_pid" || true; redis_pid=; }
# bench: "set_rps get_rps" of one redis-benchmark run from the kernel peer.
bench() {
	ip netns exec dps-peer redis-benchmark -h $STACK_IP -t set,get -n "$REQUESTS" -c 50 --csv \
		2>/dev/null | tr -d '"' | awk -F, '$1 == "SET" { s = $2 } $1 == "GET" { g = $2 }
		END { print s, g }'
}

echo "== redis-server on dpsock vs on the kernel: redis-benchmark -t set,get -n $REQUESTS -c 50, $ROUNDS rounds"
: >"$WORK/d.txt"; : >"$WORK/k.txt"
for r in $(seq "$ROUNDS"); do
	redis_start "$PWD/build/preload/libdpsock.so"
	bench >>"$WORK/d.txt"
	redis_stop
	ip -n dps-stack addr add $STACK_IP/24 dev dps0
	ip -n dps-peer neigh flush dev dps1
	redis_start ""
	bench >>"$WORK/k.txt"
	redis_stop
	ip -n dps-stack addr flush dev dps0
	ip -n dps-peer neigh flush dev dps1
	echo "   round $r: dpsock $(tail -1 "$WORK/d.txt")   kernel $(tail -1 "$WORK/k.txt")  (SET GET req/s)"
done
ds=$(cut -d' ' -f1 "$WORK/d.txt" | median); dg=$(cut -d' ' -f2 "$WORK/d.txt" | median)
ks=$(cut -d' ' -f1 "$WORK/k.txt" | median); kg=$(cut -d' ' -f2 "$WORK/k.txt" | median)
printf '%-8s %14s %14s\n' stack "SET req/s" "GET req/s"
printf '%-8s %14s %14s\n' dpsock "$ds" "$dg" kernel "$ks" "$kg"
awk -v a="$ds" -v b="$ks" -v c="$dg" -v d="$kg" 'BEGIN {
	if (b > 0 && d > 0) printf "dpsock/kernel: SET %.2f, GET %.2f\n", a / b, c / d }'
echo

echo "== dpsock: dps-echo on dps0 (net_af_packet) in dps-stack, $COUNT pings from dps-peer"
ip netns exec dps-stack env DPSOCK_DEV=net_af_packet0,iface=dps0 DPSOCK_IP=$STACK_IP/24 \
	build/test/apps/dps-echo --duration 120 >"$WORK/echo.out" 2>"$WORK/echo.err" &
echo_pid=$!
for _ in $(seq 300); do grep -q ready "$WORK/echo.err" && break; sleep 0.1; done
grep -q ready "$WORK/echo.err" || { cat "$WORK/echo.err"; exit 1; }
read -r d_med d_p99 d_max d_loss < <(ping_stats)
kill -TERM "$echo_pid"; wait "$echo_pid"; echo_pid=
grep -E '^(rx_frames|tx_frames|icmp_echo_rx|icmp_echo_tx|arp_tx_reply) ' "$WORK/echo.out" | sed 's/^/   /'

echo "== kernel: the same address on dps0 owned by the kernel of dps-stack"
ip -n dps-stack addr add $STACK_IP/24 dev dps0
ip -n dps-peer neigh flush dev dps1
read -r k_med k_p99 k_max k_loss < <(ping_stats)
ip -n dps-stack addr flush dev dps0

echo
printf '%-8s %12s %12s %12s %8s\n' stack "median ms" "p99 ms" "max ms" "loss %"
printf '%-8s %12s %12s %12s %8s\n' dpsock "$d_med" "$d_p99" "$d_max" "$d_loss"
printf '%-8s %12s %12s %12s %8s\n' kernel "$k_med" "$k_p99" "$k_max" "$k_loss"
awk -v d="$d_med" -v k="$k_med" 'BEGIN { if (k > 0 && d > 0) printf "median RTT dpsock/kernel: %.2f\n", d / k }'
[ "$d_loss" = 0 ] || { echo "demo.sh: dpsock lost pings" >&2; exit 1; }
