#!/usr/bin/env bash
# A program under the LD_PRELOAD shim that does only networking dpsock does not serve (DNS over
# UDP to a resolver on 127.0.0.1, AF_UNIX, TCP and UDP on loopback) behaves exactly as without
# the shim: shim_passthrough.py prints the same stdout under the shim and without it, and under
# the shim DPDK is never started (no "EAL" on stderr, no /var/run/dpdk/dpsock<pid>, no extra
# threads, the CPU affinity untouched: the script checks the last three itself).
#
# The resolver: shim_dns.py on 127.0.0.1:53 in dps-stack answers A for test.dpsock.invalid;
# /etc/netns/dps-stack/resolv.conf (ip netns exec mounts it on /etc/resolv.conf) points at it.
# The file is created here and removed at the end; if one is there already, the test skips.
source "$(dirname "$0")/shim_lib.sh"
NAME=test.dpsock.invalid
ADDR=10.9.8.7
NETNS_ETC=/etc/netns/dps-stack

if [ -e "$NETNS_ETC/resolv.conf" ]; then
	echo "SKIP: $NETNS_ETC/resolv.conf exists and is not this test's; not touching it"
	exit 77
fi

# Remove what this test made in /etc/netns, and nothing else.
MADE_DIRS=()
unmake_resolv_conf() {
	local i
	[ "${MADE_RESOLV:-0}" = 1 ] && rm -f "$NETNS_ETC/resolv.conf"
	for ((i = ${#MADE_DIRS[@]} - 1; i >= 0; i--)); do rmdir "${MADE_DIRS[i]}" 2>/dev/null; done
	return 0
}
AT_EXIT+=(unmake_resolv_conf)
for d in /etc/netns "$NETNS_ETC"; do
	[ -d "$d" ] || { mkdir "$d" && MADE_DIRS+=("$d"); }
done
MADE_RESOLV=1
printf 'nameserver 127.0.0.1\noptions timeout:2 attempts:2\n' >"$NETNS_ETC/resolv.conf"

shim_up
bg bind ip netns exec dps-stack "$PY" "$IT/shim_dns.py" 127.0.0.1 53 $NAME $ADDR 110
wait_output bind '^ready'

# run NAME [on_stack]: the script in dps-stack, with or without the shim.
run() {
	local how=(timeout -k 5 60 ip netns exec dps-stack)
	[ "${2:-}" = shim ] && how=(on_stack)
	"${how[@]}" "$PY" "$IT/shim_passthrough.py" $NAME $ADDR "$WORK/$1.sock" \
		>"$WORK/$1.stdout" 2>"$WORK/$1.stderr" || fail "$1 run failed: $(cat "$WORK/$1.stderr")"
}

note "without the shim"
run plain
cat "$WORK/plain.stdout"
grep -q WRONG "$WORK/plain.stdout" && fail "the script fails even without the shim"
note "under the shim"
run shim shim
diff -u "$WORK/plain.stdout" "$WORK/shim.stdout" || fail "output differs under the shim"
note "stdout identical"

grep 'EAL' "$WORK/shim.stderr" && fail "DPDK's EAL was started under the shim"
if ! cmp -s "$WORK/plain.stderr" "$WORK/shim.stderr"; then
	note "stderr under the shim (not an error unless it mentions EAL):"
	sed 's/^/#   /' "$WORK/shim.stderr"
fi
queries=$(grep -c "^query $NAME A\$" "$WORK/bind.out" || true)
note "DNS queries for $NAME that reached the resolver: $queries"
[ "$queries" -ge 2 ] || fail "the lookups did not go through the resolver on 127.0.0.1"
echo "PASS"
