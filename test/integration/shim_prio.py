#!/usr/bin/env python3
"""Priority at the event layer, seen by an unmodified program (issue 8, DESIGN.md §8).

server PORT N: (on dpsock) accepts N connections, adds them to one level-triggered epoll set,
  sends b"A" on each (the peer's cue to send), sleeps while the peer's messages arrive and
  prints the order epoll reports the connections in ("order1 i j k ..."), without reading;
  then sends b"B" on connection 3 (cue two), sleeps again and prints "order2 ...". Finally it
  reads every connection to its end and prints "stream i OK" when the bytes are exactly what the
  peer sent on it, in order.
client HOST PORT N: (kernel peer) opens N connections; after b"A" on all of them, sends a low
  message ("L" + 99 bytes) on connections 0..N-2 and a high one ("H" + 99 bytes) on N-1, one
  segment each (TCP_NODELAY), in that order; after b"B" on connection 3, a high message on
  connection 3 (which still holds its unread low one); then closes all.
With DPSOCK_PRIORITY='payload[0] == 0x48 -> high' epoll must report connection N-1 first in
order1 (it arrived last) and connections N-1, 3 first in order2 (3 was promoted on the ready
list); without rules, arrival order.
"""
import select
import socket
import sys
import time

PROMOTED = 3  # the connection whose ready low data is joined by a high message


def msg(kind, conn, seq):
    body = f"{kind}{conn:03d}{seq:03d}".encode()
    return body + bytes((conn * 7 + seq + i) & 0xFF for i in range(100 - len(body)))


def sent_on(conn, n):
    """What the client sends on connection conn, in order."""
    if conn == n - 1:
        return msg("H", conn, 0)
    out = msg("L", conn, 0)
    if conn == PROMOTED:
        out += msg("H", conn, 1)
    return out


def server(port, n):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(64)
    print("ready", flush=True)
    conns = []
    peer_port = {}
    while len(conns) < n:
        c, addr = ls.accept()
        conns.append(c)
        peer_port[c.fileno()] = addr[1]
    # index of each connection = the client's order, which it tells by its source ports order
    conns.sort(key=lambda c: peer_port[c.fileno()])
    index = {c.fileno(): i for i, c in enumerate(conns)}
    ep = select.epoll()
    for c in conns:
        ep.register(c.fileno(), select.EPOLLIN)
    for c in conns:
        c.sendall(b"A")

    def order():
        time.sleep(1.0)  # no call into the shim: the messages wait in the device's ring
        return [index[fd] for fd, _ in ep.poll(0)]

    print("order1", *order(), flush=True)
    conns[PROMOTED].sendall(b"B")
    print("order2", *order(), flush=True)
    for i, c in enumerate(conns):
        c.setblocking(True)
        got = b""
        while True:
            b = c.recv(65536)
            if not b:
                break
            got += b
        print(f"stream {i}", "OK" if got == sent_on(i, n) else f"BAD {got[:16]!r}", flush=True)
        c.close()


def client(host, port, n):
    conns = []
    for _ in range(n):
        c = socket.create_connection((host, port), timeout=30)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conns.append(c)
    conns.sort(key=lambda c: c.getsockname()[1])
    for c in conns:
        if c.recv(1) != b"A":
            sys.exit("no cue A")
    for i, c in enumerate(conns):
        c.sendall(msg("L", i, 0) if i < n - 1 else msg("H", i, 0))
    if conns[PROMOTED].recv(1) != b"B":
        sys.exit("no cue B")
    conns[PROMOTED].sendall(msg("H", PROMOTED, 1))
    time.sleep(0.2)
    for c in conns:
        c.close()
    print("client done", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(int(sys.argv[2]), int(sys.argv[3]))
    else:
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
