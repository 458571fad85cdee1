/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_EP_PRIV_H
#define SHMLINK_EP_PRIV_H

/* Endpoint internals shared by shmlink_endpoint.c, shmlink_client.c, shmlink_server.c. */

#include <string.h>

#include "shmlink_endpoint.h"
#include "shmlink_queue_inline.h"

#define EP_CACHE_LINE 64
#define EP_NONE UINT32_MAX

/* The most ids/buffers an endpoint tracks: bounds what a peer's file sizes can make us
 * allocate. */
#define EP_MAX_BUFFERS 65536u

/* Slots of a pipe prefetched at once: about a burst's worth. */
#define EP_PREFETCH_SLOTS 32u

/* Client transmit: TX queue, we write descriptors and read completions. */
struct client_tx {
	struct shmlink_pipe_tx desc;		/* TX queue TxPipe */
	struct shmlink_pipe_rx compl;		/* TX queue RxPipe */
	struct shmlink_notify notify;		/* TX queue: we signal */
	uint8_t *data;
	uint32_t buf_size;
	uint32_t nb_chunks;
	uint32_t nb_free_chunks;
	uint32_t chunk_head;			/* free_chunks: next to take */
	uint32_t chunk_tail;			/* free_chunks: where the next freed goes */
	uint32_t nb_ids;			/* frames in flight at most */
	uint32_t nb_free_ids;
	uint32_t *free_chunks;			/* ring of free chunks, first in first out */
	uint32_t *chunk_next;			/* chunk -> next chunk of its frame */
	uint32_t *id_chunk;			/* id -> first chunk, EP_NONE if free */
	uint32_t *free_ids;			/* stack */
};

/* Client receive: RX queue, we post buffers and read completions. */
struct client_rx {
	struct shmlink_pipe_tx fill;		/* RX queue TxPipe */
	struct shmlink_pipe_rx compl;		/* RX queue RxPipe */
	struct shmlink_notify notify;		/* RX queue: we own the word */
	uint8_t *data;
	uint32_t buf_size;
	uint32_t nb_bufs;
	uint32_t nb_posted;
	uint32_t nb_repost;
	uint32_t nb_held;
	uint8_t *posted;			/* id -> 1 while the server has it */
	uint32_t *repost;			/* ids to post again */
	uint32_t *held;				/* ids of the current burst's frames */
};

/* Server receive: TX queue, we read descriptors and write completions. */
struct server_rx {
	struct shmlink_pipe_rx desc;		/* TX queue TxPipe */
	struct shmlink_pipe_tx compl;		/* TX queue RxPipe */
	struct shmlink_notify notify;		/* TX queue: we own the word */
	uint8_t *data;
	uint64_t data_size;
};

/* Server transmit: RX queue, we take posted buffers and write completions. */
struct server_tx {
	struct shmlink_pipe_rx fill;		/* RX queue TxPipe */
	struct shmlink_pipe_tx compl;		/* RX queue RxPipe */
	struct shmlink_notify notify;		/* RX queue: we signal */
	uint8_t *data;
	uint64_t data_size;
};

/* Each direction on its own cache lines, with its own counters: two threads may run the
 * two directions. */
struct shmlink_ep {
	enum shmlink_role role;
	struct shmlink_ep_conf conf;
	uint32_t max_wire;			/* max_frame + virtio header */
	bool rx_plain;				/* received frames are taken as they come:
						 * no virtio header, no trimming */
	bool rx_trim_eth;			/* a client trimming Ethernet frames, no
						 * virtio header */

	struct {
		union {
			struct client_tx c;
			struct server_tx s;
		};
		struct shmlink_ep_stats st;
	} tx __attribute__((aligned(EP_CACHE_LINE)));

	struct {
		union {
			struct client_rx c;
			struct server_rx s;
		};
		struct shmlink_ep_stats st;
		bool pending;			/* a burst awaits release */
	} rx __attribute__((aligned(EP_CACHE_LINE)));
};

/* Signal the peer of our transmit direction if it waits. The counter is atomic because
 * a caller deferring signals may send them from another thread than the bursts'. */
static inline bool
ep_tx_signal(struct shmlink_ep *ep, const struct shmlink_notify *n)
{
	if (!shmlink_notify_signal(n))
		return false;
	__atomic_fetch_add(&ep->tx.st.signals, 1, __ATOMIC_RELAXED);
	return true;
}

/* A read position in a frame's segments. */
struct ep_cursor {
	const struct shmlink_seg *seg;
	uint32_t off;
};

/* Copy @len bytes from the frame at @cur to @dst, advancing @cur. The caller knows the
 * frame holds that many bytes. */
static inline void
ep_cursor_copy(struct ep_cursor *cur, uint8_t *dst, uint32_t len)
{
	while (len > 0) {
		uint32_t n = cur->seg->len - cur->off;

		if (n == 0) {
			cur->seg++;
			cur->off = 0;
			continue;
		}
		if (n > len)
			n = len;
		memcpy(dst, (const uint8_t *)cur->seg->addr + cur->off, n);
		dst += n;
		len -= n;
		cur->off += n;
	}
}

/* Write a frame into @dst buffers: the virtio header first if configured, then the
 * frame. Returns the bytes written into buffer @i in @used[i]. */
void ep_fill_bufs(const struct shmlink_ep *ep, const struct shmlink_frame *f,
		uint8_t *base, const struct shmlink_buf *bufs, uint32_t nb, uint32_t *used);

#if defined(__x86_64__)
#include <immintrin.h>

/* Whether the CPU has AVX2 (set once when the library is loaded). */
extern bool ep_copy_avx2 __attribute__((visibility("hidden")));

/* ep_copy()'s 64-byte steps as two 32-byte loads and stores. */
__attribute__((target("avx2"))) static inline void
ep_copy_64s_avx2(uint8_t *dst, const uint8_t *src, uint32_t n)
{
	for (; n > 0; n--, dst += 64, src += 64) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(const void *)src);
		__m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(src + 32));

		_mm256_storeu_si256((__m256i *)(void *)dst, a);
		_mm256_storeu_si256((__m256i *)(void *)(dst + 32), b);
	}
}
#endif

/*
 * Copy a frame into shared memory in 64-byte steps of plain vector loads and stores.
 * The destination lines were last read by the peer's CPU, and libc's memcpy (AVX-512 on
 * the benchmark machine) is much slower into such lines: with 16-byte steps a server
 * sending 512-byte frames sent 1.7-2.3 times as many (64 bytes: +15%, 1518 bytes: +7%);
 * a client's copies into its own chunks stayed within 3% either way. 32-byte steps,
 * where the CPU has AVX2, gave 13-20% more again at 1518 bytes and 5-13% at 512 (not
 * used for a single step: at 64 bytes they were 0-6% slower).
 */
static inline void
ep_copy(uint8_t *dst, const uint8_t *src, uint32_t len)
{
#if defined(__x86_64__)
	if (len >= 128 && ep_copy_avx2) {
		uint32_t n = len / 64;

		ep_copy_64s_avx2(dst, src, n);
		dst += n * 64;
		src += n * 64;
		len -= n * 64;
	}
#endif
	while (len >= 64) {
		memcpy(dst, src, 64);
		dst += 64;
		src += 64;
		len -= 64;
	}
	while (len >= 16) {
		memcpy(dst, src, 16);
		dst += 16;
		src += 16;
		len -= 16;
	}
	memcpy(dst, src, len);
}

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

/* Most lines of a buffer to prefetch for writing: a 2048-byte buffer. The CPU's stream
 * prefetcher fetches lines for reading, so every line to be written is asked for:
 * prefetching 4 lines of the next frame's chunk instead of all of them made a client
 * send 1518-byte frames a third slower (512 bytes: 38% slower). */
#define EP_PREFETCH_LINES 32

/* Prefetch for writing the first EP_PREFETCH_LINES lines of a buffer of @len bytes at
 * @p. A shared buffer's lines were last read by the peer's CPU: asking for them a frame
 * ahead hides the wait at the stores of the copy. */
static inline void
ep_prefetch_w(const uint8_t *p, uint32_t len)
{
	const uint8_t *end = p + (len < EP_PREFETCH_LINES * EP_CACHE_LINE ? len :
			EP_PREFETCH_LINES * EP_CACHE_LINE);

	for (; p < end; p += EP_CACHE_LINE)
		shmlink_prefetch_w(p);
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

int client_create(struct shmlink_ep *ep, const struct shmlink_qmap *txq,
		const struct shmlink_qmap *rxq);
void client_destroy(struct shmlink_ep *ep);
unsigned int client_tx_burst(struct shmlink_ep *ep, const struct shmlink_frame *frames,
		unsigned int n);
unsigned int client_rx_burst(struct shmlink_ep *ep, struct shmlink_frame *frames,
		unsigned int max, struct shmlink_seg *segs, unsigned int max_segs);
void client_rx_release(struct shmlink_ep *ep);

int server_create(struct shmlink_ep *ep, const struct shmlink_qmap *txq,
		const struct shmlink_qmap *rxq);
unsigned int server_tx_burst(struct shmlink_ep *ep, const struct shmlink_frame *frames,
		unsigned int n);
unsigned int server_rx_burst(struct shmlink_ep *ep, struct shmlink_frame *frames,
		unsigned int max, struct shmlink_seg *segs, unsigned int max_segs);
void server_rx_release(struct shmlink_ep *ep);

#endif /* SHMLINK_EP_PRIV_H */
