#!/usr/bin/env python3
"""send_frames.py IFACE DST_MAC SRC_IP DST_IP COUNT: send COUNT frames of each malformed kind on
IFACE through a raw AF_PACKET socket (no scapy needed), and print the kinds with the dpsock counter
each one must land in. Run it inside the peer's namespace; frames stay on the testbed's veth."""
import socket
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def mac(text):
    return bytes(int(x, 16) for x in text.split(":"))


def ip_header(src, dst, payload_len, proto=1, ttl=64, ihl=5, total=None, frag=0, fix=True):
    total = 20 + payload_len if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, total, 0x4242, frag, ttl, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    if fix:
        h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h


def echo(seq, data=b"dpsock-malformed", good_csum=True):
    body = struct.pack("!BBHHH", 8, 0, 0, 0x7777, seq) + data
    c = csum(body) if good_csum else (csum(body) ^ 0x00FF)
    return body[:2] + struct.pack("!H", c) + body[4:]


def main():
    iface, dst_mac, src_ip, dst_ip, count = sys.argv[1:6]
    count = int(count)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    src_mac = s.getsockname()[4]
    dmac = mac(dst_mac)
    eth_ip = dmac + src_mac + b"\x08\x00"
    icmp = echo(1)
    ip_ok = ip_header(src_ip, dst_ip, len(icmp))
    kinds = {
        "drop_ip_csum": eth_ip + ip_ok[:10] + b"\xde\xad" + ip_ok[12:] + icmp,
        "drop_ip_short": eth_ip + ip_ok[:12],
        "drop_ip_ihl": eth_ip + ip_header(src_ip, dst_ip, len(icmp), ihl=3) + icmp,
        "drop_ip_len": eth_ip + ip_header(src_ip, dst_ip, len(icmp), total=1400) + icmp,
        "drop_ip_ttl": eth_ip + ip_header(src_ip, dst_ip, len(icmp), ttl=0) + icmp,
        # No fragment here: DPDK's af_packet PMD asks the kernel to reassemble (fanout with
        # PACKET_FANOUT_FLAG_DEFRAG), so a lone fragment never reaches the stack. The unit tests
        # (test_engine, test_wire) cover drop_ip_frag.
        "drop_icmp_csum": eth_ip + ip_ok + echo(2, good_csum=False),
        "drop_eth_not_for_us": b"\x02\x00\x00\x00\x00\x99" + src_mac + b"\x08\x00" + ip_ok + icmp,
        "drop_arp_format": dmac + src_mac + b"\x08\x06" +
        struct.pack("!HHBBH", 6, 0x0800, 6, 4, 1) + src_mac + socket.inet_aton(src_ip) +
        b"\0" * 6 + socket.inet_aton(dst_ip),
    }
    for name, frame in kinds.items():
        for _ in range(count):
            s.send(frame)
        print(name)


if __name__ == "__main__":
    main()
