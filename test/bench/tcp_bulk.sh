#!/usr/bin/env bash
# tcp_bulk.sh BUILD_DIR [BYTES] [REPEATS]: bulk TCP throughput on the testbed's veth pair, dpsock
# vs the kernel, alternating in one run (A B A B ...), medians reported:
#   kernel -> dpsock   socat in dps-peer sends to dps-echo --mode sink (net_af_packet on dps0)
#   dpsock -> kernel   socat in dps-peer reads from dps-echo --mode source
#   kernel -> kernel   the same veth, dps0 given to the kernel of dps-stack (socat on both ends)
# Timing figures are noisy on a shared machine: read the ratios, not the absolute numbers.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:?usage: $0 BUILD_DIR [BYTES] [REPEATS]}" && pwd)
BYTES=${2:-1073741824}
REPEATS=${3:-3}
STACK_IP=198.18.0.2
WORK=$(mktemp -d /tmp/dps-bench.XXXXXX)
created=0 echo_pid=

cleanup() {
	[ -n "$echo_pid" ] && kill -TERM "$echo_pid" 2>/dev/null && wait "$echo_pid" 2>/dev/null
	ip -n dps-stack addr flush dev dps0 2>/dev/null || true
	[ $created = 1 ] && "$ROOT/test/testbed.sh" down
	rm -rf "$WORK"
}
trap cleanup EXIT
"$ROOT/test/testbed.sh" status >/dev/null 2>&1 || { created=1; "$ROOT/test/testbed.sh" up; }

start_echo() { # MODE
	ip netns exec dps-stack env DPSOCK_DEV=net_af_packet0,iface=dps0 DPSOCK_IP=$STACK_IP/24 \
		"$BUILD/test/apps/dps-echo" --mode "$1" --port 9 --duration 600 >"$WORK/echo.out" 2>"$WORK/echo.err" &
	echo_pid=$!
	for _ in $(seq 300); do grep -q ready "$WORK/echo.err" && return; sleep 0.1; done
	cat "$WORK/echo.err"; exit 1
}
stop_echo() { kill -TERM "$echo_pid"; wait "$echo_pid" || true; echo_pid=; }

# seconds SCRIPT...: wall time of a command, in seconds with ms.
seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }

send_to() { head -c "$BYTES" /dev/zero | ip netns exec dps-peer socat -u -b 262144 - TCP4:$STACK_IP:9; }
recv_from() { ip netns exec dps-peer socat -u -b 262144 TCP4:$STACK_IP:9 - | head -c "$BYTES" >/dev/null; }

declare -a dk kd kk
for r in $(seq "$REPEATS"); do
	start_echo sink
	dk+=("$(seconds send_to)")
	stop_echo
	start_echo source
	kd+=("$(seconds recv_from)")
	stop_echo
	ip -n dps-stack addr add $STACK_IP/24 dev dps0
	ip netns exec dps-stack socat -u -b 262144 TCP-LISTEN:9,reuseaddr /dev/null &
	sink=$!
	sleep 0.3
	kk+=("$(seconds send_to)")
	wait $sink || true
	ip -n dps-stack addr flush dev dps0
	ip -n dps-peer neigh flush dev dps1
done

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
mbps() { echo "$BYTES * 8 / $1 / 1000000" | bc -l | xargs printf '%.0f'; }
m_kd=$(median "${dk[@]}") m_dk=$(median "${kd[@]}") m_kk=$(median "${kk[@]}")
echo
echo "bulk TCP, $BYTES bytes, median of $REPEATS (seconds: ${dk[*]} | ${kd[*]} | ${kk[*]})"
printf '| direction | Mbit/s | vs kernel->kernel |\n|---|---|---|\n'
printf '| kernel -> dpsock | %s | %.2f |\n' "$(mbps "$m_kd")" "$(echo "$m_kk / $m_kd" | bc -l)"
printf '| dpsock -> kernel | %s | %.2f |\n' "$(mbps "$m_dk")" "$(echo "$m_kk / $m_dk" | bc -l)"
printf '| kernel -> kernel | %s | 1.00 |\n' "$(mbps "$m_kk")"
