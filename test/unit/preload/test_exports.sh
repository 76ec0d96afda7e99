#!/usr/bin/env bash
# test_exports.sh LIB MAP: libdpsock.so exports exactly the names its version script lists (the
# interposed libc calls and the public dps_* API), and each of them is defined: nothing internal
# leaks (STYLE.md), and no interposer was lost (a missing one would silently go to the kernel).
set -euo pipefail
LIB=${1:?usage: $0 LIB MAP}
MAP=${2:?usage: $0 LIB MAP}
want=$(sed -e 's#/\*.*\*/##' "$MAP" | sed -n '/global:/,/local:/p' | grep -v -e global: -e local: |
	tr ';' '\n' | tr -d ' \t' | grep -v '^$' | sort)
have=$(nm -D --defined-only "$LIB" | awk '$2 ~ /^[TWiV]$/ {print $3}' | sed 's/@.*//' | sort -u)
missing=$(comm -23 <(echo "$want") <(echo "$have"))
extra=$(comm -13 <(echo "$want") <(echo "$have"))
[ -z "$missing" ] || { echo "FAIL: listed but not exported: $missing"; exit 1; }
[ -z "$extra" ] || { echo "FAIL: exported but not listed: $extra"; exit 1; }
echo "ok: $(echo "$want" | wc -l) symbols, exactly as listed"
