/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * What the endpoint tests (test_ep_*.c) share: a link of two endpoints over real queue
 * files, each queue mapped once per side as two processes would map it; pattern frames
 * as one piece or as scatter lists; flows of numbered frames checked on arrival; and
 * the little-endian helpers of the fake peers. endpoint_harness.h says what each is.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "endpoint_harness.h"

unsigned int check_failures;
unsigned int check_count;
const char *check_test = "";

/* ---------------------------------------------------------------------------------------
 * Little-endian helpers for the fake peers' raw records
 */

void
put_le32(uint8_t *p, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void
put_le64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t
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


void
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
bool
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
void
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

void
link_close_clean_at(const char *file, int line, struct link *l)
{
	link_settle(l);
	check_client_quiescent_at(file, line, l->client);
	check_stats_clean_at(file, line, l->client, "client");
	check_stats_clean_at(file, line, l->server, "server");
	link_close(l);
}

/* After link_settle(): the client has every TX chunk back and every RX buffer posted. */
void
check_client_quiescent_at(const char *file, int line, struct shmlink_ep *client)
{
	struct shmlink_ep_buffers b;

	shmlink_ep_buffers_get(client, &b);
	check_at(file, line, b.tx_chunks_inflight == 0, "tx_chunks_inflight == 0",
			"%u of %u TX chunks still in flight", b.tx_chunks_inflight, b.tx_chunks);
	check_at(file, line, b.rx_bufs_posted == b.rx_bufs, "rx_bufs_posted == rx_bufs",
			"%u of %u RX buffers posted", b.rx_bufs_posted, b.rx_bufs);
}

/* No counter moved: a clean run of well-formed traffic. */
void
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

struct shmlink_ep_stats
stats_of(struct shmlink_ep *ep)
{
	struct shmlink_ep_stats st;

	shmlink_ep_stats_get(ep, &st);
	return st;
}

struct shmlink_ep_buffers
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



struct src_frame src_pool[BURST_MAX];
uint8_t content_buf[FRAME_ROOM];
uint8_t expect_buf[FRAME_ROOM];
struct shmlink_frame rx_frames[RX_MAX];
struct shmlink_seg rx_segs[SEGS_MAX];

static inline uint8_t
pat(uint32_t seq, uint32_t i)
{
	uint32_t x = (seq + 1u) * 0x9e3779b1u ^ i * 0x85ebca77u;

	return (uint8_t)(x ^ x >> 13 ^ x >> 24);
}

void
pattern_fill(uint8_t *dst, uint32_t seq, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		dst[i] = pat(seq, i);
}

/* Lay @len bytes of @content out in @s: one piece, or several pieces cut by @seed. */
void
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

void
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
bool
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

/* ---------------------------------------------------------------------------------------
 * Flows: a stream of numbered pattern frames from one endpoint to another, checked in
 * order and byte by byte on arrival.
 */



bool
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

void
flow_next_frames(const struct flow *fl, struct shmlink_frame *frames, unsigned int n)
{
	unsigned int k;

	for (k = 0; k < n; k++) {
		uint32_t seq = fl->tx_seq + k;

		src_pattern(&src_pool[k], seq, fl->len_of(seq), flow_multi(fl, seq));
		frames[k] = src_pool[k].f;
	}
}

static unsigned int
flow_tx(struct flow *fl)
{
	struct shmlink_frame frames[BURST_MAX];
	unsigned int cnt, m;

	if (fl->tx_seq == fl->nb)
		return 0;
	cnt = fl->burst > 1 ? 1 + (fl->tx_seq * 7u + fl->nb_calls++) % fl->burst : 1;
	if (cnt > fl->nb - fl->tx_seq)
		cnt = fl->nb - fl->tx_seq;
	flow_next_frames(fl, frames, cnt);
	m = shmlink_ep_tx_burst(fl->tx, frames, cnt);
	CHECK(m <= cnt, "%s: tx_burst returned %u for %u frames", fl->name, m, cnt);
	if (m > cnt)
		m = cnt;
	fl->tx_seq += m;
	return m;
}

void
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
bool flow_evict;

unsigned int
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
void
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

void
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

uint32_t
len_seq_plus_one(uint32_t seq)
{
	return seq + 1;
}

const uint32_t sample_sizes[] = {
	1, 2, 9, 10, 11, 12, 63, 64, 65, 100, 1500, 1514, 2037, 2038, 2039, 2047, 2048, 2049,
	2058, 4095, 4096, 4097, 6144, 6145, 8192, 9000, 9018, 9100,
};
const unsigned int nb_sample_sizes = sizeof(sample_sizes) / sizeof(sample_sizes[0]);

uint32_t
len_sample(uint32_t seq)
{
	return sample_sizes[seq % nb_sample_sizes];
}

uint32_t
len_random(uint32_t seq)
{
	uint32_t x = seq * 2654435761u;

	return (x >> 8) % 4500u + 1u;
}

const struct shmlink_ep_conf conf_default = { 0 };

/*
 * Frames of the sample sizes both ways at once, each cut many ways; then the link must
 * settle with nothing lost or counted as wrong, and is closed. @what names the flows.
 */
void
sample_flows_and_close(struct link *l, const char *what)
{
	char c2s[64], s2c[64];
	struct flow fl[2];

	snprintf(c2s, sizeof(c2s), "client->server %s", what);
	snprintf(s2c, sizeof(s2c), "server->client %s", what);
	flow_init(&fl[0], c2s, l->client, l->server, 40 * nb_sample_sizes, len_sample,
			SEG_MIXED, 16);
	flow_init(&fl[1], s2c, l->server, l->client, 40 * nb_sample_sizes, len_sample,
			SEG_MIXED, 16);
	run_flows(fl, 2);
	LINK_CLOSE_CLEAN(l);
}

/* ---------------------------------------------------------------------------------------
 * Helpers of several topics
 */

uint32_t
chunks_for(uint32_t wire, uint32_t buf_size)
{
	return (wire + buf_size - 1) / buf_size;
}

void
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

unsigned int
client_rx(struct link *l)
{
	return shmlink_ep_rx_burst(l->client, rx_frames, RX_MAX, rx_segs, SEGS_MAX);
}

unsigned int
server_rx(struct link *l)
{
	return shmlink_ep_rx_burst(l->server, rx_frames, RX_MAX, rx_segs, SEGS_MAX);
}

/* ---------------------------------------------------------------------------------------
 * Main
 */

int
ep_test_main(const char *suite, const struct ep_test *tests, unsigned int nb_tests,
		int argc, char **argv)
{
	unsigned int i, nb_run = 0, nb_tests_failed = 0;
	double t0 = test_now_s();

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < nb_tests; i++) {
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
	printf("%s: %u tests, %u failed; %u checks, %u failed; %.2f s\n", suite, nb_run,
			nb_tests_failed, check_count, check_failures, test_now_s() - t0);
	return check_failures > 0 || nb_run == 0 ? 1 : 0;
}
