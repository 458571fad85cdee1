/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/* Frames and buffers, the paths shmlink_frame.h does not inline: frames of several
 * pieces or buffers, a virtio header, trimming to the L3 length. */

#include "shmlink_frame.h"

static uint32_t
min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

void
ep_fill_bufs(const struct shmlink_ep *ep, const struct shmlink_frame *f,
		uint8_t *base, const struct shmlink_buf *bufs, uint32_t nb, uint32_t *used)
{
	struct ep_cursor cur = { .seg = f->segs, .off = 0 };
	uint32_t hdr = ep->conf.virtio_hdr ? SHMLINK_VIRTIO_HDR_LEN : 0;
	uint32_t left = f->len;
	uint32_t i;

	for (i = 0; i < nb; i++) {
		uint8_t *dst = base + bufs[i].offset;
		uint32_t room = bufs[i].size;
		uint32_t n = 0, c;

		if (hdr > 0) {
			/* gVisor writes an all-zero header: no flags, no GSO. */
			n = min_u32(hdr, room);
			memset(dst, 0, n);
			hdr -= n;
		}
		c = min_u32(room - n, left);
		ep_cursor_copy(&cur, dst + n, c);
		left -= c;
		used[i] = n + c;
	}
}

/* Gather the first @len bytes of a frame into @dst; returns how many there were. */
static uint32_t
ep_peek(const struct shmlink_frame *f, uint8_t *dst, uint32_t len)
{
	struct ep_cursor cur = { .seg = f->segs, .off = 0 };

	len = min_u32(len, f->len);
	ep_cursor_copy(&cur, dst, len);
	return len;
}

static uint32_t
be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

#define ETH_HDR_LEN	14u
#define VLAN_HDR_LEN	4u
#define ETYPE_IPV4	0x0800u
#define ETYPE_IPV6	0x86ddu
#define ETYPE_ARP	0x0806u
#define ETYPE_VLAN	0x8100u
#define IPV6_HDR_LEN	40u

/*
 * The length the frame's own headers claim: L2 header plus IPv4 total length, IPv6
 * header plus payload length, or the ARP message. 0 if it cannot tell.
 */
static uint32_t
ep_l3_frame_len(const struct shmlink_ep *ep, const struct shmlink_frame *f)
{
	uint8_t h[ETH_HDR_LEN + VLAN_HDR_LEN + IPV6_HDR_LEN];
	uint32_t have;

	/* Copy the headers once (the peer may rewrite them), in one go if they lie in
	 * the first piece. */
	if (f->segs[0].len >= sizeof(h)) {
		memcpy(h, f->segs[0].addr, sizeof(h));
		have = sizeof(h);
	} else {
		have = ep_peek(f, h, sizeof(h));
	}
	uint32_t l2 = 0, etype = 0;
	const uint8_t *l3;

	if (!ep->conf.raw_ip) {
		if (have < ETH_HDR_LEN)
			return 0;
		l2 = ETH_HDR_LEN;
		etype = be16(h + 12);
		if (etype == ETYPE_VLAN) {
			if (have < ETH_HDR_LEN + VLAN_HDR_LEN)
				return 0;
			l2 += VLAN_HDR_LEN;
			etype = be16(h + 16);
		}
	}
	l3 = h + l2;
	if (have < l2 + 8)
		return 0;
	if (ep->conf.raw_ip)
		etype = (l3[0] >> 4) == 4 ? ETYPE_IPV4 : (l3[0] >> 4) == 6 ? ETYPE_IPV6 : 0;
	switch (etype) {
	case ETYPE_IPV4:
		return be16(l3 + 2) >= 20 ? l2 + be16(l3 + 2) : 0;
	case ETYPE_IPV6:
		return l2 + IPV6_HDR_LEN + be16(l3 + 4);
	case ETYPE_ARP:
		/* fixed part, then two hardware and two protocol addresses */
		return l2 + 8 + 2u * l3[4] + 2u * l3[5];
	default:
		return 0;
	}
}

static void
ep_trim(struct shmlink_ep *ep, struct shmlink_frame *f)
{
	uint32_t want = ep_l3_frame_len(ep, f);
	uint32_t left, i;

	if (want == 0 || want >= f->len)
		return;
	left = want;
	for (i = 0; i < f->nb_segs; i++) {
		if (f->segs[i].len >= left) {
			f->segs[i].len = left;
			break;
		}
		left -= f->segs[i].len;
	}
	f->nb_segs = left == 0 ? i : i + 1;
	f->len = want;
	ep->rx.st.rx_trimmed++;
}

bool
ep_make_frame(struct shmlink_ep *ep, uint8_t *base, const struct shmlink_buf *bufs,
		uint32_t nb, uint32_t wire, struct shmlink_frame *f, struct shmlink_seg *segs)
{
	uint32_t skip = ep->conf.virtio_hdr ? SHMLINK_VIRTIO_HDR_LEN : 0;
	uint32_t left = wire, k = 0, i;

	if (wire <= skip) {
		ep->rx.st.rx_runt++;
		return false;
	}
	/* A client that trims judges the length after trimming: gVisor's server reports
	 * whole posted buffers (spec §8.1-1), longer than the frame. */
	if (wire > ep->max_wire && !ep->trims) {
		ep->rx.st.rx_oversize++;
		return false;
	}
	f->segs = segs;
	/* The common case: a whole frame in its first buffer, no header to skip. */
	if (skip == 0 && bufs[0].size >= wire) {
		segs[0].addr = base + bufs[0].offset;
		segs[0].len = wire;
		f->nb_segs = 1;
		f->len = wire;
		goto trim;
	}
	for (i = 0; i < nb && left > 0; i++) {
		uint32_t n = min_u32(bufs[i].size, left);
		uint32_t off = min_u32(skip, n);

		left -= n;
		skip -= off;
		if (n > off) {
			segs[k].addr = base + bufs[i].offset + off;
			segs[k].len = n - off;
			k++;
		}
	}
	f->nb_segs = k;
	f->len = wire - (ep->conf.virtio_hdr ? SHMLINK_VIRTIO_HDR_LEN : 0);
trim:
	if (ep->trims) {
		ep_trim(ep, f);
		if (f->len > ep->conf.max_frame) {
			ep->rx.st.rx_oversize++;
			return false;
		}
	}
	return true;
}

