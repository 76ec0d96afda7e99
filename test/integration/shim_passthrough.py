#!/usr/bin/python3
"""shim_passthrough.py NAME IPV4 UNIX_PATH: networking that dpsock must leave to the kernel.

Run once under the LD_PRELOAD shim and once without it (test_shim_passthrough.sh); stdout must
be the same byte for byte, so it prints only results that do not depend on the run (no ports,
no pids, no timings):
  dns      getaddrinfo(NAME) over UDP to the resolver of resolv.conf (must give IPV4), and a
           name that does not exist (gaierror)
  unix     an AF_UNIX stream socketpair, and a listening AF_UNIX socket at UNIX_PATH
  tcp      a TCP server and client on 127.0.0.1 (both kernel sockets), 1 MiB each way
  tcp6     the same on ::1, the client watched by epoll and select before its connect
  udp      datagrams between two UDP sockets on 127.0.0.1
  process  the threads of the process and the CPUs it may run on at the end: a DPDK start would
           add threads (eal-intr-thread, telemetry) and pin the thread to one core, and create
           the runtime directory /var/run/dpdk/dpsock<pid>
Every operation is bounded by a 10 s socket timeout."""
import glob
import hashlib
import os
import random
import select
import socket
import sys
import threading


def pattern(n, seed):
    return random.Random(seed).randbytes(n)


def digest(b):
    return hashlib.sha256(b).hexdigest()[:16]


def recv_exact(s, n):
    got = bytearray()
    while len(got) < n:
        b = s.recv(min(1 << 16, n - len(got)))
        if not b:
            break
        got += b
    return bytes(got)


def echo_round_trip(client, server_side, data):
    """Send data from client; server_side echoes it back; returns what came back."""
    def echo():
        b = recv_exact(server_side, len(data))
        server_side.sendall(b)

    th = threading.Thread(target=echo)
    th.start()
    client.sendall(data)
    back = recv_exact(client, len(data))
    th.join(10)
    return back


def dns(name, ipv4):
    infos = socket.getaddrinfo(name, 80, socket.AF_INET, socket.SOCK_STREAM)
    addrs = sorted({i[4][0] for i in infos})
    print("dns %s -> %s %s" % (name, " ".join(addrs), "ok" if addrs == [ipv4] else "WRONG"))
    bad = "nx-" + name
    try:
        socket.getaddrinfo(bad, 80, socket.AF_INET, socket.SOCK_STREAM)
        print("dns %s -> resolved WRONG" % bad)
    except socket.gaierror as e:
        print("dns %s -> gaierror %d" % (bad, e.errno))


def unix(path):
    data = pattern(256 * 1024, 1)
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    a.settimeout(10)
    b.settimeout(10)
    back = echo_round_trip(a, b, data)
    print("unix socketpair %s" % ("ok " + digest(back) if back == data else "WRONG"))
    a.close()
    b.close()

    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(10)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(10)
    c.connect(path)
    s, _ = srv.accept()
    s.settimeout(10)
    back = echo_round_trip(c, s, data)
    same = c.getpeername() == path and srv.getsockname() == path
    print("unix listener %s" % ("ok " + digest(back) if back == data and same else "WRONG"))
    for x in (c, s, srv):
        x.close()
    os.unlink(path)


def tcp():
    data = pattern(1 << 20, 2)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(10)
    c = socket.create_connection(srv.getsockname(), timeout=10)
    s, peer = srv.accept()
    s.settimeout(10)
    back = echo_round_trip(c, s, data)
    same = peer[0] == "127.0.0.1" and c.getpeername() == srv.getsockname()
    print("tcp loopback %s" % ("ok " + digest(back) if back == data and same else "WRONG"))
    c.shutdown(socket.SHUT_WR)
    eof = s.recv(1) == b""
    print("tcp loopback half-close %s" % ("ok" if eof else "WRONG"))
    for x in (c, s, srv):
        x.close()


def tcp6():
    """IPv6 TCP on ::1: the shim holds AF_INET6 sockets until bind or connect says where they
    go (a dual-stack :: socket is dpsock's); these go to the kernel, and watching one with epoll or
    select before its connect must not start the engine."""
    try:
        srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        srv.bind(("::1", 0))
    except OSError:
        print("tcp6 loopback: no IPv6 here")
        return
    srv.listen(1)
    srv.settimeout(10)
    data = pattern(1 << 16, 3)
    c = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    c.setblocking(False)
    ep = select.epoll()
    ep.register(c.fileno(), select.EPOLLOUT | select.EPOLLET)
    select.select([], [c], [], 0)
    try:
        c.connect(srv.getsockname())
    except BlockingIOError:
        pass
    evs = ep.poll(10)
    ok = any(fd == c.fileno() and ev & select.EPOLLOUT and not ev & select.EPOLLERR
             for fd, ev in evs)
    c.setblocking(True)
    c.settimeout(10)
    s, peer = srv.accept()
    s.settimeout(10)
    back = echo_round_trip(c, s, data)
    same = peer[0] == "::1" and c.getpeername()[:2] == srv.getsockname()[:2]
    print("tcp6 loopback %s" % ("ok " + digest(back) if ok and back == data and same else "WRONG"))
    ep.close()
    for x in (c, s, srv):
        x.close()


def udp():
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.bind(("127.0.0.1", 0))
    b.bind(("127.0.0.1", 0))
    a.settimeout(10)
    b.settimeout(10)
    sizes = [1, 100, 1400, 8000, 60000]
    ok = 0
    for i, n in enumerate(sizes):
        d = pattern(n, 10 + i)
        a.sendto(d, b.getsockname())
        got, frm = b.recvfrom(65536)
        ok += got == d and frm == a.getsockname()
    b.connect(a.getsockname())
    b.send(b"connected")
    got, _ = a.recvfrom(100)
    ok += got == b"connected"
    print("udp loopback %d/%d datagrams ok" % (ok, len(sizes) + 1))
    a.close()
    b.close()


def process():
    names = []
    for t in sorted(glob.glob("/proc/self/task/*/comm")):
        with open(t) as f:
            names.append(f.read().strip())
    print("threads %s" % " ".join(sorted(names)))
    print("cpus %d" % len(os.sched_getaffinity(0)))
    found = os.path.exists("/var/run/dpdk/dpsock%d" % os.getpid())
    print("dpdk runtime dir %s" % ("present WRONG" if found else "none"))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    dns(sys.argv[1], sys.argv[2])
    unix(sys.argv[3])
    tcp()
    tcp6()
    udp()
    process()
