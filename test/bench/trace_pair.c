/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Reads the memory trace of bench_pair under valgrind's lackey (--trace-mem=yes) on
 * stdin and plays it on two simulated CPUs, the sender's and the receiver's, each with
 * its own caches and TLBs, since this VM has no hardware counters to count them. What it
 * counts per phase (bench_mark.h), once counting is on:
 *
 *   instr, loads, stores   as lackey reports them;
 *   l1_miss, l2_miss       32 KiB 8-way L1D and 512 KiB 8-way L2 per CPU, 64-byte lines,
 *                          LRU (an AMD Zen 3 core, which this host reports);
 *   x_miss                 misses on a line the other CPU wrote last: the line crosses
 *                          between the CPUs, the cost that dominates a shared-memory link;
 *   x_inval                writes to a line the other CPU holds (the copy there is
 *                          invalidated, an RFO that crosses too);
 *   tlb1_miss, tlb_walk    64-entry L1 DTLB and 2048-entry L2 TLB per CPU, fully
 *                          associative, LRU, each page by its real size (smaps'
 *                          KernelPageSize: 4 KiB or 2 MiB).
 *
 * A line is shared between the CPUs only if its bytes of a file are mapped shared at
 * least twice (a queue file or memif region mapped by both ports, memif's zero-copy
 * memory); such lines are named by file and offset. Every other line is private to the
 * CPU that touches it, as it would be in two processes. Warm up for longer than the
 * rings and regions take to go round once, or the lines written before the trace
 * began are not known as the other CPU's.
 *
 * usage: trace_pair SMAPS_FILE < trace
 * Prints one line per phase: "phase instr loads stores l1_miss l2_miss x_miss x_inval
 * tlb1_miss tlb_walk".
 */

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_mark.h"

#define TP_LINE_SHIFT	6
#define TP_L1_SETS	64
#define TP_L2_SETS	1024
#define TP_WAYS		8
#define TP_TLB1_ENTRIES	64
#define TP_TLB2_ENTRIES	2048
#define TP_MAX_MAPS	4096
#define TP_SHARED_BIT	(1ull << 63)
#define TP_SIDE_BIT	(1ull << 62)
#define TP_HASH_BITS	23

enum { TP_INSTR, TP_LOADS, TP_STORES, TP_L1, TP_L2, TP_XMISS, TP_XINVAL, TP_TLB1,
	TP_WALK, TP_NB_COUNTERS };

static const char *const tp_phase_name[BENCH_PH_NB] = {
	"off", "tx_app", "tx_drv", "rx_drv", "rx_app"
};

struct tp_map {
	uint64_t start, end, offset, file;	/* file: dev and inode, 0 if none */
	unsigned int page_shift;
	bool shared;			/* a shared mapping of bytes mapped twice or more */
	bool twice;
};

/* A set-associative or fully associative LRU array of keys. */
struct tp_lru {
	uint64_t *key;
	uint64_t *stamp;
	unsigned int sets, ways;
};

struct tp_cpu {
	struct tp_lru l1, l2, tlb1, tlb2;
};

struct tp_state {
	struct tp_map map[TP_MAX_MAPS];
	unsigned int nb_maps;
	const struct tp_map *last;
	struct tp_cpu cpu[2];
	uint64_t clock;
	/* For shared lines: who wrote each last (1 + side, 0: nobody since a read). */
	uint64_t *hkey;
	uint8_t *hwriter;
	unsigned int phase;
	bool counting;
	uint64_t count[BENCH_PH_NB][TP_NB_COUNTERS];
};

static void
tp_lru_init(struct tp_lru *l, unsigned int sets, unsigned int ways)
{
	l->sets = sets;
	l->ways = ways;
	l->key = calloc((size_t)sets * ways, sizeof(*l->key));
	l->stamp = calloc((size_t)sets * ways, sizeof(*l->stamp));
	if (l->key == NULL || l->stamp == NULL) {
		fprintf(stderr, "trace_pair: out of memory\n");
		exit(1);
	}
}

/* Look @k up (keys are stored + 1, 0 is empty); on a miss, insert it in place of the
 * least recently used. True on a hit. */
static bool
tp_lru_touch(struct tp_lru *l, uint64_t k, uint64_t now)
{
	size_t base = (size_t)(k % l->sets) * l->ways;
	unsigned int w, old = 0;

	for (w = 0; w < l->ways; w++) {
		if (l->key[base + w] == k + 1) {
			l->stamp[base + w] = now;
			return true;
		}
		if (l->stamp[base + w] < l->stamp[base + old])
			old = w;
	}
	l->key[base + old] = k + 1;
	l->stamp[base + old] = now;
	return false;
}

static bool
tp_lru_drop(struct tp_lru *l, uint64_t k)
{
	size_t base = (size_t)(k % l->sets) * l->ways;
	unsigned int w;

	for (w = 0; w < l->ways; w++) {
		if (l->key[base + w] == k + 1) {
			l->key[base + w] = 0;
			l->stamp[base + w] = 0;
			return true;
		}
	}
	return false;
}

/* The last writer slot of shared line @k. */
static uint8_t *
tp_writer(struct tp_state *s, uint64_t k)
{
	uint64_t mask = (1ull << TP_HASH_BITS) - 1;
	uint64_t i = (k * 0x9e3779b97f4a7c15ull) >> (64 - TP_HASH_BITS);

	while (s->hkey[i] != 0 && s->hkey[i] != k + 1)
		i = (i + 1) & mask;
	s->hkey[i] = k + 1;
	return &s->hwriter[i];
}

static const struct tp_map *
tp_find(struct tp_state *s, uint64_t a)
{
	unsigned int lo = 0, hi = s->nb_maps;

	if (s->last != NULL && a >= s->last->start && a < s->last->end)
		return s->last;
	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (a < s->map[mid].start)
			hi = mid;
		else if (a >= s->map[mid].end)
			lo = mid + 1;
		else
			return s->last = &s->map[mid];
	}
	return NULL;
}

static void
tp_count(struct tp_state *s, unsigned int c)
{
	if (s->counting)
		s->count[s->phase][c]++;
}

/* One access of CPU @side to the line at @a (a write if @w). */
static void
tp_line(struct tp_state *s, unsigned int side, const struct tp_map *m, uint64_t a, bool w)
{
	struct tp_cpu *me = &s->cpu[side], *other = &s->cpu[!side];
	bool shared = m != NULL && m->shared;
	uint64_t k;
	uint8_t *wr = NULL;

	if (shared) {
		k = TP_SHARED_BIT | m->file << 26 | (a - m->start + m->offset) >> TP_LINE_SHIFT;
		wr = tp_writer(s, k);
	} else {
		k = (side ? TP_SIDE_BIT : 0) | a >> TP_LINE_SHIFT;
	}
	s->clock++;
	if (!tp_lru_touch(&me->l1, k, s->clock)) {
		tp_count(s, TP_L1);
		if (!tp_lru_touch(&me->l2, k, s->clock)) {
			tp_count(s, TP_L2);
			if (wr != NULL && *wr == 2 - side)
				tp_count(s, TP_XMISS);
		}
	}
	if (wr == NULL)
		return;
	if (w) {
		bool held = tp_lru_drop(&other->l1, k);

		held = tp_lru_drop(&other->l2, k) || held;
		if (held)
			tp_count(s, TP_XINVAL);
		*wr = (uint8_t)(1 + side);
	} else if (*wr == 2 - side) {
		*wr = 0;	/* both hold it clean now */
	}
}

static void
tp_page(struct tp_state *s, unsigned int side, const struct tp_map *m, uint64_t a)
{
	unsigned int shift = m != NULL ? m->page_shift : 12;
	uint64_t k = (uint64_t)shift << 56 | a >> shift;

	if (tp_lru_touch(&s->cpu[side].tlb1, k, s->clock))
		return;
	tp_count(s, TP_TLB1);
	if (!tp_lru_touch(&s->cpu[side].tlb2, k, s->clock))
		tp_count(s, TP_WALK);
}

static void
tp_access(struct tp_state *s, uint64_t a, unsigned int size, bool w)
{
	unsigned int side = s->phase == BENCH_PH_TX_APP || s->phase == BENCH_PH_TX_DRV ? 0 : 1;
	const struct tp_map *m = tp_find(s, a);
	uint64_t l;

	tp_count(s, w ? TP_STORES : TP_LOADS);
	tp_page(s, side, m, a);
	for (l = a >> TP_LINE_SHIFT; l <= (a + size - 1) >> TP_LINE_SHIFT; l++)
		tp_line(s, side, m, l << TP_LINE_SHIFT, w);
}

static int
tp_map_cmp(const void *x, const void *y)
{
	const struct tp_map *a = x, *b = y;

	return a->start < b->start ? -1 : a->start > b->start;
}

/* Read the mappings; a file counts as shared when mapped shared twice or more. */
static int
tp_read_smaps(struct tp_state *s, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024], perms[8];
	unsigned int i, j, maj, min, kb;
	uint64_t start, end, off, ino;

	if (f == NULL)
		return -1;
	s->nb_maps = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64,
				&start, &end, perms, &off, &maj, &min, &ino) == 7) {
			if (s->nb_maps == TP_MAX_MAPS)
				break;
			s->map[s->nb_maps++] = (struct tp_map){ .start = start, .end = end, .offset = off,
				.page_shift = 12, .shared = perms[3] == 's' && ino != 0,
				.file = ino != 0 ? ((uint64_t)maj << 28 ^ (uint64_t)min << 20 ^
						ino) & ((1ull << 36) - 1) : 0 };
		} else if (s->nb_maps > 0 && sscanf(line, "KernelPageSize: %u kB", &kb) == 1) {
			s->map[s->nb_maps - 1].page_shift = kb >= 1024 * 1024 ? 30 : kb >= 2048 ? 21 : 12;
		}
	}
	fclose(f);
	/* Shared with the other side: another mapping holds some of the same bytes (one
	 * file can also be mapped piece by piece, as DPDK maps its memory segments). */
	for (i = 0; i < s->nb_maps; i++) {
		const struct tp_map *a = &s->map[i];
		bool twice = false;

		for (j = 0; j < s->nb_maps && a->shared && !twice; j++) {
			const struct tp_map *b = &s->map[j];

			twice = j != i && b->shared && b->file == a->file &&
				b->offset < a->offset + (a->end - a->start) &&
				a->offset < b->offset + (b->end - b->start);
		}
		s->map[i].twice = twice;
	}
	for (i = 0; i < s->nb_maps; i++)
		s->map[i].shared = s->map[i].twice;
	qsort(s->map, s->nb_maps, sizeof(s->map[0]), tp_map_cmp);
	return 0;
}

static void
tp_init(struct tp_state *s)
{
	unsigned int i;

	for (i = 0; i < 2; i++) {
		tp_lru_init(&s->cpu[i].l1, TP_L1_SETS, TP_WAYS);
		tp_lru_init(&s->cpu[i].l2, TP_L2_SETS, TP_WAYS);
		tp_lru_init(&s->cpu[i].tlb1, 1, TP_TLB1_ENTRIES);
		tp_lru_init(&s->cpu[i].tlb2, 1, TP_TLB2_ENTRIES);
	}
	s->hkey = calloc(1ull << TP_HASH_BITS, sizeof(*s->hkey));
	s->hwriter = calloc(1ull << TP_HASH_BITS, 1);
	if (s->hkey == NULL || s->hwriter == NULL) {
		fprintf(stderr, "trace_pair: out of memory\n");
		exit(1);
	}
}

/* A store to the mark page: a phase, or the counting on or off. */
static int
tp_mark(struct tp_state *s, uint64_t a, const char *smaps)
{
	unsigned int m = (unsigned int)((a - BENCH_MARK_ADDR) / 64);

	if (m < BENCH_PH_NB)
		s->phase = s->nb_maps > 0 ? m : BENCH_PH_OFF;
	else if (m == BENCH_MARK_SMAPS && tp_read_smaps(s, smaps) != 0)
		return -1;
	else if (m == BENCH_MARK_COUNT_ON || m == BENCH_MARK_COUNT_OFF)
		s->counting = m == BENCH_MARK_COUNT_ON;
	return 0;
}

static void
tp_print(const struct tp_state *s)
{
	unsigned int p, c;

	for (p = BENCH_PH_TX_APP; p < BENCH_PH_NB; p++) {
		printf("%s", tp_phase_name[p]);
		for (c = 0; c < TP_NB_COUNTERS; c++)
			printf(" %" PRIu64, s->count[p][c]);
		printf("\n");
	}
}

int
main(int argc, char **argv)
{
	static struct tp_state s;
	char line[256];
	uint64_t marks = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: trace_pair SMAPS_FILE < lackey-trace\n");
		return 2;
	}
	tp_init(&s);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		char *end;
		uint64_t a;
		unsigned int size;
		bool w;

		if (line[0] == 'I') {
			if (s.phase != BENCH_PH_OFF)
				tp_count(&s, TP_INSTR);
			continue;
		}
		if (line[0] != ' ' || (line[1] != 'L' && line[1] != 'S' && line[1] != 'M'))
			continue;
		a = strtoull(line + 3, &end, 16);
		size = *end == ',' ? (unsigned int)strtoul(end + 1, NULL, 10) : 1;
		w = line[1] != 'L';
		if (a >= BENCH_MARK_ADDR && a < BENCH_MARK_ADDR + 64u * BENCH_MARK_NB) {
			if (w && tp_mark(&s, a, argv[1]) != 0) {
				fprintf(stderr, "trace_pair: cannot read %s\n", argv[1]);
				return 1;
			}
			marks++;
		} else if (s.phase != BENCH_PH_OFF && size > 0) {
			tp_access(&s, a, size, w);
		}
	}
	if (marks == 0) {
		fprintf(stderr, "trace_pair: no phase marks in the trace\n");
		return 1;
	}
	tp_print(&s);
	return 0;
}
