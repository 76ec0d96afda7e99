#!/usr/bin/python3
"""shim_users.py MODE ARGS: what programs do that broke on dpsock (issue 13), one mode each. Run
under the shim in dps-stack (test_shim_users.sh) and, to check the test itself, with
DPSTEST_SHIM_KERNEL=1 on the kernel. Every line printed is "ok ..." or "WRONG ..."; every socket
operation has a 10 s timeout.

  loopback ORDER PEER PORT  connects to 127.0.0.1 (a kernel echo server in this process) and to
                            PEER:PORT (the peer's echo server, through dpsock), in ORDER
                            "peer-first" (the engine runs before the loopback connect) or
                            "loopback-first"; both with a plain socket, a socket with an option
                            set first, and one bound to port 0 first (item 4)
  opts PEER PORT            setsockopt answers as Linux's, before and after the engine starts
                            (item 6)
  v6server PORT PEERIP      an AF_INET6 socket, IPV6_V6ONLY 0, bound to ::: one connection, its
                            addresses IPv4-mapped, data echoed (item 7)
  deadlisten IP PORT SECS   a listener on IP:PORT served by select() for SECS: counts how often
                            select said readable and accept failed (item 3: must be 0)
"""
import errno
import hashlib
import os
import select
import socket
import sys
import threading
import time

T = 10


def say(ok, what):
    print("%s %s" % ("ok" if ok else "WRONG", what), flush=True)


def echo_check(s, n=65536, tag=""):
    data = os.urandom(n)
    s.sendall(data)
    got = bytearray()
    while len(got) < n:
        b = s.recv(65536)
        if not b:
            break
        got += b
    return bytes(got) == data


def local_echo_server():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(T)

    def run():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            c.settimeout(T)
            while True:
                b = c.recv(65536)
                if not b:
                    break
                c.sendall(b)
            c.close()

    threading.Thread(target=run, daemon=True).start()
    return srv.getsockname()[1]


def connect_kinds(host, port, tag):
    """A plain socket, one with TCP_NODELAY set first, one bound to port 0 first."""
    for kind in ("plain", "option", "bound0"):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(T)
        if kind == "option":
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if kind == "bound0":
            s.bind(("0.0.0.0", 0))
        try:
            s.connect((host, port))
            good = echo_check(s)
            peer = s.getpeername()[0]
            say(good and peer == host, "%s %s connect+echo (peer %s)" % (tag, kind, peer))
        except OSError as e:
            say(False, "%s %s connect: %s" % (tag, kind, e))
        s.close()


def loopback(order, peer, port):
    lport = local_echo_server()
    steps = [("peer", peer, port), ("loopback", "127.0.0.1", lport)]
    if order == "loopback-first":
        steps.reverse()
    for tag, host, p in steps:
        connect_kinds(host, p, tag)
    # after both: the loopback once more (the engine runs now whatever the order)
    connect_kinds("127.0.0.1", lport, "loopback-again")


def opt_errno(s, level, name, val):
    try:
        s.setsockopt(level, name, val)
        return 0
    except OSError as e:
        return e.errno


# (what, level, name, value, Linux's errno for an AF_INET TCP socket)
OPTS = [
    ("IPV6_V6ONLY on AF_INET", socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0, errno.ENOPROTOOPT),
    ("IPV6_TCLASS on AF_INET", socket.IPPROTO_IPV6, socket.IPV6_TCLASS, 0, errno.ENOPROTOOPT),
    ("TCP_MAXSEG 10", socket.IPPROTO_TCP, socket.TCP_MAXSEG, 10, errno.EINVAL),
    ("TCP_KEEPCNT 0", socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 0, errno.EINVAL),
    ("TCP_KEEPIDLE 40000", socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 40000, errno.EINVAL),
    ("TCP_CONGESTION nope", socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"nope", errno.ENOENT),
    ("SO_KEEPALIVE 2 bytes", socket.SOL_SOCKET, socket.SO_KEEPALIVE, b"\1\0", errno.EINVAL),
    ("TCP_NODELAY 1", socket.IPPROTO_TCP, socket.TCP_NODELAY, 1, 0),
    ("SO_REUSEADDR 1", socket.SOL_SOCKET, socket.SO_REUSEADDR, 1, 0),
    ("IP_TOS 16", socket.IPPROTO_IP, socket.IP_TOS, 16, 0),
]


def opts(peer, port):
    for when in ("before the engine", "after the engine"):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        for what, level, name, val, want in OPTS:
            got = opt_errno(s, level, name, val)
            say(got == want, "%s, %s: errno %d (Linux %d)" % (what, when, got, want))
        s.settimeout(T)
        s.connect((peer, port))  # starts the engine (the first time)
        say(echo_check(s, 1000), "%s: the socket still works" % when)
        s.close()


def v6server(port, peerip):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    say(s.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 0, "IPV6_V6ONLY reads 0")
    say(s.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN) == socket.AF_INET6, "SO_DOMAIN AF_INET6")
    s.bind(("::", port))
    s.listen(4)
    name = s.getsockname()
    say(name[0] == "::" and name[1] == port, "listener's name %s" % (name,))
    print("listening", flush=True)
    s.settimeout(30)
    c, addr = s.accept()
    c.settimeout(T)
    want = "::ffff:" + peerip
    say(addr[0] == want, "accept's address %s (want %s)" % (addr[0], want))
    say(c.getpeername()[0] == want, "getpeername %s" % c.getpeername()[0])
    say(c.getsockname()[0].startswith("::ffff:"), "getsockname %s" % c.getsockname()[0])
    n = 0
    h = hashlib.sha256()
    while True:
        b = c.recv(65536)
        if not b:
            break
        h.update(b)
        n += len(b)
        c.sendall(b)
    c.close()
    say(n > 0, "echoed %d bytes sha256 %s" % (n, h.hexdigest()[:16]))


def deadlisten(ip, port, secs):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, port))
    s.listen(8)
    s.setblocking(False)
    readable = errors = 0
    end = time.monotonic() + secs
    while time.monotonic() < end:
        r, _, _ = select.select([s], [], [], 0.1)
        if r:
            readable += 1
            try:
                c, _ = s.accept()
                c.close()
            except BlockingIOError:
                pass
            except OSError as e:
                errors += 1
                if errors <= 3:
                    print("accept: %s" % e, flush=True)
    say(readable == 0 and errors == 0,
        "select said readable %d times, accept failed %d times in %d s" % (readable, errors, secs))


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "loopback":
        loopback(a[1], a[2], int(a[3]))
    elif a[0] == "opts":
        opts(a[1], int(a[2]))
    elif a[0] == "v6server":
        v6server(int(a[1]), a[2])
    elif a[0] == "deadlisten":
        deadlisten(a[1], int(a[2]), int(a[3]))
    else:
        sys.exit("unknown mode " + a[0])
