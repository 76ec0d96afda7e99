#!/usr/bin/env bash
# Socket semantics compared with the kernel's (issue 5: "tests compare with kernel sockets wherever
# possible"): shim_semantics.py runs the same checks (MSG_PEEK, MSG_WAITALL, FIONREAD, EOF, RST ->
# ECONNRESET then EPIPE, writes to a closed peer, EAGAIN, partial non-blocking writes,
# settimeout, SO_RCVTIMEO, a signal handler interrupting a blocking recv, dup, select, poll,
# shutdown(SHUT_WR), ECONNREFUSED blocking and non-blocking + SO_ERROR, names) once on the kernel
# (client in dps-peer) and once on dpsock (client in dps-stack, through the shim), against the
# same kernel server. The two outputs must be identical, and the kernel's must hold every check.
source "$(dirname "$0")/shim_lib.sh"
PORT=20030

shim_up
bg_peer server "$PY" "$IT/shim_semantics.py" server $PORT
wait_peer_listen $PORT
on_peer "$PY" "$IT/shim_semantics.py" client $PEER_IP $PORT >"$WORK/kernel.txt" ||
	fail "the checks failed on the kernel: $(tail -3 "$WORK/kernel.txt")"
[ "$(wc -l <"$WORK/kernel.txt")" -ge 20 ] || fail "the kernel run printed too little"
on_stack "$PY" "$IT/shim_semantics.py" client $PEER_IP $PORT >"$WORK/dpsock.txt" 2>"$WORK/dpsock.err" ||
	{ tail -5 "$WORK/dpsock.err"; fail "the checks failed on dpsock"; }
if ! diff -u "$WORK/kernel.txt" "$WORK/dpsock.txt"; then
	fail "dpsock differs from the kernel (- kernel, + dpsock)"
fi
sed 's/^/# /' "$WORK/dpsock.txt"
echo "PASS: $(wc -l <"$WORK/dpsock.txt") checks, identical to the kernel's"
