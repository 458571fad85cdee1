/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Ring indices are private 64-bit values: the low 32 bits are the byte offset in the
 * ring, the high 32 bits count revolutions. Moving past the ring end jumps to offset 0
 * of the next revolution, so the bytes [ring_len, 2^32) of each revolution are never
 * used, and the size fields of wrap and free headers are index-space distances (spec
 * §3.1, §3.2). Indices start two revolutions before 64-bit wrap-around, as gVisor's do,
 * so that the wrap-around is exercised early.
 */

#include <errno.h>

#include "shmlink_pipe_inline.h"

#define PIPE_START	(UINT64_C(0xfffffffe) << 32)

/* A correct writer never puts two wrap slots in a row; one pull crosses at most one. */
#define PIPE_MAX_WRAPS_PER_PULL 2

static int
pipe_ring_len(uint64_t size, uint64_t *ring_len)
{
	if (size < SHMLINK_PIPE_MIN_SIZE || size >= PIPE_JUMP)
		return -EINVAL;
	*ring_len = size & ~(uint64_t)7;
	return 0;
}

int
shmlink_pipe_tx_init(struct shmlink_pipe_tx *tx, void *ring, uint64_t size)
{
	uint64_t ring_len;

	if (ring == NULL || pipe_ring_len(size, &ring_len) != 0)
		return -EINVAL;
	tx->ring = ring;
	tx->ring_len = ring_len;
	tx->tail = PIPE_START;
	tx->next = PIPE_START;
	tx->head = PIPE_START + PIPE_JUMP;
	tx->tail_header = 0;
	tx->broken = false;
	pipe_store_plain(tx->ring, tx->tail, SHMLINK_PIPE_SLOT_FREE);
	return 0;
}

/*
 * Take the regions the reader freed until [next, limit) is ours.
 * Returns false if the reader has not freed enough yet, or if a freed region makes no
 * sense (it would pass our own unpublished data or end outside the ring), in which case
 * the pipe is marked broken.
 */
static bool
pipe_tx_reclaim(struct shmlink_pipe_tx *tx, uint64_t limit)
{
	while ((int64_t)(limit - tx->head) > 0) {
		uint64_t hdr, nh;

		/* The whole ring is ours: the header there is our own held-back tail, not
		 * the reader's. gVisor reads it and fails the bound check below; that is
		 * a full ring, not a damaged one. */
		if (tx->head == tx->tail + PIPE_JUMP)
			return false;
		hdr = pipe_load_acquire(tx->ring, tx->head);
		if ((hdr & SHMLINK_PIPE_SLOT_FREE) == 0)
			return false;
		nh = tx->head + shmlink_pipe_slot_bytes(hdr & SHMLINK_PIPE_SIZE_MASK);
		if ((int64_t)(nh - tx->tail) > (int64_t)PIPE_JUMP ||
				(nh & PIPE_OFF_MASK) >= tx->ring_len) {
			tx->broken = true;
			return false;
		}
		tx->head = nh;
	}
	return true;
}

void *
shmlink_pipe_tx_push(struct shmlink_pipe_tx *tx, uint32_t size)
{
	uint64_t slot = shmlink_pipe_slot_bytes(size);
	int attempt;

	if (size > shmlink_pipe_max_payload(tx->ring_len) || tx->broken)
		return NULL;

	/* At most one wrap slot is needed before the slot fits. */
	for (attempt = 0; attempt < 2; attempt++) {
		bool ahead = tx->next != tx->tail;
		uint64_t end = tx->next + slot;
		uint64_t wrap_at = (tx->next & PIPE_REV_MASK) | tx->ring_len;
		uint64_t at = tx->next;

		if ((int64_t)(end - wrap_at) < 0) {
			if (!pipe_tx_reclaim(tx, end))
				return NULL;
			if (ahead)
				pipe_store_plain(tx->ring, at, size);
			else
				tx->tail_header = size;
			tx->next = end;
			return tx->ring + (at & PIPE_OFF_MASK) + SHMLINK_PIPE_HDR_SIZE;
		}

		/*
		 * A slot reaching the ring end (even exactly) goes to offset 0 of the next
		 * revolution; a wrap slot whose size is the index-space distance fills the gap.
		 */
		end = (end & PIPE_REV_MASK) + PIPE_JUMP;
		if (!pipe_tx_reclaim(tx, end))
			return NULL;
		tx->next = end;
		if (ahead) {
			pipe_store_plain(tx->ring, at, end - at - SHMLINK_PIPE_HDR_SIZE);
		} else {
			tx->tail_header = end - at - SHMLINK_PIPE_HDR_SIZE;
			shmlink_pipe_tx_flush(tx);
		}
	}
	return NULL;
}

void
shmlink_pipe_tx_flush(struct shmlink_pipe_tx *tx)
{
	pipe_tx_flush(tx);
}

void
shmlink_pipe_tx_abort(struct shmlink_pipe_tx *tx)
{
	tx->next = tx->tail;
}

int
shmlink_pipe_rx_init(struct shmlink_pipe_rx *rx, void *ring, uint64_t size)
{
	uint64_t ring_len;

	if (ring == NULL || pipe_ring_len(size, &ring_len) != 0)
		return -EINVAL;
	rx->ring = ring;
	rx->ring_len = ring_len;
	rx->tail = PIPE_START;
	rx->head = PIPE_START;
	rx->broken = false;
	return 0;
}

const void *
shmlink_pipe_rx_pull(struct shmlink_pipe_rx *rx, uint32_t *len)
{
	int wraps;

	if (rx->broken)
		return NULL;
	for (wraps = 0; wraps <= PIPE_MAX_WRAPS_PER_PULL; wraps++) {
		uint64_t head = rx->head;
		uint64_t limit = rx->tail + PIPE_JUMP;
		uint64_t hdr, size, new_head, head_wrap;

		/* A whole revolution pulled and not released: the ring is exactly full. */
		if (head == limit)
			return NULL;
		hdr = pipe_load_acquire(rx->ring, head);
		if (hdr & SHMLINK_PIPE_SLOT_FREE)
			return NULL;
		size = hdr & SHMLINK_PIPE_SIZE_MASK;
		new_head = head + shmlink_pipe_slot_bytes(size);
		head_wrap = (head & PIPE_REV_MASK) | rx->ring_len;

		if ((int64_t)(new_head - head_wrap) < 0) {
			/* A data slot, inside the ring; a correct writer never lets it pass
			 * the region we have not released. */
			if ((int64_t)(new_head - limit) > 0)
				break;
			rx->head = new_head;
			*len = (uint32_t)size;
			return rx->ring + (head & PIPE_OFF_MASK) + SHMLINK_PIPE_HDR_SIZE;
		}

		/* A wrap slot: it must end on offset 0 of the next revolution, within reach. */
		if ((int64_t)(new_head - limit) > 0 || (new_head & PIPE_OFF_MASK) != 0)
			break;
		if (rx->tail == head) {
			pipe_store_release(rx->ring, head, SHMLINK_PIPE_SLOT_FREE |
					(new_head - head - SHMLINK_PIPE_HDR_SIZE));
			rx->tail = new_head;
		}
		rx->head = new_head;
	}
	rx->broken = true;
	return NULL;
}

bool
shmlink_pipe_rx_started(const struct shmlink_pipe_rx *rx)
{
	return pipe_load_acquire(rx->ring, 0) != SHMLINK_PIPE_SLOT_FREE;
}

void
shmlink_pipe_rx_flush(struct shmlink_pipe_rx *rx)
{
	pipe_rx_flush(rx);
}

void
shmlink_pipe_rx_abort(struct shmlink_pipe_rx *rx)
{
	rx->head = rx->tail;
}

uint64_t
shmlink_pipe_tx_used(const struct shmlink_pipe_tx *t)
{
	uint64_t free_ahead = t->head - t->next;	/* reclaimed, not yet written */

	/* Across a revolution, the index space skips the bytes [ring_len, 2^32). */
	if ((t->head >> 32) != (t->next >> 32))
		free_ahead -= (UINT64_C(1) << 32) - t->ring_len;
	return free_ahead >= t->ring_len ? 0 : t->ring_len - free_ahead;
}
