#!/usr/bin/python3
"""shim_dns.py ADDR PORT NAME IPV4 SECONDS: a tiny DNS responder over UDP, for the passthrough test.

Answers an A query for NAME with IPV4 (TTL 60); any other type for NAME with no answers
(NOERROR/NODATA), any other name with NXDOMAIN. Logs "query NAME TYPE" per query on stdout and
prints "ready" on stderr once bound. Stops after SECONDS. Only what glibc's stub resolver sends
is understood: one question, no EDNS needed (additional records are ignored)."""
import socket
import struct
import sys
import time

TYPES = {1: "A", 28: "AAAA"}


def parse_question(msg):
    """(labels as text, qtype, end offset of the question) of a query's first question."""
    off, labels = 12, []
    while True:
        n = msg[off]
        off += 1
        if n == 0:
            break
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n
    qtype, _ = struct.unpack("!HH", msg[off:off + 4])
    return ".".join(labels).lower(), qtype, off + 4


def answer(msg, name, ipv4):
    ident, flags = struct.unpack("!HH", msg[:4])
    qname, qtype, end = parse_question(msg)
    question = msg[12:end]
    rd = flags & 0x0100
    if qname != name:
        return qname, qtype, struct.pack("!HHHHHH", ident, 0x8083 | rd, 1, 0, 0, 0) + question
    if qtype != 1:
        return qname, qtype, struct.pack("!HHHHHH", ident, 0x8080 | rd, 1, 0, 0, 0) + question
    rr = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(ipv4)
    return qname, qtype, struct.pack("!HHHHHH", ident, 0x8080 | rd, 1, 1, 0, 0) + question + rr


def main(addr, port, name, ipv4, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    s.settimeout(0.5)
    print("ready", file=sys.stderr, flush=True)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            msg, peer = s.recvfrom(4096)
        except socket.timeout:
            continue
        try:
            qname, qtype, reply = answer(msg, name.lower(), ipv4)
        except (IndexError, struct.error):
            print("malformed query from %s" % (peer,), flush=True)
            continue
        print("query %s %s" % (qname, TYPES.get(qtype, qtype)), flush=True)
        s.sendto(reply, peer)


if __name__ == "__main__":
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5]))
