/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Lending received frames (rx_hold, zero-copy receive), in both roles: a lent frame's
 * bytes stay as they were while the peer goes on sending, tokens come back in any order,
 * the lent count never passes rx_hold, and once everything is back the link is as clean
 * as after copying: every chunk and buffer home, no counter moved.
 *
 * The client and the server role against each other in one process, over real queue
 * files (endpoint_harness.h).
 */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "endpoint_harness.h"

#define LEND_MAX	256u
#define LEND_SEGS	8u

struct lent {
	struct shmlink_seg segs[LEND_SEGS];
	struct shmlink_frame f;
	uint64_t token;
	uint32_t seq;
};

struct lender {
	const char *what;
	struct shmlink_ep *tx;
	struct shmlink_ep *rx;
	uint32_t (*len_of)(uint32_t seq);
	uint32_t tx_seq;
	uint32_t rx_seq;
	uint32_t nb_lent;
	uint32_t rnd;
	struct lent lent[LEND_MAX];
};

static uint32_t
lend_rand(struct lender *ld)
{
	ld->rnd ^= ld->rnd << 13;
	ld->rnd ^= ld->rnd >> 17;
	ld->rnd ^= ld->rnd << 5;
	return ld->rnd;
}

/* Check a lent frame's bytes and give it back. */
static void
lend_return_one(struct lender *ld, uint32_t k)
{
	struct lent *e = &ld->lent[k];

	pattern_fill(expect_buf, e->seq, ld->len_of(e->seq));
	FRAME_CHECK(&e->f, expect_buf, ld->len_of(e->seq), ld->what, e->seq);
	shmlink_ep_rx_return(ld->rx, &e->token, 1);
	*e = ld->lent[--ld->nb_lent];
	e->f.segs = e->segs;
}

/* Give back @n lent frames picked at random (all if @n is larger). */
static void
lend_return_random(struct lender *ld, uint32_t n)
{
	while (n-- > 0 && ld->nb_lent > 0)
		lend_return_one(ld, lend_rand(ld) % ld->nb_lent);
}

/* Send what the link takes, up to frame @nb. */
static void
lend_send(struct lender *ld, uint32_t nb)
{
	struct shmlink_frame frames[BURST_MAX];
	unsigned int k, n = nb - ld->tx_seq < BURST_MAX ? nb - ld->tx_seq : BURST_MAX;

	for (k = 0; k < n; k++) {
		src_pattern(&src_pool[k], ld->tx_seq + k, ld->len_of(ld->tx_seq + k), k & 1);
		frames[k] = src_pool[k].f;
	}
	ld->tx_seq += shmlink_ep_tx_burst(ld->tx, frames, n);
}

/* Receive one lending burst; every frame is kept (its segments copied). */
static unsigned int
lend_receive(struct lender *ld)
{
	uint64_t tokens[RX_MAX];
	unsigned int n, i;

	n = shmlink_ep_rx_burst_hold(ld->rx, rx_frames, RX_MAX, rx_segs, SEGS_MAX, tokens);
	for (i = 0; i < n; i++) {
		struct lent *e = &ld->lent[ld->nb_lent];

		if (!CHECK(ld->nb_lent < LEND_MAX && rx_frames[i].nb_segs <= LEND_SEGS,
				"%s: %u lent, a frame of %u segments", ld->what, ld->nb_lent,
				rx_frames[i].nb_segs))
			return n;
		memcpy(e->segs, rx_frames[i].segs, rx_frames[i].nb_segs * sizeof(e->segs[0]));
		e->f = rx_frames[i];
		e->f.segs = e->segs;
		e->token = tokens[i];
		e->seq = ld->rx_seq++;
		ld->nb_lent++;
	}
	shmlink_ep_rx_release(ld->rx);
	return n;
}

/*
 * @nb frames from ld->tx to ld->rx, lent out, at most @hold at once (the endpoint's
 * rx_hold): keep up to @keep, then return half of them at random; the sender goes on
 * reusing whatever came back, which must not touch the frames still lent.
 */
static void
lend_run(struct lender *ld, uint32_t nb, uint32_t hold, uint32_t keep)
{
	uint32_t idle = 0;

	while (ld->rx_seq < nb && idle < 1000) {
		lend_send(ld, nb);
		if (lend_receive(ld) == 0)
			idle++;
		else
			idle = 0;
		CHECK(ld->nb_lent <= hold, "%s: %u frames lent, rx_hold %u", ld->what,
				ld->nb_lent, hold);
		CHECK_EQ(shmlink_ep_rx_lent(ld->rx), ld->nb_lent);
		if (ld->nb_lent >= keep || ld->nb_lent == hold)
			lend_return_random(ld, ld->nb_lent / 2 + 1);
	}
	CHECK(ld->rx_seq == nb, "%s: %u of %u frames received", ld->what, ld->rx_seq, nb);
	lend_return_random(ld, UINT32_MAX);
	CHECK_EQ(shmlink_ep_rx_lent(ld->rx), 0);
}

static void
lender_init(struct lender *ld, const char *what, struct shmlink_ep *tx, struct shmlink_ep *rx,
		uint32_t (*len_of)(uint32_t))
{
	memset(ld, 0, sizeof(*ld));
	ld->what = what;
	ld->tx = tx;
	ld->rx = rx;
	ld->len_of = len_of;
	ld->rnd = 2463534242u;
}

static uint32_t
len_up_to_9000(uint32_t seq)
{
	return (seq * 2654435761u >> 8) % 9000u + 1u;
}

/* Both roles lend, frames of one buffer and of several, many more than the buffers. */
static void
test_lend_both_roles(void)
{
	static struct lender ld;
	struct shmlink_ep_conf conf = conf_default;
	struct link l;

	conf.rx_hold = 200;
	if (!link_open(&l, NULL, NULL, &conf, &conf))
		return;
	lender_init(&ld, "server lends", l.client, l.server, len_random);
	lend_run(&ld, 20000, 200, 150);
	lender_init(&ld, "client lends", l.server, l.client, len_random);
	lend_run(&ld, 20000, 200, 150);
	lender_init(&ld, "server lends, up to 9000 B", l.client, l.server, len_up_to_9000);
	lend_run(&ld, 5000, 200, 60);
	lender_init(&ld, "client lends, up to 9000 B", l.server, l.client, len_up_to_9000);
	lend_run(&ld, 5000, 200, 60);
	LINK_CLOSE_CLEAN(&l);
}

/* rx_hold bounds what is lent: a full hand takes no frame until one comes back, and
 * nothing is lost meanwhile. */
static void
test_lend_bound(void)
{
	static struct lender ld;
	struct shmlink_ep_conf conf = conf_default;
	struct link l;
	int role;

	conf.rx_hold = 8;
	for (role = 0; role < 2; role++) {
		if (!link_open(&l, NULL, NULL, &conf, &conf))
			return;
		if (role == 0)
			lender_init(&ld, "server bound", l.client, l.server, len_random);
		else
			lender_init(&ld, "client bound", l.server, l.client, len_random);
		lend_send(&ld, 40);
		while (lend_receive(&ld) > 0)
			;
		CHECK_EQ(ld.nb_lent, 8);
		CHECK_EQ(shmlink_ep_rx_lent(ld.rx), 8);
		/* One back, one more in. */
		lend_return_random(&ld, 1);
		CHECK_EQ(lend_receive(&ld), 1);
		lend_run(&ld, 40, 8, 8);
		LINK_CLOSE_CLEAN(&l);
	}
}

/* Copying and lending bursts mix on one endpoint; a client ignores tokens it has not
 * lent (a token twice, a made-up one), and an endpoint without rx_hold lends nothing. */
static void
test_lend_mixed(void)
{
	static struct lender ld;
	struct shmlink_ep_conf conf = conf_default;
	uint64_t bogus[3];
	struct link l;
	unsigned int n;

	conf.rx_hold = 64;
	if (!link_open(&l, NULL, NULL, &conf, &conf))
		return;
	lender_init(&ld, "client mixed", l.server, l.client, len_random);
	lend_send(&ld, 20);
	CHECK(lend_receive(&ld) > 0, "no frame lent");
	lend_send(&ld, 40);
	n = client_rx(&l);
	CHECK(n > 0, "no frame copied");
	ld.rx_seq += n;
	bogus[0] = ld.lent[0].token;
	lend_return_one(&ld, 0);
	bogus[1] = bogus[0];
	bogus[2] = UINT64_MAX;
	shmlink_ep_rx_return(l.client, bogus, 3);
	lend_return_random(&ld, UINT32_MAX);
	CHECK_EQ(shmlink_ep_rx_lent(l.client), 0);
	LINK_CLOSE_CLEAN(&l);

	if (!link_open(&l, NULL, NULL, &conf_default, &conf_default))
		return;
	lender_init(&ld, "no rx_hold", l.client, l.server, len_random);
	lend_send(&ld, 4);
	CHECK_EQ(lend_receive(&ld), 0);
	CHECK_EQ(server_rx(&l), 4);
	LINK_CLOSE_CLEAN(&l);
}

/* A client's token that was given back is stale once its buffer is lent again: given
 * back a second time, it must not take that buffer from the frame now holding it. */
static void
test_lend_stale_token(void)
{
	static struct lender ld;
	struct shmlink_qfile_sizes rx = { .data = 4 * CHUNK };
	struct shmlink_ep_conf conf = conf_default;
	struct link l;
	uint64_t stale;

	conf.rx_hold = 4;
	if (!link_open(&l, NULL, &rx, &conf, &conf))
		return;
	lender_init(&ld, "stale token", l.server, l.client, len_random);
	lend_send(&ld, 1);
	CHECK_EQ(lend_receive(&ld), 1);
	stale = ld.lent[0].token;
	lend_return_one(&ld, 0);
	/* Four more frames take all four buffers, the returned one too. */
	lend_send(&ld, 5);
	while (lend_receive(&ld) > 0)
		;
	CHECK_EQ(ld.nb_lent, 4);
	shmlink_ep_rx_return(l.client, &stale, 1);
	CHECK_EQ(shmlink_ep_rx_lent(l.client), 4);
	lend_return_random(&ld, UINT32_MAX);
	CHECK_EQ(shmlink_ep_rx_lent(l.client), 0);
	LINK_CLOSE_CLEAN(&l);
}

/* ---------------------------------------------------------------------------------------
 * Lending TX chunks (tx_hold, zero-copy transmit): the client builds frames in chunks of
 * its TX region and the server reads them there.
 */

#define TXL_ROOM	64u	/* where a frame starts in its first chunk */

static uint32_t
min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* Frame @seq of @len bytes written into lent chunks @ch, pieces of at most @piece bytes,
 * one chunk each, the first @room bytes into its chunk. Returns the chunks used. */
static unsigned int
txl_build(const struct shmlink_tx_chunk *ch, uint32_t seq, uint32_t len, uint32_t room,
		uint32_t piece, struct shmlink_frame *f, struct shmlink_seg *segs)
{
	uint32_t off = 0, k = 0;

	pattern_fill(content_buf, seq, len);
	while (off < len) {
		uint32_t at = k == 0 ? room : 0;
		uint32_t n = min_u32(min_u32(piece, len - off), ch[k].size - at);

		segs[k].addr = (uint8_t *)ch[k].addr + at;
		segs[k].len = n;
		memcpy(segs[k].addr, content_buf + off, n);
		off += n;
		k++;
	}
	f->segs = segs;
	f->nb_segs = k;
	f->len = len;
	return k;
}

/* Rewrite a built frame's bytes in place with the pattern of @seq. */
static void
txl_rewrite(const struct shmlink_frame *f, uint32_t seq)
{
	uint32_t k, off = 0;

	pattern_fill(content_buf, seq, f->len);
	for (k = 0; k < f->nb_segs; k++) {
		memcpy(f->segs[k].addr, content_buf + off, f->segs[k].len);
		off += f->segs[k].len;
	}
}

/* Receive @n frames at the server, expecting the patterns of @seqs. */
static void
txl_receive(struct link *l, const uint32_t *seqs, const uint32_t *lens, unsigned int n,
		const char *what)
{
	unsigned int got = 0, idle = 0, i;

	while (got < n && idle < 1000) {
		unsigned int k = server_rx(l);

		idle = k == 0 ? idle + 1 : 0;
		for (i = 0; i < k && got + i < n; i++) {
			pattern_fill(expect_buf, seqs[got + i], lens[got + i]);
			FRAME_CHECK(&rx_frames[i], expect_buf, lens[got + i], what, got + i);
		}
		got += k;
		shmlink_ep_rx_release(l->server);
	}
	CHECK(got == n, "%s: %u of %u frames received", what, got, n);
}

/*
 * Frames built in lent chunks go out where they are: rewritten after tx_burst(), the
 * server reads the new bytes, and they take no chunk from the pool. Chunks come back
 * before or after their completion, frames span several chunks, with and without a
 * virtio header; at the end every chunk is home.
 */
static void
test_tx_lend_in_place(void)
{
	struct shmlink_ep_conf conf = conf_default;
	int vh;

	conf.tx_hold = 32;
	for (vh = 0; vh < 2; vh++) {
		struct shmlink_tx_chunk ch[32];
		struct shmlink_seg segs[8][4];
		struct shmlink_frame f[8];
		uint32_t seqs[8], lens[8], rnd = 12345, seq = 0, round;
		const char *what = vh ? "tx lend, virtio header" : "tx lend";
		struct shmlink_ep_buffers b;
		struct link l;

		conf.virtio_hdr = vh;
		if (!link_open(&l, NULL, NULL, &conf, &conf))
			return;
		CHECK_EQ(shmlink_ep_tx_lend(l.client, ch, 32), 32);
		CHECK_EQ(shmlink_ep_tx_lend(l.client, ch, 1), 0);	/* tx_hold */
		CHECK_EQ(shmlink_ep_tx_lent(l.client), 32);
		for (round = 0; round < 32; round++)
			shmlink_ep_tx_return(l.client, &ch[round].token, 1);
		CHECK_EQ(shmlink_ep_tx_lent(l.client), 0);
		for (round = 0; round < 300; round++) {
			unsigned int n = 1 + round % 8, used = 0, i;
			uint64_t tokens[32];

			/* Get back to 32 chunks in hand: up to 4 per frame. */
			CHECK_EQ(shmlink_ep_tx_lend(l.client, ch, 32), 32);
			for (i = 0; i < n && used + 4 <= 32; i++) {
				rnd = rnd * 1103515245u + 12345u;
				lens[i] = (rnd >> 8) % (3 * CHUNK) + 1;
				seqs[i] = seq++;
				used += txl_build(&ch[used], seqs[i], lens[i], TXL_ROOM,
						CHUNK - TXL_ROOM, &f[i], segs[i]);
			}
			n = i;
			CHECK_EQ(shmlink_ep_tx_burst(l.client, f, n), n);
			shmlink_ep_buffers_get(l.client, &b);
			CHECK_EQ(b.tx_chunks_inflight, 32);	/* the lent ones, no copy */
			for (i = 0; i < n; i++) {
				seqs[i] += 1000000;
				txl_rewrite(&f[i], seqs[i]);
			}
			/* Half the rounds give the chunks back before the server reads. */
			for (i = 0; i < 32; i++)
				tokens[i] = ch[i].token;
			if (round & 1)
				shmlink_ep_tx_return(l.client, tokens, 32);
			txl_receive(&l, seqs, lens, n, what);
			if (!(round & 1))
				shmlink_ep_tx_return(l.client, tokens, 32);
			CHECK_EQ(shmlink_ep_tx_lent(l.client), 0);
		}
		link_settle(&l);
		LINK_CLOSE_CLEAN(&l);
	}
}

/*
 * Frames that cannot go where they are are copied, in order with the others: a frame
 * outside the lent chunks, a second frame in a chunk already in flight, a first piece
 * with no room for the virtio header. Tokens given back twice, stale or made up are
 * ignored; a server lends nothing, nor does a client without tx_hold.
 */
static void
test_tx_lend_fallback(void)
{
	struct shmlink_ep_conf conf = conf_default;
	struct shmlink_tx_chunk ch[4];
	struct shmlink_seg segs[4][2];
	struct shmlink_frame f[4];
	uint32_t seqs[4] = { 1, 2, 3, 4 }, lens[4] = { 100, 300, 200, 80 };
	struct shmlink_ep_buffers b;
	uint64_t stale, bogus[3];
	struct link l;

	conf.tx_hold = 4;
	conf.virtio_hdr = true;
	if (!link_open(&l, NULL, NULL, &conf, &conf))
		return;
	CHECK_EQ(shmlink_ep_tx_lend(l.server, ch, 4), 0);
	CHECK_EQ(shmlink_ep_tx_lend(l.client, ch, 4), 4);
	txl_build(&ch[0], seqs[0], lens[0], TXL_ROOM, CHUNK, &f[0], segs[0]);
	src_pattern(&src_pool[0], seqs[1], lens[1], true);
	f[1] = src_pool[0].f;
	/* The same chunk as frame 0, further on: in flight by then. */
	txl_build(&ch[0], seqs[2], lens[2], 1024, CHUNK, &f[2], segs[2]);
	/* At the chunk's start: no room for the header. */
	txl_build(&ch[1], seqs[3], lens[3], 0, CHUNK, &f[3], segs[3]);
	CHECK_EQ(shmlink_ep_tx_burst(l.client, f, 4), 4);
	shmlink_ep_buffers_get(l.client, &b);
	CHECK_EQ(b.tx_chunks_inflight, 4 + 3);	/* lent, and one chunk per copy */
	txl_receive(&l, seqs, lens, 4, "tx lend fallback");

	stale = ch[2].token;
	bogus[0] = ch[0].token;
	shmlink_ep_tx_return(l.client, bogus, 1);
	shmlink_ep_tx_return(l.client, bogus, 1);	/* twice */
	CHECK_EQ(shmlink_ep_tx_lent(l.client), 3);
	shmlink_ep_tx_return(l.client, &stale, 1);
	CHECK_EQ(shmlink_ep_tx_lent(l.client), 2);
	/* Lent again: the old token must not take it back. */
	while (shmlink_ep_tx_lend(l.client, ch, 1) == 1 && (uint32_t)ch[0].token !=
			(uint32_t)stale)
		shmlink_ep_tx_return(l.client, &ch[0].token, 1);
	CHECK_EQ((uint32_t)ch[0].token, (uint32_t)stale);
	bogus[1] = stale;
	bogus[2] = UINT64_MAX;
	shmlink_ep_tx_return(l.client, bogus + 1, 2);
	CHECK_EQ(shmlink_ep_tx_lent(l.client), 3);
	shmlink_ep_tx_return(l.client, &ch[0].token, 1);
	shmlink_ep_tx_return(l.client, (uint64_t[]){ ch[1].token, ch[3].token }, 2);
	CHECK_EQ(shmlink_ep_tx_lent(l.client), 0);
	link_settle(&l);
	LINK_CLOSE_CLEAN(&l);

	if (!link_open(&l, NULL, NULL, &conf_default, &conf_default))
		return;
	CHECK_EQ(shmlink_ep_tx_lend(l.client, ch, 4), 0);
	LINK_CLOSE_CLEAN(&l);
}

/* A frame in many one-byte pieces, one lent chunk each, whose in-place descriptor can
 * never fit the small TX pipe, is copied into one chunk rather than blocking the queue. */
static void
test_tx_lend_too_many_pieces(void)
{
	struct shmlink_qfile_sizes tx = { .data = 4096, .tx_pipe = 200, .rx_pipe = 200, .shared = 8 };
	struct shmlink_ep_conf conf = conf_default;
	struct shmlink_tx_chunk ch[15];
	struct shmlink_seg segs[15];
	struct shmlink_frame f = { .segs = segs };
	uint32_t seq = 7, len = 15;
	unsigned int i;
	struct link l;

	conf.buffer_size = 256;
	conf.tx_hold = 15;
	if (!link_open(&l, &tx, NULL, &conf, &conf))
		return;
	CHECK_EQ(shmlink_ep_tx_lend(l.client, ch, 15), 15);
	pattern_fill(content_buf, seq, len);
	for (i = 0; i < len; i++) {
		memcpy(ch[i].addr, content_buf + i, 1);
		segs[i] = (struct shmlink_seg){ .addr = ch[i].addr, .len = 1 };
	}
	f.nb_segs = len;
	f.len = len;
	CHECK_EQ(shmlink_ep_tx_burst(l.client, &f, 1), 1);
	CHECK_EQ(stats_of(l.client).tx_in_place, 0);
	txl_receive(&l, &seq, &len, 1, "too many pieces");
	for (i = 0; i < 15; i++)
		shmlink_ep_tx_return(l.client, &ch[i].token, 1);
	link_settle(&l);
	LINK_CLOSE_CLEAN(&l);
}

static const struct ep_test tests[] = {
	{ "lend_both_roles", test_lend_both_roles },
	{ "lend_bound", test_lend_bound },
	{ "lend_mixed", test_lend_mixed },
	{ "lend_stale_token", test_lend_stale_token },
	{ "tx_lend_in_place", test_tx_lend_in_place },
	{ "tx_lend_fallback", test_tx_lend_fallback },
	{ "tx_lend_too_many_pieces", test_tx_lend_too_many_pieces },
};

int
main(int argc, char **argv)
{
	return ep_test_main("endpoint lending", tests, sizeof(tests) / sizeof(tests[0]), argc,
			argv);
}
