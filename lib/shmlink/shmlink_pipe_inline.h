/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_PIPE_INLINE_H
#define SHMLINK_PIPE_INLINE_H

/*
 * The pipe's per-slot fast paths, inline for the endpoint code (private to the library,
 * not installed). Each handles the common case (a slot inside the current revolution,
 * with room already reclaimed) and leaves everything else (wraps, reclaiming, damage)
 * to the full functions in shmlink_pipe.c, which check all of it again. Same results
 * as those functions, same bytes in the ring.
 */

#include "shmlink_pipe.h"
#include "shmlink_prefetch.h"

#define PIPE_JUMP	(UINT64_C(1) << 32)
#define PIPE_OFF_MASK	UINT64_C(0xffffffff)
#define PIPE_REV_MASK	(~PIPE_OFF_MASK)

static inline uint64_t *
pipe_hdr(uint8_t *ring, uint64_t idx)
{
	return (uint64_t *)(void *)(ring + (idx & PIPE_OFF_MASK));
}

/* Headers are 8-byte aligned (offsets are multiples of 8 in a page-aligned mapping). */
static inline uint64_t
pipe_load_acquire(uint8_t *ring, uint64_t idx)
{
	return __atomic_load_n(pipe_hdr(ring, idx), __ATOMIC_ACQUIRE);
}

static inline void
pipe_store_release(uint8_t *ring, uint64_t idx, uint64_t v)
{
	__atomic_store_n(pipe_hdr(ring, idx), v, __ATOMIC_RELEASE);
}

/* A plain store in gVisor: ordered for the reader by the release store that follows. */
static inline void
pipe_store_plain(uint8_t *ring, uint64_t idx, uint64_t v)
{
	__atomic_store_n(pipe_hdr(ring, idx), v, __ATOMIC_RELAXED);
}

/* As shmlink_pipe_tx_push(). */
static inline void *
pipe_tx_push(struct shmlink_pipe_tx *tx, uint32_t size)
{
	uint64_t at = tx->next;
	uint64_t end = at + shmlink_pipe_slot_bytes(size);

	/* Inside this revolution, short of the ring end, and already ours: no wrap and
	 * no reclaim. (A broken pipe never gets here: its head stopped short.) */
	if (__builtin_expect((int64_t)(end - ((at & PIPE_REV_MASK) | tx->ring_len)) < 0 &&
			(int64_t)(end - tx->head) <= 0 && !tx->broken, 1)) {
		if (at != tx->tail)
			pipe_store_plain(tx->ring, at, size);
		else
			tx->tail_header = size;
		tx->next = end;
		return tx->ring + (at & PIPE_OFF_MASK) + SHMLINK_PIPE_HDR_SIZE;
	}
	return shmlink_pipe_tx_push(tx, size);
}

/* As shmlink_pipe_tx_flush(). */
static inline void
pipe_tx_flush(struct shmlink_pipe_tx *tx)
{
	if (tx->next == tx->tail)
		return;
	/* Stop the reader at next, unless the ring is exactly full (next is the oldest
	 * unreleased slot of the reader then). */
	if (tx->next != tx->head)
		pipe_store_plain(tx->ring, tx->next, SHMLINK_PIPE_SLOT_FREE);
	pipe_store_release(tx->ring, tx->tail, tx->tail_header);
	tx->tail = tx->next;
}

/* As shmlink_pipe_rx_pull(). The header is read once. */
static inline const void *
pipe_rx_pull(struct shmlink_pipe_rx *rx, uint32_t *len)
{
	uint64_t head = rx->head;
	uint64_t hdr, new_head;

	/* An empty ring, the common case of a poll, costs one load (and the broken flag,
	 * which the full function checks first: a broken ring may show anything). */
	if (head == rx->tail + PIPE_JUMP || rx->broken)
		return NULL;
	hdr = pipe_load_acquire(rx->ring, head);
	if (hdr & SHMLINK_PIPE_SLOT_FREE)
		return NULL;
	new_head = head + shmlink_pipe_slot_bytes(hdr & SHMLINK_PIPE_SIZE_MASK);
	/* A data slot inside the ring and within the unreleased region; anything else
	 * (a wrap slot, damage) goes the full way, which reads the header again: a peer
	 * changing it in between gets what either value deserves. */
	if (__builtin_expect((int64_t)(new_head - ((head & PIPE_REV_MASK) | rx->ring_len)) < 0 &&
			(int64_t)(new_head - (rx->tail + PIPE_JUMP)) <= 0, 1)) {
		rx->head = new_head;
		*len = (uint32_t)(hdr & SHMLINK_PIPE_SIZE_MASK);
		return rx->ring + (head & PIPE_OFF_MASK) + SHMLINK_PIPE_HDR_SIZE;
	}
	return shmlink_pipe_rx_pull(rx, len);
}

/* Whether pipe_rx_pull() would find nothing: the same two tests as its empty case (the
 * broken flag is the caller's). */
static inline bool
pipe_rx_empty(const struct shmlink_pipe_rx *rx)
{
	return rx->head == rx->tail + PIPE_JUMP ||
		(pipe_load_acquire(rx->ring, rx->head) & SHMLINK_PIPE_SLOT_FREE) != 0;
}

/* As shmlink_pipe_rx_flush(). */
static inline void
pipe_rx_flush(struct shmlink_pipe_rx *rx)
{
	if (rx->head == rx->tail)
		return;
	pipe_store_release(rx->ring, rx->tail, SHMLINK_PIPE_SLOT_FREE |
			(rx->head - rx->tail - SHMLINK_PIPE_HDR_SIZE));
	rx->tail = rx->head;
}

/*
 * Prefetch the ring's next @bytes from @idx on, wrapping inside the ring. A reader pulls
 * slot after slot, each header naming where the next one starts, so without this every
 * line the peer wrote costs the reader a full cross-core miss, one after the other.
 */
static inline void
pipe_prefetch(uint8_t *ring, uint64_t ring_len, uint64_t idx, uint64_t bytes, int rw)
{
	uint64_t off = (idx & PIPE_OFF_MASK) & ~UINT64_C(63);
	uint64_t end = (idx & PIPE_OFF_MASK) + (bytes < ring_len ? bytes : ring_len);

	for (; off < end; off += 64) {
		uint64_t at = off < ring_len ? off : off - ring_len;

		if (rw)
			shmlink_prefetch_w(ring + at);
		else
			shmlink_prefetch_r(ring + at);
	}
}

static inline void
pipe_rx_prefetch(const struct shmlink_pipe_rx *rx, uint64_t bytes)
{
	pipe_prefetch(rx->ring, rx->ring_len, rx->head, bytes, 0);
}

static inline void
pipe_tx_prefetch(const struct shmlink_pipe_tx *tx, uint64_t bytes)
{
	pipe_prefetch(tx->ring, tx->ring_len, tx->next, bytes, 1);
}

#endif /* SHMLINK_PIPE_INLINE_H */
