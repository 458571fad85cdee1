/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Checksum offloads and packet types, as the link agreed them (control protocol 1.1,
 * SHMLINK_CTL_O_CSUM_*) and as the application asked for them. The headers are found
 * and the sums taken by the library (shmlink_cksum.h); here they meet mbufs.
 *
 * Rx: when the peer may leave TCP/UDP checksums unfilled, a frame's checksum is filled
 * (and reported GOOD) unless the application enabled that Rx offload, which then gets
 * RTE_MBUF_F_RX_L4_CKSUM_NONE: the data is intact (shared memory), the field is not.
 * When the peer fills them, an application that enabled the offload gets them checked.
 * Tx: what the application left to "the NIC" is filled in software into a copy of the
 * headers (the mbuf is not written), unless the peer takes unfilled checksums, which
 * then pass as they are; the IPv4 header checksum is always filled.
 */

#include <rte_ip.h>
#include <rte_net.h>

#include "shmlink_ethdev.h"

/* Segments of an mbuf chain whose checksum the port takes; longer chains are counted
 * and left alone (Rx) or dropped (Tx). */
#define OFFLOAD_SEGS_MAX	32u

#define RX_L4_OFFLOADS	(RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM)
#define TX_CKSUM_FLAGS	(RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK)
#define TX_FLAGS_TAKEN	(TX_CKSUM_FLAGS | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6)

/* The packet types the port tells (shmlink_ptypes_get), ended by RTE_PTYPE_UNKNOWN. */
const uint32_t shmlink_ptypes[SHMLINK_NB_PTYPES + 1] = {
	RTE_PTYPE_L2_ETHER, RTE_PTYPE_L2_ETHER_VLAN, RTE_PTYPE_L2_ETHER_QINQ,
	RTE_PTYPE_L3_IPV4, RTE_PTYPE_L3_IPV4_EXT, RTE_PTYPE_L3_IPV6, RTE_PTYPE_L3_IPV6_EXT,
	RTE_PTYPE_L4_TCP, RTE_PTYPE_L4_UDP, RTE_PTYPE_L4_FRAG, RTE_PTYPE_L4_NONFRAG,
	RTE_PTYPE_UNKNOWN,
};

static uint32_t
offload_ptype(const struct shmlink_hdr_info *h, bool raw_ip)
{
	uint32_t t = 0;
	bool ext = (h->flags & SHMLINK_HDR_IP_OPTS) != 0;

	if (!raw_ip)
		t = (h->flags & SHMLINK_HDR_QINQ) ? RTE_PTYPE_L2_ETHER_QINQ :
			(h->flags & SHMLINK_HDR_VLAN) ? RTE_PTYPE_L2_ETHER_VLAN :
			RTE_PTYPE_L2_ETHER;
	if (h->l3 == SHMLINK_L3_IPV4)
		t |= ext ? RTE_PTYPE_L3_IPV4_EXT : RTE_PTYPE_L3_IPV4;
	else if (h->l3 == SHMLINK_L3_IPV6)
		t |= ext ? RTE_PTYPE_L3_IPV6_EXT : RTE_PTYPE_L3_IPV6;
	else
		return t;
	if (h->flags & SHMLINK_HDR_FRAG)
		return t | RTE_PTYPE_L4_FRAG;
	return t | (h->l4 == SHMLINK_L4_TCP ? RTE_PTYPE_L4_TCP :
		h->l4 == SHMLINK_L4_UDP ? RTE_PTYPE_L4_UDP : RTE_PTYPE_L4_NONFRAG);
}

/* The segments of chain @m into @segs; 0 if it has more than OFFLOAD_SEGS_MAX. */
static uint32_t
offload_segs(struct rte_mbuf *m, struct shmlink_seg *segs)
{
	uint32_t n = 0;

	if (m->nb_segs > OFFLOAD_SEGS_MAX)
		return 0;
	for (; m != NULL; m = m->next) {
		segs[n].addr = rte_pktmbuf_mtod(m, void *);
		segs[n].len = m->data_len;
		n++;
	}
	return n;
}

/* Fill (@fill) or check the L4 checksum of received frame @m. Returns the flag to set. */
static uint64_t
rx_l4(struct shmlink_rxq *q, struct rte_mbuf *m, const struct shmlink_hdr_info *h, bool fill)
{
	struct shmlink_seg segs[OFFLOAD_SEGS_MAX];
	uint8_t *field = rte_pktmbuf_mtod_offset(m, uint8_t *, shmlink_l4_cksum_off(h));
	uint32_t n = offload_segs(m, segs);
	uint16_t c;

	if (n == 0) {
		q->ost.rx_unchecked++;
		return RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN;
	}
	c = shmlink_l4_cksum(segs, n, h);
	if (fill) {
		memcpy(field, &c, sizeof(c));
		q->ost.rx_filled++;
		return RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	}
	return memcmp(field, &c, sizeof(c)) == 0 ? RTE_MBUF_F_RX_L4_CKSUM_GOOD :
		RTE_MBUF_F_RX_L4_CKSUM_BAD;
}

/* Packet type and checksum flags of received frame @m; @unfilled: the peer may leave
 * its TCP/UDP checksums unfilled. */
static void
rx_offload_one(struct shmlink_rxq *q, struct rte_mbuf *m, bool unfilled)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	struct shmlink_hdr_info h;
	int rc;

	rc = shmlink_hdr_parse(d, m->data_len, m->pkt_len, q->raw_ip, &h);
	if (unlikely(rc != SHMLINK_HDR_OK)) {
		/* Scattered headers are the mempool's doing, not the peer's. */
		if (rc == SHMLINK_HDR_SCATTERED)
			q->ost.rx_unchecked++;
		else
			q->ost.rx_bad_header++;
		return;
	}
	m->packet_type = offload_ptype(&h, q->raw_ip);
	if (h.l3 == SHMLINK_L3_IPV4) {
		uint16_t c = shmlink_ipv4_cksum(d + h.l2_len, h.l3_len);

		m->ol_flags |= memcmp(d + h.l2_len + 10, &c, sizeof(c)) == 0 ?
			RTE_MBUF_F_RX_IP_CKSUM_GOOD : RTE_MBUF_F_RX_IP_CKSUM_BAD;
	}
	if (h.l4 == SHMLINK_L4_NONE)
		return;
	if (!(q->offloads & (h.l4 == SHMLINK_L4_TCP ? RTE_ETH_RX_OFFLOAD_TCP_CKSUM :
			RTE_ETH_RX_OFFLOAD_UDP_CKSUM))) {
		if (unfilled)
			m->ol_flags |= rx_l4(q, m, &h, true);
	} else {
		m->ol_flags |= unfilled ? RTE_MBUF_F_RX_L4_CKSUM_NONE : rx_l4(q, m, &h, false);
	}
}

void
shmlink_rx_offload(struct shmlink_rxq *q, uint16_t agreed, struct rte_mbuf **bufs,
		unsigned int n)
{
	bool unfilled = (agreed & SHMLINK_CTL_O_CSUM_RX) != 0;
	unsigned int i;

	if (!unfilled && !q->parse)
		return;
	for (i = 0; i < n; i++)
		rx_offload_one(q, bufs[i], unfilled);
}

/*
 * Frame @f for mbuf @m, whose application asked for checksums: its headers copied into
 * @hdr with what was asked filled, then the rest of the mbuf's data. @segs has room for
 * m->nb_segs + 1 segments. Returns 0, or -1 if the mbuf cannot be sent (counted).
 */
static int
tx_fill(struct shmlink_txq *q, struct rte_mbuf *m, struct shmlink_frame *f,
		struct shmlink_seg *segs, uint8_t *hdr, bool l4_unfilled_ok)
{
	uint64_t l4 = m->ol_flags & RTE_MBUF_F_TX_L4_MASK;
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	struct shmlink_hdr_info h;
	uint32_t hlen, n = 1;
	struct rte_mbuf *s;

	if (shmlink_hdr_parse(d, m->data_len, m->pkt_len, q->pmd->raw_ip, &h) !=
			SHMLINK_HDR_OK || h.l3 == SHMLINK_L3_NONE ||
			(l4 == RTE_MBUF_F_TX_TCP_CKSUM && h.l4 != SHMLINK_L4_TCP) ||
			(l4 == RTE_MBUF_F_TX_UDP_CKSUM && h.l4 != SHMLINK_L4_UDP) ||
			(l4 != 0 && l4 != RTE_MBUF_F_TX_TCP_CKSUM &&
			 l4 != RTE_MBUF_F_TX_UDP_CKSUM))
		goto bad;
	hlen = h.l2_len + h.l3_len + (h.l4 == SHMLINK_L4_TCP ? 20u :
			h.l4 == SHMLINK_L4_UDP ? 8u : 0u);
	if (hlen > SHMLINK_TX_HDR_MAX)
		goto bad;
	memcpy(hdr, d, hlen);
	segs[0].addr = hdr;
	segs[0].len = hlen;
	if (m->data_len > hlen) {
		segs[n].addr = (void *)(uintptr_t)(d + hlen);
		segs[n++].len = m->data_len - hlen;
	}
	for (s = m->next; s != NULL; s = s->next) {
		segs[n].addr = rte_pktmbuf_mtod(s, void *);
		segs[n++].len = s->data_len;
	}
	if ((m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM) && h.l3 == SHMLINK_L3_IPV4) {
		uint16_t c = shmlink_ipv4_cksum(hdr + h.l2_len, h.l3_len);

		memcpy(hdr + h.l2_len + 10, &c, sizeof(c));
	}
	if (l4 != 0 && !l4_unfilled_ok && !(h.flags & SHMLINK_HDR_FRAG)) {
		uint16_t c;

		if (n > OFFLOAD_SEGS_MAX)
			goto bad;
		c = shmlink_l4_cksum(segs, n, &h);
		memcpy(hdr + shmlink_l4_cksum_off(&h), &c, sizeof(c));
	}
	f->segs = segs;
	f->nb_segs = n;
	f->len = m->pkt_len;
	return 0;
bad:
	q->ost.tx_bad_offload++;
	return -1;
}

int
shmlink_tx_offload(struct shmlink_txq *q, uint16_t agreed, struct rte_mbuf *m,
		unsigned int i, struct shmlink_frame *f, struct shmlink_seg *segs)
{
	bool l4_unfilled_ok = (agreed & SHMLINK_CTL_O_CSUM_TX) != 0;

	/* Only L4 asked, and the peer takes it unfilled: the frame goes as it is. */
	if (!(m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM) && l4_unfilled_ok)
		return 1;
	return tx_fill(q, m, f, segs, q->hdrs[i], l4_unfilled_ok);
}

uint16_t
shmlink_tx_prepare(void *queue __rte_unused, struct rte_mbuf **pkts, uint16_t nb_pkts)
{
	uint16_t i;

	for (i = 0; i < nb_pkts; i++) {
		struct rte_mbuf *m = pkts[i];
		uint64_t l4 = m->ol_flags & RTE_MBUF_F_TX_L4_MASK;
		int rc;

		if (m->ol_flags & RTE_MBUF_F_TX_OFFLOAD_MASK & ~TX_FLAGS_TAKEN) {
			rte_errno = ENOTSUP;
			return i;
		}
		if (!(m->ol_flags & TX_CKSUM_FLAGS))
			continue;
		if ((l4 != 0 && l4 != RTE_MBUF_F_TX_TCP_CKSUM && l4 != RTE_MBUF_F_TX_UDP_CKSUM) ||
				m->nb_segs > OFFLOAD_SEGS_MAX) {
			rte_errno = ENOTSUP;
			return i;
		}
		/* The headers the port copies must be in the first segment. */
		if ((uint32_t)m->l2_len + m->l3_len + (l4 == RTE_MBUF_F_TX_TCP_CKSUM ? 20u : 8u) >
				RTE_MIN((uint32_t)m->data_len, SHMLINK_TX_HDR_MAX)) {
			rte_errno = EINVAL;
			return i;
		}
		/* As for any NIC: the pseudo-header sum in the L4 field (a peer that takes
		 * unfilled checksums gets it so; one that verifies gets the full sum). */
		rc = rte_net_intel_cksum_prepare(m);
		if (rc != 0) {
			rte_errno = -rc;
			return i;
		}
	}
	return i;
}

void
shmlink_offload_stats_add(struct shmlink_offload_stats *to,
		const struct shmlink_offload_stats *from)
{
	to->rx_filled += from->rx_filled;
	to->rx_bad_header += from->rx_bad_header;
	to->rx_unchecked += from->rx_unchecked;
	to->tx_filled += from->tx_filled;
	to->tx_bad_offload += from->tx_bad_offload;
}
