/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * shmlink_zc_fwd: forward frames into buffers lent by rte_pmd_shmlink_tx_alloc(), for the
 * system tests of zero-copy transmit.
 *
 *   shmlink_zc_fwd <EAL arguments> -- [--timeout S] [--hold N] [--until-signal]
 *   shmlink_zc_fwd <EAL arguments> -- --txonly LEN [--copy] [--timeout S]
 *
 * Port i's frames go out of port i ^ 1 (of port 0 itself with one port). Each frame is
 * built (copied by this program) in mbufs from the output port's TX region, a chain of
 * them for a frame larger than one; only when none are lent is the received mbuf sent
 * as it is. With --hold N it also keeps up to N lent mbufs it never sends and frees
 * half of them, at random, whenever it has N, and all of them when a link goes down.
 * It stops once every port's peer has come
 * and gone (a link up, then down), or with --until-signal at SIGTERM or SIGINT, or after
 * S seconds (default 30), frees what it holds, and prints, flushed:
 *   ZCFWD rx=<frames received> built=<frames built in lent mbufs> asis=<sent as they were>
 *         tx=<frames sent> dropped=<frames not sent>
 *   XSTAT <port> <name> <value>    (for every tx_zero_copy_* xstat of every port)
 *
 * --txonly LEN (the zero-copy transmit benchmark, devtools/shmlink-zctx-bench): port 0
 * only sends LEN-byte UDP frames, their 42 bytes of headers written into lent mbufs, or
 * with --copy into mbufs of its own pool (which the port then copies), from its link
 * coming up for S seconds, and prints "ZCTX tx=<frames sent> secs=<seconds>" (exit
 * status 1 if the link does not come up within 30 s).
 * Exit status 0, or 2 if the EAL or a port does not start.
 */

#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "rte_pmd_shmlink.h"

#define ZF_BURST	32u
#define ZF_MAX_PORTS	2u
#define ZF_HOLD_MAX	1024u

struct zf_state {
	struct rte_mempool *mp;
	uint16_t nb_ports;
	uint32_t hold;
	uint32_t nb_held;
	uint32_t rnd;
	uint64_t rx, built, asis, tx, dropped;
	struct rte_mbuf *held[ZF_HOLD_MAX];
};

static volatile sig_atomic_t zf_signalled;

static void
zf_on_signal(int sig __rte_unused)
{
	zf_signalled = 1;
}

static uint32_t
zf_rand(struct zf_state *s)
{
	s->rnd ^= s->rnd << 13;
	s->rnd ^= s->rnd >> 17;
	s->rnd ^= s->rnd << 5;
	return s->rnd;
}

/* Copy @m into a chain of lent mbufs of port @out; NULL if too few are lent. */
static struct rte_mbuf *
zf_build(struct zf_state *s, uint16_t out, const struct rte_mbuf *m)
{
	struct rte_mbuf *segs[ZF_BURST];
	uint32_t off = 0, k = 0, room;
	uint16_t n;

	n = rte_pmd_shmlink_tx_alloc(out, 0, s->mp, segs, 1);
	if (n == 0)
		return NULL;
	room = rte_pktmbuf_tailroom(segs[0]);
	/* The other pieces start at their buffer's first byte. */
	while (off + room < m->pkt_len && k + 1 < ZF_BURST) {
		if (rte_pmd_shmlink_tx_alloc(out, 0, s->mp, &segs[k + 1], 1) == 0) {
			for (n = 0; n <= k; n++)
				rte_pktmbuf_free(segs[n]);
			return NULL;
		}
		k++;
		segs[k]->data_off = 0;
		room += rte_pktmbuf_tailroom(segs[k]);
	}
	for (n = 0; n <= k; n++) {
		uint32_t len = RTE_MIN((uint32_t)rte_pktmbuf_tailroom(segs[n]), m->pkt_len - off);
		const void *src = rte_pktmbuf_read(m, off, len, rte_pktmbuf_append(segs[n],
				(uint16_t)len));

		if (src != rte_pktmbuf_mtod(segs[n], const void *))
			memcpy(rte_pktmbuf_mtod(segs[n], void *), src, len);
		off += len;
		if (n > 0)
			rte_pktmbuf_chain(segs[0], segs[n]);	/* ZF_BURST segments at most */
	}
	return segs[0];
}

/* --hold: take a few lent mbufs more, never to send; at N, free half of them at random. */
static void
zf_hold(struct zf_state *s, uint16_t out)
{
	uint32_t want = zf_rand(s) % 4, i;

	if (s->hold == 0)
		return;
	want = RTE_MIN(want, s->hold - s->nb_held);
	s->nb_held += rte_pmd_shmlink_tx_alloc(out, 0, s->mp, &s->held[s->nb_held],
			(uint16_t)want);
	if (s->nb_held < s->hold)
		return;
	for (i = 0; i < s->hold / 2; i++) {
		uint32_t k = zf_rand(s) % s->nb_held;

		rte_pktmbuf_free(s->held[k]);
		s->held[k] = s->held[--s->nb_held];
	}
}

static bool
zf_link_up(uint16_t port)
{
	struct rte_eth_link l;

	return rte_eth_link_get_nowait(port, &l) == 0 && l.link_status == RTE_ETH_LINK_UP;
}

/* Ethernet, IPv4 and UDP headers of a @len-byte frame, lengths filled. */
static void
zf_template(uint8_t *h, uint32_t len)
{
	static const uint8_t base[42] = {
		0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00,
		0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 198, 18, 0, 1, 198, 18, 0, 2,
		0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0,
	};

	memcpy(h, base, sizeof(base));
	h[16] = (uint8_t)((len - 14) >> 8);
	h[17] = (uint8_t)(len - 14);
	h[38] = (uint8_t)((len - 34) >> 8);
	h[39] = (uint8_t)(len - 34);
}

/* --txonly: one burst of @len-byte frames on port 0, in lent mbufs unless @copy. */
static void
zf_txonly(struct zf_state *s, const uint8_t *tmpl, uint32_t len, bool copy)
{
	struct rte_mbuf *m[ZF_BURST];
	uint16_t n, i, sent;

	if (copy)
		n = rte_pktmbuf_alloc_bulk(s->mp, m, ZF_BURST) == 0 ? ZF_BURST : 0;
	else
		n = rte_pmd_shmlink_tx_alloc(0, 0, s->mp, m, ZF_BURST);
	for (i = 0; i < n; i++) {
		char *p = rte_pktmbuf_append(m[i], (uint16_t)len);

		if (p != NULL)
			memcpy(p, tmpl, 42);
	}
	sent = rte_eth_tx_burst(0, 0, m, n);
	s->tx += sent;
	rte_pktmbuf_free_bulk(m + sent, n - sent);
}

/* --txonly: from port 0's link coming up, @secs seconds of it; -1 if it never came up
 * (within 30 s). */
static int
zf_txonly_run(struct zf_state *s, uint32_t len, bool copy, double secs)
{
	uint8_t tmpl[42];
	uint64_t t0, end;
	bool up;

	zf_template(tmpl, len);
	end = rte_get_timer_cycles() + 30 * rte_get_timer_hz();
	while (!(up = zf_link_up(0)) && rte_get_timer_cycles() < end && !zf_signalled)
		;
	if (!up) {
		printf("ZCTX no link\n");
		return -1;
	}
	t0 = rte_get_timer_cycles();
	end = t0 + (uint64_t)(secs * rte_get_timer_hz());
	while (rte_get_timer_cycles() < end && !zf_signalled)
		zf_txonly(s, tmpl, len, copy);
	printf("ZCTX tx=%" PRIu64 " secs=%.3f\n", s->tx,
			(double)(rte_get_timer_cycles() - t0) / rte_get_timer_hz());
	return 0;
}

static void
zf_drop_held(struct zf_state *s)
{
	while (s->nb_held > 0)
		rte_pktmbuf_free(s->held[--s->nb_held]);
}

static void
zf_forward(struct zf_state *s, uint16_t in)
{
	uint16_t out = s->nb_ports == 1 ? in : in ^ 1;
	struct rte_mbuf *pkts[ZF_BURST], *send[ZF_BURST];
	uint16_t n, i, sent;

	n = rte_eth_rx_burst(in, 0, pkts, ZF_BURST);
	s->rx += n;
	for (i = 0; i < n; i++) {
		send[i] = zf_build(s, out, pkts[i]);
		if (send[i] != NULL) {
			rte_pktmbuf_free(pkts[i]);
			s->built++;
		} else {
			send[i] = pkts[i];
			s->asis++;
		}
	}
	sent = rte_eth_tx_burst(out, 0, send, n);
	s->tx += sent;
	s->dropped += n - sent;
	rte_pktmbuf_free_bulk(send + sent, n - sent);
	zf_hold(s, out);
}

static int
zf_port_init(struct zf_state *s, uint16_t port)
{
	struct rte_eth_conf conf;

	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
			rte_eth_rx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port), NULL,
				s->mp) != 0 ||
			rte_eth_tx_queue_setup(port, 0, 1024, rte_eth_dev_socket_id(port),
				NULL) != 0 ||
			rte_eth_dev_start(port) != 0)
		return -1;
	return 0;
}

static void
zf_print_xstats(uint16_t port)
{
	static const char *const names[] = { "tx_zero_copy_frames", "tx_zero_copy_lent_now" };
	unsigned int i;

	for (i = 0; i < RTE_DIM(names); i++) {
		uint64_t id, v;

		if (rte_eth_xstats_get_id_by_name(port, names[i], &id) == 0 &&
				rte_eth_xstats_get_by_id(port, &id, &v, 1) == 1)
			printf("XSTAT %u %s %" PRIu64 "\n", port, names[i], v);
	}
}

int
main(int argc, char **argv)
{
	static struct zf_state s = { .rnd = 2463534242u };
	bool was_up[ZF_MAX_PORTS] = { false }, done = false, until_signal = false, copy = false;
	uint32_t txonly = 0;
	double timeout = 30;
	uint64_t end, next_check = 0;
	uint16_t p;
	int n, i;

	n = rte_eal_init(argc, argv);
	if (n < 0)
		return 2;
	for (i = n + 1; i < argc; i++) {
		if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			timeout = atof(argv[++i]);
		else if (strcmp(argv[i], "--hold") == 0 && i + 1 < argc)
			s.hold = RTE_MIN((uint32_t)atoi(argv[++i]), ZF_HOLD_MAX);
		else if (strcmp(argv[i], "--until-signal") == 0)
			until_signal = true;
		else if (strcmp(argv[i], "--txonly") == 0 && i + 1 < argc)
			txonly = RTE_MAX(RTE_MIN((uint32_t)atoi(argv[++i]), 1514u), 60u);
		else if (strcmp(argv[i], "--copy") == 0)
			copy = true;
	}
	signal(SIGTERM, zf_on_signal);
	signal(SIGINT, zf_on_signal);
	s.nb_ports = (uint16_t)RTE_MIN(rte_eth_dev_count_avail(), ZF_MAX_PORTS);
	s.mp = rte_pktmbuf_pool_create("zf", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
			rte_socket_id());
	if (s.nb_ports == 0 || s.mp == NULL)
		return 2;
	for (p = 0; p < s.nb_ports; p++)
		if (zf_port_init(&s, p) != 0)
			return 2;
	printf("ZCFWD ready ports=%u\n", s.nb_ports);
	fflush(stdout);
	if (txonly > 0 && zf_txonly_run(&s, txonly, copy, timeout) != 0)
		return 1;
	end = rte_get_timer_cycles() + (uint64_t)(timeout * rte_get_timer_hz());
	while (txonly == 0 && !done && !zf_signalled && rte_get_timer_cycles() < end) {
		for (p = 0; p < s.nb_ports; p++)
			zf_forward(&s, p);
		if (rte_get_timer_cycles() < next_check)
			continue;
		/* Done once every port's link went up and came down again. */
		next_check = rte_get_timer_cycles() + rte_get_timer_hz() / 10;
		done = !until_signal;
		for (p = 0; p < s.nb_ports; p++) {
			bool up = zf_link_up(p);

			was_up[p] |= up;
			done &= was_up[p] && !up;
			if (!up)
				zf_drop_held(&s);
		}
	}
	zf_drop_held(&s);
	printf("ZCFWD rx=%" PRIu64 " built=%" PRIu64 " asis=%" PRIu64 " tx=%" PRIu64
			" dropped=%" PRIu64 "\n", s.rx, s.built, s.asis, s.tx, s.dropped);
	for (p = 0; p < s.nb_ports; p++)
		zf_print_xstats(p);
	fflush(stdout);
	for (p = 0; p < s.nb_ports; p++) {
		rte_eth_dev_stop(p);
		rte_eth_dev_close(p);
	}
	rte_eal_cleanup();
	return 0;
}
