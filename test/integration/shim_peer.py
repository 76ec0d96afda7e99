#!/usr/bin/python3
"""shim_peer.py: kernel-side echo clients for the LD_PRELOAD shim's tests (run in dps-peer).

clients HOST PORT N BYTES [--concurrent | --overlap]
    N connections to an echo server, each sending BYTES pseudo-random bytes (a different stream
    per connection) and reading the echo back; fails unless every byte came back in order. By
    default one connection after another. --concurrent opens all N first (so N connections are
    open at the server at once), then sends on all of them at the same time, and closes none
    before every one has its whole echo. --overlap is the same, except that each connection
    closes as soon as its own echo is complete (for a server that serves one connection at a
    time: the others wait in its accept queue). Connecting is retried for up to 20 s (the server
    may still be starting). Prints one "client I: BYTES bytes ok" line per connection.
Every operation is bounded by socket timeouts (30 s); the whole run by the caller's timeout."""
import hashlib
import random
import socket
import sys
import threading
import time

IO_TIMEOUT = 30
CONNECT_FOR = 20
print_lock = threading.Lock()


def say(line):
    """One whole line on stdout, also when several client threads report at once."""
    with print_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def connect(host, port):
    """create_connection, retried while the server is not there yet (refused, no route, timeout)."""
    end = time.monotonic() + CONNECT_FOR
    while True:
        try:
            s = socket.create_connection((host, port), timeout=2)
            s.settimeout(IO_TIMEOUT)
            return s
        except OSError:  # refused, unreachable, timed out
            if time.monotonic() > end:
                raise
            time.sleep(0.2)


def echo(s, index, nbytes):
    """Send nbytes from a seeded stream while a thread reads the echo; compare exactly."""
    rnd = random.Random(1000 + index)
    h_out, h_in = hashlib.sha256(), hashlib.sha256()
    got = [0]
    err = []

    def reader():
        try:
            while got[0] < nbytes:
                b = s.recv(1 << 20)
                if not b:
                    break
                h_in.update(b)
                got[0] += len(b)
        except OSError as e:
            err.append(e)

    th = threading.Thread(target=reader)
    th.start()
    left = nbytes
    while left > 0:
        chunk = rnd.randbytes(min(left, 1 << 18))
        h_out.update(chunk)
        s.sendall(chunk)
        left -= len(chunk)
    th.join(IO_TIMEOUT * 4)
    if th.is_alive() or err or got[0] != nbytes or h_in.digest() != h_out.digest():
        raise RuntimeError("client %d: sent %d bytes, got %d back (%s)%s" % (
            index, nbytes, got[0], "sha256 differs" if got[0] == nbytes else "short",
            " " + repr(err) if err else ""))


def finish(s):
    """Half-close, then expect EOF from the server (it closes after echoing everything)."""
    s.shutdown(socket.SHUT_WR)
    rest = s.recv(1)
    s.close()
    if rest:
        raise RuntimeError("data after the echo: %r" % rest)


def clients(host, port, n, nbytes, mode):
    if mode == "sequential":
        for i in range(n):
            s = connect(host, port)
            echo(s, i, nbytes)
            finish(s)
            say("client %d: %d bytes ok" % (i, nbytes))
        return 0

    opened = threading.Barrier(n, timeout=60)
    echoed = threading.Barrier(n, timeout=120)
    failures = []

    def one(i):
        try:
            s = connect(host, port)
            opened.wait()
            echo(s, i, nbytes)
            if mode == "concurrent":
                echoed.wait()
            finish(s)
            say("client %d: %d bytes ok" % (i, nbytes))
        except Exception as e:  # noqa: BLE001 - every failure is reported
            failures.append("client %d: %r" % (i, e))
            opened.abort()
            echoed.abort()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    if failures or any(t.is_alive() for t in threads):
        print("\n".join(failures) or "a client did not finish", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    mode = "sequential"
    if args and args[-1] in ("--concurrent", "--overlap"):
        mode = args.pop()[2:]
    if len(args) != 5 or args[0] != "clients":
        sys.exit(__doc__)
    sys.exit(clients(args[1], int(args[2]), int(args[3]), int(args[4]), mode))
