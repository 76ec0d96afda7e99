#!/usr/bin/env bash
# The plain POSIX servers of test/apps on dpsock (LD_PRELOAD shim), kernel clients in dps-peer
# checking every echoed byte (shim_peer.py):
#   blocking-server  one thread, blocking calls: 3 clients one after another, then 3 at once
#                    (two of them wait in the accept queue)
#   thread-server    a thread per connection: 8 clients at once, all 8 open together
#   mixed-epoll      one epoll set with the listener, its connections, a pipe and an eventfd:
#                    8 clients at once; every kind of source must deliver events
source "$(dirname "$0")/shim_lib.sh"
BYTES=${DPSTEST_SHIM_BYTES:-$(sized 4194304 1048576)}
for app in blocking-server thread-server mixed-epoll; do
	[ -x "$APPS/$app" ] || fail "$APPS/$app is not built"
done

shim_up

note "blocking-server: 3 clients in turn, then 3 at once, $BYTES bytes each"
bg_stack blocking "$APPS/blocking-server" 20040 6
wait_output blocking 'blocking-server: ready'
on_peer "$PY" "$IT/shim_peer.py" clients $STACK_IP 20040 3 "$BYTES" || fail "clients in turn"
on_peer "$PY" "$IT/shim_peer.py" clients $STACK_IP 20040 3 "$BYTES" --overlap ||
	fail "overlapping clients"
expect_ok blocking
cat "$WORK/blocking.out"
grep -qx "connections 6 bytes $((6 * BYTES))" "$WORK/blocking.out" || fail "blocking-server's count"

note "thread-server: 8 clients at once, $BYTES bytes each"
bg_stack threads "$APPS/thread-server" 20041 8
wait_output threads 'thread-server: ready'
on_peer "$PY" "$IT/shim_peer.py" clients $STACK_IP 20041 8 "$BYTES" --concurrent ||
	fail "clients of thread-server"
expect_ok threads
cat "$WORK/threads.out"
grep -qx "connections 8 bytes $((8 * BYTES)) max_concurrent 8" "$WORK/threads.out" ||
	fail "thread-server did not serve the 8 connections at once"

note "mixed-epoll: 8 clients at once, $BYTES bytes each"
bg_stack mixed "$APPS/mixed-epoll" 20042 8 90
wait_output mixed 'mixed-epoll: ready'
on_peer "$PY" "$IT/shim_peer.py" clients $STACK_IP 20042 8 "$BYTES" --concurrent ||
	fail "clients of mixed-epoll"
expect_ok mixed # its own checks: every kind of source delivered events, counts echoed
cat "$WORK/mixed.out"
grep -q "^accepts 8 .* bytes $((8 * BYTES)) " "$WORK/mixed.out" || fail "mixed-epoll's counts"
echo "PASS"
