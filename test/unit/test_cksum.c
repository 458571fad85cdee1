/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Frame headers and checksums (shmlink_cksum.h): frames of every shape the offload path
 * sees (Ethernet with 0, 1 or 2 VLAN tags, or raw IP; IPv4 with and without options,
 * IPv6 with and without extension headers; TCP with options, UDP; odd and even lengths)
 * parsed and checksummed over random splits into segments, against a byte-by-byte
 * reference written from RFC 1071; then every malformed header the parser must refuse,
 * and every truncation of a good frame.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shmlink.h"
#include "../common/test_common.h"

#define FRAME_MAX 9216u

static uint64_t rnd_state = 42;

static uint32_t
rnd(void)
{
	return (uint32_t)check_rand(&rnd_state);
}

/* RFC 1071, byte by byte, big-endian words: the reference. */
static uint32_t
ref_sum(uint32_t sum, const uint8_t *p, uint32_t len)
{
	uint32_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

struct shape {
	unsigned int vlans;	/* 0..2; raw IP if 3 */
	bool v6;
	bool tcp;
	unsigned int opts;	/* IPv4 option words, or IPv6 8-byte extension headers */
	unsigned int tcp_opts;	/* TCP option words */
	uint32_t payload;
};

struct built {
	uint8_t f[FRAME_MAX];
	uint32_t len;
	uint32_t l2, l3, l4, cks_off;
};

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A frame of shape @s, payload bytes from the generator, checksum field 0. */
static void
build(const struct shape *s, struct built *b)
{
	uint8_t *f = b->f;
	uint32_t off = 0, i, l4h, ip_len;
	bool raw = s->vlans == 3;

	memset(f, 0, sizeof(b->f));
	if (!raw) {
		for (i = 0; i < 12; i++)
			f[i] = (uint8_t)rnd();
		off = 12;
		for (i = 0; i < s->vlans; i++, off += 4) {
			put16(f + off, i == 0 && s->vlans == 2 ? 0x88a8 : 0x8100);
			put16(f + off + 2, (uint16_t)(100 + i));
		}
		put16(f + off, s->v6 ? 0x86dd : 0x0800);
		off += 2;
	}
	b->l2 = off;
	l4h = s->tcp ? 20 + 4 * s->tcp_opts : 8;
	if (!s->v6) {
		b->l3 = 20 + 4 * s->opts;
		ip_len = b->l3 + l4h + s->payload;
		f[off] = (uint8_t)(0x40 | b->l3 / 4);
		put16(f + off + 2, (uint16_t)ip_len);
		f[off + 8] = 64;
		f[off + 9] = s->tcp ? 6 : 17;
		for (i = 12; i < 20; i++)
			f[off + i] = (uint8_t)rnd();
		for (i = 20; i < b->l3; i++)
			f[off + i] = 1;		/* NOP options */
	} else {
		uint8_t nh = s->tcp ? 6 : 17;

		b->l3 = 40 + 8 * s->opts;
		ip_len = b->l3 + l4h + s->payload;
		f[off] = 0x60;
		put16(f + off + 4, (uint16_t)(ip_len - 40));
		f[off + 6] = s->opts ? 60 : nh;		/* destination options */
		f[off + 7] = 64;
		for (i = 8; i < 40; i++)
			f[off + i] = (uint8_t)rnd();
		for (i = 0; i < s->opts; i++) {
			uint8_t *e = f + off + 40 + 8 * i;

			e[0] = i + 1 < s->opts ? 60 : nh;
			e[1] = 0;
			e[2] = 1;		/* PadN of 4 */
			e[3] = 4;
		}
	}
	b->l4 = b->l2 + b->l3;
	if (s->tcp) {
		f[b->l4 + 12] = (uint8_t)((l4h / 4) << 4);
		for (i = 20; i < l4h; i++)
			f[b->l4 + i] = 1;
		b->cks_off = b->l4 + 16;
	} else {
		put16(f + b->l4 + 4, (uint16_t)(l4h + s->payload));
		b->cks_off = b->l4 + 6;
	}
	for (i = 0; i < 4; i++)
		f[b->l4 + i] = (uint8_t)rnd();
	for (i = b->l4 + l4h; i < b->l4 + l4h + s->payload; i++)
		f[i] = (uint8_t)rnd();
	b->len = b->l4 + l4h + s->payload + (rnd() % 3 == 0 ? 7 : 0);	/* padding */
}

/* The reference L4 checksum of @b, its field counted as 0. */
static uint16_t
ref_l4(const struct built *b, bool v6, bool tcp)
{
	const uint8_t *ip = b->f + b->l2;
	uint32_t l4_len = (v6 ? 40u + (ip[4] << 8 | ip[5]) : (uint32_t)(ip[2] << 8 | ip[3])) -
		b->l3;
	uint8_t tmp[FRAME_MAX];
	uint32_t sum;
	uint16_t c;

	sum = v6 ? ref_sum(0, ip + 8, 32) : ref_sum(0, ip + 12, 8);
	sum = ref_sum(sum + (tcp ? 6 : 17) + (l4_len >> 16) + (l4_len & 0xffff), NULL, 0);
	memcpy(tmp, b->f + b->l4, l4_len);
	tmp[b->cks_off - b->l4] = 0;
	tmp[b->cks_off - b->l4 + 1] = 0;
	sum = ref_sum(sum, tmp, l4_len);
	c = (uint16_t)~sum;
	return c == 0 && !tcp ? 0xffff : c;
}

/* @b as 1 to 6 segments cut at random points, the first holding @hdr bytes at least. */
static uint32_t
split(const struct built *b, uint32_t hdr, struct shmlink_seg *segs)
{
	uint32_t n = 1 + rnd() % 6, i, at = 0, k = 0;

	for (i = 0; i < n && at < b->len; i++) {
		uint32_t left = b->len - at, len;

		len = i + 1 == n ? left : 1 + rnd() % left;
		if (i == 0 && len < hdr)
			len = hdr < left ? hdr : left;
		segs[k].addr = (void *)(uintptr_t)(b->f + at);
		segs[k].len = len;
		at += len;
		k++;
	}
	if (at < b->len)
		segs[k - 1].len += b->len - at;
	return k;
}

static void
test_shapes(void)
{
	static struct built b;
	unsigned int iter;

	for (iter = 0; iter < 20000; iter++) {
		struct shape s = {
			.vlans = rnd() % 4, .v6 = rnd() & 1, .tcp = rnd() & 1,
			.opts = rnd() % 3, .tcp_opts = rnd() % 4,
			.payload = rnd() % 1600,
		};
		struct shmlink_seg segs[8];
		struct shmlink_hdr_info h;
		uint16_t got, want;
		uint32_t nseg;
		int rc;

		if (iter % 100 == 0)
			s.payload = 1400 + rnd() % 7000;
		build(&s, &b);
		rc = shmlink_hdr_parse(b.f, b.l4 + 20, b.len, s.vlans == 3, &h);
		if (!CHECK(rc == SHMLINK_HDR_OK, "shape %u/%d/%d/%u: %s", s.vlans, s.v6, s.tcp,
				s.opts, shmlink_hdr_status_name(rc)))
			continue;
		CHECK(h.l2_len == b.l2 && h.l3_len == b.l3 && h.l3 == (s.v6 ? SHMLINK_L3_IPV6 :
				SHMLINK_L3_IPV4) && h.l4 == (s.tcp ? SHMLINK_L4_TCP :
				SHMLINK_L4_UDP) && shmlink_l4_cksum_off(&h) == b.cks_off,
				"headers l2 %u l3 %u (want %u %u)", h.l2_len, h.l3_len, b.l2, b.l3);
		CHECK(!!(h.flags & SHMLINK_HDR_IP_OPTS) == (s.opts > 0) &&
				!!(h.flags & SHMLINK_HDR_VLAN) == (s.vlans == 1) &&
				!!(h.flags & SHMLINK_HDR_QINQ) == (s.vlans == 2), "flags 0x%x",
				h.flags);
		nseg = split(&b, b.l4 + 20, segs);
		want = ref_l4(&b, s.v6, s.tcp);
		/* The field may hold anything (a pseudo-header sum): it counts as 0. */
		put16(b.f + b.cks_off, (uint16_t)rnd());
		got = shmlink_l4_cksum(segs, nseg, &h);
		CHECK(((uint8_t *)&got)[0] == want >> 8 && ((uint8_t *)&got)[1] == (want & 0xff),
				"checksum %02x%02x, want %04x (%u segments, %u bytes)",
				((uint8_t *)&got)[0], ((uint8_t *)&got)[1], want, nseg, b.len);
		/* Stored, the frame verifies: the sum over everything is 0xffff. */
		memcpy(b.f + b.cks_off, &got, 2);
		CHECK(ref_l4(&b, s.v6, s.tcp) == want, "stable");
		if (!s.v6) {
			uint16_t ipc = shmlink_ipv4_cksum(b.f + b.l2, b.l3);

			memcpy(b.f + b.l2 + 10, &ipc, 2);
			CHECK(ref_sum(0, b.f + b.l2, b.l3) == 0xffff, "IPv4 header checksum");
		}
	}
}

/* One header field broken at a time: each is refused as what it is. */
static void
test_malformed(void)
{
	static struct built b;
	const struct shape v4 = { .vlans = 0, .tcp = true, .payload = 100 };
	const struct shape v6 = { .vlans = 1, .v6 = true, .tcp = false, .opts = 1,
		.payload = 100 };
	struct shmlink_hdr_info h;
	uint32_t cut;
	int rc;

	build(&v4, &b);
	b.f[14] = 0x44;			/* IHL 4 */
	CHECK(shmlink_hdr_parse(b.f, b.len, b.len, false, &h) == SHMLINK_HDR_BAD_IP, "ihl");
	build(&v4, &b);
	put16(b.f + 16, (uint16_t)(b.len + 1 - 14));	/* total length past the frame */
	CHECK(shmlink_hdr_parse(b.f, b.len, b.len, false, &h) == SHMLINK_HDR_BAD_IP, "tot");
	build(&v4, &b);
	b.f[14 + 20 + 12] = 0x40;	/* data offset 4 */
	CHECK(shmlink_hdr_parse(b.f, b.len, b.len, false, &h) == SHMLINK_HDR_BAD_L4, "doff");
	build(&v4, &b);
	b.f[14 + 20 + 12] = 0xf0;	/* data offset past the payload */
	put16(b.f + 16, 20 + 20 + 4);
	CHECK(shmlink_hdr_parse(b.f, b.len, b.len, false, &h) == SHMLINK_HDR_BAD_L4,
			"doff past");
	build(&v4, &b);
	put16(b.f + 20, 0x2001);	/* more fragments: no L4 */
	CHECK(shmlink_hdr_parse(b.f, b.len, b.len, false, &h) == SHMLINK_HDR_OK &&
			(h.flags & SHMLINK_HDR_FRAG) && h.l4 == SHMLINK_L4_NONE, "fragment");
	build(&v4, &b);
	CHECK(shmlink_hdr_parse(b.f, 40, b.len, false, &h) == SHMLINK_HDR_SCATTERED,
			"TCP header beyond the contiguous bytes");

	build(&v6, &b);
	put16(b.f + 18 + 4, 0);		/* jumbogram */
	CHECK(shmlink_hdr_parse(b.f, b.len, b.len, false, &h) == SHMLINK_HDR_BAD_IP, "plen");
	build(&v6, &b);
	b.f[18 + 40 + 1] = 200;		/* extension header past the payload */
	CHECK(shmlink_hdr_parse(b.f, b.len, b.len, false, &h) != SHMLINK_HDR_OK, "ext len");
	build(&v6, &b);
	put16(b.f + 18 + 48 + 4, 9);	/* UDP length */
	CHECK(shmlink_hdr_parse(b.f, b.len, b.len, false, &h) == SHMLINK_HDR_BAD_L4, "udp len");
	build(&v6, &b);
	b.f[18 + 40] = 43;		/* a routing header (8 bytes) follows: no L4 */
	b.f[18 + 48 + 1] = 0;
	rc = shmlink_hdr_parse(b.f, b.len, b.len, false, &h);
	CHECK(rc == SHMLINK_HDR_OK && h.l4 == SHMLINK_L4_NONE, "routing header: %s",
			shmlink_hdr_status_name(rc));

	/* Every truncation of a good frame is refused or parsed within its bytes (the
	 * fuzzer runs this under ASan). */
	build(&v6, &b);
	REQUIRE(shmlink_hdr_parse(b.f, b.len, b.len, false, &h) == SHMLINK_HDR_OK, "v6");
	for (cut = 0; cut < h.l2_len + h.ip_len; cut++) {
		rc = shmlink_hdr_parse(b.f, cut, cut, false, &h);
		CHECK(rc != SHMLINK_HDR_OK || h.l3 == SHMLINK_L3_NONE, "cut at %u parsed", cut);
	}
	/* Not IP: nothing to do. */
	build(&v4, &b);
	put16(b.f + 12, 0x0806);
	CHECK(shmlink_hdr_parse(b.f, b.len, b.len, false, &h) == SHMLINK_HDR_OK &&
			h.l3 == SHMLINK_L3_NONE, "ARP");
}

int
main(void)
{
	test_shapes();
	test_malformed();
	return check_report("test_cksum");
}
