/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Endpoint tests: the client and the server role against each other in one process,
 * over real queue files. Each queue is mapped twice, once for each side, as two processes
 * would map it, and one thread drives both sides in turn. Where a test needs a peer that
 * misbehaves, that side is a fake made of raw pipe readers and writers on its own mapping.
 *
 * Every check that fails prints file:line and what differed; the exit status is non-zero
 * if any check failed.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "shmlink.h"

#include "../common/test_common.h"

/* ---------------------------------------------------------------------------------------
 * Checks
 */


/* ---------------------------------------------------------------------------------------
 * Little-endian helpers for the fake peers' raw records
 */

static void
put_le32(uint8_t *p, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put_le64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t
get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* ---------------------------------------------------------------------------------------
 * A link: both queues, each mapped once per side, and the endpoints
 */

struct link {
	int txfds[SHMLINK_QFD_COUNT];
	int rxfds[SHMLINK_QFD_COUNT];
	struct shmlink_qmap c_txq;	/* the client's mappings */
	struct shmlink_qmap c_rxq;
	struct shmlink_qmap s_txq;	/* the server's mappings */
	struct shmlink_qmap s_rxq;
	struct shmlink_ep *client;	/* NULL when a fake client plays that side */
	struct shmlink_ep *server;	/* NULL when a fake server plays that side */
};

static void
link_close(struct link *l)
{
	shmlink_ep_destroy(l->client);
	shmlink_ep_destroy(l->server);
	l->client = NULL;
	l->server = NULL;
	shmlink_qmap_unmap(&l->c_txq);
	shmlink_qmap_unmap(&l->c_rxq);
	shmlink_qmap_unmap(&l->s_txq);
	shmlink_qmap_unmap(&l->s_rxq);
	shmlink_qfile_close(l->txfds);
	shmlink_qfile_close(l->rxfds);
}

static bool
map_queue(struct shmlink_qmap *m, const int fds[SHMLINK_QFD_COUNT], uint32_t buffer_size,
		const char *what)
{
	const char *why = NULL;
	int rc = shmlink_qmap_map(m, fds, buffer_size, &why);

	return CHECK(rc == 0, "mapping the %s failed: %d (%s)", what, rc,
			why != NULL ? why : "?");
}

/*
 * Create both queues and map each twice. Data regions are filled with 0xa5 before any
 * endpoint exists, so that bytes an endpoint forgets to write are seen as garbage, not as
 * the zeros a fresh file happens to hold. A NULL conf leaves that endpoint out.
 * Returns false (after a failed check) if anything could not be set up.
 */
static bool
link_open(struct link *l, const struct shmlink_qfile_sizes *tx_sizes,
		const struct shmlink_qfile_sizes *rx_sizes, const struct shmlink_ep_conf *cconf,
		const struct shmlink_ep_conf *sconf)
{
	uint32_t bsz = cconf != NULL ? cconf->buffer_size : 0;
	int rc;

	memset(l, 0, sizeof(*l));
	l->c_txq.notify.efd = -1;
	l->c_rxq.notify.efd = -1;
	l->s_txq.notify.efd = -1;
	l->s_rxq.notify.efd = -1;
	rc = shmlink_qfile_create(tx_sizes, l->txfds);
	if (!CHECK(rc == 0, "creating the TX queue files failed: %d", rc)) {
		shmlink_qfile_close(l->txfds);
		l->rxfds[0] = -1;
		shmlink_qfile_close(l->rxfds);
		return false;
	}
	rc = shmlink_qfile_create(rx_sizes, l->rxfds);
	if (!CHECK(rc == 0, "creating the RX queue files failed: %d", rc)) {
		shmlink_qfile_close(l->txfds);
		return false;
	}
	if (!map_queue(&l->c_txq, l->txfds, bsz, "TX queue for the client") ||
			!map_queue(&l->c_rxq, l->rxfds, bsz, "RX queue for the client") ||
			!map_queue(&l->s_txq, l->txfds, 0, "TX queue for the server") ||
			!map_queue(&l->s_rxq, l->rxfds, 0, "RX queue for the server")) {
		link_close(l);
		return false;
	}
	memset(l->c_txq.data, 0xa5, l->c_txq.data_size);
	memset(l->c_rxq.data, 0xa5, l->c_rxq.data_size);
	if (cconf != NULL) {
		l->client = shmlink_ep_create(SHMLINK_ROLE_CLIENT, &l->c_txq, &l->c_rxq, cconf);
		if (!CHECK(l->client != NULL, "client create failed: errno %d", errno)) {
			link_close(l);
			return false;
		}
	}
	if (sconf != NULL) {
		l->server = shmlink_ep_create(SHMLINK_ROLE_SERVER, &l->s_txq, &l->s_rxq, sconf);
		if (!CHECK(l->server != NULL, "server create failed: errno %d", errno)) {
			link_close(l);
			return false;
		}
	}
	return true;
}

/*
 * Let every completion and re-posting settle: the server publishes its TX completions,
 * the client reaps them (a burst of 0 frames reaps) and re-posts its RX buffers.
 */
static void
link_settle(struct link *l)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (l->server != NULL)
			shmlink_ep_rx_release(l->server);
		if (l->client != NULL) {
			shmlink_ep_tx_burst(l->client, NULL, 0);
			shmlink_ep_rx_release(l->client);
		}
	}
}

/* After link_settle(): the client has every TX chunk back and every RX buffer posted. */
static void
check_client_quiescent_at(const char *file, int line, struct shmlink_ep *client)
{
	struct shmlink_ep_buffers b;

	shmlink_ep_buffers_get(client, &b);
	check_at(file, line, b.tx_chunks_inflight == 0, "tx_chunks_inflight == 0",
			"%u of %u TX chunks still in flight", b.tx_chunks_inflight, b.tx_chunks);
	check_at(file, line, b.rx_bufs_posted == b.rx_bufs, "rx_bufs_posted == rx_bufs",
			"%u of %u RX buffers posted", b.rx_bufs_posted, b.rx_bufs);
}
#define CHECK_CLIENT_QUIESCENT(ep) check_client_quiescent_at(__FILE__, __LINE__, (ep))

/* No counter moved: a clean run of well-formed traffic. */
static void
check_stats_clean_at(const char *file, int line, struct shmlink_ep *ep, const char *who)
{
	struct shmlink_ep_stats st;
	int e;

	shmlink_ep_stats_get(ep, &st);
	for (e = 0; e < SHMLINK_ERR_COUNT; e++)
		check_at(file, line, st.err[e] == 0, "err == 0", "%s: %s = %" PRIu64, who,
				shmlink_err_name((enum shmlink_err)e), st.err[e]);
	check_at(file, line, st.rx_oversize == 0 && st.rx_runt == 0 && st.tx_oversize == 0,
			"no drops", "%s: rx_oversize %" PRIu64 " rx_runt %" PRIu64
			" tx_oversize %" PRIu64, who, st.rx_oversize, st.rx_runt, st.tx_oversize);
	check_at(file, line, !shmlink_ep_broken(ep), "!broken", "%s is broken", who);
}
#define CHECK_STATS_CLEAN(ep, who) check_stats_clean_at(__FILE__, __LINE__, (ep), (who))

static struct shmlink_ep_stats
stats_of(struct shmlink_ep *ep)
{
	struct shmlink_ep_stats st;

	shmlink_ep_stats_get(ep, &st);
	return st;
}

static struct shmlink_ep_buffers
buffers_of(struct shmlink_ep *ep)
{
	struct shmlink_ep_buffers b;

	shmlink_ep_buffers_get(ep, &b);
	return b;
}

/* ---------------------------------------------------------------------------------------
 * Frames: deterministic content from a sequence number, laid out as one piece or as a
 * scatter list whose pieces lie apart in memory (with garbage in between) and include
 * zero-length pieces.
 */

#define BURST_MAX	64u
#define RX_MAX		64u
#define SEGS_MAX	4096u
#define SRC_SEGS	6u
#define FRAME_ROOM	(9216u + 64u)
#define CHUNK		SHMLINK_DEFAULT_BUFFER_SIZE

struct src_frame {
	struct shmlink_seg segs[SRC_SEGS];
	struct shmlink_frame f;
	uint8_t mem[FRAME_ROOM];
};

static struct src_frame src_pool[BURST_MAX];
static uint8_t content_buf[FRAME_ROOM];
static uint8_t expect_buf[FRAME_ROOM];
static struct shmlink_frame rx_frames[RX_MAX];
static struct shmlink_seg rx_segs[SEGS_MAX];

static inline uint8_t
pat(uint32_t seq, uint32_t i)
{
	uint32_t x = (seq + 1u) * 0x9e3779b1u ^ i * 0x85ebca77u;

	return (uint8_t)(x ^ x >> 13 ^ x >> 24);
}

static void
pattern_fill(uint8_t *dst, uint32_t seq, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		dst[i] = pat(seq, i);
}

/* Lay @len bytes of @content out in @s: one piece, or several pieces cut by @seed. */
static void
src_build(struct src_frame *s, const uint8_t *content, uint32_t len, bool multi,
		uint32_t seed)
{
	uint32_t cuts[SRC_SEGS], nb = 0, pos = 0, off = 0, k;

	if (!multi) {
		memcpy(s->mem, content, len);
		s->segs[0].addr = s->mem;
		s->segs[0].len = len;
		s->f.segs = s->segs;
		s->f.nb_segs = 1;
		s->f.len = len;
		return;
	}
	/* Piece lengths: [0]? a, 0, b, rest, [0]? */
	{
		uint32_t a = (seed * 37u) % (len + 1);
		uint32_t b = (seed * 101u + 7u) % (len - a + 1);

		if (seed & 1)
			cuts[nb++] = 0;
		cuts[nb++] = a;
		cuts[nb++] = 0;
		cuts[nb++] = b;
		cuts[nb++] = len - a - b;
		if (seed & 2)
			cuts[nb++] = 0;
	}
	memset(s->mem, 0xee, len + 8u * nb);
	for (k = 0; k < nb; k++) {
		s->segs[k].addr = s->mem + pos;
		s->segs[k].len = cuts[k];
		memcpy(s->mem + pos, content + off, cuts[k]);
		off += cuts[k];
		pos += cuts[k] + 8u;
	}
	s->f.segs = s->segs;
	s->f.nb_segs = nb;
	s->f.len = len;
}

static void
src_pattern(struct src_frame *s, uint32_t seq, uint32_t len, bool multi)
{
	pattern_fill(content_buf, seq, len);
	src_build(s, content_buf, len, multi, seq);
}

/* True if frame @f holds exactly the @len bytes at @exp; quiet. */
static bool
frame_matches(const struct shmlink_frame *f, const uint8_t *exp, uint32_t len)
{
	uint32_t k, pos = 0;

	if (f->len != len)
		return false;
	for (k = 0; k < f->nb_segs; k++) {
		if (f->segs[k].len == 0)
			continue;
		if (pos + f->segs[k].len > len ||
				memcmp(f->segs[k].addr, exp + pos, f->segs[k].len) != 0)
			return false;
		pos += f->segs[k].len;
	}
	return pos == len;
}

/* Check that frame @f holds exactly the @len bytes at @exp, and say where it differs. */
static bool
frame_check_at(const char *file, int line, const struct shmlink_frame *f,
		const uint8_t *exp, uint32_t len, const char *what, uint32_t seq)
{
	uint64_t sum = 0;
	uint32_t k, i, pos = 0;

	if (f->len != len)
		return check_at(file, line, false, "frame length", "%s #%u: length %u, expected %u",
				what, seq, f->len, len);
	for (k = 0; k < f->nb_segs; k++) {
		if (f->segs[k].len > 0 && f->segs[k].addr == NULL)
			return check_at(file, line, false, "segment address",
					"%s #%u: segment %u of %u bytes has a NULL address",
					what, seq, k, f->segs[k].len);
		sum += f->segs[k].len;
	}
	if (sum != len)
		return check_at(file, line, false, "segment lengths",
				"%s #%u: %u segments add up to %" PRIu64 " bytes, frame length %u",
				what, seq, f->nb_segs, sum, len);
	for (k = 0; k < f->nb_segs; k++) {
		const uint8_t *p = f->segs[k].addr;

		for (i = 0; i < f->segs[k].len; i++, pos++) {
			if (p[i] != exp[pos])
				return check_at(file, line, false, "frame content",
						"%s #%u (%u bytes): byte %u (segment %u) is "
						"0x%02x, expected 0x%02x", what, seq, len, pos,
						k, p[i], exp[pos]);
		}
	}
	return check_at(file, line, true, "", "%s", "");
}
#define FRAME_CHECK(f, exp, len, what, seq) \
	frame_check_at(__FILE__, __LINE__, (f), (exp), (len), (what), (seq))

/* ---------------------------------------------------------------------------------------
 * Flows: a stream of numbered pattern frames from one endpoint to another, checked in
 * order and byte by byte on arrival.
 */

enum seg_mode {
	SEG_SINGLE,
	SEG_MULTI,
	SEG_MIXED,	/* by sequence number */
};

struct flow {
	const char *name;
	struct shmlink_ep *tx;
	struct shmlink_ep *rx;
	uint32_t nb;				/* frames to send */
	uint32_t (*len_of)(uint32_t seq);	/* length given to tx_burst */
	enum seg_mode mode;
	unsigned int burst;			/* most frames per tx_burst (varies) */
	uint32_t zeros;				/* receiver sees this many zeros first */
	uint32_t skip;				/* and the frame without its first bytes */
	uint32_t tx_seq;			/* next to send */
	uint32_t rx_seq;			/* next expected */
	uint32_t nb_runts;			/* frames expected to be dropped as runts */
	uint32_t nb_calls;
};

static bool
flow_multi(const struct flow *fl, uint32_t seq)
{
	return fl->mode == SEG_MULTI || (fl->mode == SEG_MIXED && (seq & 1));
}

static int64_t
flow_exp_len(const struct flow *fl, uint32_t seq)
{
	return (int64_t)fl->len_of(seq) + fl->zeros - fl->skip;
}

static void
flow_expect(const struct flow *fl, uint32_t seq, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		expect_buf[i] = i < fl->zeros ? 0 : pat(seq, i - fl->zeros + fl->skip);
}

/* Pass over frames that were sent but are expected to be dropped on receive. */
static void
flow_skip_runts(struct flow *fl)
{
	while (fl->rx_seq < fl->tx_seq && flow_exp_len(fl, fl->rx_seq) <= 0) {
		fl->rx_seq++;
		fl->nb_runts++;
	}
}

static unsigned int
flow_tx(struct flow *fl)
{
	struct shmlink_frame frames[BURST_MAX];
	unsigned int cnt, k, m;

	if (fl->tx_seq == fl->nb)
		return 0;
	cnt = fl->burst > 1 ? 1 + (fl->tx_seq * 7u + fl->nb_calls++) % fl->burst : 1;
	if (cnt > fl->nb - fl->tx_seq)
		cnt = fl->nb - fl->tx_seq;
	for (k = 0; k < cnt; k++) {
		uint32_t seq = fl->tx_seq + k;

		src_pattern(&src_pool[k], seq, fl->len_of(seq), flow_multi(fl, seq));
		frames[k] = src_pool[k].f;
	}
	m = shmlink_ep_tx_burst(fl->tx, frames, cnt);
	CHECK(m <= cnt, "%s: tx_burst returned %u for %u frames", fl->name, m, cnt);
	if (m > cnt)
		m = cnt;
	fl->tx_seq += m;
	return m;
}

static void
flow_check_frame(struct flow *fl, const struct shmlink_frame *f)
{
	uint32_t seq, len, j;

	flow_skip_runts(fl);
	if (!CHECK(fl->rx_seq < fl->tx_seq, "%s: a frame of %u bytes arrived, but all %u sent "
			"frames were already received", fl->name, f->len, fl->tx_seq))
		return;
	seq = fl->rx_seq++;
	len = (uint32_t)flow_exp_len(fl, seq);
	flow_expect(fl, seq, len);
	if (frame_matches(f, expect_buf, len)) {
		check_at(__FILE__, __LINE__, true, "", "%s", "");
		return;
	}
	/* Tell a lost or reordered frame from damaged content. */
	for (j = seq + 1; j < fl->tx_seq && j < seq + 9; j++) {
		int64_t l2 = flow_exp_len(fl, j);

		if (l2 <= 0)
			continue;
		flow_expect(fl, j, (uint32_t)l2);
		if (frame_matches(f, expect_buf, (uint32_t)l2)) {
			CHECK(false, "%s: expected frame #%u (%u bytes), got frame #%u: "
					"frames lost or out of order", fl->name, seq, len, j);
			fl->rx_seq = j + 1;
			return;
		}
	}
	flow_expect(fl, seq, len);
	FRAME_CHECK(f, expect_buf, len, fl->name, seq);
}

/* Evict every received frame after its check, as net_shmlink's rx_evict does. */
static bool flow_evict;

static unsigned int
flow_rx(struct flow *fl)
{
	unsigned int got, k;

	got = shmlink_ep_rx_burst(fl->rx, rx_frames, RX_MAX, rx_segs, SEGS_MAX);
	CHECK(got <= RX_MAX, "%s: rx_burst returned %u > %u", fl->name, got, RX_MAX);
	for (k = 0; k < got && k < RX_MAX; k++) {
		flow_check_frame(fl, &rx_frames[k]);
		if (flow_evict)
			shmlink_frame_evict(&rx_frames[k]);
	}
	shmlink_ep_rx_release(fl->rx);
	return got;
}

static bool
flow_done(struct flow *fl)
{
	if (fl->tx_seq == fl->nb)
		flow_skip_runts(fl);
	return fl->tx_seq == fl->nb && fl->rx_seq == fl->nb;
}

/* Drive all flows in turn until each is done or nothing moves any more. */
static void
run_flows(struct flow *fls, unsigned int n)
{
	unsigned int idle = 0, i;

	for (;;) {
		unsigned int moved = 0;
		bool done = true;

		for (i = 0; i < n; i++)
			done &= flow_done(&fls[i]);
		if (done)
			return;
		for (i = 0; i < n; i++)
			moved += flow_tx(&fls[i]);
		for (i = 0; i < n; i++)
			moved += flow_rx(&fls[i]);
		if (moved > 0) {
			idle = 0;
			continue;
		}
		/* A few idle rounds let pending completions and re-postings come back. */
		if (++idle < 4)
			continue;
		for (i = 0; i < n; i++)
			CHECK(flow_done(&fls[i]), "%s stalled: %u of %u sent, %u received",
					fls[i].name, fls[i].tx_seq, fls[i].nb, fls[i].rx_seq);
		return;
	}
}

static void
flow_init(struct flow *fl, const char *name, struct shmlink_ep *tx, struct shmlink_ep *rx,
		uint32_t nb, uint32_t (*len_of)(uint32_t), enum seg_mode mode, unsigned int burst)
{
	memset(fl, 0, sizeof(*fl));
	fl->name = name;
	fl->tx = tx;
	fl->rx = rx;
	fl->nb = nb;
	fl->len_of = len_of;
	fl->mode = mode;
	fl->burst = burst;
}

static uint32_t
len_seq_plus_one(uint32_t seq)
{
	return seq + 1;
}

static const uint32_t sample_sizes[] = {
	1, 2, 9, 10, 11, 12, 63, 64, 65, 100, 1500, 1514, 2037, 2038, 2039, 2047, 2048, 2049,
	2058, 4095, 4096, 4097, 6144, 6145, 8192, 9000, 9018, 9100,
};
#define NB_SAMPLE_SIZES (sizeof(sample_sizes) / sizeof(sample_sizes[0]))

static uint32_t
len_sample(uint32_t seq)
{
	return sample_sizes[seq % NB_SAMPLE_SIZES];
}

static uint32_t
len_random(uint32_t seq)
{
	uint32_t x = seq * 2654435761u;

	return (x >> 8) % 4500u + 1u;
}

static const struct shmlink_ep_conf conf_default = { 0 };

/*
 * Frames of the sample sizes both ways at once, each cut many ways; then the link must
 * settle with nothing lost or counted as wrong, and is closed. @what names the flows.
 */
static void
sample_flows_and_close(struct link *l, const char *what)
{
	char c2s[64], s2c[64];
	struct flow fl[2];

	snprintf(c2s, sizeof(c2s), "client->server %s", what);
	snprintf(s2c, sizeof(s2c), "server->client %s", what);
	flow_init(&fl[0], c2s, l->client, l->server, 40 * NB_SAMPLE_SIZES, len_sample,
			SEG_MIXED, 16);
	flow_init(&fl[1], s2c, l->server, l->client, 40 * NB_SAMPLE_SIZES, len_sample,
			SEG_MIXED, 16);
	run_flows(fl, 2);
	link_settle(l);
	CHECK_CLIENT_QUIESCENT(l->client);
	CHECK_STATS_CLEAN(l->client, "client");
	CHECK_STATS_CLEAN(l->server, "server");
	link_close(l);
}

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

static uint32_t
chunks_for(uint32_t wire, uint32_t buf_size)
{
	return (wire + buf_size - 1) / buf_size;
}

/* Send frames from @fl until tx_burst takes fewer than asked; returns true if it did. */
static bool
fill_until_refused(struct flow *fl)
{
	unsigned int guard;

	for (guard = 0; guard < 100000 && fl->tx_seq < fl->nb; guard++) {
		unsigned int want = fl->nb - fl->tx_seq < 16 ? fl->nb - fl->tx_seq : 16;
		struct shmlink_frame frames[16];
		unsigned int k, m;

		for (k = 0; k < want; k++) {
			uint32_t seq = fl->tx_seq + k;

			src_pattern(&src_pool[k], seq, fl->len_of(seq), flow_multi(fl, seq));
			frames[k] = src_pool[k].f;
		}
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
	link_settle(&l);
	CHECK_CLIENT_QUIESCENT(l.client);
	CHECK_STATS_CLEAN(l.client, "client");
	CHECK_STATS_CLEAN(l.server, "server");
	link_close(&l);
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
	link_settle(&l);
	CHECK_CLIENT_QUIESCENT(l.client);
	CHECK_STATS_CLEAN(l.client, "client");
	CHECK_STATS_CLEAN(l.server, "server");
	link_close(&l);
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
		link_settle(&l);
		CHECK_CLIENT_QUIESCENT(l.client);
		CHECK_STATS_CLEAN(l.client, "client");
		CHECK_STATS_CLEAN(l.server, "server");
		link_close(&l);
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
		link_settle(&l);
		CHECK_CLIENT_QUIESCENT(l.client);
		CHECK_STATS_CLEAN(l.client, "client");
		CHECK_STATS_CLEAN(l.server, "server");
		link_close(&l);
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
	run_virtio_pair("both virtio samples", &v, &v, 4 * NB_SAMPLE_SIZES, len_sample);
	run_virtio_pair("virtio client, plain server", &v, &nv, 4200, len_seq_plus_one);
	run_virtio_pair("plain client, virtio server", &nv, &v, 4200, len_seq_plus_one);
	run_virtio_pair("both virtio, 8-byte buffers", &v8, &v, 1014, len_upto_1014);
	run_virtio_pair("virtio client, plain server, 8-byte buffers", &v8, &nv, 1014,
			len_upto_1014);
	run_virtio_pair("plain, 8-byte buffers", &nv8, &nv, 1014, len_upto_1014);
}

/* ---------------------------------------------------------------------------------------
 * 5. Trimming to the L3 length (spec §8.1-1)
 */

#define ETH_HLEN 14u

static uint32_t
make_eth(uint8_t *p, uint16_t etype)
{
	memset(p, 0xff, 6);
	memcpy(p + 6, "\x02\x00\x00\x00\x00\x01", 6);
	p[12] = (uint8_t)(etype >> 8);
	p[13] = (uint8_t)etype;
	return ETH_HLEN;
}

static void
make_ipv4(uint8_t *p, uint16_t totlen)
{
	p[0] = 0x45;
	p[1] = 0;
	p[2] = (uint8_t)(totlen >> 8);
	p[3] = (uint8_t)totlen;
}

static void
make_ipv6(uint8_t *p, uint16_t plen)
{
	p[0] = 0x60;
	p[1] = 0;
	p[2] = 0;
	p[3] = 0;
	p[4] = (uint8_t)(plen >> 8);
	p[5] = (uint8_t)plen;
}

static void
make_arp(uint8_t *p)
{
	static const uint8_t fixed[8] = { 0, 1, 0x08, 0x00, 6, 4, 0, 1 };

	memcpy(p, fixed, sizeof(fixed));
}

/*
 * Send @len bytes of @content from the server; the client must see exactly the first
 * @want bytes, and its rx_trimmed must grow by one iff @trimmed.
 */
static void
trim_one_at(const char *file, int line, struct link *l, const uint8_t *content, uint32_t len,
		uint32_t want, bool trimmed, const char *what)
{
	static uint32_t seed;
	struct shmlink_ep_stats before = stats_of(l->client), after;
	struct shmlink_frame f;
	unsigned int m, got;

	src_build(&src_pool[0], content, len, (seed & 1) != 0, seed);
	seed++;
	f = src_pool[0].f;
	m = shmlink_ep_tx_burst(l->server, &f, 1);
	check_at(file, line, m == 1, "sent", "%s: server tx_burst returned %u", what, m);
	got = shmlink_ep_rx_burst(l->client, rx_frames, RX_MAX, rx_segs, SEGS_MAX);
	if (check_at(file, line, got == 1, "received", "%s: client got %u frames", what, got))
		frame_check_at(file, line, &rx_frames[0], content, want, what, 0);
	shmlink_ep_rx_release(l->client);
	after = stats_of(l->client);
	check_at(file, line, after.rx_trimmed - before.rx_trimmed == (trimmed ? 1u : 0u),
			"rx_trimmed", "%s: rx_trimmed grew by %" PRIu64 ", expected %u", what,
			after.rx_trimmed - before.rx_trimmed, trimmed ? 1u : 0u);
}
#define TRIM_ONE(l, c, len, want, trimmed, what) \
	trim_one_at(__FILE__, __LINE__, (l), (c), (len), (want), (trimmed), (what))

static void
test_trim_to_l3_length(void)
{
	struct shmlink_ep_conf trim = { .trim = true };
	struct shmlink_ep_conf trim_raw = { .trim = true, .raw_ip = true };
	struct shmlink_ep_conf trim_v = { .trim = true, .virtio_hdr = true };
	struct shmlink_ep_conf v = { .virtio_hdr = true };
	static uint8_t c[6000];
	struct link l;
	uint32_t l2;

	if (link_open(&l, NULL, NULL, &trim, &conf_default)) {
		pattern_fill(c, 1, sizeof(c));
		l2 = make_eth(c, 0x0800);
		make_ipv4(c + l2, 46);
		TRIM_ONE(&l, c, 100, 60, true, "IPv4 padded");
		make_ipv4(c + l2, 86);
		TRIM_ONE(&l, c, 100, 100, false, "IPv4 exact");
		make_ipv4(c + l2, 200);
		TRIM_ONE(&l, c, 100, 100, false, "IPv4 claiming more than the frame");
		make_ipv4(c + l2, 2500);
		TRIM_ONE(&l, c, 5000, 2514, true, "IPv4 over two buffers");
		make_ipv4(c + l2, 2048 - ETH_HLEN);
		TRIM_ONE(&l, c, 4000, 2048, true, "IPv4 cut at a buffer boundary");
		make_ipv4(c + l2, 2049 - ETH_HLEN);
		TRIM_ONE(&l, c, 4000, 2049, true, "IPv4 cut one byte past a buffer");
		make_ipv4(c + l2, 10);
		TRIM_ONE(&l, c, 100, 100, false, "IPv4 total length below its header");
		TRIM_ONE(&l, c, 20, 20, false, "frame too short for an IP header");

		pattern_fill(c, 2, sizeof(c));
		l2 = make_eth(c, 0x86dd);
		make_ipv6(c + l2, 20);
		TRIM_ONE(&l, c, 120, 74, true, "IPv6 padded");
		make_ipv6(c + l2, 66);
		TRIM_ONE(&l, c, 120, 120, false, "IPv6 exact");
		make_ipv6(c + l2, 1000);
		TRIM_ONE(&l, c, 120, 120, false, "IPv6 claiming more than the frame");

		pattern_fill(c, 3, sizeof(c));
		l2 = make_eth(c, 0x0806);
		make_arp(c + l2);
		TRIM_ONE(&l, c, 60, 42, true, "ARP padded to 60");

		pattern_fill(c, 4, sizeof(c));
		l2 = make_eth(c, 0x8100);
		c[14] = 0x00;
		c[15] = 0x05;
		c[16] = 0x08;
		c[17] = 0x00;
		make_ipv4(c + l2 + 4, 40);
		TRIM_ONE(&l, c, 90, 58, true, "VLAN-tagged IPv4");

		pattern_fill(c, 5, sizeof(c));
		make_eth(c, 0x88cc);
		TRIM_ONE(&l, c, 100, 100, false, "unknown EtherType");
		link_settle(&l);
		CHECK_CLIENT_QUIESCENT(l.client);
		link_close(&l);
	}

	if (link_open(&l, NULL, NULL, &trim_raw, &conf_default)) {
		pattern_fill(c, 6, sizeof(c));
		make_ipv4(c, 40);
		TRIM_ONE(&l, c, 64, 40, true, "raw IPv4");
		make_ipv6(c, 8);
		TRIM_ONE(&l, c, 64, 48, true, "raw IPv6");
		make_ipv6(c, 2000);
		TRIM_ONE(&l, c, 3000, 2040, true, "raw IPv6 over two buffers");
		c[0] = 0x50;
		TRIM_ONE(&l, c, 64, 64, false, "raw, IP version 5");
		link_close(&l);
	}

	if (link_open(&l, NULL, NULL, &conf_default, &conf_default)) {
		pattern_fill(c, 7, sizeof(c));
		l2 = make_eth(c, 0x0800);
		make_ipv4(c + l2, 46);
		TRIM_ONE(&l, c, 100, 100, false, "trim off: IPv4 padded");
		link_close(&l);
	}

	if (link_open(&l, NULL, NULL, &trim_v, &v)) {
		pattern_fill(c, 8, sizeof(c));
		l2 = make_eth(c, 0x0800);
		make_ipv4(c + l2, 46);
		TRIM_ONE(&l, c, 100, 60, true, "virtio: IPv4 padded");
		link_close(&l);
	}

	/* Trimming is for the client (gVisor's server over-reports); a server keeps the
	 * frame as the client's descriptor sized it. */
	if (link_open(&l, NULL, NULL, &conf_default, &trim)) {
		struct shmlink_frame f;
		unsigned int got;

		pattern_fill(c, 9, sizeof(c));
		l2 = make_eth(c, 0x0800);
		make_ipv4(c + l2, 46);
		src_build(&src_pool[0], c, 100, false, 0);
		f = src_pool[0].f;
		CHECK_EQ(shmlink_ep_tx_burst(l.client, &f, 1), 1);
		got = shmlink_ep_rx_burst(l.server, rx_frames, RX_MAX, rx_segs, SEGS_MAX);
		if (CHECK(got == 1, "server got %u frames", got))
			FRAME_CHECK(&rx_frames[0], c, 100, "server with trim", 0);
		CHECK_EQ(stats_of(l.server).rx_trimmed, 0);
		link_close(&l);
	}
}

/* ---------------------------------------------------------------------------------------
 * 6. max_frame on receive, and frames that can never be sent
 */

static void
send_seq_frames(struct shmlink_ep *ep, const uint32_t *lens, unsigned int n, uint32_t seq0,
		unsigned int *consumed)
{
	struct shmlink_frame frames[BURST_MAX];
	unsigned int k;

	for (k = 0; k < n; k++) {
		src_pattern(&src_pool[k], seq0 + k, lens[k], false);
		frames[k] = src_pool[k].f;
	}
	*consumed = shmlink_ep_tx_burst(ep, frames, n);
}

/* Receive on @ep; expect exactly the frames @seqs[] with lengths @lens[]. */
static void
expect_frames_at(const char *file, int line, struct shmlink_ep *ep, const uint32_t *seqs,
		const uint32_t *lens, unsigned int n, const char *what)
{
	unsigned int got, k;

	got = shmlink_ep_rx_burst(ep, rx_frames, RX_MAX, rx_segs, SEGS_MAX);
	check_at(file, line, got == n, "frame count", "%s: got %u frames, expected %u", what,
			got, n);
	for (k = 0; k < got && k < n; k++) {
		pattern_fill(expect_buf, seqs[k], lens[k]);
		frame_check_at(file, line, &rx_frames[k], expect_buf, lens[k], what, seqs[k]);
	}
	shmlink_ep_rx_release(ep);
}
#define EXPECT_FRAMES(ep, seqs, lens, n, what) \
	expect_frames_at(__FILE__, __LINE__, (ep), (seqs), (lens), (n), (what))

static void
test_max_frame_and_unsendable(void)
{
	struct shmlink_ep_conf c1500 = { .max_frame = 1500 };
	struct shmlink_ep_conf v1500 = { .max_frame = 1500, .virtio_hdr = true };
	static const uint32_t lens3[3] = { 1500, 1501, 1500 };
	static const uint32_t seqs_ok[2] = { 0, 2 }, lens_ok[2] = { 1500, 1500 };
	struct link l;
	unsigned int m;

	if (link_open(&l, NULL, NULL, &c1500, &c1500)) {
		send_seq_frames(l.client, lens3, 3, 0, &m);
		CHECK_EQ(m, 3);
		EXPECT_FRAMES(l.server, seqs_ok, lens_ok, 2, "client->server max_frame 1500");
		CHECK_EQ(stats_of(l.server).rx_oversize, 1);

		send_seq_frames(l.server, lens3, 3, 0, &m);
		CHECK_EQ(m, 3);
		EXPECT_FRAMES(l.client, seqs_ok, lens_ok, 2, "server->client max_frame 1500");
		CHECK_EQ(stats_of(l.client).rx_oversize, 1);
		link_settle(&l);
		/* The dropped frame's chunks and buffers came back too. */
		CHECK_CLIENT_QUIESCENT(l.client);
		link_close(&l);
	}

	/* max_frame does not count the virtio header. */
	if (link_open(&l, NULL, NULL, &v1500, &v1500)) {
		send_seq_frames(l.client, lens3, 3, 0, &m);
		CHECK_EQ(m, 3);
		EXPECT_FRAMES(l.server, seqs_ok, lens_ok, 2, "virtio client->server 1500");
		CHECK_EQ(stats_of(l.server).rx_oversize, 1);
		send_seq_frames(l.server, lens3, 3, 0, &m);
		CHECK_EQ(m, 3);
		EXPECT_FRAMES(l.client, seqs_ok, lens_ok, 2, "virtio server->client 1500");
		CHECK_EQ(stats_of(l.client).rx_oversize, 1);
		link_close(&l);
	}

	if (link_open(&l, NULL, NULL, &conf_default, &conf_default)) {
		static const uint32_t lens_z[3] = { 0, 100, 0 };
		static const uint32_t seq1[1] = { 1 }, seq7[1] = { 7 }, len1[1] = { 100 };
		struct shmlink_frame big[2];
		struct shmlink_seg big_seg;
		uint8_t *mem;
		struct shmlink_ep_buffers b;

		/* Zero-length frames are consumed and counted, the others still go. */
		send_seq_frames(l.client, lens_z, 3, 0, &m);
		CHECK_EQ(m, 3);
		CHECK_EQ(stats_of(l.client).tx_oversize, 2);
		EXPECT_FRAMES(l.server, seq1, len1, 1, "client: zero-length frames skipped");
		send_seq_frames(l.server, lens_z, 3, 0, &m);
		CHECK_EQ(m, 3);
		CHECK_EQ(stats_of(l.server).tx_oversize, 2);
		EXPECT_FRAMES(l.client, seq1, len1, 1, "server: zero-length frames skipped");

		/* A frame needing more than SHMLINK_FRAME_MAX_BUFS buffers never fits. */
		mem = malloc(SHMLINK_FRAME_MAX_BUFS * CHUNK + 1);
		if (CHECK(mem != NULL, "out of memory")) {
			memset(mem, 0x5a, SHMLINK_FRAME_MAX_BUFS * CHUNK + 1);
			big_seg.addr = mem;
			big_seg.len = SHMLINK_FRAME_MAX_BUFS * CHUNK + 1;
			big[0].segs = &big_seg;
			big[0].nb_segs = 1;
			big[0].len = big_seg.len;
			src_pattern(&src_pool[0], 7, 100, false);
			big[1] = src_pool[0].f;
			m = shmlink_ep_tx_burst(l.client, big, 2);
			CHECK_EQ(m, 2);
			CHECK_EQ(stats_of(l.client).tx_oversize, 3);
			EXPECT_FRAMES(l.server, seq7, len1, 1, "client: huge frame skipped");
			m = shmlink_ep_tx_burst(l.server, big, 2);
			CHECK_EQ(m, 2);
			CHECK_EQ(stats_of(l.server).tx_oversize, 3);
			EXPECT_FRAMES(l.client, seq7, len1, 1, "server: huge frame skipped");
			free(mem);
		}
		link_settle(&l);
		CHECK_CLIENT_QUIESCENT(l.client);
		/* The buffers the server looked at for the huge frame are not lost: it can
		 * still fill every one of them. */
		b = buffers_of(l.client);
		{
			static uint32_t ones[BURST_MAX];
			unsigned int k, total = 0, round;

			for (k = 0; k < BURST_MAX; k++)
				ones[k] = 100;
			for (round = 0; round < 20; round++) {
				send_seq_frames(l.server, ones, BURST_MAX, 1000 + total, &m);
				total += m;
				if (m < BURST_MAX)
					break;
			}
			CHECK_EQ(total, b.rx_bufs);
		}
		link_close(&l);
	}
}

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

static unsigned int
client_rx(struct link *l)
{
	return shmlink_ep_rx_burst(l->client, rx_frames, RX_MAX, rx_segs, SEGS_MAX);
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

static unsigned int
server_rx(struct link *l)
{
	return shmlink_ep_rx_burst(l->server, rx_frames, RX_MAX, rx_segs, SEGS_MAX);
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

/* ---------------------------------------------------------------------------------------
 * 8. Notification
 */

static uint32_t
word_of(const struct shmlink_qmap *q)
{
	return __atomic_load_n((uint32_t *)(void *)q->shared, __ATOMIC_SEQ_CST);
}

/* Take the eventfd's counter, through a dup of it (non-blocking, as created). */
static uint64_t
efd_take(int efd)
{
	uint64_t v = 0;
	int fd = fcntl(efd, F_DUPFD_CLOEXEC, 0);

	if (!CHECK(fd >= 0, "dup of eventfd failed: %d", errno))
		return UINT64_MAX;
	CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) != 0, "%s", "eventfd is blocking");
	if (read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v)) {
		CHECK(errno == EAGAIN, "eventfd read failed: %d", errno);
		v = 0;
	}
	close(fd);
	return v;
}

static void
test_notification(void)
{
	struct shmlink_ep_conf sc = { 0 };
	struct link l;
	struct shmlink_frame frames[8];
	unsigned int k, got;
	int tx_efd, rx_efd;

	if (!link_open(&l, NULL, NULL, &conf_default, NULL))
		return;
	tx_efd = l.txfds[SHMLINK_QFD_EVENT];
	rx_efd = l.rxfds[SHMLINK_QFD_EVENT];
	/* The client consumes the RX queue: it polls, so it asks for no signal. */
	CHECK_EQ(word_of(&l.c_rxq), SHMLINK_NOTIFY_OFF);
	/* Nobody consumes the TX queue yet: its word is still 0, which asks for one. */
	CHECK_EQ(word_of(&l.c_txq), SHMLINK_NOTIFY_UNSET);
	src_pattern(&src_pool[0], 0, 100, false);
	CHECK_EQ(shmlink_ep_tx_burst(l.client, &src_pool[0].f, 1), 1);
	CHECK_EQ(efd_take(tx_efd), 1);
	CHECK_EQ(stats_of(l.client).signals, 1);

	l.server = shmlink_ep_create(SHMLINK_ROLE_SERVER, &l.s_txq, &l.s_rxq, &sc);
	if (!CHECK(l.server != NULL, "server create failed: %d", errno)) {
		link_close(&l);
		return;
	}
	CHECK_EQ(word_of(&l.s_txq), SHMLINK_NOTIFY_OFF);
	CHECK(shmlink_ep_rx_ready(l.server), "%s", "server not ready with a frame waiting");
	CHECK_EQ(server_rx(&l), 1);
	shmlink_ep_rx_release(l.server);
	CHECK(!shmlink_ep_rx_ready(l.server), "%s", "server ready with nothing waiting");

	/* The server polls: a burst of 8 makes no system call. */
	for (k = 0; k < 8; k++) {
		src_pattern(&src_pool[k], k + 1, 100 + k, false);
		frames[k] = src_pool[k].f;
	}
	CHECK_EQ(shmlink_ep_tx_burst(l.client, frames, 8), 8);
	CHECK_EQ(efd_take(tx_efd), 0);
	CHECK_EQ(stats_of(l.client).signals, 1);
	CHECK_EQ(server_rx(&l), 8);
	shmlink_ep_rx_release(l.server);

	/* Same for the other direction while the client polls. */
	CHECK_EQ(shmlink_ep_tx_burst(l.server, frames, 8), 8);
	CHECK_EQ(efd_take(rx_efd), 0);
	CHECK_EQ(stats_of(l.server).signals, 0);
	CHECK(shmlink_ep_rx_ready(l.client), "%s", "client not ready with frames waiting");
	CHECK_EQ(client_rx(&l), 8);
	shmlink_ep_rx_release(l.client);

	/* The client may sleep: one signal per burst, not per frame. */
	shmlink_notify_arm(shmlink_ep_rx_notify(l.client));
	CHECK_EQ(word_of(&l.s_rxq), SHMLINK_NOTIFY_ON);
	CHECK_EQ(shmlink_ep_tx_burst(l.server, frames, 8), 8);
	CHECK_EQ(efd_take(rx_efd), 1);
	CHECK_EQ(stats_of(l.server).signals, 1);
	got = client_rx(&l);
	CHECK_EQ(got, 8);
	shmlink_notify_disarm(shmlink_ep_rx_notify(l.client));
	shmlink_ep_rx_release(l.client);

	/* The server may sleep: the client signals it. */
	shmlink_notify_arm(shmlink_ep_rx_notify(l.server));
	CHECK_EQ(word_of(&l.c_txq), SHMLINK_NOTIFY_ON);
	CHECK_EQ(shmlink_ep_tx_burst(l.client, frames, 8), 8);
	CHECK_EQ(efd_take(tx_efd), 1);
	CHECK_EQ(stats_of(l.client).signals, 2);
	CHECK_EQ(server_rx(&l), 8);
	shmlink_ep_rx_release(l.server);

	/* Back to polling: no more signals. */
	shmlink_notify_disarm(shmlink_ep_rx_notify(l.server));
	CHECK_EQ(word_of(&l.c_txq), SHMLINK_NOTIFY_OFF);
	CHECK_EQ(shmlink_ep_tx_burst(l.client, frames, 8), 8);
	CHECK_EQ(efd_take(tx_efd), 0);
	CHECK_EQ(stats_of(l.client).signals, 2);
	CHECK_EQ(server_rx(&l), 8);
	shmlink_ep_rx_release(l.server);
	CHECK_EQ(shmlink_ep_tx_burst(l.server, frames, 8), 8);
	CHECK_EQ(efd_take(rx_efd), 0);
	CHECK_EQ(stats_of(l.server).signals, 1);
	CHECK_EQ(client_rx(&l), 8);
	link_settle(&l);
	CHECK_CLIENT_QUIESCENT(l.client);
	link_close(&l);
}

/* defer_signals: bursts publish without a system call, shmlink_ep_tx_signal() signals
 * once for all of them, and only a peer that asked for signals gets one. */
static void
test_deferred_signals(void)
{
	static const struct shmlink_ep_conf dc = { .defer_signals = true };
	struct link l;
	struct shmlink_frame frames[8];
	unsigned int k, round, got;
	int tx_efd, rx_efd;

	if (!link_open(&l, NULL, NULL, &dc, &dc))
		return;
	tx_efd = l.txfds[SHMLINK_QFD_EVENT];
	rx_efd = l.rxfds[SHMLINK_QFD_EVENT];
	for (k = 0; k < 8; k++) {
		src_pattern(&src_pool[k], k + 1, 60 + 50 * k, false);
		frames[k] = src_pool[k].f;
	}
	/* Both sides poll: nobody waits, nothing to signal. */
	CHECK(!shmlink_ep_tx_peer_waits(l.client), "%s", "client: the polling server waits");
	CHECK(!shmlink_ep_tx_peer_waits(l.server), "%s", "server: the polling client waits");
	CHECK(!shmlink_ep_tx_signal(l.client), "%s", "client signalled a polling server");
	CHECK_EQ(efd_take(tx_efd), 0);

	/* Each side may sleep in turn: three bursts, no signal, then one for all three. */
	for (round = 0; round < 2; round++) {
		struct shmlink_ep *tx = round == 0 ? l.client : l.server;
		struct shmlink_ep *rx = round == 0 ? l.server : l.client;
		int efd = round == 0 ? tx_efd : rx_efd;

		shmlink_notify_arm(shmlink_ep_rx_notify(rx));
		CHECK(shmlink_ep_tx_peer_waits(tx), "round %u: a sleeping peer does not wait",
				round);
		for (k = 0; k < 3; k++)
			CHECK_EQ(shmlink_ep_tx_burst(tx, frames, 8), 8);
		CHECK_EQ(efd_take(efd), 0);
		CHECK_EQ(stats_of(tx).signals, 0);
		CHECK(shmlink_ep_tx_signal(tx), "round %u: no signal to a sleeping peer", round);
		CHECK_EQ(efd_take(efd), 1);
		CHECK_EQ(stats_of(tx).signals, 1);
		/* The frames were all there before the signal. */
		for (got = 0, k = 0; k < 24; k++) {
			unsigned int n = round == 0 ? server_rx(&l) : client_rx(&l);

			shmlink_ep_rx_release(rx);
			if (n == 0)
				break;
			got += n;
		}
		CHECK_EQ(got, 24);
		shmlink_notify_disarm(shmlink_ep_rx_notify(rx));
		CHECK(!shmlink_ep_tx_signal(tx), "round %u: signalled a polling peer", round);
		CHECK_EQ(efd_take(efd), 0);
	}
	link_settle(&l);
	CHECK_CLIENT_QUIESCENT(l.client);
	link_close(&l);
}

/*
 * shmlink_frame_evict() on every received frame, as net_shmlink's rx_evict does: the
 * frames still arrive whole at every size, cut into pieces that start and end anywhere
 * in a line (1000-byte buffers, the virtio header).
 */
static void
test_evicted_frames(void)
{
	static const struct shmlink_ep_conf c1000 = { .virtio_hdr = true, .buffer_size = 1000 };
	static const struct shmlink_ep_conf *const confs[] = { &conf_default, &c1000 };
	unsigned int i;

	flow_evict = true;
	for (i = 0; i < sizeof(confs) / sizeof(confs[0]); i++) {
		struct link l;

		if (!link_open(&l, NULL, NULL, confs[i], confs[i]))
			break;
		sample_flows_and_close(&l, "evicted");
	}
	flow_evict = false;
#if defined(__x86_64__)
	/* Where the CPU has CLFLUSHOPT, eviction must not quietly be a no-op. */
	{
		unsigned int a, b, c, d;

		if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 23)) != 0)
			CHECK(shmlink_frame_evict_works(), "%s", "CLFLUSHOPT present, evict off");
	}
#endif
}

/* ---------------------------------------------------------------------------------------
 * Main
 */

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "every_size_both_directions", test_every_size_both_directions },
	{ "backpressure_client_to_server", test_backpressure_client_to_server },
	{ "backpressure_server_to_client", test_backpressure_server_to_client },
	{ "backpressure_small_pipes", test_backpressure_small_pipes },
	{ "id_reuse_no_buffer_lost", test_id_reuse_no_buffer_lost },
	{ "virtio_header", test_virtio_header },
	{ "trim_to_l3_length", test_trim_to_l3_length },
	{ "max_frame_and_unsendable", test_max_frame_and_unsendable },
	{ "hostile_tx_completions", test_hostile_tx_completions },
	{ "hostile_rx_completions", test_hostile_rx_completions },
	{ "hostile_tx_descriptors", test_hostile_tx_descriptors },
	{ "hostile_posted_buffers", test_hostile_posted_buffers },
	{ "damaged_pipes", test_damaged_pipes },
	{ "notification", test_notification },
	{ "deferred_signals", test_deferred_signals },
	{ "evicted_frames", test_evicted_frames },
};

int
main(int argc, char **argv)
{
	unsigned int i, nb_run = 0, nb_tests_failed = 0;
	double t0 = test_now_s();

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		unsigned int failed0 = check_failures;
		double t1;
		int a;
		bool wanted = argc < 2;

		/* Optional arguments: names of the tests to run. */
		for (a = 1; a < argc; a++)
			wanted |= strcmp(argv[a], tests[i].name) == 0;
		if (!wanted)
			continue;
		check_test = tests[i].name;
		t1 = test_now_s();
		tests[i].fn();
		nb_run++;
		if (check_failures > failed0)
			nb_tests_failed++;
		printf("%s %s (%.2f s, %u failed checks)\n",
				check_failures > failed0 ? "FAIL" : "ok  ", tests[i].name,
				test_now_s() - t1, check_failures - failed0);
	}
	printf("endpoint: %u tests, %u failed; %u checks, %u failed; %.2f s\n", nb_run,
			nb_tests_failed, check_count, check_failures, test_now_s() - t0);
	return check_failures > 0 || nb_run == 0 ? 1 : 0;
}
