#!/usr/bin/env bash
# fastcalldown.sh BUILD_DIR: the shim's per-call cost and the CPU of a blocked, idle program.
#   - bench_fastcalldown under libdpsock.so: dps_fastcalldown() when nothing is due
#     (DPSOCK_POLL_US=1000000) and when every call polls (DPSOCK_POLL_US=0), and a hooked call on
#     a kernel fd next to the same call without the shim;
#   - a python3 server blocked in accept() on dpsock for 5 s: its CPU time (DESIGN.md §4 idle
#     policy: spin idle_spin_us, then sleep in the kernel on the device's fd).
# Runs on the testbed (test/testbed.sh), which it brings up and down if it was not up.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
LIB="$BUILD/preload/libdpsock.so"
BENCH="$BUILD/test/bench/preload/bench_fastcalldown"
created=0 pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
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
on_stack timeout 60 /usr/bin/python3 -c '
import socket; s = socket.socket(); s.bind(("", 9998)); s.listen(1); s.accept()' 2>/dev/null &
pid=$!
sleep 4 # engine start-up, then idle
child=$(pgrep -P "$pid" -f python3 || echo "$pid")
hz=$(getconf CLK_TCK)
t0=$(awk '{print $14 + $15}' "/proc/$child/stat")
sleep 5
t1=$(awk '{print $14 + $15}' "/proc/$child/stat")
echo "idle_cpu_percent $(echo "scale=2; 100 * ($t1 - $t0) / (5 * $hz)" | bc)"
