/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Pipe unit tests: the golden vectors of spec §3.6 compared byte for byte after every
 * step, full rings, wraps, damaged slots, and a randomised run against a model.
 */

#include <stdlib.h>
#include <string.h>

#include "shmlink_pipe.h"
#include "../common/test_common.h"

#define FREE SHMLINK_PIPE_SLOT_FREE
#define GOLDEN_RING 128

/* The ring as it must be: all zero but for the headers set so far. */
struct golden {
	uint64_t ring[GOLDEN_RING / 8] __attribute__((aligned(64)));
	uint64_t want[GOLDEN_RING / 8];
	const char *name;
};

static void
golden_set(struct golden *g, unsigned int off, uint64_t v)
{
	g->want[off / 8] = v;
}

static void
golden_cmp(struct golden *g, const char *step)
{
	unsigned int i;

	for (i = 0; i < GOLDEN_RING / 8; i++)
		CHECK(g->ring[i] == g->want[i], "%s, %s: [%u] = 0x%016" PRIx64
				", want 0x%016" PRIx64, g->name, step, i * 8, g->ring[i],
				g->want[i]);
}

/* Offset of a payload pointer in the golden ring. */
static long
golden_off(struct golden *g, const void *p)
{
	return p == NULL ? -1 : (const uint8_t *)p - (const uint8_t *)g->ring;
}

static void
test_golden_a(void)
{
	struct golden g = { .name = "sequence A" };
	struct shmlink_pipe_tx tx;
	struct shmlink_pipe_rx rx;
	const void *p;
	uint32_t len;

	REQUIRE(shmlink_pipe_tx_init(&tx, g.ring, sizeof(g.ring)) == 0, "tx init");
	REQUIRE(shmlink_pipe_rx_init(&rx, g.ring, sizeof(g.ring)) == 0, "rx init");
	golden_set(&g, 0, FREE);
	golden_cmp(&g, "tx init");

	CHECK(golden_off(&g, shmlink_pipe_tx_push(&tx, 20)) == 8, "push(20) at 0");
	golden_cmp(&g, "push(20) held back");
	shmlink_pipe_tx_flush(&tx);
	golden_set(&g, 32, FREE);
	golden_set(&g, 0, 0x14);
	golden_cmp(&g, "flush 1");

	CHECK(golden_off(&g, shmlink_pipe_tx_push(&tx, 30)) == 40, "push(30) at 32");
	CHECK(golden_off(&g, shmlink_pipe_tx_push(&tx, 10)) == 80, "push(10) at 72");
	golden_set(&g, 72, 0x0a);
	golden_cmp(&g, "push(30), push(10)");
	shmlink_pipe_tx_flush(&tx);
	golden_set(&g, 96, FREE);
	golden_set(&g, 32, 0x1e);
	golden_cmp(&g, "flush 2");

	p = shmlink_pipe_rx_pull(&rx, &len);
	CHECK(golden_off(&g, p) == 8 && len == 20, "pull 20: off %ld len %u",
			golden_off(&g, p), len);
	shmlink_pipe_rx_flush(&rx);
	golden_set(&g, 0, FREE | 0x18);
	golden_cmp(&g, "reader flush 1");

	p = shmlink_pipe_rx_pull(&rx, &len);
	CHECK(golden_off(&g, p) == 40 && len == 30, "pull 30");
	p = shmlink_pipe_rx_pull(&rx, &len);
	CHECK(golden_off(&g, p) == 80 && len == 10, "pull 10");
	CHECK(shmlink_pipe_rx_pull(&rx, &len) == NULL, "nothing more");
	shmlink_pipe_rx_flush(&rx);
	golden_set(&g, 32, FREE | 0x38);
	golden_cmp(&g, "reader flush 2");

	CHECK(golden_off(&g, shmlink_pipe_tx_push(&tx, 30)) == 8, "push(30) wraps to 0");
	golden_set(&g, 96, 0xffffff98);
	golden_cmp(&g, "wrap published at once");
	shmlink_pipe_tx_flush(&tx);
	golden_set(&g, 40, FREE);
	golden_set(&g, 0, 0x1e);
	golden_cmp(&g, "flush 3");

	p = shmlink_pipe_rx_pull(&rx, &len);
	CHECK(golden_off(&g, p) == 8 && len == 30, "pull 30 across the wrap");
	golden_set(&g, 96, FREE | 0xffffff98);
	golden_cmp(&g, "implicit release of the wrap");
	shmlink_pipe_rx_flush(&rx);
	golden_set(&g, 0, FREE | 0x20);
	golden_cmp(&g, "reader flush 3");
	CHECK(!tx.broken && !rx.broken, "nothing broken");
}

static void
test_golden_b(void)
{
	struct golden g = { .name = "sequence B" };
	struct shmlink_pipe_tx tx;
	struct shmlink_pipe_rx rx;
	const void *p;
	uint32_t len;

	REQUIRE(shmlink_pipe_tx_init(&tx, g.ring, sizeof(g.ring)) == 0, "tx init");
	REQUIRE(shmlink_pipe_rx_init(&rx, g.ring, sizeof(g.ring)) == 0, "rx init");
	golden_set(&g, 0, FREE);

	CHECK(shmlink_pipe_tx_push(&tx, 72) != NULL, "push(72)");
	shmlink_pipe_tx_flush(&tx);
	golden_set(&g, 80, FREE);
	golden_set(&g, 0, 0x48);
	golden_cmp(&g, "push(72), flush");
	CHECK(shmlink_pipe_rx_pull(&rx, &len) != NULL && len == 72, "pull 72");
	shmlink_pipe_rx_flush(&rx);
	golden_set(&g, 0, FREE | 0x48);
	golden_cmp(&g, "reader pull, flush");

	CHECK(golden_off(&g, shmlink_pipe_tx_push(&tx, 16)) == 88, "push(16) at 80");
	CHECK(golden_off(&g, shmlink_pipe_tx_push(&tx, 16)) == 8, "push(16) wraps to 0");
	golden_set(&g, 104, 0xffffff90);
	golden_set(&g, 0, 0x10);
	golden_cmp(&g, "wrap written ahead");
	shmlink_pipe_tx_flush(&tx);
	golden_set(&g, 24, FREE);
	golden_set(&g, 80, 0x10);
	golden_cmp(&g, "flush");

	p = shmlink_pipe_rx_pull(&rx, &len);
	CHECK(golden_off(&g, p) == 88 && len == 16, "pull at 80");
	p = shmlink_pipe_rx_pull(&rx, &len);
	CHECK(golden_off(&g, p) == 8 && len == 16, "pull at 0 across the wrap");
	golden_cmp(&g, "no implicit release when tail != head");
	shmlink_pipe_rx_flush(&rx);
	golden_set(&g, 80, FREE | 0xffffffc0);
	golden_cmp(&g, "freed region spans the wrap");
}

/* A ring that has every byte pulled and unreleased stops the reader (spec §3.3-1). */
static void
test_full_ring(void)
{
	uint64_t ring[8] __attribute__((aligned(64))) = { 0 };
	struct shmlink_pipe_tx tx;
	struct shmlink_pipe_rx rx;
	unsigned int pushed = 0, pulled = 0, i;
	uint32_t len;
	uint8_t *p;

	REQUIRE(shmlink_pipe_tx_init(&tx, ring, sizeof(ring)) == 0, "init");
	REQUIRE(shmlink_pipe_rx_init(&rx, ring, sizeof(ring)) == 0, "init");
	/* 64-byte ring, 8-byte payloads in 16-byte slots: 3 fit before the ring end
	 * (a slot may not end exactly at it). */
	while ((p = shmlink_pipe_tx_push(&tx, 8)) != NULL) {
		memset(p, (int)pushed, 8);
		pushed++;
		CHECK((uint64_t)(p + 8 - (uint8_t *)ring) < sizeof(ring), "slot ends at ring end");
	}
	CHECK(pushed == 3, "pushed %u into an empty 64-byte ring", pushed);
	shmlink_pipe_tx_flush(&tx);
	while ((p = (uint8_t *)shmlink_pipe_rx_pull(&rx, &len)) != NULL) {
		CHECK(len == 8 && p[0] == pulled && p[7] == pulled, "slot %u", pulled);
		pulled++;
	}
	CHECK(pulled == pushed, "pulled %u of %u", pulled, pushed);
	/* Not released yet: the writer has no room, whatever it tries. */
	CHECK(shmlink_pipe_tx_push(&tx, 0) == NULL, "push into a ring the reader holds");
	shmlink_pipe_rx_flush(&rx);

	/* Fill exactly to next == head: 24 + 24 bytes of slots after the wrap. */
	for (i = 0; i < 10 && shmlink_pipe_tx_push(&tx, 8) != NULL; i++)
		;
	shmlink_pipe_tx_flush(&tx);
	pulled = 0;
	while (shmlink_pipe_rx_pull(&rx, &len) != NULL)
		pulled++;
	CHECK(pulled == i, "second round: pulled %u of %u", pulled, i);
	CHECK(!rx.broken && !tx.broken, "nothing broken");
}

/* A slot of the maximum payload is accepted, one byte more is not. */
static void
test_max_payload(void)
{
	uint64_t ring[16] __attribute__((aligned(64))) = { 0 };
	struct shmlink_pipe_tx tx;
	struct shmlink_pipe_rx rx;
	uint32_t len;

	REQUIRE(shmlink_pipe_tx_init(&tx, ring, sizeof(ring)) == 0, "init");
	REQUIRE(shmlink_pipe_rx_init(&rx, ring, sizeof(ring)) == 0, "init");
	CHECK(shmlink_pipe_max_payload(128) == 112, "max payload of 128");
	CHECK(shmlink_pipe_tx_push(&tx, 113) == NULL, "113 bytes refused");
	CHECK(shmlink_pipe_tx_push(&tx, 112) != NULL, "112 bytes taken");
	shmlink_pipe_tx_flush(&tx);
	CHECK(shmlink_pipe_rx_pull(&rx, &len) != NULL && len == 112, "pulled 112");
	CHECK(shmlink_pipe_capacity(65536, 32) == 1638, "capacity of a 64 KiB fill pipe");
	CHECK(shmlink_pipe_capacity(65536, 8) == 4095, "capacity of a 64 KiB completion pipe");
	CHECK(shmlink_pipe_tx_init(&tx, ring, 16) != 0, "ring too small refused");
	CHECK(shmlink_pipe_rx_init(&rx, ring, UINT64_C(1) << 32) != 0, "ring too big refused");
}

/* Sizes not a multiple of 8 are floored. */
static void
test_odd_size(void)
{
	uint64_t ring[16] __attribute__((aligned(64))) = { 0 };
	struct shmlink_pipe_tx tx;

	REQUIRE(shmlink_pipe_tx_init(&tx, ring, 127) == 0, "init");
	CHECK(tx.ring_len == 120, "ring_len %" PRIu64, tx.ring_len);
	CHECK(shmlink_pipe_tx_push(&tx, 105) == NULL, "105 > 120 - 16 refused");
	CHECK(shmlink_pipe_tx_push(&tx, 104) != NULL, "104 taken");
}

/* Damaged headers: the reader returns nothing, marks the pipe broken, stays put. */
static void
test_damaged_reader(void)
{
	static const struct {
		const char *what;
		uint64_t hdr;
	} cases[] = {
		{ "wrap landing mid-ring", 200 },
		{ "wrap of physical size (ends at the ring end)", 128 - 8 },
		{ "wrap beyond one revolution", 0xffffffff },
		{ "size with high bits", 0x7fffffff00000100ULL },
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t ring[16] __attribute__((aligned(64))) = { 0 };
		struct shmlink_pipe_rx rx;
		uint32_t len;

		REQUIRE(shmlink_pipe_rx_init(&rx, ring, sizeof(ring)) == 0, "init");
		ring[0] = cases[i].hdr;
		CHECK(shmlink_pipe_rx_pull(&rx, &len) == NULL, "%s: pulled", cases[i].what);
		CHECK(rx.broken, "%s: not marked broken", cases[i].what);
		ring[0] = 8;
		CHECK(shmlink_pipe_rx_pull(&rx, &len) == NULL, "%s: pulled after", cases[i].what);
	}
}

/* A reader that frees a region ending outside the ring breaks the writer, which then
 * refuses to push rather than overrun. */
static void
test_damaged_writer(void)
{
	uint64_t ring[16] __attribute__((aligned(64))) = { 0 };
	struct shmlink_pipe_tx tx;
	unsigned int n = 0;

	REQUIRE(shmlink_pipe_tx_init(&tx, ring, sizeof(ring)) == 0, "init");
	/* The reader "frees" 256 bytes at 0: reclaiming it would pass the ring end. */
	while (shmlink_pipe_tx_push(&tx, 8) != NULL && n < 100) {
		n++;
		shmlink_pipe_tx_flush(&tx);
		ring[0] = FREE | 248;
	}
	CHECK(n < 100, "writer never stopped");
	CHECK(tx.broken, "writer not broken");
	CHECK(shmlink_pipe_tx_push(&tx, 0) == NULL, "push after broken");
}

/* The reader's mark/rewind un-pulls only what came after the mark. */
static void
test_rewind(void)
{
	uint64_t ring[16] __attribute__((aligned(64))) = { 0 };
	struct shmlink_pipe_tx tx;
	struct shmlink_pipe_rx rx;
	uint64_t mark;
	uint32_t len;
	uint8_t *p;
	int i;

	REQUIRE(shmlink_pipe_tx_init(&tx, ring, sizeof(ring)) == 0, "init");
	REQUIRE(shmlink_pipe_rx_init(&rx, ring, sizeof(ring)) == 0, "init");
	for (i = 0; i < 3; i++) {
		p = shmlink_pipe_tx_push(&tx, 1);
		REQUIRE(p != NULL, "push %d", i);
		*p = (uint8_t)i;
	}
	shmlink_pipe_tx_flush(&tx);
	p = (uint8_t *)shmlink_pipe_rx_pull(&rx, &len);
	CHECK(p != NULL && *p == 0, "first");
	mark = shmlink_pipe_rx_mark(&rx);
	p = (uint8_t *)shmlink_pipe_rx_pull(&rx, &len);
	CHECK(p != NULL && *p == 1, "second");
	shmlink_pipe_rx_rewind(&rx, mark);
	p = (uint8_t *)shmlink_pipe_rx_pull(&rx, &len);
	CHECK(p != NULL && *p == 1, "second again after rewind");
	shmlink_pipe_rx_abort(&rx);
	p = (uint8_t *)shmlink_pipe_rx_pull(&rx, &len);
	CHECK(p != NULL && *p == 0, "first again after abort");
}

/*
 * Random operations against a model: every flushed message arrives once, in order, with
 * its bytes; aborted pushes never arrive; aborted pulls arrive again; the reader finds
 * nothing exactly when the model has nothing published; nothing ever breaks.
 */
#define MODEL_MAX 8192

struct model {
	uint64_t seq[MODEL_MAX];	/* published messages, oldest first */
	uint32_t len[MODEL_MAX];
	unsigned int head, n;		/* published ring of the model */
	unsigned int pulled;		/* pulled since the reader's last flush */
	uint64_t pend_seq[MODEL_MAX];	/* pushed, not flushed */
	uint32_t pend_len[MODEL_MAX];
	unsigned int npend;
};

static void
model_run(uint64_t ring_size, unsigned long ops, uint64_t seed)
{
	uint64_t *ring = aligned_alloc(64, (ring_size + 63) & ~(uint64_t)63);
	struct model *m = calloc(1, sizeof(*m));
	struct shmlink_pipe_tx tx;
	struct shmlink_pipe_rx rx;
	uint64_t rng = seed, next_seq = 0, delivered = 0;
	unsigned int fails = 0;
	unsigned long op;
	uint32_t maxp;

	REQUIRE(ring != NULL && m != NULL, "alloc");
	memset(ring, 0, ring_size);
	REQUIRE(shmlink_pipe_tx_init(&tx, ring, ring_size) == 0, "init");
	REQUIRE(shmlink_pipe_rx_init(&rx, ring, ring_size) == 0, "init");
	maxp = shmlink_pipe_max_payload(tx.ring_len);

	for (op = 0; op < ops && fails < 20; op++) {
		uint64_t r = check_rand(&rng);
		unsigned int kind = r % 100;

		if (kind < 40) {		/* push */
			uint32_t len = (r >> 8) % 4 == 0 ? (uint32_t)((r >> 16) % (maxp + 1)) :
					(uint32_t)((r >> 16) % 24);
			uint8_t *p = shmlink_pipe_tx_push(&tx, len);
			uint32_t i;

			if (p == NULL || m->npend == MODEL_MAX)
				continue;
			if ((uint64_t)(p - 8 - (uint8_t *)ring) + shmlink_pipe_slot_bytes(len) >=
					tx.ring_len) {
				CHECK(0, "op %lu: slot ends at or past the ring end", op);
				fails++;
			}
			for (i = 0; i < len; i++)
				p[i] = check_byte(next_seq, i);
			m->pend_seq[m->npend] = next_seq++;
			m->pend_len[m->npend++] = len;
		} else if (kind < 52) {		/* writer flush */
			unsigned int i;

			shmlink_pipe_tx_flush(&tx);
			for (i = 0; i < m->npend; i++) {
				unsigned int at = (m->head + m->n) % MODEL_MAX;

				m->seq[at] = m->pend_seq[i];
				m->len[at] = m->pend_len[i];
				m->n++;
			}
			m->npend = 0;
		} else if (kind < 54) {		/* writer abort */
			shmlink_pipe_tx_abort(&tx);
			m->npend = 0;
		} else if (kind < 90) {		/* pull */
			uint32_t len, i;
			const uint8_t *p = shmlink_pipe_rx_pull(&rx, &len);
			unsigned int at = (m->head + m->pulled) % MODEL_MAX;
			bool have = m->pulled < m->n;

			if (p == NULL) {
				if (have) {
					CHECK(0, "op %lu: nothing pulled, model has seq %" PRIu64,
							op, m->seq[at]);
					fails++;
				}
				continue;
			}
			if (!have) {
				CHECK(0, "op %lu: pulled a message the model lacks", op);
				fails++;
				continue;
			}
			if (len != m->len[at]) {
				CHECK(0, "op %lu: seq %" PRIu64 " len %u want %u", op,
						m->seq[at], len, m->len[at]);
				fails++;
			}
			for (i = 0; i < len && i < m->len[at]; i++) {
				if (p[i] != check_byte(m->seq[at], i)) {
					CHECK(0, "op %lu: seq %" PRIu64 " byte %u", op, m->seq[at], i);
					fails++;
					break;
				}
			}
			m->pulled++;
		} else if (kind < 98) {		/* reader flush */
			shmlink_pipe_rx_flush(&rx);
			m->head = (m->head + m->pulled) % MODEL_MAX;
			m->n -= m->pulled;
			delivered += m->pulled;
			m->pulled = 0;
		} else {			/* reader abort */
			shmlink_pipe_rx_abort(&rx);
			m->pulled = 0;
		}
	}
	CHECK(!tx.broken && !rx.broken, "ring %" PRIu64 ": broken", ring_size);
	/* Liveness: a sizeable share of the operations moved messages. */
	CHECK(delivered > ops / 20, "ring %" PRIu64 ": only %" PRIu64 " delivered in %lu ops",
			ring_size, delivered, ops);
	printf("  model ring %" PRIu64 ": %lu ops, %" PRIu64 " messages delivered\n",
			ring_size, op, delivered);
	free(ring);
	free(m);
}

static void
test_model(void)
{
	model_run(96, 300000, 1);
	model_run(132, 300000, 2);
	model_run(4096, 300000, 3);
	model_run(65536, 300000, 4);
}

int
main(void)
{
	test_golden_a();
	test_golden_b();
	test_full_ring();
	test_max_payload();
	test_odd_size();
	test_damaged_reader();
	test_damaged_writer();
	test_rewind();
	test_model();
	return check_report("test_pipe");
}
