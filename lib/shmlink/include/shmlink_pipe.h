/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_PIPE_H
#define SHMLINK_PIPE_H

/**
 * @file
 * The pipe: a single-producer/single-consumer ring of variable-size slots in shared
 * memory, byte-compatible with gVisor's sharedmem/pipe package (spec §3).
 *
 * The pipe knows nothing of packets. A writer pushes slots and publishes them with a
 * flush; a reader pulls published slots and releases them with a flush. Each side keeps
 * its indices privately; only slot headers live in the ring.
 *
 * Nothing here allocates, blocks or makes a system call. Neither side is thread-safe:
 * one thread per side.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Slot header bit 63: the region that starts here is free. */
#define SHMLINK_PIPE_SLOT_FREE 0x8000000000000000ULL
/** Slot header bits 0..31: the payload size, or an index-space distance minus 8. */
#define SHMLINK_PIPE_SIZE_MASK 0xffffffffULL
/** Size of a slot header in bytes. */
#define SHMLINK_PIPE_HDR_SIZE 8u
/** The smallest ring (file) size a pipe accepts: one header and one wrap header. */
#define SHMLINK_PIPE_MIN_SIZE 24u

/** Bytes a slot carrying @p payload bytes takes in the ring (header and padding). */
static inline uint64_t
shmlink_pipe_slot_bytes(uint64_t payload)
{
	return (SHMLINK_PIPE_HDR_SIZE + payload + 7) & ~(uint64_t)7;
}

/** The largest payload a ring of @p ring_len bytes can carry. */
static inline uint32_t
shmlink_pipe_max_payload(uint64_t ring_len)
{
	return (uint32_t)(ring_len - 2 * SHMLINK_PIPE_HDR_SIZE);
}

/**
 * gVisor's estimate of how many records of @p rec_size bytes fit in a ring of
 * @p ring_len bytes; wrap waste is not counted.
 */
static inline uint64_t
shmlink_pipe_capacity(uint64_t ring_len, uint32_t rec_size)
{
	return (ring_len - SHMLINK_PIPE_HDR_SIZE) / shmlink_pipe_slot_bytes(rec_size);
}

/** Writer side of a pipe. Treat the fields as private. */
struct shmlink_pipe_tx {
	uint8_t *ring;		/**< start of the mapping */
	uint64_t ring_len;	/**< usable length: file size floored to 8 */
	uint64_t tail;		/**< first pushed, unpublished slot */
	uint64_t next;		/**< where the next slot goes */
	uint64_t head;		/**< reclaim limit: [next, head) is ours */
	uint64_t tail_header;	/**< header of the slot at tail, held back until flush */
	bool broken;		/**< the reader freed regions that cannot be (peer bug) */
};

/** Reader side of a pipe. Treat the fields as private. */
struct shmlink_pipe_rx {
	uint8_t *ring;		/**< start of the mapping */
	uint64_t ring_len;	/**< usable length: file size floored to 8 */
	uint64_t tail;		/**< start of the pulled, unreleased region */
	uint64_t head;		/**< next header to inspect */
	bool broken;		/**< a damaged slot was seen; nothing more is pulled */
};

/**
 * Start writing a ring of @p size bytes at @p ring (8-byte aligned).
 * Writes the "free" marker at offset 0: only ever init a fresh ring, never one in use.
 * @return 0, or -EINVAL if the size is out of range (SHMLINK_PIPE_MIN_SIZE..2^32-1).
 */
int shmlink_pipe_tx_init(struct shmlink_pipe_tx *tx, void *ring, uint64_t size);

/**
 * Reserve a slot of @p size payload bytes.
 * @return where to write the payload (8-byte aligned, inside the ring), or NULL if the
 * ring has no room or @p size exceeds the maximum payload. The slot stays invisible to
 * the reader until shmlink_pipe_tx_flush().
 */
void *shmlink_pipe_tx_push(struct shmlink_pipe_tx *tx, uint32_t size);

/** Publish every slot pushed since the last flush, in push order. */
void shmlink_pipe_tx_flush(struct shmlink_pipe_tx *tx);

/**
 * Bytes of the ring between what @p tx writes next and what the reader last gave back:
 * the occupancy a monitor reports (0 to the ring length).
 */
uint64_t shmlink_pipe_tx_used(const struct shmlink_pipe_tx *tx);

/** Forget every slot pushed since the last flush. */
void shmlink_pipe_tx_abort(struct shmlink_pipe_tx *tx);

/** True if the writer has slots pushed but not yet flushed. */
static inline bool
shmlink_pipe_tx_pending(const struct shmlink_pipe_tx *tx)
{
	return tx->next != tx->tail;
}

/**
 * Start reading a ring of @p size bytes at @p ring. Writes nothing to the ring.
 * @return 0, or -EINVAL if the size is out of range.
 */
int shmlink_pipe_rx_init(struct shmlink_pipe_rx *rx, void *ring, uint64_t size);

/**
 * Take the next published slot.
 * @return its payload and its size in @p len, or NULL if there is none. The payload lies
 * inside the ring; the peer may still write to it, so copy what you check. It remains
 * reserved for us until shmlink_pipe_rx_flush(). A damaged ring returns NULL from now on
 * and sets @c broken.
 */
const void *shmlink_pipe_rx_pull(struct shmlink_pipe_rx *rx, uint32_t *len);

/** Release every slot pulled since the last flush back to the writer. */
void shmlink_pipe_rx_flush(struct shmlink_pipe_rx *rx);

/**
 * Whether the writer has published a slot since the ring was made: its first header is
 * no longer the "free, size 0" marker a ring file starts with (and gVisor's writer
 * writes when it starts). Reads only the shared ring, so any thread may ask.
 */
bool shmlink_pipe_rx_started(const struct shmlink_pipe_rx *rx);

/** Un-pull every slot pulled since the last flush: they will be pulled again. */
void shmlink_pipe_rx_abort(struct shmlink_pipe_rx *rx);

/** A position of the reader, to un-pull back to with shmlink_pipe_rx_rewind(). */
static inline uint64_t
shmlink_pipe_rx_mark(const struct shmlink_pipe_rx *rx)
{
	return rx->head;
}

/**
 * Un-pull the slots pulled since @p mark was taken (and since the last flush).
 * A wrap slot released in between stays released.
 */
static inline void
shmlink_pipe_rx_rewind(struct shmlink_pipe_rx *rx, uint64_t mark)
{
	rx->head = (int64_t)(mark - rx->tail) >= 0 ? mark : rx->tail;
}

#ifdef __cplusplus
}
#endif

#endif /* SHMLINK_PIPE_H */
