#!/usr/bin/env bash
# test_layers.sh MAP LIB...: no object of a layer below the shim (the static libraries LIB...)
# references a name that libdpsock.so interposes (MAP's non-dps_ names): internal code calls
# internal names (include/dps_sys.h), never read(), epoll_wait() or sigaction(), which would go up
# through preload/ again (issue 14). Prints each offender with the object that calls it.
set -euo pipefail
MAP=${1:?usage: $0 MAP LIB...}
shift
names=$(sed -e 's#/\*.*\*/##' "$MAP" | sed -n '/global:/,/local:/p' | grep -v -e global: -e local: |
	tr ';' '\n' | tr -d ' \t' | grep -v -e '^$' -e '^dps_' | sort -u)
bad=0
for lib in "$@"; do
	# nm -u on an archive: "obj.o:" headers, then "U name" lines.
	out=$(nm -u "$lib" | awk -v lib="${lib##*/}" '/:$/ { obj = substr($1, 1, length($1) - 1); sub(/.*\//, "", obj); next } NF == 2 { print $2, lib "(" obj ")" }' |
		sed 's/@[^ ]*//' | sort -u | join - <(echo "$names") || true)
	if [ -n "$out" ]; then
		echo "FAIL: interposed names called below the shim:"
		echo "$out" | sed 's/^/  /'
		bad=1
	fi
done
[ $bad = 0 ] || exit 1
echo "ok: $# lower-layer libraries reference none of the $(echo "$names" | wc -l) interposed names"
