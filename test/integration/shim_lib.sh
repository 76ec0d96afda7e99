# Helpers for the tests of the LD_PRELOAD shim (sourced; sources lib.sh, so BUILD is $1 here too).
# The programs under test are unmodified: python3, curl, redis-cli, socat and test/apps/*.
#
#   on_stack CMD...   CMD in dps-stack on dpsock: LD_PRELOAD=$BUILD/preload/libdpsock.so, device
#                     net_af_packet0,iface=dps0, address 198.18.0.2/24
#   on_peer CMD...    CMD in dps-peer (the kernel's TCP/IP, 198.18.0.1/24)
#   bg_stack NAME CMD... / bg_peer NAME CMD...   the same in the background, output in
#                     $WORK/NAME.out and $WORK/NAME.err; wait_output, expect_ok and job_wait
#                     take the NAME; cleanup stops every job still running
# Each run is bounded by SHIM_TIMEOUT seconds (default 120; `SHIM_TIMEOUT=30 on_stack ...`).
#
# DPSTEST_SHIM_KERNEL=1 runs the same tests against the kernel instead: no LD_PRELOAD, and dps0
# gets 198.18.0.2/24 in the kernel of dps-stack for the duration of the test. That is how these
# tests are validated without the shim. Without it, a missing libdpsock.so skips the test (77).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PY=/usr/bin/python3 # Debian's, with nothing from a user's environment
export PYTHONDONTWRITEBYTECODE=1 # shim_app.py imports shim_peer.py: no __pycache__ in the tree
IT="$ROOT/test/integration"
APPS="$BUILD/test/apps"
SHIM_SO="$BUILD/preload/libdpsock.so"
SHIM_KERNEL=${DPSTEST_SHIM_KERNEL:-0}
BG_PIDS=()      # every background job, for cleanup
declare -A JOBS # job name -> pid
JOB_RC=
AT_EXIT=() # functions cleanup calls first, last registered first
KERNEL_IP_ADDED=0

# The sanitizer build runs the same tests on less data.
case "$BUILD" in
*asan*) SHIM_ASAN=1 ;;
*) SHIM_ASAN=0 ;;
esac
# sized NORMAL ASAN: the size for this build.
sized() { if [ "$SHIM_ASAN" = 1 ]; then echo "$2"; else echo "$1"; fi; }

if [ "$SHIM_KERNEL" != 1 ] && [ ! -e "$SHIM_SO" ]; then
	echo "SKIP: $SHIM_SO is not built (DPSTEST_SHIM_KERNEL=1 runs this test against the kernel)"
	exit 77
fi

# need PROGRAM...: skip unless every program is installed (tools/install-deps.sh installs them).
need() {
	local p
	for p in "$@"; do
		command -v "$p" >/dev/null ||
			{ echo "SKIP: $p is not installed (tools/install-deps.sh)"; exit 77; }
	done
}

# The command prefix of on_stack. DPSOCK_FALLBACK=error: a shim that cannot start its engine
# must end the program with its reason, not carry on with kernel sockets (which have no address
# on dps0 and would fail later and obscurely). An ASan-built libdpsock.so needs the ASan runtime
# first in the library list of an uninstrumented program (python3, curl): preload it ahead of
# the shim. Leak reports of programs that are not ours would fail their exit status: off unless
# ASAN_OPTIONS says otherwise. An UBSan report from the shim ends the program (it would only be
# printed otherwise, and the test pass).
STACK_RUN=(ip netns exec dps-stack env)
SHIM_ASAN_RT= # the ASan runtime that on_stack preloads, if any
if [ "$SHIM_KERNEL" != 1 ]; then
	preload=$SHIM_SO
	SHIM_ASAN_RT=$(ldd "$SHIM_SO" 2>/dev/null | awk '$1 ~ /^libasan\.so/ { print $3 }')
	if [ -n "$SHIM_ASAN_RT" ]; then
		preload="$SHIM_ASAN_RT:$SHIM_SO"
		STACK_RUN+=("ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}"
			"UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}")
	fi
	STACK_RUN+=("LD_PRELOAD=$preload" "DPSOCK_DEV=net_af_packet0,iface=dps0"
		"DPSOCK_IP=$STACK_IP/24" DPSOCK_LOG_LEVEL=notice DPSOCK_FALLBACK=error)
fi
PEER_RUN=(ip netns exec dps-peer)

on_stack() { timeout -k 5 "${SHIM_TIMEOUT:-120}" "${STACK_RUN[@]}" "$@"; }
on_peer() { timeout -k 5 "${SHIM_TIMEOUT:-120}" "${PEER_RUN[@]}" "$@"; }

# bg NAME CMD...: CMD in the background, bounded; NAME names its output files and the job.
bg() {
	local name=$1
	shift
	timeout -k 5 "${SHIM_TIMEOUT:-120}" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	JOBS[$name]=$!
	BG_PIDS+=($!)
}
bg_stack() { bg "$1" "${STACK_RUN[@]}" "${@:2}"; }
bg_peer() { bg "$1" "${PEER_RUN[@]}" "${@:2}"; }

# wait_output NAME PATTERN [SECONDS]: until $WORK/NAME.out or .err has a line matching PATTERN
# (grep -E); fails if the job ended first or SECONDS (default 30) pass.
wait_output() {
	local name=$1 pat=$2 secs=${3:-30}
	for _ in $(seq $((secs * 10))); do
		grep -qsE -- "$pat" "$WORK/$name.out" "$WORK/$name.err" && return 0
		kill -0 "${JOBS[$name]}" 2>/dev/null || fail "$name exited before printing '$pat'"
		sleep 0.1
	done
	fail "$name did not print '$pat' within $secs s"
}

# wait_peer_listen PORT [SECONDS]: until a kernel socket in dps-peer listens on TCP PORT.
wait_peer_listen() {
	for _ in $(seq $((${2:-30} * 10))); do
		[ -n "$("${PEER_RUN[@]}" ss -Hltn "sport = :$1")" ] && return 0
		sleep 0.1
	done
	fail "nothing listens on port $1 in dps-peer after ${2:-30} s"
}

# job_wait NAME [SECONDS]: wait (bounded, default 60 s) for the job to end; its status in JOB_RC.
job_wait() {
	local pid=${JOBS[$1]} secs=${2:-60}
	for _ in $(seq $((secs * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && fail "$1 still running after $secs s"
	JOB_RC=0
	wait "$pid" || JOB_RC=$?
}

# expect_ok NAME [SECONDS]: the job must end, with status 0.
expect_ok() {
	job_wait "$1" "${2:-60}"
	[ "$JOB_RC" = 0 ] || fail "$1 exited with status $JOB_RC"
}

# stop_job PID: SIGTERM to the job (timeout passes it on to the program), SIGKILL to its
# process group (timeout leads one) after 5 s. A program killed by a signal cannot remove the
# DPDK runtime directory its shim made (/var/run/dpdk/dpsock<pid>): removed here, with a note.
stop_job() {
	local pid=$1 prog
	kill -0 "$pid" 2>/dev/null || return 0
	prog=$(pgrep -P "$pid" | head -1)
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! kill -0 "$pid" 2>/dev/null; then
		:
	elif [ "$(ps -o pgid= -p "$pid" | tr -d ' ')" = "$pid" ]; then
		kill -KILL -- "-$pid" 2>/dev/null
	else
		kill -KILL "$pid" 2>/dev/null
	fi
	if [ -n "$prog" ] && [ -d "/var/run/dpdk/dpsock$prog" ]; then
		sleep 0.2
		note "removing /var/run/dpdk/dpsock$prog, left by the killed process $prog"
		rm -rf "/var/run/dpdk/dpsock$prog"
	fi
	return 0
}

# shim_up: the testbed; in kernel mode also the kernel address on dps0.
shim_up() {
	testbed_up
	if [ "$SHIM_KERNEL" = 1 ]; then
		note "kernel mode (DPSTEST_SHIM_KERNEL=1): no LD_PRELOAD, $STACK_IP/24 on dps0 in the kernel"
		if [[ "$(ip -n dps-stack -4 addr show dev dps0)" == *"inet $STACK_IP/"* ]]; then
			note "dps0 already has $STACK_IP; left as it is"
		else
			ip -n dps-stack addr add "$STACK_IP/24" dev dps0
			KERNEL_IP_ADDED=1
		fi
	fi
}

# shim_cleanup: every background job, the test's own AT_EXIT functions, the kernel address, and
# finally lib.sh's cleanup (testbed, $WORK) with the exit status the test had.
shim_cleanup() {
	local rc=$? i f
	set +e
	for i in "${BG_PIDS[@]}"; do stop_job "$i"; done
	for ((i = ${#AT_EXIT[@]} - 1; i >= 0; i--)); do "${AT_EXIT[i]}"; done
	[ "$KERNEL_IP_ADDED" = 1 ] && ip -n dps-stack addr del "$STACK_IP/24" dev dps0
	if [ $rc != 0 ] && [ $rc != 77 ]; then
		for f in "$WORK"/*.out "$WORK"/*.err; do
			[ -s "$f" ] || continue
			echo "--- ${f##*/} (last 20 lines):" >&2
			tail -20 "$f" >&2
		done
	fi
	(exit $rc)
	cleanup
}
trap shim_cleanup EXIT
