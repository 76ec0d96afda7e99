/*
 * Checksums left to offload by a local kernel peer (docs/tcp.md, "Checksums"): a segment whose
 * TCP checksum field holds exactly the pseudo-header sum (CHECKSUM_PARTIAL, what af_packet hands
 * over from a veth peer with tx offload on) is accepted, and counted in rx_csum_partial, only where
 * the device allows it (DPS_DEV_RX_TCP_PARTIAL: net_af_packet with peer_offloads=adapt); a segment
 * whose field is anything else that does not verify is still dropped as drop_tcp_csum.
 */
#include "pkt.h"

#include "dev.h"

SCENARIO(listen_syn_partial_csum_accepted_where_device_allows)
{
	int l;
	struct conn *c;

	pkt_dev_csum(DPS_DEV_RX_TCP_PARTIAL);
	l = listen_on(LISTEN_PORT, 16);
	c = peer_conn(LISTEN_PORT, PEER_ISN);
	IN_MOD(c, "S 0:0(0) win 65535 <mss 1460>", .partial_csum = true);
	OUT(c, "S. 0:0(0) ack 1 <mss 1460>");
	IN_MOD(c, ". 1:1(0) ack 1", .partial_csum = true);
	EQ(sock_accept(c, l) >= 0, 1);
	COUNTER("rx_csum_partial", 2);
	COUNTER("drop_tcp_csum", 0);
}

SCENARIO(established_partial_csum_accepted_corrupt_still_dropped)
{
	struct conn *c;

	pkt_dev_csum(DPS_DEV_RX_TCP_PARTIAL);
	c = passive(OPT_MSS);
	COUNTER("rx_csum_partial", 0); /* the handshake had complete checksums */
	IN_MOD(c, "P. 1:101(100) ack 1", .partial_csum = true);
	OUT(c, ". 1:1(0) ack 101");
	COUNTER("rx_csum_partial", 1);
	EQ(sock_recv(c, 1000), 100); /* the peer's bytes, checked */
	/* The pseudo-header sum with bits flipped: neither partial nor valid. */
	IN_MOD(c, "P. 101:201(100) ack 1", .partial_csum = true, .bad_csum = true);
	NOTHING();
	COUNTER("drop_tcp_csum", 1);
	/* A complete checksum gone wrong (corruption on a wire): dropped as ever. */
	IN_MOD(c, "P. 101:201(100) ack 1", .bad_csum = true);
	NOTHING();
	COUNTER("drop_tcp_csum", 2);
	COUNTER("rx_csum_partial", 1);
	EQ(sock_recv(c, 1000), -EAGAIN);
	/* The retransmission, complete: taken. */
	IN(c, "P. 101:201(100) ack 1");
	OUT(c, ". 1:1(0) ack 201");
	EQ(sock_recv(c, 1000), 100);
}

/* A device that does not allow it (any but net_af_packet, or peer_offloads=off): dropped. */
SCENARIO(established_partial_csum_dropped_where_device_does_not_allow)
{
	struct conn *c = passive(OPT_MSS);

	IN_MOD(c, "P. 1:101(100) ack 1", .partial_csum = true);
	NOTHING();
	COUNTER("drop_tcp_csum", 1);
	COUNTER("rx_csum_partial", 0);
	EQ(sock_recv(c, 1000), -EAGAIN);
	IN(c, "P. 1:101(100) ack 1");
	OUT(c, ". 1:1(0) ack 101");
}
