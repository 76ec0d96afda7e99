#!/usr/bin/env bash
# test_config_check.sh DPSOCK DPS_ECHO LIB: `dpsock config` and `dpsock run` refuse what the
# engine refuses at start (issue 13 item 11), with the engine's own line. For each bad value:
# dps-echo (the engine's start, dps_init_env) exits 1 with "dps-echo: MSG", `dpsock config`
# exits 2 with "dpsock config: MSG" and prints no table, `dpsock run` exits 2 with
# "dpsock run: MSG" before it starts the program; MSG is the same line each time. Good values:
# `dpsock config` exits 0 and `dpsock run` starts the program. No root, no device: the checks
# come before the engine touches anything.
set -uo pipefail
DPSOCK=${1:?usage: $0 DPSOCK DPS_ECHO LIB}
ECHO=${2:?usage: $0 DPSOCK DPS_ECHO LIB}
LIB=${3:?usage: $0 DPSOCK DPS_ECHO LIB}
WORK=$(mktemp -d /tmp/dps-cfgcheck.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export ASAN_OPTIONS=detect_leaks=0
# In a sanitizer build the library wants its runtime first in LD_PRELOAD (dpsock run keeps it so).
PRE=$(ldd "$LIB" | awk '$1 ~ /^libasan\.so/ { print $3 }')
fails=0
# dpsock run needs a device and an address; the address as a variable, so that VARS may override it.
RUN_ARGS=(--dev net_af_packet0,iface=lo)

# out CMD...: run CMD with a clean environment plus VARS; sets RC, OUT (stdout), ERR (stderr).
out() {
	env -i PATH="$PATH" ASAN_OPTIONS="$ASAN_OPTIONS" ${PRE:+LD_PRELOAD=$PRE} \
		DPSOCK_IP=198.18.0.2/24 "${VARS[@]}" "$@" \
		>"$WORK/o" 2>"$WORK/e" </dev/null
	RC=$?
	OUT=$(cat "$WORK/o")
	ERR=$(cat "$WORK/e")
}

bad() {
	local want=$1 engine config run
	shift
	VARS=("$@")
	out "$ECHO" --duration 1
	engine=${ERR#dps-echo: }
	# dps-echo and config see DPSOCK_IP=198.18.0.2/24 too, unless VARS set it: no harm, a
	# good address.
	if [ $RC != 1 ] || [ "$(wc -l <<<"$ERR")" != 1 ] || [ "$engine" = "$ERR" ] ||
		! grep -qF -- "$want" <<<"$engine"; then
		echo "FAIL: dps-echo $* -> status $RC, stderr:"; echo "$ERR"; echo "  expected: $want"
		fails=$((fails + 1))
		return
	fi
	out "$DPSOCK" config
	config=${ERR#dpsock config: }
	if [ $RC != 2 ] || [ -n "$OUT" ] || [ "dpsock config: $engine" != "$ERR" ]; then
		echo "FAIL: dpsock config $* -> status $RC, stdout $(wc -l <<<"$OUT") lines, stderr:"
		echo "$ERR"; echo "  expected: dpsock config: $engine"
		fails=$((fails + 1))
	fi
	out "$DPSOCK" run "${RUN_ARGS[@]}" -- sh -c 'echo started'
	run=${ERR#dpsock run: }
	if [ $RC != 2 ] || [ -n "$OUT" ] || [ "dpsock run: $engine" != "$ERR" ]; then
		echo "FAIL: dpsock run $* -> status $RC, stdout '$OUT', stderr:"; echo "$ERR"
		echo "  expected: dpsock run: $engine"
		fails=$((fails + 1))
	fi
	local shown="$*"
	[ "$config" = "$engine" ] && [ "$run" = "$engine" ] && echo "ok: ${shown:0:100} -> $engine"
}

good() {
	VARS=("$@")
	out "$DPSOCK" config
	if [ $RC != 0 ] || [ -n "$ERR" ] || ! grep -q '^priority ' <<<"$OUT"; then
		echo "FAIL: dpsock config $* -> status $RC, stderr:"; echo "$ERR"
		fails=$((fails + 1))
		return
	fi
	out "$DPSOCK" run "${RUN_ARGS[@]}" -- sh -c 'echo started'
	if [ $RC != 0 ] || [ "$OUT" != started ]; then
		echo "FAIL: dpsock run $* -> status $RC, stdout '$OUT', stderr:"; echo "$ERR"
		fails=$((fails + 1))
		return
	fi
	echo "ok: $* accepted"
}

bad "priority (DPSOCK_PRIORITY): column 17: expected a class (high or low), found 'hihg'" \
	"DPSOCK_PRIORITY=tcp dport 80 -> hihg"
bad "priority (DPSOCK_PRIORITY): column 11: expected a port" "DPSOCK_PRIORITY=tcp dport x -> high"
rules=$(for i in $(seq 65); do printf 'dport %d -> high; ' "$i"; done)
bad "priority (DPSOCK_PRIORITY): column " "DPSOCK_PRIORITY=$rules"
printf 'mtu = 1500\npriority = * -> hi\n' >"$WORK/bad.conf"
bad "priority ($WORK/bad.conf:2): column 6: expected a class (high or low), found 'hi'" \
	DPSOCK_CONFIG="$WORK/bad.conf"
bad "DPSOCK_IMPAIR: '5x' is not valid for loss: expected a probability" DPSOCK_IMPAIR=loss=5x
bad "DPSOCK_IMPAIR: unknown key 'lose'" DPSOCK_IMPAIR=lose=1%
printf 'impair = delay=2h\n' >"$WORK/impair.conf"
bad "$WORK/impair.conf:1: impair: '2h' is not valid for delay: expected a time" \
	DPSOCK_CONFIG="$WORK/impair.conf"
bad "DPSOCK_GATEWAY: gateway 10.0.0.1 is not inside any subnet of ip (198.18.0.2/24)" \
	DPSOCK_IP=198.18.0.2/24 DPSOCK_GATEWAY=10.0.0.1
bad "eal_args: 'foo' is not an EAL option (expected words starting with '-')" DPSOCK_EAL_ARGS=foo
bad "DPSOCK_IP: '198.18.0.9-198.18.0.2/24' is not valid for ip" DPSOCK_IP=198.18.0.9-198.18.0.2/24
bad "DPSOCK_IP: '198.18.0.2-198.18.1.2/24' is not valid for ip" DPSOCK_IP=198.18.0.2-198.18.1.2/24
bad "DPSOCK_KERNEL_NETS: '10.0.0.0/33' is not valid for kernel_nets" DPSOCK_KERNEL_NETS=10.0.0.0/33

good "DPSOCK_PRIORITY=tcp dport 6379 payload \"GET \" -> high; tcp sport 8080 -> high conn; * -> low"
good DPSOCK_IMPAIR=loss=2%,rx:delay=1ms,seed=42
good DPSOCK_IP=198.18.0.2/24,10.1.0.10-10.1.0.20/16 DPSOCK_GATEWAY=10.1.0.1 \
	DPSOCK_KERNEL_NETS=127.0.0.0/8,192.168.0.0/16
good "DPSOCK_EAL_ARGS=--huge-unlink --log-level=pmd.net.af_packet:8"
[ $fails = 0 ] && echo PASS
exit $((fails > 0))
