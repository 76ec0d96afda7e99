#!/usr/bin/env bash
# Issue 7's scale target (bench suite, not CI): N concurrent idle connections (default 1,000,000)
# between two processes of this machine joined by net_memif, and where the kernel stops.
#
#   test/bench/scale.sh BUILD_DIR [N]        (root; about 2 GiB of memory per million)
#
# 1. native: loadgen --serve (dpsock's native API, memif server role) <- loadgen --mode idle
#    (its own engine, memif client, source addresses 198.19.0.10-198.19.0.73: 64 x 28,232
#    ports). Memory per connection on each side: RSS growth over the ramp / N (RSS holds
#    everything: hugepages=off, so DPDK's memory is ordinary anonymous memory), and all-in
#    (RSS / N); the DPDK heap the tables take (sized by tcp_max_conns, allocated at start).
# 2. shim: the unmodified epoll program test/apps/iot-server under LD_PRELOAD, as many
#    connections as its RLIMIT_NOFILE allows (every shim socket is a kernel fd: a dup of one
#    placeholder socket), same measures.
# 3. kernel: iot-server and loadgen --kernel on loopback (source addresses 127.0.1.1-64), the
#    same N asked for, bounded in time: how far it gets and why it stops.
#
# fs.nr_open is raised to N + 4096 if lower, and restored on exit. Prints a Markdown table and
# writes WORK/scale.json (WORK is printed).
set -euo pipefail
BUILD=$(cd "${1:?usage: $0 BUILD_DIR [N]}" && pwd)
N=${2:-1000000}
LOADGEN="$BUILD/test/bench/loadgen/loadgen"
SERVER="$BUILD/test/apps/iot-server"
LIB="$BUILD/preload/libdpsock.so"
RAMP_TIMEOUT=${SCALE_RAMP_TIMEOUT:-600}
HOLD=${SCALE_HOLD:-5}
KERNEL_TIMEOUT=${SCALE_KERNEL_TIMEOUT:-60}
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (DPDK)"; exit 77; }
need_kib=$((N * 3 + 3 * 1024 * 1024))
avail_kib=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
[ "$avail_kib" -gt "$need_kib" ] || {
	echo "SKIP: $N connections need about $((need_kib / 1024)) MiB, $((avail_kib / 1024)) MiB available"
	exit 77
}
WORK=$(mktemp -d /tmp/dps-scale.XXXXXX)
echo "# work directory $WORK"
pids=()
old_nr_open=$(cat /proc/sys/fs/nr_open)
cleanup() {
	local rc=$?
	set +e
	for p in "${pids[@]}"; do
		pkill -KILL -P "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ "$(cat /proc/sys/fs/nr_open)" != "$old_nr_open" ] && echo "$old_nr_open" >/proc/sys/fs/nr_open
	rm -f "$WORK"/memif*.sock
	exit $rc
}
trap cleanup EXIT
if [ "$old_nr_open" -lt $((N + 4096)) ]; then
	echo $((N + 4096)) >/proc/sys/fs/nr_open
fi

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
wait_for() { # FILE PATTERN SECONDS PID
	local i
	for i in $(seq $(($3 * 10))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$4" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
# The engine pid of a `timeout CMD` job: its child.
child_of() { pgrep -P "$1" | head -1; }
max_conns=$((N + N / 20 + 4096))
mem_mb=$((768 + N / 700))
engine_env=(DPSOCK_HUGEPAGES=off DPSOCK_MEM_MB=$mem_mb DPSOCK_TCP_MAX_CONNS=$max_conns
	DPSOCK_MBUFS=16383 DPSOCK_ARP_QUEUE_LEN=256 DPSOCK_DEV_WAIT_MS=0 DPSOCK_FALLBACK=error
	DPSOCK_LISTEN_KERNEL=0 DPSOCK_LOG_LEVEL=warning)

# run_memif NAME CONNS SERVER_CMD...: a memif server process and loadgen idle against it.
run_memif() {
	local name=$1 conns=$2
	shift 2
	local sock="$WORK/memif-$name.sock" spid cpid srv rss0 rss1 heap t0 t1
	# Tables sized for this run: sized for a million, a small run would touch a page of the
	# flow table per connection and look far costlier per connection than it is.
	local mc=$((conns + conns / 20 + 4096)) mm=$((768 + conns / 700))
	env "${engine_env[@]}" DPSOCK_TCP_MAX_CONNS=$mc DPSOCK_MEM_MB=$mm \
		DPSOCK_DEV="net_memif0,role=server,id=0,socket=$sock" \
		DPSOCK_IP=198.19.0.1/16 timeout $((RAMP_TIMEOUT + 300)) "$@" \
		>"$WORK/$name-server.out" 2>"$WORK/$name-server.err" &
	spid=$!
	pids+=("$spid")
	wait_for "$WORK/$name-server.err" 'serving\|iot-server: ready' 60 "$spid" ||
		{ cat "$WORK/$name-server.err"; echo "FAIL: $name server did not start"; return 1; }
	srv=$(child_of "$spid")
	sleep 0.5
	rss0=$(rss_kib "$srv")
	t0=$(date +%s.%N)
	env "${engine_env[@]}" DPSOCK_TCP_MAX_CONNS=$mc DPSOCK_MEM_MB=$mm \
		DPSOCK_DEV="net_memif0,role=client,id=0,socket=$sock" \
		DPSOCK_IP=198.19.0.10-198.19.0.73/16 timeout $((RAMP_TIMEOUT + HOLD + 120)) \
		"$LOADGEN" --connect 198.19.0.1:9000 --conns "$conns" --mode idle --syn-max "${SCALE_SYN_MAX:-512}" \
		--duration "$HOLD" --ramp-timeout "$RAMP_TIMEOUT" --progress 10 --no-close --json \
		>"$WORK/$name-client.json" 2>"$WORK/$name-client.err" &
	cpid=$!
	pids+=("$cpid")
	if wait_for "$WORK/$name-client.err" 'ramp done' $((RAMP_TIMEOUT + 60)) "$cpid"; then
		t1=$(date +%s.%N)
		sleep 1
		rss1=$(rss_kib "$srv")
		kill -USR1 "$srv"
		sleep 0.5
	else
		rss1=$(rss_kib "$srv" || echo 0)
		t1=$(date +%s.%N)
	fi
	wait "$cpid" || true
	heap=$(grep -o 'dpdk_heap [0-9]*' "$WORK/$name-server.out" "$WORK/$name-server.err" 2>/dev/null |
		tail -1 | awk '{ print $2 }')
	kill -INT "$srv" 2>/dev/null
	wait "$spid" 2>/dev/null || true
	python3 - "$WORK/$name-client.json" "$name" "$conns" "$rss0" "$rss1" "${heap:-0}" "$mc" \
		"$WORK/scale.json" <<'EOF'
import json, sys
f, name, want, rss0, rss1, heap, maxc, out = sys.argv[1:]
try:
    c = json.load(open(f))
except Exception:
    c = {"established": 0, "ramp_s": 0, "conn_rate": 0, "rss_kib_before": 0,
         "rss_kib_after": 0, "errors": {"client did not finish": 1}}
n = max(c["established"], 1)
r = {"name": name, "asked": int(want), "established": c["established"],
     "ramp_s": c["ramp_s"], "conn_rate": c["conn_rate"],
     "server_rss_kib_before": int(rss0), "server_rss_kib_after": int(rss1),
     "server_bytes_per_conn": (int(rss1) - int(rss0)) * 1024 / n,
     "server_bytes_per_conn_all_in": int(rss1) * 1024 / n,
     "server_dpdk_heap": int(heap), "tcp_max_conns": int(maxc),
     "client_rss_kib_before": c["rss_kib_before"], "client_rss_kib_after": c["rss_kib_after"],
     "client_bytes_per_conn": (c["rss_kib_after"] - c["rss_kib_before"]) * 1024 / n,
     "client_bytes_per_conn_all_in": c["rss_kib_after"] * 1024 / n,
     "errors": c.get("errors", {}), "engine": c.get("engine", {})}
try:
    allr = json.load(open(out))
except Exception:
    allr = []
allr.append(r)
json.dump(allr, open(out, "w"), indent=1)
print("# %(name)s: %(established)d of %(asked)d connections, ramp %(ramp_s).1f s (%(conn_rate).0f/s); "
      "server %(server_bytes_per_conn).0f B/conn (all-in %(server_bytes_per_conn_all_in).0f), "
      "client %(client_bytes_per_conn).0f B/conn (all-in %(client_bytes_per_conn_all_in).0f); errors %(errors)s" % r)
EOF
}

echo "# 1. native: $N idle connections, loadgen -> loadgen --serve over memif"
run_memif native "$N" "$LOADGEN" --serve 9000 --mode echo --conns "$max_conns" || true
[ "${SCALE_NATIVE_SMALL:-1}" = 1 ] && [ "$N" -gt 20000 ] &&
	run_memif native-19800 19800 "$LOADGEN" --serve 9000 --mode echo --conns 25000 || true

hard=$(ulimit -Hn)
shim_n=$((hard - 200 < N ? hard - 200 : N))
echo "# 2. shim: iot-server under LD_PRELOAD, $shim_n connections (RLIMIT_NOFILE hard limit $hard)"
PRELOAD=$LIB
ldd "$LIB" | grep libasan >/dev/null && PRELOAD="$(ldd "$LIB" | awk '$1 ~ /^libasan\.so/ { print $3 }'):$LIB"
run_memif shim "$shim_n" env LD_PRELOAD="$PRELOAD" "$SERVER" --port 9000 --mode echo || true

echo "# 3. kernel: iot-server and loadgen --kernel on loopback, $N asked, at most ${KERNEL_TIMEOUT} s"
slab0=$(awk '/^Slab:/ { print $2 }' /proc/meminfo)
timeout $((KERNEL_TIMEOUT + 60)) "$SERVER" --port 19090 --addr 127.0.0.1 --mode echo \
	>"$WORK/kernel-server.out" 2>"$WORK/kernel-server.err" &
kspid=$!
pids+=("$kspid")
wait_for "$WORK/kernel-server.err" 'ready' 10 "$kspid"
ksrv=$(child_of "$kspid")
krss0=$(rss_kib "$ksrv")
timeout $((KERNEL_TIMEOUT + 30)) "$LOADGEN" --kernel --connect 127.0.0.1:19090 --conns "$N" \
	--src 127.0.1.1-127.0.1.64 --mode idle --syn-max 4096 --duration 2 \
	--ramp-timeout "$KERNEL_TIMEOUT" --no-close --json >"$WORK/kernel-client.json" \
	2>"$WORK/kernel-client.err" &
kcpid=$!
pids+=("$kcpid")
wait_for "$WORK/kernel-client.err" 'ramp done' $((KERNEL_TIMEOUT + 20)) "$kcpid" || true
slab1=$(awk '/^Slab:/ { print $2 }' /proc/meminfo)
tcpmem=$(awk '/^TCP:/ { print $0 }' /proc/net/sockstat)
krss1=$(rss_kib "$ksrv")
kill -USR1 "$ksrv"
sleep 0.5
wait "$kcpid" || true
kill -INT "$ksrv" 2>/dev/null
wait "$kspid" 2>/dev/null || true
python3 - "$WORK/kernel-client.json" "$N" "$slab0" "$slab1" "$krss0" "$krss1" "$hard" \
	"$(tail -1 "$WORK/kernel-server.out")" "$tcpmem" "$WORK/scale.json" <<'EOF'
import json, sys
f, want, s0, s1, r0, r1, hard, srv, tcpmem, out = sys.argv[1:]
c = json.load(open(f))
n = max(c["established"], 1)
r = {"name": "kernel", "asked": int(want), "established": c["established"], "ramp_s": c["ramp_s"],
     "conn_rate": c["conn_rate"], "failed": c["failed"], "errors": c["errors"],
     "kernel_slab_bytes_per_conn_pair": (int(s1) - int(s0)) * 1024 / n,
     "server_bytes_per_conn": (int(r1) - int(r0)) * 1024 / n,
     "rlimit_nofile_hard": int(hard), "server": srv, "sockstat": tcpmem}
allr = json.load(open(out))
allr.append(r)
json.dump(allr, open(out, "w"), indent=1)
print("# kernel: %(established)d of %(asked)d connections in %(ramp_s).1f s, %(failed)d failed; "
      "errors %(errors)s; kernel slab %(kernel_slab_bytes_per_conn_pair).0f B per connection "
      "(both ends); RLIMIT_NOFILE hard %(rlimit_nofile_hard)d" % r)
mem = int(open("/proc/meminfo").read().split("MemTotal:")[1].split()[0]) * 1024
need = r["kernel_slab_bytes_per_conn_pair"] * r["asked"]
print("# kernel: %d connection pairs at that rate would take %.1f GiB of kernel memory (%.0f %% of "
      "this machine's); the fd limit stops it first: one fd per socket, %d per process" % (
          r["asked"], need / 2**30, 100 * need / mem, r["rlimit_nofile_hard"]))
EOF

python3 - "$WORK/scale.json" <<'EOF'
import json, sys
rs = json.load(open(sys.argv[1]))
print("\n| run | asked | established | ramp s | conn/s | server B/conn (growth) | server B/conn (all-in) | client B/conn (growth) | client B/conn (all-in) |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rs:
    if r["name"] == "kernel":
        print("| kernel (loopback) | %d | %d | %.1f | %.0f | %.0f (user) + %.0f kernel slab per pair | | | |" % (
            r["asked"], r["established"], r["ramp_s"], r["conn_rate"], r["server_bytes_per_conn"],
            r["kernel_slab_bytes_per_conn_pair"]))
    else:
        print("| %s (memif) | %d | %d | %.1f | %.0f | %.0f | %.0f | %.0f | %.0f |" % (
            r["name"], r["asked"], r["established"], r["ramp_s"], r["conn_rate"],
            r["server_bytes_per_conn"], r["server_bytes_per_conn_all_in"],
            r["client_bytes_per_conn"], r["client_bytes_per_conn_all_in"]))
EOF
