#!/usr/bin/env bash
# test/testbed.sh up [--default-offloads]|down|status: the standard dpsock testbed of
# ../shared/testbed.md.
#
#   dps-stack namespace: veth dps0, no kernel IP (the stack owns 198.18.0.2/24 on it)
#   dps-peer  namespace: veth dps1 with 198.18.0.1/24, the kernel's TCP/IP as a real peer
#
# Offloads: by default dps1's transmit checksum offload is turned off (ethtool -K dps1 tx off, which
# also turns its TSO off), so the peer's frames arrive with complete checksums and at most one MTU
# long, as from a real NIC. `up --default-offloads` (or DPSTEST_OFFLOADS=default) leaves dps1 as a
# user's new veth is, checksum offload and TSO on (dpsock copes: docs/tcp.md, "Checksums"); on a
# running testbed it turns dps1's offload back on. `status` says which.
#
# Idempotent: `up` on a running testbed checks it and changes nothing else; `down` on none succeeds.
# Needs root (ip netns). Traffic stays inside these two namespaces.
set -euo pipefail

STACK_NS=dps-stack
PEER_NS=dps-peer
STACK_IF=dps0
PEER_IF=dps1
PEER_ADDR=198.18.0.1/24

die() { echo "testbed: $*" >&2; exit 1; }

have_ns() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"; }

up() {
	[ "$(id -u)" = 0 ] || die "needs root (ip netns)"
	have_ns "$STACK_NS" || ip netns add "$STACK_NS"
	have_ns "$PEER_NS" || ip netns add "$PEER_NS"
	if ! ip -n "$STACK_NS" link show "$STACK_IF" >/dev/null 2>&1; then
		# A half-made pair (one end left in the peer) is removed first.
		ip -n "$PEER_NS" link del "$PEER_IF" 2>/dev/null || true
		ip link add "$STACK_IF" netns "$STACK_NS" type veth peer name "$PEER_IF" netns "$PEER_NS"
	fi
	ip -n "$STACK_NS" link set lo up
	ip -n "$PEER_NS" link set lo up
	# The kernel of dps-stack sees every frame on dps0 (af_packet): give it no address and no
	# IPv6 so that it never answers for the stack.
	ip netns exec "$STACK_NS" sysctl -qw "net.ipv6.conf.$STACK_IF.disable_ipv6=1"
	ip -n "$STACK_NS" addr flush dev "$STACK_IF"
	ip -n "$STACK_NS" link set "$STACK_IF" up
	ip netns exec "$PEER_NS" sysctl -qw "net.ipv6.conf.$PEER_IF.disable_ipv6=1"
	ip -n "$PEER_NS" addr replace "$PEER_ADDR" dev "$PEER_IF"
	ip -n "$PEER_NS" link set "$PEER_IF" up
	# The kernel leaves the TCP/UDP checksum of what it sends over a veth to "offload" (only the
	# pseudo-header sum is in the field) and sends TSO super-frames; af_packet hands both to DPDK
	# as they are. Real NICs fill the checksum in and segment; here, by default, the kernel must.
	if [ "$OFFLOADS" = default ]; then
		ip netns exec "$PEER_NS" ethtool -K "$PEER_IF" tx on >/dev/null
	else
		ip netns exec "$PEER_NS" ethtool -K "$PEER_IF" tx off >/dev/null
	fi
	# Forget stale neighbours from an earlier run (the stack's MAC is the same, but be exact).
	ip -n "$PEER_NS" neigh flush dev "$PEER_IF" 2>/dev/null || true
}

down() {
	have_ns "$STACK_NS" && ip netns del "$STACK_NS"
	have_ns "$PEER_NS" && ip netns del "$PEER_NS"
	return 0
}

status() {
	local ok=0
	for ns in "$STACK_NS" "$PEER_NS"; do
		if have_ns "$ns"; then echo "namespace $ns: present"; else echo "namespace $ns: missing"; ok=1; fi
	done
	if ip -n "$STACK_NS" link show "$STACK_IF" 2>/dev/null | grep -q 'state UP\|LOWER_UP'; then
		echo "$STACK_NS/$STACK_IF: up"
	else
		echo "$STACK_NS/$STACK_IF: missing or down"; ok=1
	fi
	if ip -n "$PEER_NS" -4 addr show "$PEER_IF" 2>/dev/null | grep -q "${PEER_ADDR%/*}"; then
		echo "$PEER_NS/$PEER_IF: ${PEER_ADDR}"
	else
		echo "$PEER_NS/$PEER_IF: missing or without ${PEER_ADDR}"; ok=1
	fi
	if ip netns exec "$PEER_NS" ethtool -k "$PEER_IF" 2>/dev/null | grep -q '^tx-checksumming: on'; then
		echo "$PEER_NS/$PEER_IF: default offloads (tx checksum offload and TSO on)"
	else
		echo "$PEER_NS/$PEER_IF: tx checksum offload off"
	fi
	return $ok
}

OFFLOADS=${DPSTEST_OFFLOADS:-off}
[ "${2:-}" = --default-offloads ] && OFFLOADS=default
case "$OFFLOADS" in
off | default) ;;
*) die "DPSTEST_OFFLOADS=$OFFLOADS: expected off (the default) or default" ;;
esac

case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
*) echo "usage: $0 up [--default-offloads]|down|status" >&2; exit 2 ;;
esac
