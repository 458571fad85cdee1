/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Frames of every size and framing between the client and the server role: one piece and
 * scatter lists, back-pressure that never blocks nor loses, ids and chunks reused far
 * more often than there are, the virtio-net header.
 *
 * The client and the server role against each other in one process, over real queue
 * files (endpoint_harness.h). Every check that fails prints file:line and what
 * differed; the exit status is non-zero if any check failed.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "endpoint_harness.h"

/* ---------------------------------------------------------------------------------------
 * 1. Frames of every size, both directions, one piece and scatter lists
 */

static void
test_every_size_both_directions(void)
{
	struct link l;
	struct flow fl[2];

	if (!link_open(&l, NULL, NULL, &conf_default, &conf_default))
		return;
	flow_init(&fl[0], "client->server single", l.client, l.server, 9100, len_seq_plus_one,
			SEG_SINGLE, 32);
	flow_init(&fl[1], "server->client single", l.server, l.client, 9100, len_seq_plus_one,
			SEG_SINGLE, 32);
	run_flows(fl, 2);
	flow_init(&fl[0], "client->server multi", l.client, l.server, 9100, len_seq_plus_one,
			SEG_MULTI, 32);
	flow_init(&fl[1], "server->client multi", l.server, l.client, 9100, len_seq_plus_one,
			SEG_MULTI, 32);
	run_flows(fl, 2);
	/* The sizes around buffer and header boundaries again, each cut many ways. */
	sample_flows_and_close(&l, "samples");
}

/* ---------------------------------------------------------------------------------------
 * 2. Back-pressure: a receiver that does not read makes tx_burst return fewer frames,
 * never block and never lose any.
 */

static const uint32_t bp_sizes[] = { 1, 2048, 3000, 6144, 9100, 100, 4097, 2049 };

static uint32_t
len_bp(uint32_t seq)
{
	return bp_sizes[seq % (sizeof(bp_sizes) / sizeof(bp_sizes[0]))];
}

static uint32_t
len_100(uint32_t seq)
{
	(void)seq;
	return 100;
}

/* Send frames from @fl until tx_burst takes fewer than asked; returns true if it did. */
static bool
fill_until_refused(struct flow *fl)
{
	unsigned int guard;

	for (guard = 0; guard < 100000 && fl->tx_seq < fl->nb; guard++) {
		unsigned int want = fl->nb - fl->tx_seq < 16 ? fl->nb - fl->tx_seq : 16;
		struct shmlink_frame frames[16];
		unsigned int m;

		flow_next_frames(fl, frames, want);
		m = shmlink_ep_tx_burst(fl->tx, frames, want);
		CHECK(m <= want, "%s: tx_burst returned %u for %u", fl->name, m, want);
		fl->tx_seq += m;
		if (m < want) {
			/* Refused: asking again for the same frame must not block or take it. */
			m = shmlink_ep_tx_burst(fl->tx, &frames[m], 1);
			CHECK(m == 0, "%s: a refused frame was taken on retry (%u)", fl->name, m);
			fl->tx_seq += m;
			return true;
		}
	}
	return false;
}

/* Receive until nothing more comes; returns the number of frames. */
static uint32_t
drain(struct flow *fl)
{
	uint32_t total = 0, got;

	do {
		got = flow_rx(fl);
		total += got;
	} while (got > 0);
	return total;
}

static uint32_t
chunks_in_flight(const struct flow *fl, uint32_t vh, uint32_t buf_size)
{
	uint32_t seq, c = 0;

	for (seq = fl->rx_seq; seq < fl->tx_seq; seq++)
		c += chunks_for(fl->len_of(seq) + vh, buf_size);
	return c;
}

static void
test_backpressure_client_to_server(void)
{
	struct link l;
	struct flow fl;
	unsigned int refusals = 0, rounds = 0;

	if (!link_open(&l, NULL, NULL, &conf_default, &conf_default))
		return;
	flow_init(&fl, "client->server bp", l.client, l.server, 3000, len_bp, SEG_MIXED, 16);
	while (fl.tx_seq < fl.nb && rounds++ < 1000) {
		uint32_t before = fl.rx_seq, sent, got;

		if (fill_until_refused(&fl)) {
			struct shmlink_ep_buffers b = buffers_of(l.client);
			uint32_t need = chunks_for(fl.len_of(fl.tx_seq), CHUNK);

			refusals++;
			/* Every frame the server has not read still holds its chunks... */
			CHECK_EQ(b.tx_chunks_inflight, chunks_in_flight(&fl, 0, CHUNK));
			/* ...and the refused frame really did not fit. */
			CHECK(b.tx_chunks_inflight + need > b.tx_chunks, "frame #%u needing %u "
					"chunks refused with %u of %u in flight", fl.tx_seq,
					need, b.tx_chunks_inflight, b.tx_chunks);
		}
		sent = fl.tx_seq - before;
		got = drain(&fl);
		CHECK_EQ(got, sent);
		CHECK_EQ(fl.rx_seq, fl.tx_seq);
	}
	CHECK(refusals >= 10, "tx_burst refused only %u times in 3000 frames", refusals);
	CHECK_EQ(fl.rx_seq, fl.nb);
	LINK_CLOSE_CLEAN(&l);
}

static void
test_backpressure_server_to_client(void)
{
	struct link l;
	struct flow fl;
	unsigned int refusals = 0, rounds = 0;

	if (!link_open(&l, NULL, NULL, &conf_default, &conf_default))
		return;
	flow_init(&fl, "server->client bp", l.server, l.client, 3000, len_bp, SEG_MIXED, 16);
	while (fl.tx_seq < fl.nb && rounds++ < 1000) {
		uint32_t before = fl.rx_seq, sent, k, held, m;
		struct shmlink_frame frame;
		bool refused = fill_until_refused(&fl);

		if (refused) {
			struct shmlink_ep_buffers b = buffers_of(l.client);
			uint32_t used = chunks_in_flight(&fl, 0, CHUNK);
			uint32_t need = chunks_for(fl.len_of(fl.tx_seq), CHUNK);

			refusals++;
			CHECK(used <= b.rx_bufs, "%u buffers in use, only %u exist", used,
					b.rx_bufs);
			CHECK(used + need > b.rx_bufs, "frame #%u needing %u buffers refused "
					"with %u of %u buffers in use", fl.tx_seq, need, used,
					b.rx_bufs);
		}
		sent = fl.tx_seq - before;
		/*
		 * The client reads one burst and holds it: until it releases, none of its
		 * buffers is posted again, so the server must go on refusing, and must not
		 * write into the buffers of the frames held.
		 */
		held = shmlink_ep_rx_burst(l.client, rx_frames, RX_MAX, rx_segs, SEGS_MAX);
		CHECK(held > 0 || sent == 0, "client got nothing of %u frames sent", sent);
		if (refused) {
			src_pattern(&src_pool[0], fl.tx_seq, fl.len_of(fl.tx_seq), false);
			frame = src_pool[0].f;
			m = shmlink_ep_tx_burst(l.server, &frame, 1);
			CHECK(m == 0, "server sent the refused frame #%u while the client held its "
					"buffers", fl.tx_seq);
			fl.tx_seq += m;
		}
		for (k = 0; k < held && k < RX_MAX; k++)
			flow_check_frame(&fl, &rx_frames[k]);
		shmlink_ep_rx_release(l.client);
		drain(&fl);
		CHECK_EQ(fl.rx_seq, fl.tx_seq);
	}
	CHECK(refusals >= 10, "tx_burst refused only %u times in 3000 frames", refusals);
	CHECK_EQ(fl.rx_seq, fl.nb);
	LINK_CLOSE_CLEAN(&l);
}

/*
 * Small pipes: a full descriptor pipe (the chunks are given back to the pool) and a small
 * TX completion pipe (fewer ids in flight, spec §8.1-2) also refuse without losing.
 */
static void
test_backpressure_small_pipes(void)
{
	static const struct {
		const char *name;
		struct shmlink_qfile_sizes tx;
		uint32_t max_inflight;	/* when refusing; 0: below the chunk count */
	} cases[] = {
		{ "4 KiB descriptor pipe", { .tx_pipe = 4096 }, 0 },
		/* (4096 - 8) / 16 completions fit */
		{ "4 KiB TX completion pipe", { .rx_pipe = 4096 }, 255 },
	};
	unsigned int c;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct link l;
		struct flow fl;
		unsigned int refusals = 0, rounds = 0;

		if (!link_open(&l, &cases[c].tx, NULL, &conf_default, &conf_default))
			return;
		flow_init(&fl, cases[c].name, l.client, l.server, 3000, len_100, SEG_SINGLE, 16);
		while (fl.tx_seq < fl.nb && rounds++ < 1000) {
			uint32_t before = fl.rx_seq;

			if (fill_until_refused(&fl)) {
				struct shmlink_ep_buffers b = buffers_of(l.client);

				refusals++;
				CHECK_EQ(b.tx_chunks_inflight, fl.tx_seq - fl.rx_seq);
				if (cases[c].max_inflight != 0)
					CHECK_EQ(b.tx_chunks_inflight, cases[c].max_inflight);
				else
					CHECK(b.tx_chunks_inflight < b.tx_chunks, "%s: refused "
							"with all %u chunks in flight",
							cases[c].name, b.tx_chunks);
			}
			CHECK_EQ(drain(&fl), fl.tx_seq - before);
		}
		CHECK(refusals >= 5, "%s: refused only %u times", cases[c].name, refusals);
		CHECK_EQ(fl.rx_seq, fl.nb);
		LINK_CLOSE_CLEAN(&l);
	}

	/*
	 * 4 KiB RX queue pipes: the client posts only what the fill pipe holds and what
	 * the completion pipe can complete (spec §8.1-3), and the server, running out of
	 * posted buffers, refuses without losing frames or buffers.
	 */
	{
		struct shmlink_qfile_sizes rx = { .tx_pipe = 4096, .rx_pipe = 4096 };
		struct link l;
		struct flow fl;
		struct shmlink_ep_buffers b;
		unsigned int refusals = 0, rounds = 0;

		if (!link_open(&l, NULL, &rx, &conf_default, &conf_default))
			return;
		b = buffers_of(l.client);
		CHECK(b.rx_bufs > 0 && b.rx_bufs <= (4096 - 8) / 40, "%u RX buffers posted "
				"through a 4 KiB fill pipe", b.rx_bufs);
		CHECK_EQ(b.rx_bufs_posted, b.rx_bufs);
		flow_init(&fl, "4 KiB RX pipes", l.server, l.client, 3000, len_bp, SEG_MIXED, 16);
		while (fl.tx_seq < fl.nb && rounds++ < 3000) {
			uint32_t before = fl.rx_seq;

			if (fill_until_refused(&fl)) {
				uint32_t used = chunks_in_flight(&fl, 0, CHUNK);
				uint32_t need = chunks_for(fl.len_of(fl.tx_seq), CHUNK);

				refusals++;
				CHECK(used + need > b.rx_bufs, "frame #%u needing %u buffers "
						"refused with %u of %u in use", fl.tx_seq, need,
						used, b.rx_bufs);
			}
			CHECK_EQ(drain(&fl), fl.tx_seq - before);
		}
		CHECK(refusals >= 5, "4 KiB RX pipes: refused only %u times", refusals);
		CHECK_EQ(fl.rx_seq, fl.nb);
		LINK_CLOSE_CLEAN(&l);
	}
}

/* ---------------------------------------------------------------------------------------
 * 3. Ids and chunks are reused: far more frames than ids, and nothing is lost
 */

static void
test_id_reuse_no_buffer_lost(void)
{
	struct link l;
	struct flow fl[2];
	struct shmlink_ep_buffers b;

	if (!link_open(&l, NULL, NULL, &conf_default, &conf_default))
		return;
	/* The defaults: a 1 MiB data region of 2048-byte chunks, 512 RX buffers. */
	b = buffers_of(l.client);
	CHECK_EQ(b.tx_chunks, 512);
	CHECK_EQ(b.tx_chunks_inflight, 0);
	CHECK_EQ(b.rx_bufs, 512);
	CHECK_EQ(b.rx_bufs_posted, 512);
	b = buffers_of(l.server);
	CHECK(b.tx_chunks == 0 && b.rx_bufs == 0, "server reports buffers: %u %u",
			b.tx_chunks, b.rx_bufs);

	flow_init(&fl[0], "client->server 100k", l.client, l.server, 100000, len_random,
			SEG_MIXED, 48);
	flow_init(&fl[1], "server->client 100k", l.server, l.client, 100000, len_random,
			SEG_MIXED, 48);
	run_flows(fl, 2);
	CHECK_EQ(fl[0].rx_seq, 100000);
	CHECK_EQ(fl[1].rx_seq, 100000);
	link_settle(&l);
	b = buffers_of(l.client);
	CHECK_EQ(b.tx_chunks, 512);
	CHECK_EQ(b.tx_chunks_inflight, 0);
	CHECK_EQ(b.rx_bufs, 512);
	CHECK_EQ(b.rx_bufs_posted, 512);
	CHECK_STATS_CLEAN(l.client, "client");
	CHECK_STATS_CLEAN(l.server, "server");
	link_close(&l);
}

/* ---------------------------------------------------------------------------------------
 * 4. The virtio-net header
 */

static void
run_virtio_pair(const char *what, const struct shmlink_ep_conf *cc,
		const struct shmlink_ep_conf *sc, uint32_t nb, uint32_t (*len_of)(uint32_t))
{
	struct link l;
	struct flow fl[2];
	struct shmlink_ep_stats cs, ss;
	char n0[96], n1[96];

	if (!link_open(&l, NULL, NULL, cc, sc))
		return;
	snprintf(n0, sizeof(n0), "%s client->server", what);
	snprintf(n1, sizeof(n1), "%s server->client", what);
	flow_init(&fl[0], n0, l.client, l.server, nb, len_of, SEG_MIXED, 16);
	flow_init(&fl[1], n1, l.server, l.client, nb, len_of, SEG_MIXED, 16);
	if (cc->virtio_hdr && !sc->virtio_hdr) {
		/* The server sees the client's 10 zero bytes; the client takes the server's
		 * first 10 bytes for a header. */
		fl[0].zeros = SHMLINK_VIRTIO_HDR_LEN;
		fl[1].skip = SHMLINK_VIRTIO_HDR_LEN;
	} else if (!cc->virtio_hdr && sc->virtio_hdr) {
		fl[0].skip = SHMLINK_VIRTIO_HDR_LEN;
		fl[1].zeros = SHMLINK_VIRTIO_HDR_LEN;
	}
	run_flows(fl, 2);
	link_settle(&l);
	CHECK_CLIENT_QUIESCENT(l.client);
	cs = stats_of(l.client);
	ss = stats_of(l.server);
	CHECK(cs.rx_runt == fl[1].nb_runts, "%s: client rx_runt %" PRIu64 ", expected %u",
			what, cs.rx_runt, fl[1].nb_runts);
	CHECK(ss.rx_runt == fl[0].nb_runts, "%s: server rx_runt %" PRIu64 ", expected %u",
			what, ss.rx_runt, fl[0].nb_runts);
	link_close(&l);
}

static uint32_t
len_upto_1014(uint32_t seq)
{
	return seq % 1014u + 1u;
}

static void
test_virtio_header(void)
{
	struct shmlink_ep_conf v = { .virtio_hdr = true };
	struct shmlink_ep_conf nv = { 0 };
	/* 8-byte buffers: the header itself spans two buffers. */
	struct shmlink_ep_conf v8 = { .virtio_hdr = true, .buffer_size = 8 };
	struct shmlink_ep_conf nv8 = { .buffer_size = 8 };

	run_virtio_pair("both virtio", &v, &v, 4200, len_seq_plus_one);
	run_virtio_pair("both virtio samples", &v, &v, 4 * nb_sample_sizes, len_sample);
	run_virtio_pair("virtio client, plain server", &v, &nv, 4200, len_seq_plus_one);
	run_virtio_pair("plain client, virtio server", &nv, &v, 4200, len_seq_plus_one);
	run_virtio_pair("both virtio, 8-byte buffers", &v8, &v, 1014, len_upto_1014);
	run_virtio_pair("virtio client, plain server, 8-byte buffers", &v8, &nv, 1014,
			len_upto_1014);
	run_virtio_pair("plain, 8-byte buffers", &nv8, &nv, 1014, len_upto_1014);
}

/*
 * Endpoints whose state comes from the caller's allocator (net_shmlink puts it in DPDK's
 * shared memory, for secondary processes to read the counters): every allocation goes
 * through it, aligned and zeroed, and every one comes back when the endpoints go.
 */
struct arena {
	uint8_t *mem;
	size_t size;
	size_t used;
	unsigned int live;
	unsigned int nb_allocs;
};

static void *
arena_zalloc(size_t size, size_t align, void *arg)
{
	struct arena *a = arg;
	uintptr_t at = ((uintptr_t)a->mem + a->used + align - 1) / align * align;
	size_t off = at - (uintptr_t)a->mem;

	if (off + size > a->size)
		return NULL;
	a->used = off + size;
	a->live++;
	a->nb_allocs++;
	memset(a->mem + off, 0, size);
	return a->mem + off;
}

static void
arena_free(void *p, void *arg)
{
	struct arena *a = arg;

	CHECK((uint8_t *)p >= a->mem && (uint8_t *)p < a->mem + a->size,
			"%s", "a pointer the arena did not give");
	a->live--;
}

static void
test_caller_memory(void)
{
	struct arena a = { .size = 4u << 20 };
	struct shmlink_ep_conf c = { .zalloc = arena_zalloc, .free = arena_free,
			.mem_arg = &a };
	struct link l;

	a.mem = malloc(a.size);
	if (a.mem == NULL || !link_open(&l, NULL, NULL, &c, &c)) {
		free(a.mem);
		CHECK(false, "%s", "cannot set up");
		return;
	}
	/* The client's chunk, id and buffer tables and both endpoints themselves. */
	CHECK(a.nb_allocs == 9, "allocations %u, expected 9", a.nb_allocs);
	CHECK((uint8_t *)l.client >= a.mem && (uint8_t *)l.client < a.mem + a.size,
			"%s", "client endpoint outside the arena");
	CHECK(((uintptr_t)l.client & 63) == 0 && ((uintptr_t)l.server & 63) == 0,
			"%s", "endpoints not cache-line aligned");
	sample_flows_and_close(&l, "caller memory");
	CHECK(a.live == 0, "%u allocations not freed", a.live);
	free(a.mem);
}

static const struct ep_test tests[] = {
	{ "every_size_both_directions", test_every_size_both_directions },
	{ "backpressure_client_to_server", test_backpressure_client_to_server },
	{ "backpressure_server_to_client", test_backpressure_server_to_client },
	{ "backpressure_small_pipes", test_backpressure_small_pipes },
	{ "id_reuse_no_buffer_lost", test_id_reuse_no_buffer_lost },
	{ "virtio_header", test_virtio_header },
	{ "caller_memory", test_caller_memory },
};

int
main(int argc, char **argv)
{
	return ep_test_main("endpoint traffic", tests, sizeof(tests) / sizeof(tests[0]), argc,
			argv);
}
