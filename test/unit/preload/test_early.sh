#!/usr/bin/env bash
# test_early.sh SHIM PROG SRC MAP: every interposed call works from a constructor that runs before
# the shim's (issue 13, item 1: libcap-ng's read() killed sshd, postgres and setpriv before main).
#   1. early_ctor.c calls every interposed name of MAP (checked here, so a new interposer cannot
#      be left out), and PROG (linked with it) passes without the shim and with it;
#   2. setpriv (util-linux, links libcap-ng) runs under the shim, and so do postgres --version and
#      sshd -t where they are installed (both link libcap-ng; each must not die by a signal).
set -euo pipefail
SHIM=${1:?usage: $0 SHIM PROG SRC MAP}
PROG=${2:?} SRC=${3:?} MAP=${4:?}
names=$(sed -e 's#/\*.*\*/##' "$MAP" | sed -n '/global:/,/local:/p' | grep -v -e global: -e local: |
	tr ';' '\n' | tr -d ' \t' | grep -v -e '^$' -e '^dps_' -e '^__' | sort)
for n in $names; do
	grep -q "\"$n\"\|^	$n(" "$SRC" || { echo "FAIL: early_ctor.c does not call $n"; exit 1; }
done
# An ASan-built shim needs the ASan runtime loaded first.
preload=$SHIM
rt=$(ldd "$SHIM" 2>/dev/null | awk '$1 ~ /^libasan\.so/ { print $3 }')
[ -n "$rt" ] && preload="$rt:$SHIM"
"$PROG" >/dev/null || { echo "FAIL: the test itself fails without the shim"; exit 1; }
LD_PRELOAD=$preload "$PROG"
if command -v setpriv >/dev/null; then
	LD_PRELOAD=$preload setpriv --reuid=nobody true || { echo "FAIL: setpriv under the shim: $?"; exit 1; }
	echo "ok: setpriv --reuid=nobody true under the shim"
fi
# run_alive NAME CMD...: CMD under the shim must not be killed by a signal (its own status is not
# ours to judge: sshd -t without host keys fails, and says so).
run_alive() {
	local name=$1 rc=0
	shift
	LD_PRELOAD=$preload timeout -k 2 10 "$@" >/dev/null 2>&1 || rc=$?
	# 124: timeout's; 129-192: killed by a signal (sshd's own fatal errors exit 255).
	if [ $rc = 124 ] || { [ $rc -gt 128 ] && [ $rc -le 192 ]; }; then
		echo "FAIL: $name under the shim: status $rc (a signal or a hang)"
		exit 1
	fi
	echo "ok: $name under the shim (status $rc)"
}
# Not in a sanitizer build: postgres hangs at start with the ASan runtime preloaded, shim or not.
[ -n "$rt" ] && { echo "ok: postgres and sshd skipped (ASan runtime)"; exit 0; }
for pg in /usr/lib/postgresql/*/bin/postgres; do
	[ -x "$pg" ] && run_alive "postgres --version" "$pg" --version
done
[ -x /usr/sbin/sshd ] && run_alive "sshd -t" /usr/sbin/sshd -t -f /dev/null
exit 0
