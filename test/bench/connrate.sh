#!/usr/bin/env bash
# Connection-establishment rate, dpsock vs the kernel (issue 7: target >= 3x the kernel's), in
# one invocation, alternating A B A B (bench suite, not CI):
#   A  loadgen on its own engine (memif client, 64 source addresses) -> test/apps/iot-server, an
#      unmodified epoll program, on dpsock through the shim (memif server)
#   A' the same client -> loadgen --serve (dpsock's native API), unless CONNRATE_NATIVE=0
#   B  loadgen --kernel -> iot-server on the kernel, over loopback (64 source addresses)
# Each run starts a fresh server and opens C connections as fast as the SYN window (--syn-max)
# allows; the rate is connections established / ramp time (after a 64-connection warm-up that
# resolves ARP). Prints each run, the medians and the ratios; JSON lines in WORK/connrate.json.
#
#   test/bench/connrate.sh BUILD_DIR [CONNS [REPEATS]]      (root)
set -euo pipefail
BUILD=$(cd "${1:?usage: $0 BUILD_DIR [CONNS [REPEATS]]}" && pwd)
C=${2:-15000}
R=${3:-5}
SYN_MAX=${CONNRATE_SYN_MAX:-512}
LOADGEN="$BUILD/test/bench/loadgen/loadgen"
SERVER="$BUILD/test/apps/iot-server"
LIB="$BUILD/preload/libdpsock.so"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (DPDK)"; exit 77; }
[ "$C" -lt "$(($(ulimit -Hn) - 200))" ] || { echo "CONNS must stay below RLIMIT_NOFILE ($(ulimit -Hn)) - 200"; exit 2; }
WORK=$(mktemp -d /tmp/dps-connrate.XXXXXX)
spid=
cleanup() {
	local rc=$?
	set +e
	stop_server
	rm -f "$WORK"/*.sock
	echo "# results in $WORK"
	exit $rc
}
stop_server() {
	if [ -n "$spid" ]; then
		pkill -INT -P "$spid" 2>/dev/null
		kill -INT "$spid" 2>/dev/null
		wait "$spid" 2>/dev/null
		spid=
	fi
}
trap cleanup EXIT
engine=(DPSOCK_HUGEPAGES=off DPSOCK_TCP_MAX_CONNS=$((C * 2 + 4096)) DPSOCK_MBUFS=32767
	DPSOCK_ARP_QUEUE_LEN=256 DPSOCK_DEV_WAIT_MS=0 DPSOCK_FALLBACK=error DPSOCK_LISTEN_KERNEL=0
	DPSOCK_LOG_LEVEL=warning)
wait_ready() { # FILE PATTERN
	for _ in $(seq 300); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$spid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
rate() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.0f %d %d" % (d["conn_rate"], d["established"], d["failed"]))' "$1"; }

run() { # KIND ROUND
	local kind=$1 i=$2 out="$WORK/$1-$2.json" sock="$WORK/memif-$1-$2.sock"
	case $kind in
	shim | native)
		if [ "$kind" = shim ]; then
			env "${engine[@]}" LD_PRELOAD="$LIB" DPSOCK_DEV="net_memif0,role=server,id=0,socket=$sock" \
				DPSOCK_IP=198.19.0.1/16 timeout 120 "$SERVER" --port 9000 \
				>"$WORK/$kind-$i.srv" 2>&1 &
		else
			env "${engine[@]}" DPSOCK_DEV="net_memif0,role=server,id=0,socket=$sock" \
				DPSOCK_IP=198.19.0.1/16 timeout 120 "$LOADGEN" --serve 9000 --conns $((C + 1024)) \
				>"$WORK/$kind-$i.srv" 2>&1 &
		fi
		spid=$!
		wait_ready "$WORK/$kind-$i.srv" 'ready\|serving' || { cat "$WORK/$kind-$i.srv"; return 1; }
		env "${engine[@]}" DPSOCK_DEV="net_memif0,role=client,id=0,socket=$sock" \
			DPSOCK_IP=198.19.0.10-198.19.0.73/16 timeout 120 "$LOADGEN" \
			--connect 198.19.0.1:9000 --conns "$C" --mode idle --duration 0 --syn-max "$SYN_MAX" \
			--no-close --json >"$out" 2>"$WORK/$kind-$i.err" || true
		;;
	kernel)
		timeout 120 "$SERVER" --port 19091 --addr 127.0.0.1 >"$WORK/$kind-$i.srv" 2>&1 &
		spid=$!
		wait_ready "$WORK/$kind-$i.srv" 'ready' || return 1
		timeout 120 "$LOADGEN" --kernel --connect 127.0.0.1:19091 --src 127.0.1.1-127.0.1.64 \
			--conns "$C" --mode idle --duration 0 --syn-max "$SYN_MAX" --no-close --json \
			>"$out" 2>"$WORK/$kind-$i.err" || true
		;;
	esac
	stop_server
	read -r r est fail < <(rate "$out")
	echo "# round $i $kind: $r conn/s ($est established, $fail failed)"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["kind"]=sys.argv[2]; d["round"]=int(sys.argv[3]); print(json.dumps(d))' \
		"$out" "$kind" "$i" >>"$WORK/connrate.json"
}

kinds=(shim kernel)
[ "${CONNRATE_NATIVE:-1}" = 1 ] && kinds=(shim native kernel)
echo "# $C connections per run, $R rounds, alternating ${kinds[*]}"
for i in $(seq "$R"); do
	for k in "${kinds[@]}"; do run "$k" "$i"; done
done
python3 - "$WORK/connrate.json" <<'EOF'
import json, statistics, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
med = {}
for k in ("shim", "native", "kernel"):
    v = [r["conn_rate"] for r in rs if r["kind"] == k and r["established"] == r["conns"]]
    if v:
        med[k] = statistics.median(v)
print("\n| server | median conn/s | runs | vs kernel |")
print("|---|---|---|---|")
for k, m in med.items():
    n = sum(1 for r in rs if r["kind"] == k)
    ratio = "%.2fx" % (m / med["kernel"]) if "kernel" in med and k != "kernel" else ""
    print("| %s | %.0f | %d | %s |" % ({"shim": "iot-server on dpsock (shim), memif",
        "native": "loadgen --serve (native API), memif",
        "kernel": "iot-server on the kernel, loopback"}[k], m, n, ratio))
EOF
