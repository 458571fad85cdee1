/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * icmpecho, as dpdk-testpmd's: answer ARP requests and ICMP echo requests for --ip, and
 * ICMPv6 echo requests and neighbour solicitations for --ip6, so a netstack behind the
 * link can resolve and ping us. Answers are built in a buffer of our own: the request
 * sits in shared memory that the peer may still write to.
 */

#include <string.h>

#include "peer.h"

#define ETYPE_IPV4		0x0800u
#define ETYPE_ARP		0x0806u
#define ETYPE_IPV6		0x86ddu

/* ARP for IPv4 over Ethernet (RFC 826): 28 bytes. */
#define ARP_LEN			28u
#define ARP_HTYPE_ETH		1u
#define ARP_OP_REQUEST		1u
#define ARP_OP_REPLY		2u
#define ARP_OFF_SHA		8u
#define ARP_OFF_SPA		14u
#define ARP_OFF_THA		18u
#define ARP_OFF_TPA		24u

#define IPV4_HDR_LEN		20u
#define IPV4_FRAG_MASK		0x3fffu		/* MF flag and fragment offset */
#define IPPROTO_ICMP_		1u
#define ICMP_ECHO_REPLY		0u
#define ICMP_ECHO_REQUEST	8u
#define ICMP_HDR_LEN		8u
#define REPLY_TTL		64u

#define IPV6_HDR_LEN		40u
#define IPPROTO_ICMPV6_		58u
#define ICMP6_ECHO_REQUEST	128u
#define ICMP6_ECHO_REPLY	129u
#define ICMP6_NS		135u
#define ICMP6_NA		136u
#define ND_HOP_LIMIT		255u	/* RFC 4861: ND messages must carry 255 */
#define NS_LEN			24u	/* type, code, checksum, reserved, target */
#define NA_FLAG_SOLICITED	0x40u
#define NA_FLAG_OVERRIDE	0x20u
#define ND_OPT_TLLA		2u	/* target link-layer address, 8 bytes */
#define NA_LEN			(24u + 8u)

static inline uint32_t
be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static inline void
put_be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The Ethernet header of an answer to @in: back to its sender, from us. */
static void
icmp_eth(const struct peer_opts *o, const uint8_t *in, uint8_t *out, uint32_t etype)
{
	memcpy(out, in + PEER_ETH_ALEN, PEER_ETH_ALEN);
	memcpy(out + PEER_ETH_ALEN, o->mac, PEER_ETH_ALEN);
	put_be16(out + 12, etype);
}

static uint32_t
icmp_arp(const struct peer_opts *o, const uint8_t *in, uint32_t len, uint8_t *out,
		uint32_t room)
{
	const uint8_t *a = in + PEER_ETH_HDR_LEN;
	uint8_t *r = out + PEER_ETH_HDR_LEN;

	if (len < PEER_ETH_HDR_LEN + ARP_LEN || room < PEER_ETH_HDR_LEN + ARP_LEN)
		return 0;
	if (be16(a) != ARP_HTYPE_ETH || be16(a + 2) != ETYPE_IPV4 || a[4] != PEER_ETH_ALEN ||
			a[5] != 4 || be16(a + 6) != ARP_OP_REQUEST ||
			memcmp(a + ARP_OFF_TPA, &o->ip, 4) != 0)
		return 0;
	/* To the requester's hardware address, which need not be the frame's source. */
	memcpy(out, a + ARP_OFF_SHA, PEER_ETH_ALEN);
	memcpy(out + PEER_ETH_ALEN, o->mac, PEER_ETH_ALEN);
	put_be16(out + 12, ETYPE_ARP);
	memcpy(r, a, 6);
	put_be16(r + 6, ARP_OP_REPLY);
	memcpy(r + ARP_OFF_SHA, o->mac, PEER_ETH_ALEN);
	memcpy(r + ARP_OFF_SPA, &o->ip, 4);
	memcpy(r + ARP_OFF_THA, a + ARP_OFF_SHA, PEER_ETH_ALEN);
	memcpy(r + ARP_OFF_TPA, a + ARP_OFF_SPA, 4);
	return PEER_ETH_HDR_LEN + ARP_LEN;
}

static uint32_t
icmp_echo4(const struct peer_opts *o, const uint8_t *in, uint32_t len, uint32_t l2,
		uint8_t *out, uint32_t room)
{
	const uint8_t *ip = in + l2;
	uint32_t ihl, tot, n;
	uint8_t *oip, *oicmp;

	if (len < l2 + IPV4_HDR_LEN || ip[0] >> 4 != 4)
		return 0;
	ihl = (ip[0] & 0xfu) * 4u;
	tot = be16(ip + 2);
	if (ihl < IPV4_HDR_LEN || tot < ihl + ICMP_HDR_LEN || l2 + tot > len)
		return 0;
	/* Fragments are not reassembled, so a fragmented ping goes unanswered. */
	if (ip[9] != IPPROTO_ICMP_ || memcmp(ip + 16, &o->ip, 4) != 0 ||
			(be16(ip + 6) & IPV4_FRAG_MASK) != 0)
		return 0;
	if (ip[ihl] != ICMP_ECHO_REQUEST || ip[ihl + 1] != 0)
		return 0;
	n = l2 + tot;		/* any Ethernet padding stays behind */
	if (n > room)
		return 0;
	memcpy(out, in, n);
	if (l2 > 0)
		icmp_eth(o, in, out, ETYPE_IPV4);
	oip = out + l2;
	memcpy(oip + 12, ip + 16, 4);
	memcpy(oip + 16, ip + 12, 4);
	oip[8] = REPLY_TTL;
	put_be16(oip + 10, 0);
	put_be16(oip + 10, pkt_fold(pkt_sum16(oip, ihl, 0)));
	oicmp = oip + ihl;
	oicmp[0] = ICMP_ECHO_REPLY;
	put_be16(oicmp + 2, 0);
	put_be16(oicmp + 2, pkt_fold(pkt_sum16(oicmp, tot - ihl, 0)));
	return n;
}

/* ICMPv6 checksum over the pseudo-header (RFC 8200 §8.1) and the message. */
static uint16_t
icmp6_csum(const uint8_t *ip6, const uint8_t *msg, uint32_t len)
{
	uint32_t sum = pkt_sum16(ip6 + 8, 32, 0);	/* source and destination */

	sum += len >> 16;
	sum += len & 0xffff;
	sum += IPPROTO_ICMPV6_;
	return pkt_fold(pkt_sum16(msg, len, sum));
}

/* Fill in the IPv6 header of an answer from us to @dst. */
static void
icmp_ip6_hdr(const struct peer_opts *o, uint8_t *ip, uint32_t plen, const uint8_t *dst,
		uint8_t hops)
{
	memset(ip, 0, 4);
	ip[0] = 0x60;
	put_be16(ip + 4, plen);
	ip[6] = IPPROTO_ICMPV6_;
	ip[7] = hops;
	memcpy(ip + 8, &o->ip6, 16);
	memcpy(ip + 24, dst, 16);
}

static uint32_t
icmp_echo6(const struct peer_opts *o, const uint8_t *in, uint32_t l2, uint32_t plen,
		uint8_t *out, uint32_t room)
{
	const uint8_t *ip = in + l2;
	uint32_t n = l2 + IPV6_HDR_LEN + plen;
	uint8_t *oip = out + l2, *oicmp = oip + IPV6_HDR_LEN;

	if (n > room || memcmp(ip + 24, &o->ip6, 16) != 0 || ip[IPV6_HDR_LEN + 1] != 0)
		return 0;
	if (l2 > 0)
		icmp_eth(o, in, out, ETYPE_IPV6);
	icmp_ip6_hdr(o, oip, plen, ip + 8, REPLY_TTL);
	memcpy(oicmp, ip + IPV6_HDR_LEN, plen);
	oicmp[0] = ICMP6_ECHO_REPLY;
	put_be16(oicmp + 2, 0);
	put_be16(oicmp + 2, icmp6_csum(oip, oicmp, plen));
	return n;
}

/* A neighbour advertisement for our address, with our MAC as target link-layer option. */
static uint32_t
icmp_ns(const struct peer_opts *o, const uint8_t *in, uint32_t plen, uint8_t *out,
		uint32_t room)
{
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 0x01 };
	static const uint8_t all_nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 0x01 };
	static const uint8_t unspecified[16];
	const uint8_t *ip = in + PEER_ETH_HDR_LEN, *ns = ip + IPV6_HDR_LEN;
	uint8_t *oip = out + PEER_ETH_HDR_LEN, *na = oip + IPV6_HDR_LEN;
	uint32_t n = PEER_ETH_HDR_LEN + IPV6_HDR_LEN + NA_LEN;
	bool dad = memcmp(ip + 8, unspecified, 16) == 0;

	if (n > room || plen < NS_LEN || ip[7] != ND_HOP_LIMIT || ns[1] != 0 ||
			memcmp(ns + 8, &o->ip6, 16) != 0)
		return 0;
	/* A duplicate-address probe comes from "::": answer all nodes (RFC 4861 §7.2.4). */
	icmp_eth(o, in, out, ETYPE_IPV6);
	if (dad)
		memcpy(out, all_nodes_mac, PEER_ETH_ALEN);
	icmp_ip6_hdr(o, oip, NA_LEN, dad ? all_nodes : ip + 8, ND_HOP_LIMIT);
	memset(na, 0, NA_LEN);
	na[0] = ICMP6_NA;
	na[4] = (uint8_t)(NA_FLAG_OVERRIDE | (dad ? 0 : NA_FLAG_SOLICITED));
	memcpy(na + 8, &o->ip6, 16);
	na[24] = ND_OPT_TLLA;
	na[25] = 1;					/* in units of 8 bytes */
	memcpy(na + 26, o->mac, PEER_ETH_ALEN);
	put_be16(na + 2, icmp6_csum(oip, na, NA_LEN));
	return n;
}

static uint32_t
icmp_v6(const struct peer_opts *o, const uint8_t *in, uint32_t len, uint32_t l2,
		uint8_t *out, uint32_t room)
{
	const uint8_t *ip = in + l2;
	uint32_t plen;

	if (!o->ip6_set || len < l2 + IPV6_HDR_LEN + ICMP_HDR_LEN || ip[0] >> 4 != 6 ||
			ip[6] != IPPROTO_ICMPV6_)
		return 0;
	plen = be16(ip + 4);
	if (plen < ICMP_HDR_LEN || l2 + IPV6_HDR_LEN + plen > len)
		return 0;
	switch (ip[IPV6_HDR_LEN]) {
	case ICMP6_ECHO_REQUEST:
		return icmp_echo6(o, in, l2, plen, out, room);
	case ICMP6_NS:
		/* Raw IP links have no link-layer addresses to resolve. */
		return l2 > 0 ? icmp_ns(o, in, plen, out, room) : 0;
	default:
		return 0;
	}
}

uint32_t
icmp_answer(const struct peer_opts *o, const uint8_t *in, uint32_t len, uint8_t *out,
		uint32_t room)
{
	if (o->raw_ip) {
		if (len < IPV4_HDR_LEN)
			return 0;
		if (in[0] >> 4 == 4)
			return icmp_echo4(o, in, len, 0, out, room);
		return icmp_v6(o, in, len, 0, out, room);
	}
	if (len < PEER_ETH_HDR_LEN)
		return 0;
	switch (be16(in + 12)) {
	case ETYPE_ARP:
		return icmp_arp(o, in, len, out, room);
	case ETYPE_IPV4:
		return icmp_echo4(o, in, len, PEER_ETH_HDR_LEN, out, room);
	case ETYPE_IPV6:
		return icmp_v6(o, in, len, PEER_ETH_HDR_LEN, out, room);
	default:
		return 0;
	}
}
