#!/usr/bin/env python3
"""tcp_client.py echo HOST PORT BYTES | conns HOST PORT COUNT: kernel-side TCP peer for the tests.

echo:  send BYTES pseudo-random bytes and read the echo back; print the sha256 of both and fail
       unless they match.
conns: open COUNT short connections one after another, each sending 100 bytes and reading them
       back, then closing; fail on any error.
serve: (tcp_client.py serve HOST PORT SECONDS) an echo server, for dpsock's active opens.
Bounded by socket timeouts (10 s per operation)."""
import hashlib
import random
import socket
import sys
import threading


def echo(host, port, n):
    rnd = random.Random(1234)
    s = socket.create_connection((host, port), timeout=10)
    s.settimeout(30)
    h_out, h_in = hashlib.sha256(), hashlib.sha256()
    got = [0]
    err = []

    def reader():
        try:
            while got[0] < n:
                b = s.recv(1 << 20)
                if not b:
                    break
                h_in.update(b)
                got[0] += len(b)
        except Exception as e:  # noqa: BLE001 - reported below
            err.append(e)

    th = threading.Thread(target=reader)
    th.start()
    left = n
    while left > 0:
        chunk = rnd.randbytes(min(left, 1 << 20))
        h_out.update(chunk)
        s.sendall(chunk)
        left -= len(chunk)
    th.join(120)
    s.close()
    print("sent %d sha256 %s" % (n, h_out.hexdigest()))
    print("recv %d sha256 %s" % (got[0], h_in.hexdigest()))
    if err or got[0] != n or h_in.digest() != h_out.digest():
        sys.exit("echo mismatch %s" % (err or ""))


def conns(host, port, count):
    msg = b"x" * 100
    for i in range(count):
        s = socket.create_connection((host, port), timeout=10)
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            b = s.recv(4096)
            if not b:
                sys.exit("connection %d closed early" % i)
            got += b
        s.close()
    print("%d connections ok" % count)


def serve(host, port, seconds):
    """An echo server for dpsock's client side: one thread per connection, stops after seconds."""
    import time
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(128)
    srv.settimeout(0.5)
    end = time.time() + seconds

    def handle(c):
        c.settimeout(30)
        try:
            while True:
                b = c.recv(1 << 20)
                if not b:
                    break
                c.sendall(b)
        except OSError:
            pass
        c.close()

    print("serving", flush=True)
    while time.time() < end:
        try:
            c, _ = srv.accept()
        except socket.timeout:
            continue
        threading.Thread(target=handle, args=(c,), daemon=True).start()


if __name__ == "__main__":
    what, host, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    {"echo": echo, "conns": conns, "serve": serve}[what](host, port, n)
