/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_FRAME_H
#define SHMLINK_FRAME_H

/*
 * Frames and buffers, both roles (private to the library): writing a frame into the
 * peer's buffers (ep_fill), and making the buffers of a received frame into segments,
 * with the virtio header stripped and the frame trimmed to its L3 length where asked
 * (ep_frame). Each has its common cases inline and the rest in shmlink_frame.c.
 */

#include "shmlink_copy.h"
#include "shmlink_ep_priv.h"

/* Write a frame into @dst buffers: the virtio header first if configured, then the
 * frame. Returns the bytes written into buffer @i in @used[i]. */
void ep_fill_bufs(const struct shmlink_ep *ep, const struct shmlink_frame *f,
		uint8_t *base, const struct shmlink_buf *bufs, uint32_t nb, uint32_t *used);

/* ep_fill_bufs() with the common case (one piece into one buffer, no header) inline. */
static inline void
ep_fill(const struct shmlink_ep *ep, const struct shmlink_frame *f, uint8_t *base,
		const struct shmlink_buf *bufs, uint32_t nb, uint32_t *used)
{
	if (__builtin_expect(nb == 1 && !ep->conf.virtio_hdr && f->nb_segs == 1, 1)) {
		ep_copy(base + bufs[0].offset, f->segs[0].addr, f->len);
		used[0] = f->len;
		return;
	}
	ep_fill_bufs(ep, f, base, bufs, nb, used);
}

/* Turn @nb buffers holding a @wire-byte frame into segments (virtio header stripped,
 * trimmed if asked); returns false if the frame is to be dropped (counted). */
bool ep_make_frame(struct shmlink_ep *ep, uint8_t *base, const struct shmlink_buf *bufs,
		uint32_t nb, uint32_t wire, struct shmlink_frame *f, struct shmlink_seg *segs);

/* ep_make_frame() with the common cases inline: the whole frame in its first buffer,
 * no header to strip, and nothing to trim, or (a trimming client) an untagged IPv4
 * frame, cut to its IPv4 total length as ep_make_frame() would. */
static inline bool
ep_frame(struct shmlink_ep *ep, uint8_t *base, const struct shmlink_buf *bufs, uint32_t nb,
		uint32_t wire, struct shmlink_frame *f, struct shmlink_seg *segs)
{
	uint32_t len = wire;

	if (__builtin_expect(wire == 0 || bufs[0].size < wire, 0))
		goto slow;
	if (ep->rx_plain) {
		if (wire > ep->max_wire)
			goto slow;
	} else if (ep->rx_trim_eth && wire >= 14 + 8) {
		uint8_t h[18];
		uint32_t tl;

		/* One read of the headers: the peer may rewrite them. */
		memcpy(h, base + bufs[0].offset, sizeof(h));
		if (h[12] != 0x08 || h[13] != 0x00)
			goto slow;
		tl = (uint32_t)h[16] << 8 | h[17];
		if (tl >= 20 && 14 + tl < wire) {
			len = 14 + tl;
			ep->rx.st.rx_trimmed++;
		}
		if (len > ep->conf.max_frame) {
			ep->rx.st.rx_oversize++;
			return false;
		}
	} else {
		goto slow;
	}
	segs[0].addr = base + bufs[0].offset;
	segs[0].len = len;
	f->segs = segs;
	f->nb_segs = 1;
	f->len = len;
	return true;
slow:
	return ep_make_frame(ep, base, bufs, nb, wire, f, segs);
}

/* The last step of both roles' receive loops: the frame held by @nb buffers becomes
 * frames[*nf], its segments from segs[*nsegs] on, unless it is dropped (counted). */
static inline void
ep_rx_add(struct shmlink_ep *ep, uint8_t *data, const struct shmlink_buf *bufs, uint32_t nb,
		uint32_t total, struct shmlink_frame *frames, unsigned int *nf,
		struct shmlink_seg *segs, unsigned int *nsegs, unsigned int max_segs)
{
	if (nb > max_segs) {
		ep->rx.st.rx_oversize++;
		return;
	}
	if (ep_frame(ep, data, bufs, nb, total, &frames[*nf], &segs[*nsegs])) {
		*nsegs += frames[*nf].nb_segs;
		(*nf)++;
	}
}

#endif /* SHMLINK_FRAME_H */
