/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Test frames: IPv4/UDP (behind an Ethernet header, with or without one 802.1Q tag, unless
 * the framing is raw IP) whose UDP payload starts with a test header, all fields
 * big-endian:
 *
 *   off size field
 *     0    2 magic 0x534c ("SL"): marks a test frame
 *     2    4 CRC32C of the fill (offset 18 to the end), then of offsets 6 to 17, then
 *            of the UDP header's ports and length (not its checksum, which the link
 *            may fill: checksum offloads; it is checked by its own rule)
 *     6    2 queue id of the sender
 *     8    2 frame length: from the first byte of the Ethernet (or IP) header to the
 *            end, without a virtio header
 *    10    8 sequence number, per sending queue, counting from 0 on each attach
 *    18    n fill: byte i is (i + seq) mod 251, so a frame that borrows bytes from an
 *            older one fails its checksum
 *
 * The fill goes first into the checksum so that a sender can start from a precomputed
 * CRC of each of its 251 fills per size and add only the 20 bytes that follow.
 *
 * The checksum covers everything a forwarder must not change; the Ethernet addresses
 * are left out (macswap swaps them) and so is the IPv4 header, which has a checksum of
 * its own and lengths that must agree with the frame's.
 */

#include <string.h>

#include "peer.h"

#define PKT_MAGIC		0x534cu
#define PKT_OFF_MAGIC		0u
#define PKT_OFF_CRC		2u
#define PKT_OFF_QID		6u
#define PKT_OFF_LEN		8u
#define PKT_OFF_SEQ		10u
#define PKT_CRC_HDR_LEN		(PKT_TEST_HDR_LEN - PKT_OFF_QID)	/* qid, len, seq */

#define PKT_FILL_MOD		251u
#define PKT_FILL_MAX		(65536u + PKT_FILL_MOD)

#define ETYPE_IPV4		0x0800u
#define ETYPE_VLAN		0x8100u
#define IPV4_HDR_LEN		20u
#define IPV4_DF			0x4000u
#define IPPROTO_UDP_		17u
#define UDP_HDR_LEN		8u
#define PKT_TTL			64u

/* pattern[i] = i mod 251: the fill of frame seq starts at pattern + seq mod 251. */
static uint8_t pkt_pattern[PKT_FILL_MAX];
static uint32_t pkt_crc_table[256];
static bool pkt_crc_hw;
/* Per --txpkts size and fill: the CRC32C state (not inverted) after the fill. */
static uint32_t pkt_fill_crc[PEER_MAX_TXPKTS][PKT_FILL_MOD];

static inline void
put_be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, v >> 16);
	put_be16(p + 2, v);
}

static inline uint32_t
get_be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static inline uint32_t
get_be32(const uint8_t *p)
{
	return get_be16(p) << 16 | get_be16(p + 2);
}

/* Bytes before the IPv4 header of frame @f (@len bytes): 0 with raw IP framing, 14 or,
 * behind one 802.1Q tag, 18; the frame's own type field is checked by the caller. */
static uint32_t
pkt_frame_l2_len(bool raw_ip, const uint8_t *f, uint32_t len)
{
	if (raw_ip)
		return 0;
	if (len >= PEER_ETH_HDR_LEN + PKT_VLAN_TAG_LEN && get_be16(f + 12) == ETYPE_VLAN)
		return PEER_ETH_HDR_LEN + PKT_VLAN_TAG_LEN;
	return PEER_ETH_HDR_LEN;
}

uint32_t
pkt_l2_len(const struct peer_opts *o)
{
	if (o->raw_ip)
		return 0;
	return PEER_ETH_HDR_LEN + (o->vlan != 0 ? PKT_VLAN_TAG_LEN : 0);
}

/* ---- CRC32C ---- */

#define CRC32C_POLY_REFLECTED	0x82f63b78u

static uint32_t
crc32c_sw(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len-- > 0)
		crc = pkt_crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__)
/* The SSE4.2 instruction computes exactly this CRC, eight bytes at a time. */
__attribute__((target("sse4.2")))
static uint32_t
crc32c_hw(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc;

	while (len >= 8) {
		uint64_t v;

		memcpy(&v, p, sizeof(v));
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	crc = (uint32_t)c;
	while (len-- > 0)
		crc = __builtin_ia32_crc32qi(crc, *p++);
	return crc;
}
#endif

/* Continue a CRC32C computation: @crc is the state, neither initial nor final xor. */
static uint32_t
crc32c_update(uint32_t crc, const void *p, size_t len)
{
#if defined(__x86_64__)
	if (pkt_crc_hw)
		return crc32c_hw(crc, p, len);
#endif
	return crc32c_sw(crc, p, len);
}

uint32_t
pkt_crc32c(const void *p, size_t len)
{
	return ~crc32c_update(~0u, p, len);
}

/* The test frame checksum from the CRC state after the fill. */
static uint32_t
pkt_test_crc_end(uint32_t crc, const uint8_t *udp)
{
	crc = crc32c_update(crc, udp + UDP_HDR_LEN + PKT_OFF_QID, PKT_CRC_HDR_LEN);
	return ~crc32c_update(crc, udp, UDP_HDR_LEN - 2);
}

/* The test frame checksum of the UDP datagram at @udp, @plen bytes of payload. */
static uint32_t
pkt_test_crc(const uint8_t *udp, uint32_t plen)
{
	const uint8_t *fill = udp + UDP_HDR_LEN + PKT_TEST_HDR_LEN;

	return pkt_test_crc_end(crc32c_update(~0u, fill, plen - PKT_TEST_HDR_LEN), udp);
}

void
pkt_init(void)
{
	uint32_t i, k;

	for (i = 0; i < PKT_FILL_MAX; i++)
		pkt_pattern[i] = (uint8_t)(i % PKT_FILL_MOD);
	for (i = 0; i < 256; i++) {
		uint32_t c = i;

		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ CRC32C_POLY_REFLECTED : c >> 1;
		pkt_crc_table[i] = c;
	}
#if defined(__x86_64__)
	__builtin_cpu_init();
	pkt_crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

/* ---- Internet checksum ---- */

uint32_t
pkt_sum16(const void *p, size_t len, uint32_t sum)
{
	const uint8_t *b = p;

	while (len >= 2) {
		sum += get_be16(b);
		b += 2;
		len -= 2;
	}
	if (len > 0)
		sum += (uint32_t)b[0] << 8;
	return sum;
}

uint16_t
pkt_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ---- building ---- */

void
pkt_gen_init(struct pkt_gen *g, const struct peer_opts *o, const uint8_t dst_mac[6])
{
	uint32_t l2 = pkt_l2_len(o);
	unsigned int i;

	memset(g, 0, sizeof(*g));
	g->hdr_len = l2 + IPV4_HDR_LEN + UDP_HDR_LEN;
	g->nb_sizes = o->nb_txpkts;
	for (i = 0; i < o->nb_txpkts; i++) {
		uint8_t *h = g->hdr[i], *ip = h + l2, *udp = ip + IPV4_HDR_LEN;
		uint32_t size = o->txpkts[i];

		g->size[i] = size;
		if (l2 > 0) {
			memcpy(h, dst_mac, PEER_ETH_ALEN);
			memcpy(h + PEER_ETH_ALEN, o->mac, PEER_ETH_ALEN);
			if (o->vlan != 0) {
				put_be16(h + 12, ETYPE_VLAN);
				put_be16(h + 14, o->vlan);	/* priority 0 */
			}
			put_be16(h + l2 - 2, ETYPE_IPV4);
		}
		ip[0] = 0x45;				/* version 4, 5 words */
		put_be16(ip + 2, size - l2);		/* total length */
		put_be16(ip + 6, IPV4_DF);
		ip[8] = PKT_TTL;
		ip[9] = IPPROTO_UDP_;
		memcpy(ip + 12, &o->ip, 4);
		memcpy(ip + 16, &o->peer_ip, 4);
		put_be16(ip + 10, pkt_fold(pkt_sum16(ip, IPV4_HDR_LEN, 0)));
		put_be16(udp, o->udp_src);
		put_be16(udp + 2, o->udp_dst);
		put_be16(udp + 4, size - l2 - IPV4_HDR_LEN);
		/* UDP checksum 0: none, which IPv4 allows. */
	}
}

void
pkt_gen_prepare(const struct peer_opts *o)
{
	uint32_t hdr = pkt_l2_len(o) + IPV4_HDR_LEN + UDP_HDR_LEN;
	unsigned int i, k;

	for (i = 0; i < o->nb_txpkts; i++) {
		uint32_t fill = o->txpkts[i] - hdr - PKT_TEST_HDR_LEN;

		for (k = 0; k < PKT_FILL_MOD; k++)
			pkt_fill_crc[i][k] = crc32c_update(~0u, pkt_pattern + k, fill);
	}
}

void
pkt_build(const struct pkt_gen *g, uint8_t *buf, unsigned int size_idx, uint16_t qid,
		uint64_t seq)
{
	uint32_t size = g->size[size_idx];
	uint32_t plen = size - g->hdr_len;
	uint8_t *pl = buf + g->hdr_len;
	uint32_t fill = (uint32_t)(seq % PKT_FILL_MOD);

	memcpy(buf, g->hdr[size_idx], g->hdr_len);
	put_be16(pl + PKT_OFF_MAGIC, PKT_MAGIC);
	put_be16(pl + PKT_OFF_QID, qid);
	put_be16(pl + PKT_OFF_LEN, size);
	put_be32(pl + PKT_OFF_SEQ, (uint32_t)(seq >> 32));
	put_be32(pl + PKT_OFF_SEQ + 4, (uint32_t)seq);
	memcpy(pl + PKT_TEST_HDR_LEN, pkt_pattern + fill, plen - PKT_TEST_HDR_LEN);
	put_be32(pl + PKT_OFF_CRC, pkt_test_crc_end(pkt_fill_crc[size_idx][fill],
			pl - UDP_HDR_LEN));
}

/* ---- checking ---- */

/* The UDP checksum of a frame whose IPv4 and UDP headers were checked, over the frame in
 * one piece (libshmlink's parser and sum: the rule is written once). */
static int
pkt_udp_cksum(bool raw_ip, const uint8_t *f, uint32_t len, uint16_t *c)
{
	struct shmlink_seg seg = { .addr = (void *)(uintptr_t)f, .len = len };
	struct shmlink_hdr_info h;

	if (shmlink_hdr_parse(f, len, len, raw_ip, &h) != SHMLINK_HDR_OK ||
			h.l4 != SHMLINK_L4_UDP)
		return -1;
	*c = shmlink_l4_cksum(&seg, 1, &h);
	return 0;
}

void
pkt_fill_udp_cksum(bool raw_ip, uint8_t *f, uint32_t len)
{
	uint32_t l2 = pkt_frame_l2_len(raw_ip, f, len);
	uint32_t ihl = (f[l2] & 0xfu) * 4u;
	uint16_t c;

	if (pkt_udp_cksum(raw_ip, f, len, &c) == 0)
		memcpy(f + l2 + ihl + 6, &c, sizeof(c));
}

enum pkt_verdict
pkt_check(bool raw_ip, const uint8_t *f, uint32_t len, uint16_t *qid, uint64_t *seq,
		int *l4)
{
	uint32_t l2 = pkt_frame_l2_len(raw_ip, f, len);
	const uint8_t *ip = f + l2, *udp, *pl;
	uint32_t ihl, plen;
	uint16_t c;

	if (len < l2 + IPV4_HDR_LEN + UDP_HDR_LEN + PKT_TEST_HDR_LEN)
		return PKT_FOREIGN;
	if ((!raw_ip && get_be16(f + l2 - 2) != ETYPE_IPV4) || ip[0] >> 4 != 4 ||
			ip[9] != IPPROTO_UDP_)
		return PKT_FOREIGN;
	ihl = (ip[0] & 0xfu) * 4u;
	if (ihl < IPV4_HDR_LEN || len < l2 + ihl + UDP_HDR_LEN + PKT_TEST_HDR_LEN)
		return PKT_FOREIGN;
	udp = ip + ihl;
	pl = udp + UDP_HDR_LEN;
	if (get_be16(pl + PKT_OFF_MAGIC) != PKT_MAGIC)
		return PKT_FOREIGN;
	/* A test frame from here on: every mismatch is corruption. */
	plen = len - l2 - ihl - UDP_HDR_LEN;
	if (get_be16(pl + PKT_OFF_LEN) != len || get_be16(ip + 2) != len - l2 ||
			get_be16(udp + 4) != len - l2 - ihl ||
			pkt_fold(pkt_sum16(ip, ihl, 0)) != 0)
		return PKT_CORRUPT;
	if (get_be32(pl + PKT_OFF_CRC) != pkt_test_crc(udp, plen))
		return PKT_CORRUPT;
	*qid = (uint16_t)get_be16(pl + PKT_OFF_QID);
	if (*qid >= PEER_MAX_QUEUES)
		return PKT_CORRUPT;
	*seq = (uint64_t)get_be32(pl + PKT_OFF_SEQ) << 32 | get_be32(pl + PKT_OFF_SEQ + 4);
	*l4 = PKT_L4_NONE;
	if (get_be16(udp + 6) != 0)
		*l4 = pkt_udp_cksum(raw_ip, f, len, &c) == 0 && memcmp(udp + 6, &c, 2) == 0 ?
			PKT_L4_VALID : PKT_L4_BAD;
	return PKT_OK;
}
