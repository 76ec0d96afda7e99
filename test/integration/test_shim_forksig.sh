#!/usr/bin/env bash
# fork() from signal handlers on dpsock (issue 13 item 2; DESIGN.md §6: a program's handler never
# runs while the shim holds its lock on that thread; fork is safe anywhere).
#   forksig-server (test/apps) behaves like postgres' postmaster: an echo server on dpsock whose
#   SIGCHLD handler reaps and forks again and whose SIGALRM handler (every 1 ms) forks, while its
#   main loop keeps calling select/accept/poll/read/write on dpsock. Kernel clients in dps-peer
#   (shim_peer.py) connect one after another and check every echoed byte. The server must end by
#   itself with every connection served, every fork done and every child reaped. A shim whose
#   atfork handler waited for a lock the interrupted thread held deadlocked here: the server is
#   given FORKSIG_BOUND seconds (default 90; it needs a few) and the test fails if it is still
#   running then (cleanup kills it). FORKSIG_RUNS runs (default 4) one after another; odd runs
#   start the 1 ms timer at once (the signals land in the engine's start-up: rte_eal_init inside
#   the first select), even ones after the first connection (in the calls of a running engine);
#   FORKSIG_WHEN=early or late makes every run so.
source "$(dirname "$0")/shim_lib.sh"
[ -x "$APPS/forksig-server" ] || fail "$APPS/forksig-server is not built"
RUNS=${FORKSIG_RUNS:-4}
BOUND=${FORKSIG_BOUND:-90}
CONNS=${FORKSIG_CONNS:-20}
FORKS=${FORKSIG_FORKS:-$(sized 1000 300)}
BYTES=${DPSTEST_SHIM_BYTES:-$(sized 262144 65536)}

shim_up
for run in $(seq "$RUNS"); do
	port=$((20060 + run % 20))
	when=${FORKSIG_WHEN:-$([ $((run % 2)) = 1 ] && echo early || echo late)}
	note "run $run/$RUNS ($when): $CONNS connections of $BYTES bytes, $FORKS forks from handlers"
	SHIM_TIMEOUT=$((BOUND + 30)) bg_stack "srv$run" "$APPS/forksig-server" "$port" "$CONNS" \
		"$FORKS" "$BOUND" "$when"
	wait_output "srv$run" 'forksig-server: ready'
	SHIM_TIMEOUT=$((BOUND + 30)) bg_peer "cli$run" "$PY" "$IT/shim_peer.py" clients $STACK_IP \
		"$port" "$CONNS" "$BYTES"
	job_wait "srv$run" "$BOUND"
	[ "$JOB_RC" = 0 ] || fail "run $run: forksig-server exited with status $JOB_RC"
	expect_ok "cli$run" 60
	cat "$WORK/srv$run.out"
	grep -qE "^connections $CONNS bytes $((CONNS * BYTES)) forks $FORKS reaped $FORKS " \
		"$WORK/srv$run.out" || fail "run $run: forksig-server's counts"
done
echo "PASS"
