#!/usr/bin/python3
"""shim_app.py: ordinary Python socket programs that the shim's tests run on dpsock (on_stack).

echo-server PORT NCONNS
    Blocking echo server on 0.0.0.0:PORT: accept, recv/sendall until EOF, one connection at a
    time; exits after NCONNS connections printing "served N bytes B".
async-server PORT NCONNS SECONDS
    asyncio echo server (epoll selector, non-blocking sockets); exits after NCONNS connections
    finished, printing "served N bytes B max_concurrent M selector NAME"; fails after SECONDS.
echo-client HOST PORT BYTES
    Blocking client of an echo server: BYTES pseudo-random bytes out (one thread sending, another
    receiving on the same socket), the same back (sha256).
timeouts HOST CLOSED_PORT ECHO_PORT SILENT_ADDR
    Errors and timeouts as Python reports them: connecting to a closed port raises
    ConnectionRefusedError (blocking, and as SO_ERROR after a non-blocking connect); recv with
    settimeout(0.5) on an idle connection raises socket.timeout after about 0.5 s and the
    connection still works afterwards; a connect with timeout=1 to SILENT_ADDR (on the subnet,
    nobody answers its ARP) raises socket.timeout.
The servers print "ready" on stderr once listening. Exit status 0 only if every check held.
echo-server and echo-client set no socket timeout on purpose: with one, Python makes the fd
non-blocking and waits in poll(); these two exercise truly blocking calls (connect, accept, recv,
send), so only the caller's timeout(1) bounds them."""
import asyncio
import errno
import select
import socket
import sys
import time

from shim_peer import echo, finish


def echo_server(port, nconns):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(16)
    print("ready", file=sys.stderr, flush=True)
    total = 0
    for _ in range(nconns):
        c, _ = srv.accept()
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            c.sendall(b)
            total += len(b)
        c.close()
    srv.close()
    print("served %d bytes %d" % (nconns, total))
    return 0


def async_server(port, nconns, seconds):
    st = {"done": 0, "active": 0, "max": 0, "bytes": 0}

    async def main():
        finished = asyncio.Event()

        async def handle(reader, writer):
            st["active"] += 1
            st["max"] = max(st["max"], st["active"])
            try:
                while True:
                    b = await reader.read(1 << 16)
                    if not b:
                        break
                    writer.write(b)
                    await writer.drain()
                    st["bytes"] += len(b)
            finally:
                writer.close()
                await writer.wait_closed()
                st["active"] -= 1
                st["done"] += 1
                if st["done"] >= nconns:
                    finished.set()

        server = await asyncio.start_server(handle, "0.0.0.0", port, backlog=128)
        print("ready", file=sys.stderr, flush=True)
        try:
            await asyncio.wait_for(finished.wait(), seconds)
        finally:
            server.close()
            await server.wait_closed()
        return type(asyncio.get_running_loop()._selector).__name__

    selector = asyncio.run(main())
    print("served %d bytes %d max_concurrent %d selector %s" % (
        st["done"], st["bytes"], st["max"], selector))
    return 0 if selector == "EpollSelector" else 1


def echo_client(host, port, nbytes):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect((host, port))
    echo(s, 0, nbytes)
    finish(s)
    print("echo-client: %d bytes ok" % nbytes)
    return 0


class Checks:
    def __init__(self):
        self.failed = 0

    def check(self, ok, what):
        print("%s: %s" % ("ok" if ok else "FAILED", what), flush=True)
        self.failed += not ok


def timeouts(host, closed_port, echo_port, silent):
    c = Checks()

    # A closed port: the peer answers the SYN with a RST.
    t0 = time.monotonic()
    try:
        socket.create_connection((host, closed_port), timeout=5).close()
        c.check(False, "connect to a closed port: connected")
    except ConnectionRefusedError:
        c.check(time.monotonic() - t0 < 5, "connect to a closed port: ConnectionRefusedError")
    except OSError as e:
        c.check(False, "connect to a closed port: %r" % e)

    # The same without blocking: EINPROGRESS, then writable with SO_ERROR = ECONNREFUSED.
    s = socket.socket()
    s.setblocking(False)
    rc = s.connect_ex((host, closed_port))
    _, w, _ = select.select([], [s], [], 5)
    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    c.check(rc == errno.EINPROGRESS and w and err == errno.ECONNREFUSED,
            "non-blocking connect to a closed port: %s, then %s" % (
                errno.errorcode.get(rc, rc), errno.errorcode.get(err, err)))
    s.close()

    # Non-blocking connect to a server: EINPROGRESS, then writable with SO_ERROR = 0.
    s = socket.socket()
    s.setblocking(False)
    rc = s.connect_ex((host, echo_port))
    _, w, _ = select.select([], [s], [], 5)
    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    c.check(rc == errno.EINPROGRESS and w and err == 0,
            "non-blocking connect: %s, then SO_ERROR %d" % (errno.errorcode.get(rc, rc), err))
    s.close()

    # recv on an idle connection with a 0.5 s timeout; the connection stays usable afterwards.
    s = socket.create_connection((host, echo_port), timeout=5)
    s.settimeout(0.5)
    t0 = time.monotonic()
    try:
        b = s.recv(100)
        c.check(False, "recv on an idle connection returned %r" % b)
    except socket.timeout:
        took = time.monotonic() - t0
        c.check(0.3 <= took <= 5, "recv timed out after %.2f s (0.3-5)" % took)
    s.settimeout(10)
    s.sendall(b"ping")
    got = b""
    while len(got) < 4:
        b = s.recv(4 - len(got))
        if not b:
            break
        got += b
    c.check(got == b"ping", "echo after the timeout: %r" % got)
    s.close()

    # An address on the subnet that nobody answers (no ARP reply): connect times out.
    t0 = time.monotonic()
    try:
        socket.create_connection((silent, echo_port), timeout=1).close()
        c.check(False, "connect to a silent address: connected")
    except socket.timeout:
        took = time.monotonic() - t0
        c.check(0.5 <= took <= 5,
                "connect to a silent address timed out after %.2f s (0.5-5)" % took)
    except OSError as e:
        c.check(False, "connect to a silent address: %r" % e)
    return 1 if c.failed else 0


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "echo-server":
        sys.exit(echo_server(int(args[0]), int(args[1])))
    if cmd == "async-server":
        sys.exit(async_server(int(args[0]), int(args[1]), float(args[2])))
    if cmd == "echo-client":
        sys.exit(echo_client(args[0], int(args[1]), int(args[2])))
    if cmd == "timeouts":
        sys.exit(timeouts(args[0], int(args[1]), int(args[2]), args[3]))
    sys.exit(__doc__)
