/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * The header parser of the checksum offloads (shmlink_cksum.h) over any frame a peer can
 * send, and the checksums it leads to.
 *
 * Input:  u8 mode (bit 0: raw IP framing) | u16 contiguous bytes | u8 cut 1 | u8 cut 2 |
 *         the frame
 * The frame is copied into a heap block of exactly its length, so ASan reports any read
 * past it. A frame that parses must describe headers inside the contiguous bytes and an
 * IP packet inside the frame; its L4 checksum, over the frame cut into up to three
 * segments at the given points, must equal the checksum over the frame in one piece.
 */

#include "fuzz_common.h"
#include "shmlink_cksum.h"

static void
check_parsed(uint8_t *f, uint32_t len, uint32_t contig, const struct shmlink_hdr_info *h,
		uint32_t cut1, uint32_t cut2)
{
	struct shmlink_seg one = { .addr = f, .len = len }, segs[3];
	uint32_t l4_min, n = 0, at = 0, i;
	uint32_t cuts[2] = { cut1, cut2 };
	uint16_t a, b;

	FZ_CHECK(h->l3 != SHMLINK_L3_NONE || h->l4 == SHMLINK_L4_NONE, "L4 without L3");
	if (h->l3 == SHMLINK_L3_NONE)
		return;
	FZ_CHECK(h->l2_len + h->l3_len <= contig && h->l3_len <= h->ip_len &&
			h->l2_len + h->ip_len <= len, "l2 %u l3 %u ip %u in %u (%u contiguous)",
			h->l2_len, h->l3_len, h->ip_len, len, contig);
	if (h->l4 == SHMLINK_L4_NONE)
		return;
	FZ_CHECK(!(h->flags & SHMLINK_HDR_FRAG), "L4 of a fragment");
	l4_min = h->l4 == SHMLINK_L4_TCP ? 20 : 8;
	FZ_CHECK(h->l2_len + h->l3_len + l4_min <= contig && h->l4_len >= l4_min &&
			h->l3_len + h->l4_len <= h->ip_len, "L4 header %u", h->l4_len);
	a = shmlink_l4_cksum(&one, 1, h);
	/* Segments: the first holds the headers, the cuts fall after them. */
	for (i = 0; i < 2; i++) {
		uint32_t c = h->l2_len + h->l3_len + l4_min + cuts[i] * 37;

		if (c > at && c < len) {
			segs[n].addr = f + at;
			segs[n].len = c - at;
			at = c;
			n++;
		}
	}
	segs[n].addr = f + at;
	segs[n].len = len - at;
	n++;
	b = shmlink_l4_cksum(segs, n, h);
	FZ_CHECK(a == b, "checksum 0x%04x in one piece, 0x%04x in %u", a, b, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	uint8_t mode = fz_u8(&in);
	uint32_t contig = fz_u16(&in);
	uint32_t cut1 = fz_u8(&in), cut2 = fz_u8(&in);
	struct shmlink_hdr_info h;
	uint32_t len = (uint32_t)in.n;
	uint8_t *f;
	int rc;

	if (len > 65535)
		return 0;
	f = malloc(len ? len : 1);
	memcpy(f, in.p, len);
	if (contig > len)
		contig = len;
	rc = shmlink_hdr_parse(f, contig, len, mode & 1, &h);
	FZ_CHECK(rc >= SHMLINK_HDR_OK && rc < SHMLINK_HDR_STATUS_MAX, "status %d", rc);
	if (rc == SHMLINK_HDR_OK)
		check_parsed(f, len, contig, &h, cut1, cut2);
	free(f);
	return 0;
}
