#!/usr/bin/env bash
# fastcalldown.sh BUILD_DIR: the shim's per-call cost and the CPU of a blocked, idle program.
#   - bench_fastcalldown under libdpsock.so: dps_fastcalldown() when nothing is due
#     (DPSOCK_POLL_US=1000000) and when every call polls (DPSOCK_POLL_US=0), and a hooked call on
#     a kernel fd next to the same call without the shim;
#   - a python3 server blocked in accept() on dpsock for 5 s: its CPU time (DESIGN.md §4 idle
#     policy: spin idle_spin_us, then sleep in the kernel on the device's fd);
#   - an idle nginx (master + 1 worker) on dpsock for 5 s, after one request: the same.
# Runs on the testbed (test/testbed.sh), which it brings up and down if it was not up.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
LIB="$BUILD/preload/libdpsock.so"
BENCH="$BUILD/test/bench/preload/bench_fastcalldown"
created=0 pid= ngdir=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	[ -n "$ngdir" ] && [ -s "$ngdir/nginx.pid" ] && kill -QUIT "$(cat "$ngdir/nginx.pid")" 2>/dev/null
	[ -n "$ngdir" ] && sleep 1 && rm -rf "$ngdir"
	[ $created = 1 ] && "$ROOT/test/testbed.sh" down
	return 0
}
trap cleanup EXIT
"$ROOT/test/testbed.sh" status >/dev/null 2>&1 || { created=1; "$ROOT/test/testbed.sh" up; }
on_stack() { ip netns exec dps-stack env LD_PRELOAD="$LIB" DPSOCK_DEV=net_af_packet0,iface=dps0 \
	DPSOCK_IP=198.18.0.2/24 "$@"; }

echo "# without the shim"
ip netns exec dps-stack "$BENCH"
echo "# nothing due (DPSOCK_POLL_US=1000000)"
on_stack DPSOCK_POLL_US=1000000 "$BENCH" 2>/dev/null
echo "# every call polls (DPSOCK_POLL_US=0)"
on_stack DPSOCK_POLL_US=0 "$BENCH" 2>/dev/null

echo "# idle: python3 blocked in accept() on dpsock"
ip netns exec dps-stack env LD_PRELOAD="$LIB" DPSOCK_DEV=net_af_packet0,iface=dps0 \
	DPSOCK_IP=198.18.0.2/24 timeout 60 /usr/bin/python3 -c '
import socket; s = socket.socket(); s.bind(("", 9998)); s.listen(1); s.accept()' 2>/dev/null &
pid=$!
sleep 4 # engine start-up, then idle
child=$(pgrep -P "$pid" -f python3 || echo "$pid")
hz=$(getconf CLK_TCK)
t0=$(awk '{print $14 + $15}' "/proc/$child/stat")
sleep 5
t1=$(awk '{print $14 + $15}' "/proc/$child/stat")
echo "idle_cpu_percent $(echo "scale=2; 100 * ($t1 - $t0) / (5 * $hz)" | bc)"
kill "$pid" 2>/dev/null || true # timeout passes SIGTERM on to python3
wait "$pid" 2>/dev/null || true
pid=

# cpu_ticks PID...: utime + stime of the processes, in clock ticks.
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }
if command -v nginx >/dev/null; then
	echo "# idle: nginx (master + 1 worker) on dpsock, after one request"
	ngdir=$(mktemp -d /tmp/dps-idle.XXXXXX)
	echo hello >"$ngdir/index.html"
	cat >"$ngdir/nginx.conf" <<CONF
user root;
worker_processes 1;
daemon off;
pid $ngdir/nginx.pid;
error_log $ngdir/error.log notice;
events { worker_connections 1024; }
http { access_log off; server { listen 9997; root $ngdir; } }
CONF
	on_stack nginx -c "$ngdir/nginx.conf" 2>/dev/null &
	sleep 3
	ip netns exec dps-peer curl -s -o /dev/null --max-time 5 http://198.18.0.2:9997/ || echo "curl failed"
	sleep 1
	master=$(cat "$ngdir/nginx.pid")
	procs="$master $(pgrep -P "$master" | tr '\n' ' ')"
	t0=$(cpu_ticks $procs)
	sleep 5
	t1=$(cpu_ticks $procs)
	echo "idle_nginx_cpu_percent $(echo "scale=2; 100 * ($t1 - $t0) / (5 * $hz)" | bc)"
fi
