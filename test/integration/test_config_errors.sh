#!/usr/bin/env bash
# A bad configuration or a missing device ends dps-echo with status 1 and one line that names the
# key or device, the bad value and what to do. Needs no testbed.
set -uo pipefail
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
ECHO="$BUILD/test/apps/dps-echo"
fails=0

# expect STDERR_SUBSTRING VAR=value...: dps-echo must exit 1 and print the message on one line.
expect() {
	local want=$1 out rc lines
	shift
	out=$(env -i PATH="$PATH" "$@" "$ECHO" --duration 1 2>&1 >/dev/null)
	rc=$?
	lines=$(printf '%s\n' "$out" | grep -c '^dps-echo:')
	if [ $rc != 1 ] || ! printf '%s' "$out" | grep -qF -- "$want" || [ "$lines" != 1 ]; then
		echo "FAIL: $* -> status $rc, output:"; printf '%s\n' "$out"; echo "  expected: $want"
		fails=$((fails + 1))
	else
		echo "ok: $* -> $want"
	fi
}

expect "DPSOCK_MTU: 'jumbo' is not valid for mtu: expected an integer from 68 to 9000" DPSOCK_MTU=jumbo
expect "unknown option 'DPSOCK_GATEWY' (did you mean 'DPSOCK_GATEWAY'?)" DPSOCK_GATEWY=1.2.3.4
expect "DPSOCK_IP: '198.18.0.2' is not valid for ip" DPSOCK_IP=198.18.0.2
expect "no device: set DPSOCK_DEV" DPSOCK_IP=198.18.0.2/24
expect "device 'net_af_packet0,iface=dps-nonexistent': no interface 'dps-nonexistent'" \
	DPSOCK_DEV=net_af_packet0,iface=dps-nonexistent DPSOCK_IP=198.18.0.2/24
# Values the engine checks beyond each option's parser (stack/conf_validate.h) are refused before
# the device is looked at: no device is needed to see them.
expect "priority (DPSOCK_PRIORITY): column 17: expected a class (high or low), found 'hihg'" \
	"DPSOCK_PRIORITY=tcp dport 80 -> hihg"
expect "DPSOCK_IMPAIR: '5x' is not valid for loss" DPSOCK_IMPAIR=loss=5x
expect "DPSOCK_GATEWAY: gateway 10.0.0.1 is not inside any subnet of ip (198.18.0.2/24)" \
	DPSOCK_IP=198.18.0.2/24 DPSOCK_GATEWAY=10.0.0.1
cfg=$(mktemp)
printf 'mtu = 1500\nhugepage = off\n' >"$cfg"
expect "$cfg:2: unknown option 'hugepage' (did you mean 'hugepages'?)" DPSOCK_CONFIG="$cfg"
rm -f "$cfg"
[ $fails = 0 ] && echo PASS
exit $((fails > 0))
