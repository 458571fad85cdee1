/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_QUEUE_H
#define SHMLINK_QUEUE_H

/**
 * @file
 * The queue records: the four fixed little-endian formats carried in pipe slots, as
 * gVisor's sharedmem/queue package writes them (spec §4). Encoders push one record into
 * a pipe writer; decoders copy one record out of a pulled slot into host structures, so
 * that nothing is read twice from shared memory. Decoders check only the record's own
 * layout; what the fields mean is the endpoint's business.
 *
 *   TX queue, TxPipe (client -> server): TX descriptor   16 + 12 n bytes
 *   TX queue, RxPipe (server -> client): TX completion   8 bytes
 *   RX queue, TxPipe (client -> server): posted buffer   32 bytes
 *   RX queue, RxPipe (server -> client): RX completion   8 + 28 n bytes
 */

#include <stdint.h>

#include "shmlink_pipe.h"

#ifdef __cplusplus
extern "C" {
#endif

/** TX descriptor: u64 id @@0, u32 total length @@8, u32 reserved (0) @@12, then n buffers. */
#define SHMLINK_TXD_HDR_SIZE	16u
/** TX descriptor buffer: u64 offset in TX data @@0, u32 size @@8. */
#define SHMLINK_TXD_BUF_SIZE	12u
/** TX completion: u64 id @@0. */
#define SHMLINK_TXC_SIZE	8u
/** Posted buffer: u64 offset @@0, u32 size @@8, u32 "remaining in group" (0) @@12,
 * u64 userdata @@16, u64 id @@24. */
#define SHMLINK_RXP_SIZE	32u
/** RX completion: u32 total length @@0, u32 reserved (0) @@4, then n buffers. */
#define SHMLINK_RXC_HDR_SIZE	8u
/** RX completion buffer: u64 offset @@0, u32 bytes used @@8, u64 userdata @@12, u64 id @@20. */
#define SHMLINK_RXC_BUF_SIZE	28u

/** One buffer named by a record. Fields a format lacks are 0. */
struct shmlink_buf {
	uint64_t offset;	/**< byte offset in the queue's data region */
	uint32_t size;		/**< posted size, or bytes used */
	uint64_t userdata;	/**< opaque, echoed by a server (posted buffers, RX completions) */
	uint64_t id;		/**< opaque, echoed by a server (posted buffers, RX completions) */
};

/** Payload length of a TX descriptor naming @p n buffers. */
static inline uint64_t
shmlink_txd_len(uint32_t n)
{
	return SHMLINK_TXD_HDR_SIZE + (uint64_t)SHMLINK_TXD_BUF_SIZE * n;
}

/** Payload length of an RX completion naming @p n buffers. */
static inline uint64_t
shmlink_rxc_len(uint32_t n)
{
	return SHMLINK_RXC_HDR_SIZE + (uint64_t)SHMLINK_RXC_BUF_SIZE * n;
}

/**
 * Push a TX descriptor (offset and size of each buffer are used).
 * @return 0, or -ENOSPC if the pipe has no room (nothing is pushed).
 */
int shmlink_txd_push(struct shmlink_pipe_tx *p, uint64_t id, uint32_t total,
		const struct shmlink_buf *bufs, uint32_t n);

/**
 * Decode a TX descriptor of @p len bytes at @p rec: its id and total length, and up to
 * @p max buffers into @p bufs (offset and size).
 * @return the number of buffers the record names, which may exceed @p max (only @p max
 * are decoded), or -EINVAL if the record is shorter than its header; @p id is decoded
 * all the same if the record holds at least its 8 bytes.
 */
int64_t shmlink_txd_decode(const void *rec, uint32_t len, uint64_t *id, uint32_t *total,
		struct shmlink_buf *bufs, uint32_t max);

/** Push a TX completion. @return 0 or -ENOSPC. */
int shmlink_txc_push(struct shmlink_pipe_tx *p, uint64_t id);

/** Decode a TX completion. @return 0, or -EINVAL if @p len is not exactly 8. */
int shmlink_txc_decode(const void *rec, uint32_t len, uint64_t *id);

/** Push a posted buffer (offset, size, userdata, id). @return 0 or -ENOSPC. */
int shmlink_rxp_push(struct shmlink_pipe_tx *p, const struct shmlink_buf *buf);

/** Decode a posted buffer. @return 0, or -EINVAL if the record is shorter than 32 bytes. */
int shmlink_rxp_decode(const void *rec, uint32_t len, struct shmlink_buf *buf);

/**
 * Push an RX completion for a frame of @p total bytes spread over @p n buffers (offset,
 * size = bytes used, userdata, id). @return 0 or -ENOSPC.
 */
int shmlink_rxc_push(struct shmlink_pipe_tx *p, uint32_t total,
		const struct shmlink_buf *bufs, uint32_t n);

/**
 * Decode an RX completion: its total length and up to @p max buffers.
 * @return the number of buffers the record names (may exceed @p max), or -EINVAL if it is
 * shorter than its header.
 */
int64_t shmlink_rxc_decode(const void *rec, uint32_t len, uint32_t *total,
		struct shmlink_buf *bufs, uint32_t max);

#ifdef __cplusplus
}
#endif

#endif /* SHMLINK_QUEUE_H */
