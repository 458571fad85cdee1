/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * The twins: every fast path inlined into the hot loops (pipe_tx_push, pipe_tx_flush,
 * pipe_rx_pull, pipe_rx_flush, ep_fill, ep_frame) against the full function it stands
 * in for, on the same random inputs. Two rings (or two buffer sets) start equal; one
 * goes the fast way, the other the full way; after every step their bytes, the sides'
 * states and what each call returned must be equal.
 */

#include <stdlib.h>
#include <string.h>

#include "../common/test_common.h"
#include "shmlink.h"
#include "shmlink_testing.h"

#define RING_MAX 8192u
#define STEPS 200000u

struct twin_pipe {
	uint64_t mem[RING_MAX / 8];
	struct shmlink_pipe_tx tx;
	struct shmlink_pipe_rx rx;
};

/* The two sides' states, with pointers made relative to their own ring. */
static void
twin_pipe_same(const struct twin_pipe *a, const struct twin_pipe *b, uint64_t step)
{
	CHECK(memcmp(a->mem, b->mem, sizeof(a->mem)) == 0, "ring bytes differ at step %"
			PRIu64, step);
	CHECK(a->tx.tail == b->tx.tail && a->tx.next == b->tx.next &&
			a->tx.head == b->tx.head && a->tx.tail_header == b->tx.tail_header &&
			a->tx.broken == b->tx.broken, "writers differ at step %" PRIu64, step);
	CHECK(a->rx.tail == b->rx.tail && a->rx.head == b->rx.head &&
			a->rx.broken == b->rx.broken, "readers differ at step %" PRIu64, step);
}

static ptrdiff_t
twin_off(const struct twin_pipe *p, const void *at)
{
	return at == NULL ? -1 : (const uint8_t *)at - (const uint8_t *)p->mem;
}

/* One random step on both pipes; returns false once they differ. */
static bool
twin_pipe_step(struct twin_pipe *t, uint64_t *seed, uint64_t step)
{
	uint64_t r = check_rand(seed);
	unsigned int failed = check_failures;
	uint32_t la = 0, lb = 0;
	int i;

	switch (r % 8) {
	case 0:
	case 1:
	case 2: {	/* push: small slots mostly, sometimes up to most of the ring */
		uint32_t size = r >> 8 & 1 ? (uint32_t)(r >> 16) % 120 :
				(uint32_t)(r >> 16) % (uint32_t)t[0].tx.ring_len;
		void *pa = shmlink_testing_pipe_tx_push(&t[0].tx, size, true);
		void *pb = shmlink_testing_pipe_tx_push(&t[1].tx, size, false);

		CHECK(twin_off(&t[0], pa) == twin_off(&t[1], pb), "push %u: %td vs %td", size,
				twin_off(&t[0], pa), twin_off(&t[1], pb));
		for (i = 0; pa != NULL && pb != NULL && i < 2; i++)
			memset(i == 0 ? pa : pb, (int)step, size);
		break;
	}
	case 3:
		shmlink_testing_pipe_tx_flush(&t[0].tx, true);
		shmlink_testing_pipe_tx_flush(&t[1].tx, false);
		break;
	case 4:
	case 5: {
		const void *pa = shmlink_testing_pipe_rx_pull(&t[0].rx, &la, true);
		const void *pb = shmlink_testing_pipe_rx_pull(&t[1].rx, &lb, false);

		CHECK(twin_off(&t[0], pa) == twin_off(&t[1], pb) && (pa == NULL || la == lb),
				"pull: %td (%u bytes) vs %td (%u bytes)", twin_off(&t[0], pa), la,
				twin_off(&t[1], pb), lb);
		break;
	}
	default:
		shmlink_testing_pipe_rx_flush(&t[0].rx, true);
		shmlink_testing_pipe_rx_flush(&t[1].rx, false);
		break;
	}
	twin_pipe_same(&t[0], &t[1], step);
	return check_failures == failed;
}

static void
test_pipe_twins(void)
{
	static struct twin_pipe t[2];
	static const uint32_t sizes[] = { 64, 96, 200, 1024, 4104, RING_MAX };
	uint64_t seed = 1;
	unsigned int k;

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		uint64_t step;

		memset(t, 0, sizeof(t));
		REQUIRE(shmlink_pipe_tx_init(&t[0].tx, t[0].mem, sizes[k]) == 0 &&
				shmlink_pipe_rx_init(&t[0].rx, t[0].mem, sizes[k]) == 0 &&
				shmlink_pipe_tx_init(&t[1].tx, t[1].mem, sizes[k]) == 0 &&
				shmlink_pipe_rx_init(&t[1].rx, t[1].mem, sizes[k]) == 0,
				"init %u", sizes[k]);
		for (step = 0; step < STEPS; step++)
			if (!twin_pipe_step(t, &seed, step))
				return;
	}
}

/* ---- frames: ep_fill and ep_frame, on endpoints of every framing ---- */

#define FRAME_MAX 9100u
#define BUF_SIZE 2048u
#define NB_BUFS 8u

static uint8_t pattern[FRAME_MAX];

struct twin_link {
	int txf[SHMLINK_QFD_COUNT], rxf[SHMLINK_QFD_COUNT];
	struct shmlink_qmap tq[2], rq[2];
	struct shmlink_ep *ep[2];	/* [0] client, [1] server */
};

static int
twin_link_open(struct twin_link *l, const struct shmlink_ep_conf *conf)
{
	memset(l, 0, sizeof(*l));
	if (shmlink_qfile_create(NULL, l->txf) != 0 || shmlink_qfile_create(NULL, l->rxf) != 0 ||
			shmlink_qmap_map(&l->tq[0], l->txf, BUF_SIZE, NULL) != 0 ||
			shmlink_qmap_map(&l->rq[0], l->rxf, BUF_SIZE, NULL) != 0 ||
			shmlink_qmap_map(&l->tq[1], l->txf, BUF_SIZE, NULL) != 0 ||
			shmlink_qmap_map(&l->rq[1], l->rxf, BUF_SIZE, NULL) != 0)
		return -1;
	l->ep[0] = shmlink_ep_create(SHMLINK_ROLE_CLIENT, &l->tq[0], &l->rq[0], conf);
	l->ep[1] = shmlink_ep_create(SHMLINK_ROLE_SERVER, &l->tq[1], &l->rq[1], conf);
	return l->ep[0] != NULL && l->ep[1] != NULL ? 0 : -1;
}

static void
twin_link_close(struct twin_link *l)
{
	int i;

	for (i = 0; i < 2; i++) {
		shmlink_ep_destroy(l->ep[i]);
		shmlink_qmap_unmap(&l->tq[i]);
		shmlink_qmap_unmap(&l->rq[i]);
	}
	shmlink_qfile_close(l->txf);
	shmlink_qfile_close(l->rxf);
}

/* @nb buffers of the pool, mostly whole, sometimes short. */
static void
twin_bufs(struct shmlink_buf *b, uint32_t nb, uint64_t *seed)
{
	uint32_t i;

	for (i = 0; i < nb; i++) {
		uint64_t r = check_rand(seed);

		b[i].id = i;
		b[i].offset = (uint64_t)i * BUF_SIZE;	/* distinct, as a real frame's */
		b[i].size = r >> 8 & 3 ? BUF_SIZE : 1 + (uint32_t)(r >> 16) % BUF_SIZE;
		b[i].userdata = 0;
	}
}

/* A frame of up to three pieces of @pattern. */
static void
twin_frame(struct shmlink_frame *f, struct shmlink_seg *segs, uint32_t len, uint64_t *seed)
{
	uint64_t r = check_rand(seed);
	uint32_t a = len > 0 ? (uint32_t)(r % len) : 0;
	uint32_t b = a + (len > a ? (uint32_t)(r >> 20) % (len - a) : 0);

	f->segs = segs;
	f->nb_segs = 0;
	f->len = len;
	if (r >> 40 & 1) {	/* one piece, the common case */
		a = b = 0;
	}
	if (a > 0)
		segs[f->nb_segs++] = (struct shmlink_seg){ pattern, a };
	if (b > a)
		segs[f->nb_segs++] = (struct shmlink_seg){ pattern + a, b - a };
	if (len > b || f->nb_segs == 0)
		segs[f->nb_segs++] = (struct shmlink_seg){ pattern + b, len - b };
}

/* ep_fill both ways into two copies of the buffers; then ep_frame both ways over the
 * same buffers, with a wire length that may be short, long or the frame's. */
static void
twin_frames_on(struct shmlink_ep *ep, bool virtio, uint64_t *seed)
{
	static uint8_t mem[2][NB_BUFS * BUF_SIZE];
	struct shmlink_buf bufs[NB_BUFS];
	struct shmlink_frame f, g[2];
	struct shmlink_seg segs[3], out[2][NB_BUFS];
	struct shmlink_ep_stats st[2];
	uint32_t used[2][NB_BUFS], i, k;

	for (k = 0; k < 20000; k++) {
		uint64_t r = check_rand(seed);
		uint32_t nb = 1 + (uint32_t)(r % NB_BUFS);
		uint32_t hdr = virtio ? SHMLINK_VIRTIO_HDR_LEN : 0, room = 0, len, wire, tl;
		bool ok[2];

		twin_bufs(bufs, nb, seed);
		for (i = 0; i < nb; i++)
			room += bufs[i].size;
		if (room <= hdr)
			continue;
		room -= hdr;
		len = (uint32_t)(r >> 8) % (room < FRAME_MAX ? room : FRAME_MAX) + 1;
		/* An IPv4 total length that may or may not fit the frame, for trimming. */
		tl = (uint32_t)(check_rand(seed) % (len + 64));
		pattern[16] = (uint8_t)(tl >> 8);
		pattern[17] = (uint8_t)tl;
		twin_frame(&f, segs, len, seed);
		memset(mem, 0, sizeof(mem));
		shmlink_testing_fill(ep, &f, mem[0], bufs, nb, used[0], true);
		shmlink_testing_fill(ep, &f, mem[1], bufs, nb, used[1], false);
		CHECK(memcmp(mem[0], mem[1], sizeof(mem[0])) == 0 &&
				memcmp(used[0], used[1], nb * sizeof(used[0][0])) == 0,
				"ep_fill: %u bytes into %u buffers", len, nb);

		/* What the peer says came: the frame, or any length the buffers hold. */
		wire = len + hdr;
		if (r >> 40 & 1)
			wire = (uint32_t)(r >> 44) % (room + hdr + 1);
		for (i = 0; i < 2; i++) {
			struct shmlink_ep_stats before;

			shmlink_ep_stats_get(ep, &before);
			ok[i] = shmlink_testing_frame(ep, mem[0], bufs, nb, wire, &g[i], out[i],
					i == 0);
			shmlink_ep_stats_get(ep, &st[i]);
			st[i].rx_trimmed -= before.rx_trimmed;
			st[i].rx_oversize -= before.rx_oversize;
			st[i].rx_runt -= before.rx_runt;
		}
		CHECK(ok[0] == ok[1] && st[0].rx_trimmed == st[1].rx_trimmed &&
				st[0].rx_oversize == st[1].rx_oversize &&
				st[0].rx_runt == st[1].rx_runt,
				"ep_frame: wire %u: %d vs %d", wire, ok[0], ok[1]);
		if (!ok[0] || !ok[1])
			continue;
		CHECK(g[0].len == g[1].len, "ep_frame: wire %u: %u vs %u bytes", wire,
				g[0].len, g[1].len);
		/* The same bytes, however they are cut into segments. */
		{
			static uint8_t flat[2][NB_BUFS * BUF_SIZE];
			uint32_t j, n;

			for (i = 0; i < 2; i++)
				for (j = 0, n = 0; j < g[i].nb_segs; j++) {
					memcpy(flat[i] + n, g[i].segs[j].addr, g[i].segs[j].len);
					n += g[i].segs[j].len;
				}
			CHECK(memcmp(flat[0], flat[1], g[0].len) == 0,
					"ep_frame: wire %u: bytes differ", wire);
		}
		if (check_failures > 0)
			return;
	}
}

static void
test_frame_twins(void)
{
	uint64_t seed = 7;
	unsigned int c;

	for (c = 0; c < sizeof(pattern); c++)
		pattern[c] = (uint8_t)(c * 7 + 1);
	/* IPv4 over Ethernet, so that trimming has something to read. */
	pattern[12] = 0x08;
	pattern[13] = 0x00;
	pattern[14] = 0x45;
	for (c = 0; c < 16; c++) {
		struct shmlink_ep_conf conf = {
			.buffer_size = BUF_SIZE,
			.max_frame = c & 8 ? 1518 : FRAME_MAX,
			.virtio_hdr = c & 1,
			.raw_ip = c & 2,
			.trim = c & 4,
		};
		struct twin_link l;
		int e;

		REQUIRE(twin_link_open(&l, &conf) == 0, "link %u", c);
		for (e = 0; e < 2; e++)
			twin_frames_on(l.ep[e], conf.virtio_hdr, &seed);
		twin_link_close(&l);
	}
}

int
main(void)
{
	test_pipe_twins();
	test_frame_twins();
	return check_report("test_twins");
}
