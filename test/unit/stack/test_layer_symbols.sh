#!/usr/bin/env bash
# test_layer_symbols.sh LIB:ALLOWED...: each lower layer's static library references only its own
# names and those of the layers below it (docs/design-notes.md: the include directions). ALLOWED
# is a |-separated list of the dps_ prefixes the layer may define or call; any other dps_ name it
# leaves undefined is a call upward. The include path already refuses upward headers at compile
# time; this catches a prototype declared by hand.
set -euo pipefail
bad=0
for arg in "$@"; do
	lib=${arg%%:*}
	allowed=${arg#*:}
	out=$(nm -u "$lib" | awk 'NF == 2 { print $2 }' | grep '^dps_' | sort -u |
		grep -Ev "^($allowed)" || true)
	if [ -n "$out" ]; then
		echo "FAIL: ${lib##*/} calls upward:"
		echo "$out" | sed 's/^/  /'
		bad=1
	fi
done
[ $bad = 0 ] || exit 1
echo "ok: $# layer libraries call nothing above them"
