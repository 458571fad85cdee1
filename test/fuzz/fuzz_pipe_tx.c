/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * The pipe writer over a ring the peer frees (and may corrupt): reclaim reads the peer's
 * free headers (spec §3.4, §8.2 "as writer").
 *
 * Input:  u16 ring size selector | u8 program length L | L bytes of program |
 *         the ring's initial contents after init's free word (zero-padded)
 * The program pushes slots of chosen sizes (filled with numbered bytes), flushes,
 * aborts, lets an honest reader (our own pipe reader on the same ring) drain and
 * release, and lets the peer overwrite words and bytes anywhere.
 *
 * Checked: every slot handed out lies inside the ring after an aligned header, and
 * oversize pushes fail; as long as the peer only used the honest reader, every flushed
 * slot is pulled once, in order, with its size and bytes, and nothing is broken.
 */

#include "fuzz_common.h"
#include "shmlink_pipe.h"

#define RING_MAX	4096u
#define MAX_SLOTS	1024u

static struct fz_region ring_reg;

enum {
	OP_PUSH, OP_PUSH2, OP_FLUSH, OP_ABORT, OP_READ, OP_READ_SOME, OP_POKE64, OP_POKE8,
	OP_COUNT,
};

struct slot {
	uint32_t size;
	uint32_t seq;
};

static uint8_t
pattern(uint32_t seq, uint32_t i)
{
	return (uint8_t)(seq * 131u + i * 7u + 1u);
}

/* The honest reader takes up to @max slots and releases them. */
static void
honest_read(struct shmlink_pipe_rx *rx, struct slot *fifo, uint32_t *head, uint32_t flushed,
		bool peer_honest, uint32_t max)
{
	const uint8_t *p;
	uint32_t len, n;

	for (n = 0; n < max && (p = shmlink_pipe_rx_pull(rx, &len)) != NULL; n++) {
		FZ_CHECK(fz_region_holds(&ring_reg, p, len), "reader pulled outside the ring");
		if (!peer_honest)
			continue;
		FZ_CHECK(*head < flushed, "pulled a slot that was never flushed (size %u)", len);
		FZ_CHECK(len == fifo[*head].size, "slot %u: size %u, pushed %u", *head, len,
				fifo[*head].size);
		for (uint32_t i = 0; i < len; i++)
			FZ_CHECK(p[i] == pattern(fifo[*head].seq, i),
					"slot %u byte %u differs", *head, i);
		(*head)++;
	}
	shmlink_pipe_rx_flush(rx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct slot fifo[MAX_SLOTS];
	struct fz_in in = { data, size };
	struct shmlink_pipe_tx tx;
	struct shmlink_pipe_rx rx;
	uint32_t pushed = 0, flushed = 0, read = 0, seq = 0;
	bool honest = true;
	uint64_t file_size, ring_len;
	struct fz_in prog;
	uint8_t *ring;
	int rc;

	if (ring_reg.base == NULL)
		fz_region_init(&ring_reg, RING_MAX);
	file_size = SHMLINK_PIPE_MIN_SIZE + fz_u16(&in) % (RING_MAX + 8 - SHMLINK_PIPE_MIN_SIZE);
	ring_len = file_size & ~(uint64_t)7;
	prog = fz_sub(&in, fz_u8(&in));
	fz_region_limit(&ring_reg, ring_len);
	ring = ring_reg.base;
	fz_bytes(&in, ring, ring_len);

	rc = shmlink_pipe_tx_init(&tx, ring, file_size);
	FZ_CHECK(rc == 0, "tx init: %d", rc);
	FZ_CHECK(fz_le(ring, 8) == SHMLINK_PIPE_SLOT_FREE, "init did not write the free word");
	rc = shmlink_pipe_rx_init(&rx, ring, file_size);
	FZ_CHECK(rc == 0, "rx init: %d", rc);
	/* Any stale bytes after the free word are the peer's doing. */
	for (uint64_t off = 8; off < ring_len && honest; off++)
		honest = ring[off] == 0;

	while (fz_more(&prog)) {
		uint8_t op = fz_u8(&prog) % OP_COUNT;
		uint32_t want;
		uint8_t *p;
		uint64_t off;

		switch (op) {
		case OP_PUSH:
		case OP_PUSH2:
			want = fz_u16(&prog);
			/* Mostly sizes that fit, sometimes the limit and beyond. */
			if (!(want & 0x8000))
				want %= shmlink_pipe_max_payload(ring_len) + 17;
			p = shmlink_pipe_tx_push(&tx, want);
			if (want > shmlink_pipe_max_payload(ring_len))
				FZ_CHECK(p == NULL, "push of %u bytes into a %llu-byte ring", want,
						(unsigned long long)ring_len);
			if (p == NULL)
				break;
			FZ_CHECK(fz_region_holds(&ring_reg, p, want) && (p - ring) >= 8 &&
					(p - ring) % 8 == 0, "slot at %td, %u bytes, ring %llu",
					p - ring, want, (unsigned long long)ring_len);
			for (uint32_t i = 0; i < want; i++)
				p[i] = pattern(seq, i);
			if (pushed < MAX_SLOTS)
				fifo[pushed++] = (struct slot){ want, seq };
			else
				honest = false;
			seq++;
			break;
		case OP_FLUSH:
			shmlink_pipe_tx_flush(&tx);
			flushed = pushed;
			break;
		case OP_ABORT:
			shmlink_pipe_tx_abort(&tx);
			pushed = flushed;
			break;
		case OP_READ:
			honest_read(&rx, fifo, &read, flushed, honest, UINT32_MAX);
			break;
		case OP_READ_SOME:
			honest_read(&rx, fifo, &read, flushed, honest, 1 + fz_u8(&prog) % 4);
			break;
		case OP_POKE64:
			off = (fz_u16(&prog) % ring_len) & ~(uint64_t)7;
			fz_put_le(ring + off, fz_u64(&prog), 8);
			honest = false;
			break;
		case OP_POKE8:
			off = fz_u16(&prog) % ring_len;
			ring[off] = fz_u8(&prog);
			honest = false;
			break;
		}
		if (honest)
			FZ_CHECK(!tx.broken && !rx.broken, "an honest reader broke the pipe "
					"(writer %d, reader %d)", tx.broken, rx.broken);
	}
	/* Whatever was flushed reaches an honest reader. */
	honest_read(&rx, fifo, &read, flushed, honest, UINT32_MAX);
	if (honest)
		FZ_CHECK(read == flushed, "%u slots flushed, %u read", flushed, read);
	return 0;
}
