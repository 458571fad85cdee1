/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Hostile peers: a fake server or a fake client writes records and pipe slots directly;
 * the endpoint counts each violation by kind, loses only the peer's frames, and never
 * reads or writes outside its mappings.
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
 * 7. Hostile peers: a fake server or a fake client writes records directly
 */

/* The server's four pipes, driven by the test instead of an endpoint. */
struct fake_server {
	struct shmlink_pipe_rx desc;	/* TX queue TxPipe: client's descriptors */
	struct shmlink_pipe_tx txc;	/* TX queue RxPipe: our TX completions */
	struct shmlink_pipe_rx fill;	/* RX queue TxPipe: client's posted buffers */
	struct shmlink_pipe_tx rxc;	/* RX queue RxPipe: our RX completions */
};

struct fake_client {
	struct shmlink_pipe_tx desc;
	struct shmlink_pipe_rx txc;
	struct shmlink_pipe_tx fill;
	struct shmlink_pipe_rx rxc;
};

static bool
fake_server_init(struct fake_server *fs, struct link *l)
{
	return CHECK(shmlink_pipe_rx_init(&fs->desc, l->s_txq.tx_pipe, l->s_txq.tx_pipe_size)
				== 0 &&
			shmlink_pipe_tx_init(&fs->txc, l->s_txq.rx_pipe, l->s_txq.rx_pipe_size)
				== 0 &&
			shmlink_pipe_rx_init(&fs->fill, l->s_rxq.tx_pipe, l->s_rxq.tx_pipe_size)
				== 0 &&
			shmlink_pipe_tx_init(&fs->rxc, l->s_rxq.rx_pipe, l->s_rxq.rx_pipe_size)
				== 0, "%s", "fake server pipes");
}

static bool
fake_client_init(struct fake_client *fc, struct link *l)
{
	return CHECK(shmlink_pipe_tx_init(&fc->desc, l->c_txq.tx_pipe, l->c_txq.tx_pipe_size)
				== 0 &&
			shmlink_pipe_rx_init(&fc->txc, l->c_txq.rx_pipe, l->c_txq.rx_pipe_size)
				== 0 &&
			shmlink_pipe_tx_init(&fc->fill, l->c_rxq.tx_pipe, l->c_rxq.tx_pipe_size)
				== 0 &&
			shmlink_pipe_rx_init(&fc->rxc, l->c_rxq.rx_pipe, l->c_rxq.rx_pipe_size)
				== 0, "%s", "fake client pipes");
}

/* Push a slot of arbitrary bytes (not flushed). */
static bool
raw_push(struct shmlink_pipe_tx *p, const void *rec, uint32_t len)
{
	void *slot = shmlink_pipe_tx_push(p, len);

	if (slot == NULL)
		return false;
	memcpy(slot, rec, len);
	return true;
}

static void
push_txc(struct fake_server *fs, uint64_t id)
{
	CHECK(shmlink_txc_push(&fs->txc, id) == 0, "pushing completion %" PRIu64, id);
}

static uint64_t
client_err(struct shmlink_ep *ep, enum shmlink_err e)
{
	return stats_of(ep).err[e];
}

/* As the client, facing TX completions that are unknown, duplicated or malformed. */
static void
test_hostile_tx_completions(void)
{
	static const uint32_t lens[3] = { 100, 3000, 100 };
	struct fake_server fs;
	struct link l;
	uint64_t ids[3], alias, err;
	uint8_t rec[16];
	unsigned int m, k;
	const void *p;
	uint32_t len;

	if (!link_open(&l, NULL, NULL, &conf_default, NULL))
		return;
	if (!fake_server_init(&fs, &l)) {
		link_close(&l);
		return;
	}
	send_seq_frames(l.client, lens, 3, 0, &m);
	CHECK_EQ(m, 3);
	CHECK_EQ(buffers_of(l.client).tx_chunks_inflight, 4);
	for (k = 0; k < 3; k++) {
		struct shmlink_buf bufs[4];
		uint32_t total;
		int64_t n;

		p = shmlink_pipe_rx_pull(&fs.desc, &len);
		if (!CHECK(p != NULL, "descriptor %u missing", k))
			goto out;
		n = shmlink_txd_decode(p, len, &ids[k], &total, bufs, 4);
		CHECK_EQ(total, lens[k]);
		CHECK_EQ(n, chunks_for(lens[k], CHUNK));
		CHECK(ids[k] < 512, "id %" PRIu64 " beyond the 512 ids", ids[k]);
	}
	CHECK(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2], "ids not distinct: "
			"%" PRIu64 " %" PRIu64 " %" PRIu64, ids[0], ids[1], ids[2]);
	shmlink_pipe_rx_flush(&fs.desc);

	/* Unknown ids: beyond the table, in the table but not in flight, and one that
	 * aliases an id in flight if truncated to 32 bits. */
	alias = (UINT64_C(1) << 32) + ids[0];
	push_txc(&fs, 9999);
	push_txc(&fs, UINT64_MAX);
	push_txc(&fs, alias);
	for (k = 0; k < 512; k++)
		if (k != ids[0] && k != ids[1] && k != ids[2])
			break;
	push_txc(&fs, k);
	shmlink_pipe_tx_flush(&fs.txc);
	CHECK_EQ(shmlink_ep_tx_burst(l.client, NULL, 0), 0);
	CHECK_EQ(client_err(l.client, SHMLINK_ERR_TX_COMPL), 4);
	CHECK_EQ(buffers_of(l.client).tx_chunks_inflight, 4);

	/* Wrong lengths, naming an id in flight. */
	memset(rec, 0, sizeof(rec));
	put_le64(rec, ids[0]);
	CHECK(raw_push(&fs.txc, rec, 16), "%s", "push 16-byte completion");
	CHECK(raw_push(&fs.txc, rec, 4), "%s", "push 4-byte completion");
	CHECK(raw_push(&fs.txc, rec, 0), "%s", "push empty completion");
	shmlink_pipe_tx_flush(&fs.txc);
	shmlink_ep_tx_burst(l.client, NULL, 0);
	CHECK_EQ(client_err(l.client, SHMLINK_ERR_TX_COMPL), 7);
	CHECK_EQ(buffers_of(l.client).tx_chunks_inflight, 4);

	/* Duplicates: the second completion of an id frees nothing. */
	push_txc(&fs, ids[0]);
	push_txc(&fs, ids[0]);
	shmlink_pipe_tx_flush(&fs.txc);
	shmlink_ep_tx_burst(l.client, NULL, 0);
	CHECK_EQ(client_err(l.client, SHMLINK_ERR_TX_COMPL), 8);
	CHECK_EQ(buffers_of(l.client).tx_chunks_inflight, 3);
	push_txc(&fs, ids[1]);
	push_txc(&fs, ids[2]);
	shmlink_pipe_tx_flush(&fs.txc);
	shmlink_ep_tx_burst(l.client, NULL, 0);
	CHECK_EQ(buffers_of(l.client).tx_chunks_inflight, 0);
	push_txc(&fs, ids[1]);
	shmlink_pipe_tx_flush(&fs.txc);
	shmlink_ep_tx_burst(l.client, NULL, 0);
	err = client_err(l.client, SHMLINK_ERR_TX_COMPL);
	CHECK_EQ(err, 9);
	CHECK_EQ(buffers_of(l.client).tx_chunks_inflight, 0);
	CHECK(!shmlink_ep_broken(l.client), "%s", "client broken by bad completions");

	/*
	 * No chunk was freed twice: exactly 512 one-chunk frames fit, in 512 distinct
	 * chunks with 512 distinct ids, and each chunk holds its own frame.
	 */
	{
		static uint8_t chunk_seen[512];
		static uint8_t id_seen[512];
		static uint32_t lens_b[BURST_MAX];
		unsigned int total = 0, dup_chunks = 0, dup_ids = 0, bad = 0, seq = 100;

		memset(chunk_seen, 0, sizeof(chunk_seen));
		memset(id_seen, 0, sizeof(id_seen));
		for (k = 0; k < BURST_MAX; k++)
			lens_b[k] = 200;
		for (k = 0; k < 20; k++) {
			send_seq_frames(l.client, lens_b, BURST_MAX, seq + total, &m);
			total += m;
			if (m < BURST_MAX)
				break;
		}
		CHECK_EQ(total, 512);
		CHECK_EQ(buffers_of(l.client).tx_chunks_inflight, 512);
		for (k = 0; k < total; k++) {
			struct shmlink_buf bufs[2];
			uint32_t total_len;
			uint64_t id;
			int64_t n;

			p = shmlink_pipe_rx_pull(&fs.desc, &len);
			if (!CHECK(p != NULL, "descriptor %u of %u missing", k, total))
				break;
			n = shmlink_txd_decode(p, len, &id, &total_len, bufs, 2);
			if (!CHECK(n == 1 && id < 512 && bufs[0].offset % CHUNK == 0 &&
					bufs[0].offset / CHUNK < 512 && bufs[0].size >= 200,
					"descriptor %u: n %" PRId64 " id %" PRIu64 " offset %"
					PRIu64 " size %u", k, n, id, bufs[0].offset,
					bufs[0].size))
				continue;
			dup_ids += id_seen[id]++;
			dup_chunks += chunk_seen[bufs[0].offset / CHUNK]++;
			pattern_fill(expect_buf, seq + k, 200);
			bad += memcmp(l.s_txq.data + bufs[0].offset, expect_buf, 200) != 0;
			push_txc(&fs, id);
		}
		CHECK_EQ(dup_ids, 0);
		CHECK_EQ(dup_chunks, 0);
		CHECK_EQ(bad, 0);
		shmlink_pipe_rx_flush(&fs.desc);
		shmlink_pipe_tx_flush(&fs.txc);
		shmlink_ep_tx_burst(l.client, NULL, 0);
		CHECK_EQ(buffers_of(l.client).tx_chunks_inflight, 0);
		CHECK_EQ(client_err(l.client, SHMLINK_ERR_TX_COMPL), err);
	}
out:
	link_close(&l);
}

/* Write @len pattern bytes of frame @seq into RX data at @off, as a server would. */
static void
fake_fill(struct link *l, uint64_t off, uint32_t seq, uint32_t len)
{
	pattern_fill(l->s_rxq.data + off, seq, len);
}

static struct shmlink_buf
rbuf(uint64_t off, uint32_t size, uint64_t id)
{
	struct shmlink_buf b = { .offset = off, .size = size, .userdata = 0, .id = id };

	return b;
}

/* As the client, facing RX completions that name wrong buffers or sizes. */
static void
test_hostile_rx_completions(void)
{
	static uint8_t posted[512], reposted[512];
	struct shmlink_buf b[2];
	struct fake_server fs;
	struct link l;
	unsigned int k, nb_posts = 0, got, dups = 0, wrong = 0;
	const void *p;
	uint32_t len;

	if (!link_open(&l, NULL, NULL, &conf_default, NULL))
		return;
	if (!fake_server_init(&fs, &l)) {
		link_close(&l);
		return;
	}
	/* The client posted 512 buffers: id i at i * 2048, 2048 bytes, userdata 0. */
	memset(posted, 0, sizeof(posted));
	while ((p = shmlink_pipe_rx_pull(&fs.fill, &len)) != NULL) {
		struct shmlink_buf pb;

		nb_posts++;
		if (!CHECK(shmlink_rxp_decode(p, len, &pb) == 0 && pb.id < 512 &&
				pb.offset == pb.id * CHUNK && pb.size == CHUNK && pb.userdata == 0,
				"posted buffer: len %u offset %" PRIu64 " size %u id %" PRIu64,
				len, pb.offset, pb.size, pb.id))
			continue;
		dups += posted[pb.id]++;
	}
	shmlink_pipe_rx_flush(&fs.fill);
	CHECK_EQ(nb_posts, 512);
	CHECK_EQ(dups, 0);

	/* An id never posted (beyond the table). */
	b[0] = rbuf(600 * CHUNK, 100, 600);
	CHECK(shmlink_rxc_push(&fs.rxc, 100, b, 1) == 0, "%s", "push");
	b[0] = rbuf(0, 100, UINT64_C(1) << 32);
	CHECK(shmlink_rxc_push(&fs.rxc, 100, b, 1) == 0, "%s", "push");
	shmlink_pipe_tx_flush(&fs.rxc);
	CHECK_EQ(client_rx(&l), 0);
	CHECK_EQ(client_err(l.client, SHMLINK_ERR_RX_COMPL), 2);

	/* An offset that is not the id's. */
	b[0] = rbuf(4 * CHUNK, 100, 3);
	shmlink_rxc_push(&fs.rxc, 100, b, 1);
	/* A size bigger than the buffer. */
	b[0] = rbuf(4 * CHUNK, CHUNK + 1, 4);
	shmlink_rxc_push(&fs.rxc, CHUNK + 1, b, 1);
	shmlink_pipe_tx_flush(&fs.rxc);
	CHECK_EQ(client_rx(&l), 0);
	CHECK_EQ(client_err(l.client, SHMLINK_ERR_RX_COMPL), 4);
	CHECK(buffers_of(l.client).rx_bufs_posted <= 512, "%u posted",
			buffers_of(l.client).rx_bufs_posted);

	/* Sizes adding up to less than the total: the buffer is valid and comes back. */
	b[0] = rbuf(5 * CHUNK, 100, 5);
	shmlink_rxc_push(&fs.rxc, 200, b, 1);
	shmlink_pipe_tx_flush(&fs.rxc);
	CHECK_EQ(client_rx(&l), 0);
	CHECK_EQ(client_err(l.client, SHMLINK_ERR_RX_COMPL), 5);
	CHECK_EQ(buffers_of(l.client).rx_bufs_posted, 511);
	CHECK_EQ(client_rx(&l), 0);
	CHECK_EQ(buffers_of(l.client).rx_bufs_posted, 512);

	/* No buffer, but a length. */
	shmlink_rxc_push(&fs.rxc, 100, NULL, 0);
	/* Shorter than its header. */
	CHECK(raw_push(&fs.rxc, "\x10\0\0\0", 4), "%s", "raw push");
	shmlink_pipe_tx_flush(&fs.rxc);
	CHECK_EQ(client_rx(&l), 0);
	CHECK_EQ(client_err(l.client, SHMLINK_ERR_RX_COMPL), 7);

	/* One good buffer and one unknown: the good one comes back. */
	b[0] = rbuf(6 * CHUNK, CHUNK, 6);
	b[1] = rbuf(700 * CHUNK, 52, 700);
	shmlink_rxc_push(&fs.rxc, CHUNK + 52, b, 2);
	/* The same buffer twice in one completion: taken back once. */
	b[0] = rbuf(7 * CHUNK, CHUNK, 7);
	b[1] = rbuf(7 * CHUNK, 100, 7);
	shmlink_rxc_push(&fs.rxc, CHUNK + 100, b, 2);
	shmlink_pipe_tx_flush(&fs.rxc);
	CHECK_EQ(client_rx(&l), 0);
	CHECK_EQ(client_err(l.client, SHMLINK_ERR_RX_COMPL), 9);
	CHECK_EQ(buffers_of(l.client).rx_bufs_posted, 510);

	/* After all that, a good frame still arrives intact. */
	fake_fill(&l, 8 * CHUNK, 42, 100);
	b[0] = rbuf(8 * CHUNK, 100, 8);
	shmlink_rxc_push(&fs.rxc, 100, b, 1);
	shmlink_pipe_tx_flush(&fs.rxc);
	got = client_rx(&l);
	if (CHECK_EQ(got, 1)) {
		pattern_fill(expect_buf, 42, 100);
		FRAME_CHECK(&rx_frames[0], expect_buf, 100, "good frame after bad ones", 42);
	}
	shmlink_ep_rx_release(l.client);
	CHECK_EQ(client_err(l.client, SHMLINK_ERR_RX_COMPL), 9);
	CHECK_EQ(buffers_of(l.client).rx_bufs_posted, 512);
	CHECK(!shmlink_ep_broken(l.client), "%s", "client broken by bad completions");

	/* Exactly the buffers taken back were posted again, each once, as before. */
	memset(reposted, 0, sizeof(reposted));
	dups = 0;
	while ((p = shmlink_pipe_rx_pull(&fs.fill, &len)) != NULL) {
		struct shmlink_buf pb;

		if (!CHECK(shmlink_rxp_decode(p, len, &pb) == 0 && pb.id < 512 &&
				pb.offset == pb.id * CHUNK && pb.size == CHUNK,
				"re-posted buffer: offset %" PRIu64 " size %u id %" PRIu64,
				pb.offset, pb.size, pb.id)) {
			wrong++;
			continue;
		}
		dups += reposted[pb.id]++;
		/* Only buffers a completion named may come back. */
		if (pb.id < 3 || pb.id > 8) {
			CHECK(false, "buffer %" PRIu64 " re-posted though never completed", pb.id);
			wrong++;
		}
	}
	shmlink_pipe_rx_flush(&fs.fill);
	CHECK_EQ(dups, 0);
	CHECK_EQ(wrong, 0);
	for (k = 5; k <= 8; k++)
		CHECK(reposted[k] == 1, "buffer %u re-posted %u times, expected once", k,
				reposted[k]);
	link_close(&l);
}

static uint64_t
server_err(struct shmlink_ep *ep, enum shmlink_err e)
{
	return stats_of(ep).err[e];
}

/* Pull every TX completion the server published into @ids; returns how many. */
static unsigned int
fake_pull_txc(struct fake_client *fc, uint64_t *ids, unsigned int max)
{
	unsigned int n = 0;
	const void *p;
	uint32_t len;

	while ((p = shmlink_pipe_rx_pull(&fc->txc, &len)) != NULL) {
		CHECK(len == SHMLINK_TXC_SIZE, "TX completion of %u bytes", len);
		if (n < max && len >= 8)
			ids[n] = get_le64(p);
		n++;
	}
	shmlink_pipe_rx_flush(&fc->txc);
	return n;
}

/* As the server, facing TX descriptors that are short or name memory out of range. */
static void
test_hostile_tx_descriptors(void)
{
	struct shmlink_buf bufs[SHMLINK_FRAME_MAX_BUFS + 1];
	struct fake_client fc;
	struct link l;
	uint64_t ids[16], dsz;
	uint8_t rec[16];
	unsigned int n, k;

	if (!link_open(&l, NULL, NULL, NULL, &conf_default))
		return;
	if (!fake_client_init(&fc, &l)) {
		link_close(&l);
		return;
	}
	dsz = l.s_txq.data_size;

	/* Shorter than 16 bytes: 4 bytes hold no id; 12 bytes hold id 77. */
	memset(rec, 0, sizeof(rec));
	put_le64(rec, 77);
	put_le32(rec + 8, 100);
	CHECK(raw_push(&fc.desc, rec, 4), "%s", "raw push");
	CHECK(raw_push(&fc.desc, rec, 12), "%s", "raw push");
	shmlink_pipe_tx_flush(&fc.desc);
	CHECK_EQ(server_rx(&l), 0);
	shmlink_ep_rx_release(l.server);
	CHECK_EQ(server_err(l.server, SHMLINK_ERR_TX_DESC), 2);
	n = fake_pull_txc(&fc, ids, 16);
	CHECK(n == 1 && ids[0] == 77, "a 12-byte descriptor carries id 77 and must be "
			"completed: got %u completions (first id %" PRIu64 ")", n,
			n > 0 ? ids[0] : UINT64_MAX);

	/* Out of range: past the end, straddling it, offset + size overflowing 64 bits. */
	bufs[0] = rbuf(dsz, 1, 0);
	shmlink_txd_push(&fc.desc, 10, 1, bufs, 1);
	bufs[0] = rbuf(dsz - 50, 100, 0);
	shmlink_txd_push(&fc.desc, 11, 100, bufs, 1);
	bufs[0] = rbuf(UINT64_MAX - 15, 32, 0);
	shmlink_txd_push(&fc.desc, 12, 32, bufs, 1);
	/* Sizes adding up to less than the total. */
	bufs[0] = rbuf(0, 50, 0);
	shmlink_txd_push(&fc.desc, 13, 100, bufs, 1);
	bufs[0] = rbuf(0, 50, 0);
	bufs[1] = rbuf(CHUNK, 40, 0);
	shmlink_txd_push(&fc.desc, 14, 100, bufs, 2);
	/* More buffers than any frame may have. */
	for (k = 0; k < SHMLINK_FRAME_MAX_BUFS + 1; k++)
		bufs[k] = rbuf(0, 1, 0);
	shmlink_txd_push(&fc.desc, 15, 100, bufs, SHMLINK_FRAME_MAX_BUFS + 1);
	/* A frame with a total but no buffer. */
	shmlink_txd_push(&fc.desc, 16, 100, NULL, 0);
	/* And a good one, last in the data region. */
	pattern_fill(l.c_txq.data + dsz - 100, 5, 100);
	bufs[0] = rbuf(dsz - 100, 100, 0);
	shmlink_txd_push(&fc.desc, 17, 100, bufs, 1);
	shmlink_pipe_tx_flush(&fc.desc);

	n = server_rx(&l);
	if (CHECK_EQ(n, 1)) {
		pattern_fill(expect_buf, 5, 100);
		FRAME_CHECK(&rx_frames[0], expect_buf, 100, "good descriptor after bad ones", 5);
	}
	shmlink_ep_rx_release(l.server);
	CHECK_EQ(server_err(l.server, SHMLINK_ERR_TX_DESC), 2 + 7);
	/* Every descriptor with an id is completed, in order, bad ones too. */
	n = fake_pull_txc(&fc, ids, 16);
	CHECK_EQ(n, 8);
	for (k = 0; k < n && k < 8; k++)
		CHECK(ids[k] == 10 + k, "completion %u has id %" PRIu64 ", expected %u", k,
				ids[k], 10 + k);
	CHECK(!shmlink_ep_broken(l.server), "%s", "server broken by bad descriptors");
	link_close(&l);
}

/* As the server, facing posted buffers that are short, empty or out of range. */
static void
test_hostile_posted_buffers(void)
{
	struct shmlink_buf b, got_bufs[2];
	struct fake_client fc;
	struct link l;
	struct shmlink_frame f;
	uint8_t rec[32];
	uint64_t dsz;
	unsigned int m;
	uint32_t len, total;
	const void *p;
	int64_t n;

	if (!link_open(&l, NULL, NULL, NULL, &conf_default))
		return;
	if (!fake_client_init(&fc, &l)) {
		link_close(&l);
		return;
	}
	dsz = l.s_rxq.data_size;

	memset(rec, 0, sizeof(rec));
	put_le32(rec + 8, CHUNK);
	CHECK(raw_push(&fc.fill, rec, 24), "%s", "raw push");		/* short */
	b = rbuf(CHUNK, 0, 2);
	shmlink_rxp_push(&fc.fill, &b);					/* empty */
	b = rbuf(dsz, CHUNK, 3);
	shmlink_rxp_push(&fc.fill, &b);					/* past the end */
	b = rbuf(dsz - 1000, CHUNK, 4);
	shmlink_rxp_push(&fc.fill, &b);					/* straddling */
	b = rbuf(UINT64_MAX - 100, CHUNK, 5);
	shmlink_rxp_push(&fc.fill, &b);					/* overflowing */
	b = rbuf(7 * CHUNK, CHUNK, 42);
	b.userdata = UINT64_C(0xdeadbeefcafef00d);
	shmlink_rxp_push(&fc.fill, &b);					/* good */
	shmlink_pipe_tx_flush(&fc.fill);

	src_pattern(&src_pool[0], 9, 100, false);
	f = src_pool[0].f;
	m = shmlink_ep_tx_burst(l.server, &f, 1);
	CHECK_EQ(m, 1);
	CHECK_EQ(server_err(l.server, SHMLINK_ERR_POSTED_BUF), 5);
	/* The frame went into the good buffer, with offset, id and userdata echoed and the
	 * exact size reported. */
	p = shmlink_pipe_rx_pull(&fc.rxc, &len);
	if (CHECK(p != NULL, "%s", "no RX completion")) {
		n = shmlink_rxc_decode(p, len, &total, got_bufs, 2);
		CHECK_EQ(n, 1);
		CHECK_EQ(total, 100);
		CHECK_EQ(got_bufs[0].offset, 7 * CHUNK);
		CHECK_EQ(got_bufs[0].size, 100);
		CHECK_EQ(got_bufs[0].id, 42);
		CHECK_EQ(got_bufs[0].userdata, UINT64_C(0xdeadbeefcafef00d));
		pattern_fill(expect_buf, 9, 100);
		CHECK(memcmp(l.c_rxq.data + 7 * CHUNK, expect_buf, 100) == 0, "%s",
				"frame content in the posted buffer");
	}
	CHECK(shmlink_pipe_rx_pull(&fc.rxc, &len) == NULL, "%s", "more than one completion");
	shmlink_pipe_rx_flush(&fc.rxc);

	/*
	 * Bad posts alone: the server has nothing to send into, and each bad record is one
	 * violation, however often the server looks for buffers.
	 */
	b = rbuf(CHUNK, 0, 6);
	shmlink_rxp_push(&fc.fill, &b);
	b = rbuf(dsz, CHUNK, 7);
	shmlink_rxp_push(&fc.fill, &b);
	shmlink_pipe_tx_flush(&fc.fill);
	CHECK_EQ(shmlink_ep_tx_burst(l.server, &f, 1), 0);
	CHECK_EQ(server_err(l.server, SHMLINK_ERR_POSTED_BUF), 7);
	CHECK_EQ(shmlink_ep_tx_burst(l.server, &f, 1), 0);
	CHECK(server_err(l.server, SHMLINK_ERR_POSTED_BUF) == 7, "two bad posted buffers "
			"counted %" PRIu64 " times after two bursts (a skipped record is read "
			"again)", server_err(l.server, SHMLINK_ERR_POSTED_BUF) - 5);
	b = rbuf(3 * CHUNK, CHUNK, 43);
	shmlink_rxp_push(&fc.fill, &b);
	shmlink_pipe_tx_flush(&fc.fill);
	CHECK_EQ(shmlink_ep_tx_burst(l.server, &f, 1), 1);
	CHECK(server_err(l.server, SHMLINK_ERR_POSTED_BUF) == 7, "two bad posted buffers "
			"counted %" PRIu64 " times after three bursts",
			server_err(l.server, SHMLINK_ERR_POSTED_BUF) - 5);
	p = shmlink_pipe_rx_pull(&fc.rxc, &len);
	if (CHECK(p != NULL, "%s", "no RX completion")) {
		n = shmlink_rxc_decode(p, len, &total, got_bufs, 2);
		CHECK(n == 1 && got_bufs[0].id == 43, "completion n %" PRId64 " id %" PRIu64,
				n, got_bufs[0].id);
	}
	CHECK(!shmlink_ep_broken(l.server), "%s", "server broken by bad posted buffers");
	link_close(&l);
}

/*
 * Publish a slot, then replace its header with one no correct writer writes, before the
 * reader gets to it.
 */
enum damage {
	DAMAGE_WRAP_MID,	/* a wrap slot that lands mid-ring, not on offset 0 */
	DAMAGE_WRAP_PHYSICAL,	/* a wrap slot sized in bytes to the ring end (not 2^32) */
	DAMAGE_HUGE,		/* size 0xfffffff0 */
};

static void
damage_slot(struct shmlink_pipe_tx *p, uint8_t *ring, uint64_t ring_len, enum damage how)
{
	uint8_t *payload = shmlink_pipe_tx_push(p, 8);
	uint64_t off, hdr;

	if (!CHECK(payload != NULL, "%s", "no room to push the slot to damage"))
		return;
	memset(payload, 0, 8);
	shmlink_pipe_tx_flush(p);
	off = (uint64_t)(payload - ring) - SHMLINK_PIPE_HDR_SIZE;
	ring_len &= ~(uint64_t)7;
	switch (how) {
	case DAMAGE_WRAP_MID:
		if (off >= 8)	/* offset 8 of the next revolution */
			hdr = (UINT64_C(1) << 32) - off;
		else		/* 64 bytes past the ring end */
			hdr = ring_len - off - 8 + 64;
		break;
	case DAMAGE_WRAP_PHYSICAL:
		hdr = ring_len - off - 8;
		break;
	default:
		hdr = 0xfffffff0u;
		break;
	}
	__atomic_store_n((uint64_t *)(void *)(ring + off), hdr, __ATOMIC_RELEASE);
}

static void
check_broken_at(const char *file, int line, struct shmlink_ep *ep, const char *what)
{
	struct shmlink_ep_stats st;

	shmlink_ep_stats_get(ep, &st);
	check_at(file, line, shmlink_ep_broken(ep), "broken", "%s: endpoint not broken", what);
	check_at(file, line, st.err[SHMLINK_ERR_RING] >= 1, "ring_damaged",
			"%s: ring_damaged is %" PRIu64, what, st.err[SHMLINK_ERR_RING]);
}
#define CHECK_BROKEN(ep, what) check_broken_at(__FILE__, __LINE__, (ep), (what))

/* Both bursts of a broken endpoint move nothing, however often they are called. */
static void
check_bursts_stopped_at(const char *file, int line, struct shmlink_ep *ep, const char *what)
{
	struct shmlink_frame f;
	unsigned int i, tx = 0, rx = 0;

	src_pattern(&src_pool[0], 77, 100, false);
	f = src_pool[0].f;
	for (i = 0; i < 3; i++) {
		rx += shmlink_ep_rx_burst(ep, rx_frames, RX_MAX, rx_segs, SEGS_MAX);
		shmlink_ep_rx_release(ep);
		tx += shmlink_ep_tx_burst(ep, &f, 1);
	}
	check_at(file, line, rx == 0, "rx_burst", "%s: rx_burst returned %u frames once broken",
			what, rx);
	check_at(file, line, tx == 0, "tx_burst", "%s: tx_burst sent %u frames once broken "
			"(\"from then on nothing moves\")", what, tx);
}
#define CHECK_BURSTS_STOPPED(ep, what) check_bursts_stopped_at(__FILE__, __LINE__, (ep), (what))

static void
test_damaged_pipes(void)
{
	struct shmlink_buf b;
	struct link l;
	unsigned int m;
	uint32_t len;

	/* The client's RX completion pipe. */
	if (link_open(&l, NULL, NULL, &conf_default, NULL)) {
		struct fake_server fs;
		const void *p;

		if (fake_server_init(&fs, &l)) {
			/* One good frame first, so the damage is not at offset 0. */
			p = shmlink_pipe_rx_pull(&fs.fill, &len);
			if (CHECK(p != NULL, "%s", "nothing posted") &&
					shmlink_rxp_decode(p, len, &b) == 0) {
				fake_fill(&l, b.offset, 1, 60);
				b.size = 60;
				shmlink_rxc_push(&fs.rxc, 60, &b, 1);
				shmlink_pipe_tx_flush(&fs.rxc);
				CHECK_EQ(client_rx(&l), 1);
				shmlink_ep_rx_release(l.client);
			}
			damage_slot(&fs.rxc, l.s_rxq.rx_pipe, l.s_rxq.rx_pipe_size,
					DAMAGE_WRAP_MID);
			CHECK_EQ(client_rx(&l), 0);
			CHECK_BROKEN(l.client, "client, RX completion pipe");
			CHECK(shmlink_ep_rx_ready(l.client), "%s", "rx_ready false on a bad ring");
			CHECK_BURSTS_STOPPED(l.client, "client, RX completion pipe");
		}
		link_close(&l);
	}

	/* The client's TX completion pipe. */
	if (link_open(&l, NULL, NULL, &conf_default, NULL)) {
		struct fake_server fs;

		if (fake_server_init(&fs, &l)) {
			src_pattern(&src_pool[0], 1, 100, false);
			m = shmlink_ep_tx_burst(l.client, &src_pool[0].f, 1);
			CHECK_EQ(m, 1);
			damage_slot(&fs.txc, l.s_txq.rx_pipe, l.s_txq.rx_pipe_size,
					DAMAGE_WRAP_PHYSICAL);
			shmlink_ep_tx_burst(l.client, NULL, 0);
			CHECK_BROKEN(l.client, "client, TX completion pipe");
			CHECK_BURSTS_STOPPED(l.client, "client, TX completion pipe");
		}
		link_close(&l);
	}

	/* The server's descriptor pipe. */
	if (link_open(&l, NULL, NULL, NULL, &conf_default)) {
		struct fake_client fc;

		if (fake_client_init(&fc, &l)) {
			/* A posted buffer, so that the server could send if it went on. */
			b = rbuf(0, CHUNK, 0);
			shmlink_rxp_push(&fc.fill, &b);
			shmlink_pipe_tx_flush(&fc.fill);
			damage_slot(&fc.desc, l.c_txq.tx_pipe, l.c_txq.tx_pipe_size, DAMAGE_HUGE);
			CHECK_EQ(server_rx(&l), 0);
			CHECK_BROKEN(l.server, "server, descriptor pipe");
			CHECK(shmlink_ep_rx_ready(l.server), "%s", "rx_ready false on a bad ring");
			CHECK_BURSTS_STOPPED(l.server, "server, descriptor pipe");
		}
		link_close(&l);
	}

	/* The server's fill pipe. */
	if (link_open(&l, NULL, NULL, NULL, &conf_default)) {
		struct fake_client fc;

		if (fake_client_init(&fc, &l)) {
			/* A good descriptor, so that the server could receive if it went on. */
			pattern_fill(l.c_txq.data, 3, 100);
			b = rbuf(0, 100, 0);
			shmlink_txd_push(&fc.desc, 0, 100, &b, 1);
			shmlink_pipe_tx_flush(&fc.desc);
			damage_slot(&fc.fill, l.c_rxq.tx_pipe, l.c_rxq.tx_pipe_size,
					DAMAGE_WRAP_MID);
			src_pattern(&src_pool[0], 1, 100, false);
			m = shmlink_ep_tx_burst(l.server, &src_pool[0].f, 1);
			CHECK_EQ(m, 0);
			CHECK_BROKEN(l.server, "server, fill pipe");
			CHECK_BURSTS_STOPPED(l.server, "server, fill pipe");
		}
		link_close(&l);
	}
}

static const struct ep_test tests[] = {
	{ "hostile_tx_completions", test_hostile_tx_completions },
	{ "hostile_rx_completions", test_hostile_rx_completions },
	{ "hostile_tx_descriptors", test_hostile_tx_descriptors },
	{ "hostile_posted_buffers", test_hostile_posted_buffers },
	{ "damaged_pipes", test_damaged_pipes },
};

int
main(int argc, char **argv)
{
	return ep_test_main("endpoint hostile", tests, sizeof(tests) / sizeof(tests[0]), argc,
			argv);
}
