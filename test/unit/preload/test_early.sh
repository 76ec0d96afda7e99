#!/usr/bin/env bash
# test_early.sh SHIM PROG SRC MAP: every interposed call works from a constructor that runs before
# the shim's (issue 13, item 1: libcap-ng's read() killed sshd, postgres and setpriv before main).
#   1. early_ctor.c calls every interposed name of MAP (checked here, so a new interposer cannot
#      be left out), and PROG (linked with it) passes without the shim and with it;
#   2. setpriv (util-linux, links libcap-ng) runs under the shim.
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
