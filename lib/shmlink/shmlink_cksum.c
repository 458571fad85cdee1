/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Header parsing and Internet checksums (RFC 1071, RFC 768, RFC 793, RFC 8200). Sums are
 * taken over 16-bit words in host byte order and stored the same way: the ones'
 * complement sum does not depend on the byte order (RFC 1071 §2(B)), so only the
 * pseudo-header's protocol and length, numbers rather than bytes, are converted.
 */

#include <string.h>

#include "shmlink_cksum.h"

#define ETH_HLEN	14u
#define VLAN_HLEN	4u
#define ETH_P_IPV4	0x0800u
#define ETH_P_IPV6	0x86ddu
#define ETH_P_VLAN	0x8100u
#define ETH_P_QINQ	0x88a8u
#define IPV4_HLEN	20u
#define IPV6_HLEN	40u
#define TCP_HLEN	20u
#define UDP_HLEN	8u
#define IPPROTO_TCP_	6u
#define IPPROTO_UDP_	17u
#define IPV6_EXT_MAX	8u	/* extension headers followed before giving up */
#define IPV6_NO_L4	59u	/* "no next header": nothing for the L4 parser */

static const char *const hdr_status_names[SHMLINK_HDR_STATUS_MAX] = {
	[SHMLINK_HDR_OK] = "ok",
	[SHMLINK_HDR_SHORT] = "short",
	[SHMLINK_HDR_SCATTERED] = "scattered",
	[SHMLINK_HDR_BAD_IP] = "bad_ip",
	[SHMLINK_HDR_BAD_L4] = "bad_l4",
};

const char *
shmlink_hdr_status_name(int status)
{
	if (status < 0 || status >= SHMLINK_HDR_STATUS_MAX)
		return "unknown";
	return hdr_status_names[status];
}

static inline uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint16_t
host_to_be16(uint16_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return __builtin_bswap16(v);
#else
	return v;
#endif
}

/* Whether @end bytes of the frame exist (else SHORT) and are contiguous (else
 * SCATTERED); SHMLINK_HDR_OK if both. */
static inline int
hdr_need(uint32_t end, uint32_t hdr_len, uint32_t frame_len)
{
	if (end > frame_len)
		return SHMLINK_HDR_SHORT;
	return end > hdr_len ? SHMLINK_HDR_SCATTERED : SHMLINK_HDR_OK;
}

/* Ethernet and VLAN tags: the L2 length and the EtherType after them. */
static int
hdr_l2(const uint8_t *f, uint32_t hdr_len, uint32_t frame_len, struct shmlink_hdr_info *h,
		uint16_t *type)
{
	uint32_t off = ETH_HLEN, tags = 0;
	int rc = hdr_need(ETH_HLEN, hdr_len, frame_len);

	if (rc != SHMLINK_HDR_OK)
		return rc;
	*type = be16(f + 12);
	while (tags < 2 && (*type == ETH_P_VLAN || *type == ETH_P_QINQ)) {
		rc = hdr_need(off + VLAN_HLEN, hdr_len, frame_len);
		if (rc != SHMLINK_HDR_OK)
			return rc;
		*type = be16(f + off + 2);
		off += VLAN_HLEN;
		tags++;
	}
	h->flags |= tags == 1 ? SHMLINK_HDR_VLAN : tags == 2 ? SHMLINK_HDR_QINQ : 0;
	h->l2_len = (uint16_t)off;
	return SHMLINK_HDR_OK;
}

/* IPv4 at offset @off: header length, total length, fragment, protocol. */
static int
hdr_ipv4(const uint8_t *f, uint32_t off, uint32_t hdr_len, uint32_t frame_len,
		struct shmlink_hdr_info *h, uint8_t *proto)
{
	const uint8_t *ip = f + off;
	uint32_t ihl, tot;
	int rc = hdr_need(off + IPV4_HLEN, hdr_len, frame_len);

	if (rc != SHMLINK_HDR_OK)
		return rc;
	ihl = (ip[0] & 0xfu) * 4u;
	tot = be16(ip + 2);
	if ((ip[0] >> 4) != 4 || ihl < IPV4_HLEN || tot < ihl || tot > frame_len - off)
		return SHMLINK_HDR_BAD_IP;
	rc = hdr_need(off + ihl, hdr_len, frame_len);
	if (rc != SHMLINK_HDR_OK)
		return rc;
	if (ihl > IPV4_HLEN)
		h->flags |= SHMLINK_HDR_IP_OPTS;
	if (be16(ip + 6) & 0x3fffu)	/* more fragments, or an offset */
		h->flags |= SHMLINK_HDR_FRAG;
	h->l3 = SHMLINK_L3_IPV4;
	h->l3_len = (uint16_t)ihl;
	h->ip_len = tot;
	*proto = ip[9];
	return SHMLINK_HDR_OK;
}

/* IPv6 at offset @off, and its extension headers up to the upper layer. A routing
 * header changes the destination the pseudo-header names: such a frame, like a
 * fragment, gets no L4 processing (protocol 0). */
static int
hdr_ipv6(const uint8_t *f, uint32_t off, uint32_t hdr_len, uint32_t frame_len,
		struct shmlink_hdr_info *h, uint8_t *proto)
{
	const uint8_t *ip = f + off;
	uint32_t plen, l3 = IPV6_HLEN, n;
	uint8_t nh;
	int rc = hdr_need(off + IPV6_HLEN, hdr_len, frame_len);

	if (rc != SHMLINK_HDR_OK)
		return rc;
	plen = be16(ip + 4);
	/* A payload length of 0 is a jumbogram's: not on links of at most 64 KiB. */
	if ((ip[0] >> 4) != 6 || plen == 0 || IPV6_HLEN + plen > frame_len - off)
		return SHMLINK_HDR_BAD_IP;
	nh = ip[6];
	for (n = 0; nh == 0 || nh == 43 || nh == 44 || nh == 60; n++) {
		uint32_t len;

		rc = hdr_need(off + l3 + 8, hdr_len, frame_len);
		if (n == IPV6_EXT_MAX || rc != SHMLINK_HDR_OK)
			return n == IPV6_EXT_MAX ? SHMLINK_HDR_BAD_IP : rc;
		len = nh == 44 ? 8u : (ip[l3 + 1] + 1u) * 8u;
		h->flags |= SHMLINK_HDR_IP_OPTS;
		if (nh == 43 || nh == 44) {
			if (nh == 44)
				h->flags |= SHMLINK_HDR_FRAG;
			nh = IPV6_NO_L4;
			l3 += len;
			break;
		}
		nh = ip[l3];
		l3 += len;
	}
	if (l3 > IPV6_HLEN + plen)
		return SHMLINK_HDR_BAD_IP;
	rc = hdr_need(off + l3, hdr_len, frame_len);
	if (rc != SHMLINK_HDR_OK)
		return rc;
	h->l3 = SHMLINK_L3_IPV6;
	h->l3_len = (uint16_t)l3;
	h->ip_len = IPV6_HLEN + plen;
	*proto = nh;
	return SHMLINK_HDR_OK;
}

/* TCP or UDP at the end of the IP header: its length, within the IP payload. */
static int
hdr_l4(const uint8_t *f, uint32_t hdr_len, uint32_t frame_len, struct shmlink_hdr_info *h,
		uint8_t proto)
{
	uint32_t off = h->l2_len + h->l3_len, room = h->ip_len - h->l3_len, len;
	int rc;

	if ((proto != IPPROTO_TCP_ && proto != IPPROTO_UDP_) || (h->flags & SHMLINK_HDR_FRAG))
		return SHMLINK_HDR_OK;
	len = proto == IPPROTO_TCP_ ? TCP_HLEN : UDP_HLEN;
	if (room < len)
		return SHMLINK_HDR_BAD_L4;
	rc = hdr_need(off + len, hdr_len, frame_len);
	if (rc != SHMLINK_HDR_OK)
		return rc;
	if (proto == IPPROTO_TCP_) {
		len = (f[off + 12] >> 4) * 4u;
		if (len < TCP_HLEN || len > room)
			return SHMLINK_HDR_BAD_L4;
		h->l4 = SHMLINK_L4_TCP;
	} else {
		if (be16(f + off + 4) != room)
			return SHMLINK_HDR_BAD_L4;
		h->l4 = SHMLINK_L4_UDP;
	}
	h->l4_len = (uint16_t)len;
	return SHMLINK_HDR_OK;
}

int
shmlink_hdr_parse(const uint8_t *frame, uint32_t hdr_len, uint32_t frame_len, bool raw_ip,
		struct shmlink_hdr_info *h)
{
	struct shmlink_hdr_info x;
	uint16_t type;
	uint8_t proto = 0;
	int rc;

	memset(&x, 0, sizeof(x));
	if (hdr_len > frame_len)
		hdr_len = frame_len;
	if (raw_ip) {
		rc = hdr_need(1, hdr_len, frame_len);
		if (rc != SHMLINK_HDR_OK)
			return rc;
		type = (frame[0] >> 4) == 4 ? ETH_P_IPV4 : (frame[0] >> 4) == 6 ? ETH_P_IPV6 : 0;
		if (type == 0)
			return SHMLINK_HDR_BAD_IP;
	} else {
		rc = hdr_l2(frame, hdr_len, frame_len, &x, &type);
		if (rc != SHMLINK_HDR_OK)
			return rc;
	}
	if (type == ETH_P_IPV4)
		rc = hdr_ipv4(frame, x.l2_len, hdr_len, frame_len, &x, &proto);
	else if (type == ETH_P_IPV6)
		rc = hdr_ipv6(frame, x.l2_len, hdr_len, frame_len, &x, &proto);
	if (rc == SHMLINK_HDR_OK && x.l3 != SHMLINK_L3_NONE)
		rc = hdr_l4(frame, hdr_len, frame_len, &x, proto);
	if (rc == SHMLINK_HDR_OK)
		*h = x;
	return rc;
}

/* The sum of @len bytes as 16-bit words in host order, an odd last byte padded with a
 * zero byte; not folded (a 64-bit sum of 32-bit words cannot overflow below 2^31 bytes). */
static uint64_t
cksum_raw(const uint8_t *p, uint32_t len)
{
	uint64_t sum = 0;

	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		sum += (w & 0xffffffffu) + (w >> 32);
	}
	if (len >= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		sum += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;

		memcpy(&w, p, 2);
		sum += w;
		p += 2;
		len -= 2;
	}
	if (len == 1) {
		uint8_t pad[2] = { p[0], 0 };
		uint16_t w;

		memcpy(&w, pad, 2);
		sum += w;
	}
	return sum;
}

static inline uint16_t
cksum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)sum;
}

uint32_t
shmlink_cksum_add(uint32_t sum, const void *p, uint32_t len)
{
	return cksum_fold((uint64_t)sum + cksum_raw(p, len));
}

/* The sum of @len bytes from offset @off of a frame in segments. A segment that starts
 * at an odd offset of the summed bytes contributes its sum byte-swapped. */
static uint64_t
cksum_segs(const struct shmlink_seg *segs, uint32_t nb_segs, uint32_t off, uint32_t len)
{
	uint64_t sum = 0;
	uint32_t i, done = 0;

	for (i = 0; i < nb_segs && len > 0; i++) {
		uint32_t n;
		uint16_t s;

		if (off >= segs[i].len) {
			off -= segs[i].len;
			continue;
		}
		n = segs[i].len - off < len ? segs[i].len - off : len;
		s = cksum_fold(cksum_raw((const uint8_t *)segs[i].addr + off, n));
		sum += (done & 1) ? __builtin_bswap16(s) : s;
		done += n;
		len -= n;
		off = 0;
	}
	return sum;
}

uint32_t
shmlink_l4_cksum_off(const struct shmlink_hdr_info *h)
{
	return h->l2_len + h->l3_len + (h->l4 == SHMLINK_L4_TCP ? 16u : 6u);
}

uint16_t
shmlink_l4_cksum(const struct shmlink_seg *segs, uint32_t nb_segs,
		const struct shmlink_hdr_info *h)
{
	const uint8_t *ip = (const uint8_t *)segs[0].addr + h->l2_len;
	uint32_t l4_len = h->ip_len - h->l3_len;
	uint16_t field, c;
	uint64_t sum;

	if (h->l3 == SHMLINK_L3_IPV4)
		sum = cksum_raw(ip + 12, 8);		/* source and destination */
	else
		sum = cksum_raw(ip + 8, 32);
	sum += host_to_be16(h->l4 == SHMLINK_L4_TCP ? IPPROTO_TCP_ : IPPROTO_UDP_);
	sum += host_to_be16((uint16_t)(l4_len >> 16)) + host_to_be16((uint16_t)l4_len);
	sum += cksum_segs(segs, nb_segs, h->l2_len + h->l3_len, l4_len);
	/* The field as it is (0, or a pseudo-header sum) counts as 0: add its complement. */
	memcpy(&field, (const uint8_t *)segs[0].addr + shmlink_l4_cksum_off(h), 2);
	sum += (uint16_t)~field;
	c = (uint16_t)~cksum_fold(sum);
	return (c == 0 && h->l4 == SHMLINK_L4_UDP) ? 0xffffu : c;
}

uint16_t
shmlink_ipv4_cksum(const uint8_t *ip, uint32_t len)
{
	uint16_t field;

	memcpy(&field, ip + 10, 2);
	return (uint16_t)~cksum_fold(cksum_raw(ip, len) + (uint16_t)~field);
}
