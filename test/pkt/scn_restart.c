/*
 * A client restarted on the same host (issue 13 item 5): its new connections reuse 4-tuples the
 * server may still hold in TIME_WAIT. What makes that work (docs/tcp.md, "ISN, timestamps and
 * ports"): the ISN, the TS clock and the port choice are keyed per boot and run on the host clock,
 * so the new process's SYN is newer than the old connection in sequence and TSval (RFC 6528,
 * RFC 7323 §5.8, RFC 6056 §3.3.3); and when a peer's TIME_WAIT answers a SYN with an ACK anyway,
 * the RST we send ends it and the SYN goes again at once, once per connect (tcp_input.c
 * resend_syn_after_rst, as Linux).
 */
#include "pkt.h"

#include "tcp.h"

/* The peer's TIME_WAIT for this tuple answers our SYN with an ACK of its old connection: seq its
 * old SND.NXT, ack its old RCV.NXT (below our ISN). RST at SEG.ACK (RFC 9293 §3.10.7.3), then the
 * SYN again without waiting for the RTO; the handshake completes. */
SCENARIO(syn_sent_time_wait_ack_rst_then_syn_at_once)
{
	struct conn *c = connect_start();

	OUT(c, "S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	WAIT(5);
	IN(c, ". 77777:77777(0) ack -100000 win 502");
	OUT(c, "R -100000:-100000(0) <>");
	OUT(c, "S 0:0(0) <mss 1460,sackOK,TS val 5 ecr 0,nop,wscale 7>");
	NOTHING();
	COUNTER("tcp_rst_tx", 1);
	COUNTER("tcp_rexmit_syn", 1);
	STATE(c, SYN_SENT);
	WAIT(3);
	IN(c, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 700 ecr 5,nop,wscale 7>");
	OUT(c, ". 1:1(0) ack 1 <nop,nop,TS val 8 ecr 700>");
	STATE(c, ESTABLISHED);
	EQ(sock_send(c, 100), 100);
	OUT(c, "P. 1:101(100) ack 1");
}

/* The bound: one early SYN per connect. A peer that answers every SYN with a bad ACK gets a RST
 * for each (one for one, no amplification) and the SYNs keep the RTO's pace: 1 s from the early
 * SYN (a response is no timeout: no backoff, RFC 6298 §5.5), then doubling. */
SCENARIO(syn_sent_bad_ack_again_rst_only_syn_waits_for_rto)
{
	struct conn *c = connect_start();

	OUT(c, "S 0:0(0)");
	IN(c, ". 77777:77777(0) ack -100000");
	OUT(c, "R -100000:-100000(0)");
	OUT(c, "S 0:0(0)");
	for (int i = 0; i < 20; i++) {
		IN(c, ". 77777:77777(0) ack -100000");
		OUT(c, "R -100000:-100000(0)");
	}
	NOTHING();
	OUT_AFTER(c, 1000, "S 0:0(0)");
	IN(c, ". 77777:77777(0) ack -100000");
	OUT(c, "R -100000:-100000(0)");
	NOTHING();
	OUT_AFTER(c, 2000, "S 0:0(0)");
	COUNTER("tcp_rexmit_syn", 3);
	COUNTER("tcp_rst_tx", 22);
	STATE(c, SYN_SENT);
}

/* An ACK above what we sent is as unacceptable (SEG.ACK > SND.NXT): the same. A RST with a bad
 * ACK is dropped without an answer (§3.10.7.3) and so sends no SYN either. */
SCENARIO(syn_sent_ack_above_snd_nxt_rst_then_syn_at_once)
{
	struct conn *c = connect_start();

	OUT(c, "S 0:0(0)");
	IN(c, "R. 0:0(0) ack 5000 win 0");
	NOTHING();
	IN(c, ". 0:0(0) ack 5000");
	OUT(c, "R 5000:5000(0)");
	OUT(c, "S 0:0(0)");
	NOTHING();
	IN(c, "S. 0:0(0) ack 1 win 65535 <mss 1460>");
	OUT(c, ". 1:1(0) ack 1");
	STATE(c, ESTABLISHED);
}

/* connect() again after a failed attempt is a new attempt: it gets its own early SYN. */
SCENARIO(closed_connect_again_after_refused_gets_its_own_early_syn)
{
	struct conn *c = connect_start();

	OUT(c, "S 0:0(0)");
	IN(c, ". 0:0(0) ack -5");
	OUT(c, "R -5:-5(0)");
	OUT(c, "S 0:0(0)");
	IN(c, "R. 0:0(0) ack 1 win 0");
	STATE(c, CLOSED);
	EQ(sock_error(c), ECONNREFUSED);
	WAIT(1);
	c->iss_known = false; /* a new ISN (the clock moved) */
	EQ(dps_tcp_connect(pkt_eng, c->fd, PEER_IP, PEER_PORT_ACTIVE, pkt_now()), -EINPROGRESS);
	WAIT(1);
	OUT(c, "S 0:0(0)");
	IN(c, ". 0:0(0) ack -5");
	OUT(c, "R -5:-5(0)");
	OUT(c, "S 0:0(0)");
	COUNTER("tcp_rexmit_syn", 2);
}

/*
 * Two processes one after the other on one host, the same 4-tuple: the first connects, sends
 * 1000 bytes and ends (the server keeps its TIME_WAIT: RCV.NXT = ISN1 + 1002 after our FIN, and
 * TS.Recent = our last TSval); the second starts 500 ms later on the host clock. Its port is the
 * same (RFC 6056 §3.3.3: offset keyed per boot, counter from 0), its ISN is past ISN1 + 1002 by
 * the 4 us clock (RFC 6528 §3), its TSval past the old one by the elapsed ms (one TS clock per
 * address pair and host), so the server's TIME_WAIT takes the SYN as a new connection (Linux
 * tcp_timewait_state_process: seq after tw_rcv_nxt, or a newer TSval).
 */
SCENARIO(closed_connect_after_engine_restart_isn_tsval_port_continue)
{
	uint64_t t1 = now_ms(); /* a's SYN */
	struct conn *a = connect_conn(OPT_ALL, 10), *b;
	uint32_t iss1 = a->iss, ts_last, elapsed_ms;
	uint16_t port1 = a->lport;

	EQ(sock_send(a, 1000), 1000);
	OUT(a, "P. 1:1001(1000) ack 1");
	WAIT(10);
	IN(a, ". 1:1(0) ack 1001");
	EQ(sock_shutdown(a, SHUT_WR), 0);
	OUT(a, "F. 1001:1001(0) ack 1");
	ts_last = a->ts_last;
	engine_restart(500);
	elapsed_ms = (uint32_t)(now_ms() - t1);
	b = connect_start();
	OUT(b, "S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>");
	EQ(b->lport, port1);
	CHECK_THAT(seq_gt(b->iss, iss1 + 1002));
	EQ(b->iss - iss1, (uint64_t)elapsed_ms * 1000 / 4); /* M: 250 per ms (RFC 6528 §3) */
	CHECK_THAT(seq_gt(b->ts0, ts_last));
	EQ(b->ts0 - ts_last, 500); /* TSval: host ms, same offset */
	IN(b, "S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 900 ecr 0,nop,wscale 7>");
	OUT(b, ". 1:1(0) ack 1");
	STATE(b, ESTABLISHED);
}

/* The passive side too: a server restarted on the host answers the same client tuple with a
 * larger ISN and TSval (its SYN-ACK ISN is keyed the same way). */
SCENARIO(listen_syn_after_engine_restart_isn_tsval_continue)
{
	struct conn *a = passive(OPT_ALL), *b;
	uint32_t iss1 = a->iss, ts1 = a->ts0;
	uint16_t rport = a->rport;

	engine_restart(2000);
	b = peer_conn(LISTEN_PORT, PEER_ISN + 5000);
	b->rport = rport; /* the same client port: the same 4-tuple */
	listen_on(LISTEN_PORT, 16);
	IN(b, "S 0:0(0) win 65535 <mss 1460,sackOK,TS val 3000 ecr 0,nop,wscale 7>");
	OUT(b, "S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 0 ecr 3000,nop,wscale 7>");
	CHECK_THAT(seq_gt(b->iss, iss1));
	CHECK_THAT(b->iss - iss1 >= 2000u * 250);
	CHECK_THAT(seq_gt(b->ts0, ts1));
	CHECK_THAT(b->ts0 - ts1 >= 2000);
	b->ts = true;
	IN(b, ". 1:1(0) ack 1");
	CHECK_THAT(sock_accept(b, 0) >= 0);
	STATE(b, ESTABLISHED);
}
