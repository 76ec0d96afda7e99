"""Socket semantics checked the same way on dpsock and on the kernel (issue 5: "tests compare
with kernel sockets wherever possible").

  shim_semantics.py server PORT          a kernel-side server (runs until killed or 300 s)
  shim_semantics.py client ADDR PORT     the checks; prints one line per check

Each client connection first sends one command line to the server:
  echo | close | rst | hold | send N
The test runs the client once under libdpsock.so and once on the kernel, and compares the
printed lines: they must be identical (timings are never printed, only bounded).
"""
import errno
import fcntl
import os
import select
import signal
import socket
import struct
import sys
import termios
import threading
import time


def serve(port):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(64)
    deadline = time.time() + 300

    def handle(c):
        line = b""
        while not line.endswith(b"\n"):  # byte by byte: what follows the line stays queued
            b = c.recv(1)
            if not b:
                return
            line += b
        cmd = line.decode().split()
        if not cmd:
            return
        if cmd[0] == "echo":
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
        elif cmd[0] == "close":
            pass
        elif cmd[0] == "rst":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif cmd[0] == "hold":
            time.sleep(float(cmd[1]) if len(cmd) > 1 else 10)
        elif cmd[0] == "send":
            c.sendall(b"x" * int(cmd[1]))
        c.close()

    srv.settimeout(1)
    while time.time() < deadline:
        try:
            c, _ = srv.accept()
        except socket.timeout:
            continue
        threading.Thread(target=handle, args=(c,), daemon=True).start()


def ename(e):
    return errno.errorcode.get(e.errno, str(e.errno)) if e.errno else type(e).__name__


def conn(addr, port, cmd):
    c = socket.create_connection((addr, port), timeout=10)
    c.settimeout(None)
    c.sendall(cmd.encode() + b"\n")
    return c


def recv_all(c):
    out = b""
    while True:
        d = c.recv(65536)
        if not d:
            return out
        out += d


def within(t0, lo, hi):
    dt = time.time() - t0
    return "in time" if lo <= dt <= hi else "TIME %.3f" % dt


def checks(addr, port):
    out = []

    def say(line):
        out.append(line)
        print(line, flush=True)

    c = conn(addr, port, "send 10")
    time.sleep(0.3)
    say("fionread %d" % struct.unpack("i", fcntl.ioctl(c.fileno(), termios.FIONREAD, b"\0" * 4))[0])
    say("peek %r" % c.recv(5, socket.MSG_PEEK))
    say("read %r" % c.recv(5))
    say("rest+eof %r %r" % (c.recv(100), c.recv(100)))
    c.close()

    c = conn(addr, port, "send 300000")
    d = c.recv(300000, socket.MSG_WAITALL)
    say("waitall %d" % len(d))
    c.close()

    c = conn(addr, port, "rst")
    time.sleep(0.3)
    try:
        c.recv(10)
        say("rst: no error")
    except OSError as e:
        say("rst recv %s" % ename(e))
    try:
        c.send(b"x")
        say("send after rst: ok")
    except OSError as e:
        say("send after rst %s" % ename(e))
    c.close()

    c = conn(addr, port, "close")
    time.sleep(0.3)
    say("close recv %r" % c.recv(10))
    res = []
    for _ in range(3):  # the first write may be accepted; then the peer's RST: EPIPE
        try:
            c.send(b"y" * 1000, socket.MSG_NOSIGNAL)
            res.append("ok")
        except OSError as e:
            res.append(ename(e))
        time.sleep(0.2)
    say("writes to closed peer %s" % res[-1])
    c.close()

    c = conn(addr, port, "hold 3")
    c.setblocking(False)
    try:
        c.recv(10)
        say("nonblock: data?!")
    except OSError as e:
        say("nonblock recv %s" % ename(e))
    total = 0
    try:
        for _ in range(10000):
            total += c.send(b"z" * 65536)
    except OSError as e:
        say("nonblock send fills: %s after %s" % (ename(e), "some" if total > 0 else "none"))
    c.setblocking(True)
    c.settimeout(0.3)
    t0 = time.time()
    try:
        c.recv(10)
        say("timeout: data?!")
    except socket.timeout:
        say("settimeout recv: timeout %s" % within(t0, 0.25, 3))
    c.settimeout(None)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 300000))
    t0 = time.time()
    try:
        c.recv(10)
        say("rcvtimeo: data?!")
    except OSError as e:
        say("so_rcvtimeo recv %s %s" % (ename(e), within(t0, 0.25, 3)))
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 0))

    class Alarm(Exception):
        pass

    def on_alarm(sig, frame):
        raise Alarm()

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    t0 = time.time()
    try:
        c.recv(10)
        say("signal: data?!")
    except Alarm:
        say("signal during blocking recv: handler ran, call interrupted %s" % within(t0, 0.25, 3))
    signal.signal(signal.SIGALRM, old)
    c.close()

    c = conn(addr, port, "echo")
    d = os.dup(c.fileno())
    c2 = socket.socket(fileno=d)
    c.close()
    c2.sendall(b"through a dup")
    say("dup echo %r" % c2.recv(100))
    r, w, x = select.select([c2], [c2], [], 5)
    say("select idle: readable %d writable %d" % (len(r), len(w)))
    c2.sendall(b"abc")
    r, w, x = select.select([c2], [], [], 5)
    say("select after echo: readable %d" % len(r))
    c2.recv(3)
    p = select.poll()
    p.register(c2, select.POLLIN | select.POLLOUT)
    say("poll events %s" % sorted(
        n for n in ("POLLIN", "POLLOUT", "POLLHUP", "POLLERR")
        if any(ev & getattr(select, n) for _, ev in p.poll(1000))))
    c2.shutdown(socket.SHUT_WR)
    say("shutdown(WR) then read: %r" % recv_all(c2))
    c2.close()

    def names(evs):
        bits = 0
        for _, ev in evs:
            bits |= ev
        return sorted(n for n in ("EPOLLIN", "EPOLLOUT", "EPOLLRDHUP", "EPOLLHUP", "EPOLLERR")
                      if bits & getattr(select, n)) if evs else "none"

    c = conn(addr, port, "echo")
    ep = select.epoll()
    ep.register(c.fileno(), select.EPOLLIN | select.EPOLLET)
    c.sendall(b"a")
    say("epoll ET first %s" % names(ep.poll(5)))
    say("epoll ET again without reading %s" % names(ep.poll(0.3)))
    c.sendall(b"b")
    say("epoll ET after more data %s" % names(ep.poll(5)))
    time.sleep(0.1)
    c.recv(10)
    ep.modify(c.fileno(), select.EPOLLIN | select.EPOLLONESHOT)
    c.sendall(b"c")
    say("epoll ONESHOT first %s" % names(ep.poll(5)))
    c.sendall(b"d")
    time.sleep(0.2)
    say("epoll ONESHOT disarmed %s" % names(ep.poll(0.3)))
    ep.modify(c.fileno(), select.EPOLLIN)
    say("epoll ONESHOT re-armed %s" % names(ep.poll(5)))
    try:
        ep.register(c.fileno(), select.EPOLLIN)
        say("epoll double add: accepted?!")
    except OSError as e:
        say("epoll double add %s" % ename(e))
    ep.unregister(c.fileno())
    try:
        ep.modify(c.fileno(), select.EPOLLIN)
        say("epoll modify after unregister: accepted?!")
    except OSError as e:
        say("epoll modify after unregister %s" % ename(e))
    ep.register(c.fileno(), select.EPOLLIN | select.EPOLLEXCLUSIVE)
    say("epoll EPOLLEXCLUSIVE %s" % names(ep.poll(5)))
    ep.close()
    c.close()
    c = conn(addr, port, "send 3")
    ep = select.epoll()
    ep.register(c.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
    time.sleep(0.3)
    say("epoll peer sent and closed %s" % names(ep.poll(5)))
    ep.close()
    c.close()

    try:
        socket.create_connection((addr, 1), timeout=5)
        say("refused: connected?!")
    except OSError as e:
        say("blocking connect to closed port %s" % ename(e))
    s = socket.socket()
    s.setblocking(False)
    rc = s.connect_ex((addr, 1))
    say("nonblocking connect %s" % errno.errorcode.get(rc, rc))
    select.select([], [s], [], 5)
    say("then SO_ERROR %s" % errno.errorcode.get(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)))
    s.close()

    c = conn(addr, port, "echo")
    local, peer = c.getsockname(), c.getpeername()
    say("names: local port > 1023 %s, peer %s" % (local[1] > 1023, peer[1] == port))
    c.close()
    return out


if __name__ == "__main__":
    if sys.argv[1] == "server":
        serve(int(sys.argv[2]))
    else:
        checks(sys.argv[2], int(sys.argv[3]))
