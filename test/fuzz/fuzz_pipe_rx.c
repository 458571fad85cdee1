/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * The pipe reader over a ring whose every byte the peer chose (spec §3.3, §8.2).
 *
 * Input:  u16 ring size selector | u8 program length L | L bytes of program |
 *         the ring's initial contents (zero-padded to the ring length)
 * The program runs pulls, flushes, aborts, marks and rewinds, and lets the "peer"
 * overwrite words and bytes between them (it writes the ring while we read it).
 *
 * Checked after every step:
 *   - a pulled payload lies inside the ring, after an 8-byte aligned header;
 *   - the reader writes nothing but 8-aligned headers with the free bit set;
 *   - it never holds more than one revolution unreleased (0 <= head - tail <= 2^32);
 *   - once broken, it stays broken and pulls nothing;
 *   - a drain ends (returns nothing) within ring_len / 8 pulls.
 * The ring sits at the start of a guarded region: any access past its length faults or
 * is reported by ASan.
 */

#include "fuzz_common.h"
#include "shmlink_pipe.h"

#define RING_MAX	4096u
#define JUMP		(UINT64_C(1) << 32)

static struct fz_region ring_reg;
static uint8_t shadow[RING_MAX];

enum {
	OP_PULL, OP_PULL2, OP_PULL3, OP_FLUSH, OP_ABORT, OP_MARK, OP_REWIND, OP_POKE64,
	OP_POKE8, OP_DRAIN, OP_COUNT,
};

/* The reader changed only free headers at 8-aligned offsets. */
static void
check_writes(const uint8_t *ring, uint64_t ring_len)
{
	uint64_t off;

	if (memcmp(ring, shadow, ring_len) == 0)
		return;
	for (off = 0; off < ring_len; off += 8) {
		uint64_t now = fz_le(ring + off, 8);

		if (now == fz_le(shadow + off, 8))
			continue;
		FZ_CHECK(now & SHMLINK_PIPE_SLOT_FREE, "reader wrote 0x%016llx at %llu, "
				"which is not a free header", (unsigned long long)now,
				(unsigned long long)off);
	}
}

static void
check_state(const struct shmlink_pipe_rx *rx)
{
	uint64_t held = rx->head - rx->tail;

	FZ_CHECK((int64_t)held >= 0 && held <= JUMP, "head - tail = 0x%llx",
			(unsigned long long)held);
}

static const void *
pull(struct shmlink_pipe_rx *rx, uint32_t *len)
{
	bool was_broken = rx->broken;
	const void *p = shmlink_pipe_rx_pull(rx, len);
	const uint8_t *b = p;

	if (was_broken)
		FZ_CHECK(p == NULL && rx->broken, "a broken reader pulled a slot");
	if (p == NULL)
		return NULL;
	FZ_CHECK(fz_region_holds(&ring_reg, b, *len), "payload at %td, %u bytes, ring %llu",
			b - ring_reg.base, *len, (unsigned long long)rx->ring_len);
	FZ_CHECK(b - ring_reg.base >= 8 && (b - ring_reg.base) % 8 == 0,
			"payload at offset %td", b - ring_reg.base);
	fz_touch(p, *len);
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	struct shmlink_pipe_rx rx;
	struct fz_in prog;
	uint64_t file_size, ring_len, mark;
	uint8_t *ring;
	uint32_t len;
	int rc;

	if (ring_reg.base == NULL)
		fz_region_init(&ring_reg, RING_MAX);
	file_size = SHMLINK_PIPE_MIN_SIZE + fz_u16(&in) % (RING_MAX + 8 - SHMLINK_PIPE_MIN_SIZE);
	ring_len = file_size & ~(uint64_t)7;
	prog = fz_sub(&in, fz_u8(&in));
	/* Only ring_len bytes are usable: the reader must never look at the rest. */
	fz_region_limit(&ring_reg, ring_len);
	ring = ring_reg.base;
	fz_bytes(&in, ring, ring_len);

	rc = shmlink_pipe_rx_init(&rx, ring, file_size);
	FZ_CHECK(rc == 0, "init of a %llu-byte ring: %d", (unsigned long long)file_size, rc);
	FZ_CHECK(rx.ring_len == ring_len, "ring_len %llu", (unsigned long long)rx.ring_len);
	mark = shmlink_pipe_rx_mark(&rx);
	/* An empty program: drain twice, flushing in between. */
	if (!fz_more(&prog)) {
		static const uint8_t drain2[] = { OP_DRAIN, OP_DRAIN };

		prog.p = drain2;
		prog.n = sizeof(drain2);
	}
	while (fz_more(&prog)) {
		uint8_t op = fz_u8(&prog) % OP_COUNT;
		uint64_t off, k;

		memcpy(shadow, ring, ring_len);
		switch (op) {
		case OP_PULL:
		case OP_PULL2:
		case OP_PULL3:
			pull(&rx, &len);
			break;
		case OP_FLUSH:
			shmlink_pipe_rx_flush(&rx);
			break;
		case OP_ABORT:
			shmlink_pipe_rx_abort(&rx);
			break;
		case OP_MARK:
			mark = shmlink_pipe_rx_mark(&rx);
			break;
		case OP_REWIND:
			shmlink_pipe_rx_rewind(&rx, mark);
			break;
		case OP_POKE64:
			off = (fz_u16(&prog) % ring_len) & ~(uint64_t)7;
			fz_put_le(ring + off, fz_u64(&prog), 8);
			memcpy(shadow, ring, ring_len);
			break;
		case OP_POKE8:
			off = fz_u16(&prog) % ring_len;
			ring[off] = fz_u8(&prog);
			memcpy(shadow, ring, ring_len);
			break;
		case OP_DRAIN:
			for (k = 0; pull(&rx, &len) != NULL; k++)
				FZ_CHECK(k < ring_len / 8, "more than %llu pulls without a flush",
						(unsigned long long)(ring_len / 8));
			shmlink_pipe_rx_flush(&rx);
			break;
		}
		check_writes(ring, ring_len);
		check_state(&rx);
	}
	return 0;
}
