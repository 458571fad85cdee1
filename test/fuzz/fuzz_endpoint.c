/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * An endpoint's receive paths over rings a fuzzed peer writes (spec §6, §8.2). Built
 * twice: -DFUZZ_ROLE_SERVER fuzzes a server endpoint (the peer is a client sending TX
 * descriptors and posting buffers), without it a client endpoint (the peer is a server
 * sending TX and RX completions).
 *
 * The queues are real queue files (memfds from shmlink_qfile_create()), each mapped
 * into a guarded region: the usable bytes end at the file's size (pipes: their ring
 * length; SharedData: its 4-byte word), ASan poisons the rest of the last page and a
 * PROT_NONE guard of 4 GiB follows. A few geometries (file and buffer sizes) are made
 * once and chosen per input; every input starts from fresh rings.
 *
 * Input:  u8 geometry and rx_hold | u8 endpoint settings | program
 * The program mixes the endpoint's own calls (tx_burst, rx_burst or rx_burst_hold,
 * rx_release, rx_return of lent frames in any order, rx_ready) with the peer's moves: records with fields chosen from valid values, the
 * edges of the data region (offset = size, size = size - offset + 1, 2^64 - 1, ...),
 * ids never posted or already returned, raw slots of any length, words and bytes
 * written anywhere in the four pipes, notification words and eventfd floods.
 *
 * Checked after every step:
 *   - every received frame's segments lie in the data region of its queue, add up to
 *     its length, fit in the caller's segment array, and respect the frame limit;
 *   - the error counters and the broken flag never go back; a broken endpoint moves
 *     nothing; the ring occupancy it reports lies within the ring;
 *   - the client's buffer accounting stays consistent (every RX buffer is posted,
 *     waiting to be posted, held or lent, exactly once; no TX chunk or id is free
 *     twice); the frames lent out are as many as given and not yet returned, at most
 *     rx_hold, and a client ignores tokens it has not lent;
 *   - as long as the peer sent only valid records and damaged no ring: no error is
 *     counted, nothing is broken, what the endpoint writes is valid (client: posted
 *     buffers and descriptors within its data; server: one completion per descriptor,
 *     same ids, same order unless frames were lent; RX completions that echo the posted buffers in order with
 *     exact sizes).
 */

#include <fcntl.h>

#include "fuzz_common.h"
#include "shmlink.h"
#include "shmlink_testing.h"

#ifdef FUZZ_ROLE_SERVER
#define ROLE SHMLINK_ROLE_SERVER
#else
#define ROLE SHMLINK_ROLE_CLIENT
#endif

#define MAX_TRACK	4096u	/* ids / posts / descriptors the peer remembers */
#define PAT_LEN		(70u << 10)

/* ---- geometries: made once, chosen per input ---- */

struct geom {
	uint64_t data, pipe, shared;
	uint32_t buf_size;
};

static const struct geom geoms[] = {
	{ 8192, 1024, 4, 512 },
	{ 16384 + 100, 4096, 4096, 2048 },
	{ 4096, 200, 8, 256 },
	{ 65536, 8192 + 4, 5, 128 },
	{ 12288, 24 + 5, 4, 1000 },
};
#define NB_GEOMS (sizeof(geoms) / sizeof(geoms[0]))

struct fq {
	int fds[SHMLINK_QFD_COUNT];
	struct fz_region data, txp, rxp, shared;
	struct shmlink_qmap map;
};

struct fgeom {
	bool ready;
	struct fq q[2];		/* 0: TX queue, 1: RX queue */
};

static struct fgeom fgeoms[NB_GEOMS];

/* rx_hold of this input's endpoint, and the tokens of the frames it has lent. */
#define MAX_LENT	1024u
static uint32_t hold;
static uint64_t lent[MAX_LENT];
static uint32_t nb_lent;
static bool lent_ever;		/* a lending burst ran: completions may come in any order */
static uint8_t pat[PAT_LEN];

static void
fq_make(struct fq *q, const struct geom *g)
{
	struct shmlink_qfile_sizes sz = { g->data, g->pipe, g->pipe, g->shared };
	int rc = shmlink_qfile_create(&sz, q->fds);

	FZ_CHECK(rc == 0, "shmlink_qfile_create: %d", rc);
	fz_region_map_fd(&q->data, q->fds[SHMLINK_QFD_DATA], g->data);
	fz_region_map_fd(&q->txp, q->fds[SHMLINK_QFD_TX_PIPE], g->pipe);
	fz_region_map_fd(&q->rxp, q->fds[SHMLINK_QFD_RX_PIPE], g->pipe);
	fz_region_map_fd(&q->shared, q->fds[SHMLINK_QFD_SHARED], g->shared);
	q->map = (struct shmlink_qmap){
		.data = q->data.base, .data_size = g->data,
		.tx_pipe = q->txp.base, .tx_pipe_size = g->pipe,
		.rx_pipe = q->rxp.base, .rx_pipe_size = g->pipe,
		.shared = q->shared.base, .shared_size = g->shared,
		.notify = { .word = (uint32_t *)(void *)q->shared.base,
			.efd = q->fds[SHMLINK_QFD_EVENT] },
	};
}

/* Fresh files for this input: zeroed, each pipe starting with the free word. */
static void
fq_reset(struct fq *q, const struct geom *g)
{
	uint64_t ring_len = g->pipe & ~(uint64_t)7, v;

	fz_region_limit(&q->data, g->data);
	fz_region_limit(&q->txp, ring_len);
	fz_region_limit(&q->rxp, ring_len);
	fz_region_limit(&q->shared, 4);
	memset(q->data.base, 0, g->data);
	memset(q->txp.base, 0, ring_len);
	memset(q->rxp.base, 0, ring_len);
	fz_put_le(q->txp.base, SHMLINK_PIPE_SLOT_FREE, 8);
	fz_put_le(q->rxp.base, SHMLINK_PIPE_SLOT_FREE, 8);
	memset(q->shared.base, 0, 4);
	while (read(q->fds[SHMLINK_QFD_EVENT], &v, sizeof(v)) == sizeof(v))
		;
}

/* ---- the peer ---- */

struct post {
	struct shmlink_buf b;
	bool valid;
};

struct peer {
	const struct geom *g;
	struct fq *txq, *rxq;
	bool poked;		/* wrote into a ring outside the protocol */
	bool bad;		/* sent a record the spec calls invalid */
#ifdef FUZZ_ROLE_SERVER
	struct shmlink_pipe_tx desc;	/* TX queue TxPipe */
	struct shmlink_pipe_rx txc;	/* TX queue RxPipe */
	struct shmlink_pipe_tx fill;	/* RX queue TxPipe */
	struct shmlink_pipe_rx rxc;	/* RX queue RxPipe */
	uint64_t desc_ids[MAX_TRACK];	/* ids of the descriptors sent, to be completed */
	uint32_t nb_desc, nb_txc;
	struct post posts[MAX_TRACK];	/* every posted record, in order */
	uint32_t nb_posts, next_post;	/* next_post: the next the server should use */
	uint64_t next_id;
#else
	struct shmlink_pipe_rx desc;
	struct shmlink_pipe_tx txc;
	struct shmlink_pipe_rx fill;
	struct shmlink_pipe_tx rxc;
	uint64_t inflight[MAX_TRACK];	/* TX ids read from descriptors, not completed */
	uint32_t nb_inflight;
	uint64_t done[16];		/* recently completed TX ids */
	uint32_t nb_done;
	struct shmlink_buf posted[MAX_TRACK];	/* RX buffers read, not completed */
	uint32_t nb_posted;
	struct shmlink_buf returned[16];	/* recently completed RX buffers */
	uint32_t nb_returned;
#endif
};

static struct peer P;

static bool
honest(const struct peer *p)
{
	return !p->poked && !p->bad;
}

/* A raw slot of @len bytes from the input (any length, any content). */
static void
push_raw(struct shmlink_pipe_tx *tx, struct fz_in *in, uint32_t len)
{
	uint8_t *s = shmlink_pipe_tx_push(tx, len);

	if (s != NULL) {
		fz_bytes(in, s, len);
		shmlink_pipe_tx_flush(tx);
	}
}

/* An offset in a region of @ds bytes: valid ones and the edges (spec §8.2). */
static uint64_t
pick_offset(struct fz_in *in, uint64_t ds, uint32_t bsz, uint32_t size)
{
	switch (fz_u8(in) % 8) {
	case 0:
	case 1:
		return (uint64_t)bsz * (fz_u8(in) % (ds / bsz + 1));
	case 2:
		return size <= ds ? ds - size : 0;
	case 3:
		return ds;
	case 4:
		return ds + 1 + fz_u8(in) % 8;
	case 5:
		return UINT64_MAX - fz_u8(in);
	case 6:
		return fz_u64(in);
	default:
		return (uint64_t)fz_u16(in) % (ds + 64);
	}
}

static uint32_t
pick_size(struct fz_in *in, uint64_t ds, uint32_t bsz)
{
	switch (fz_u8(in) % 8) {
	case 0:
	case 1:
		return bsz;
	case 2:
		return 1 + fz_u16(in) % bsz;
	case 3:
		return 0;
	case 4:
		return (uint32_t)ds;
	case 5:
		return UINT32_MAX - fz_u8(in);
	case 6:
		return fz_u32(in);
	default:
		return (uint32_t)(ds + 1);
	}
}

static bool
in_region(uint64_t off, uint64_t size, uint64_t ds)
{
	return off <= ds && size <= ds - off;
}

/* Write frame bytes from the input into a buffer the peer hands over, if it is real. */
static void
fill_data(struct fz_in *in, struct fq *q, uint64_t off, uint32_t size)
{
	uint32_t n = fz_u8(in) % 72;

	if (in_region(off, size, q->map.data_size)) {
		if (n > size)
			n = size;
		fz_bytes(in, q->map.data + off, n);
	}
}

/* ---- checks on the endpoint ---- */

static struct shmlink_ep_stats last_st;
static bool last_broken;

static void
check_frames(const struct shmlink_frame *fr, unsigned int nf, const struct shmlink_seg *segs,
		unsigned int max_segs, const struct fq *q, uint32_t max_frame)
{
	unsigned int i, used = 0;

	for (i = 0; i < nf; i++) {
		const struct shmlink_frame *f = &fr[i];
		uint64_t sum = 0;
		uint32_t k;

		FZ_CHECK(f->len >= 1 && f->len <= max_frame, "frame %u: %u bytes, limit %u", i,
				f->len, max_frame);
		FZ_CHECK(f->nb_segs >= 1 && f->segs >= segs &&
				f->segs + f->nb_segs <= segs + max_segs,
				"frame %u: %u segments outside the caller's array", i, f->nb_segs);
		used += f->nb_segs;
		for (k = 0; k < f->nb_segs; k++) {
			FZ_CHECK(f->segs[k].len > 0 &&
					fz_region_holds(&q->data, f->segs[k].addr, f->segs[k].len),
					"frame %u segment %u: %u bytes at data%+td (data is %llu)",
					i, k, f->segs[k].len,
					(const uint8_t *)f->segs[k].addr - q->data.base,
					(unsigned long long)q->map.data_size);
			fz_touch(f->segs[k].addr, f->segs[k].len);
			sum += f->segs[k].len;
		}
		FZ_CHECK(sum == f->len, "frame %u: segments add up to %llu, length %u", i,
				(unsigned long long)sum, f->len);
	}
	FZ_CHECK(used <= max_segs, "%u segments used of %u", used, max_segs);
}

static void
check_ep(struct shmlink_ep *ep)
{
	struct shmlink_ep_stats st;
	bool broken = shmlink_ep_broken(ep);
	int i;

	shmlink_ep_stats_get(ep, &st);
	for (i = 0; i < SHMLINK_ERR_COUNT; i++)
		FZ_CHECK(st.err[i] >= last_st.err[i], "counter %s went back",
				shmlink_err_name(i));
	FZ_CHECK(st.rx_oversize >= last_st.rx_oversize && st.rx_runt >= last_st.rx_runt &&
			st.rx_trimmed >= last_st.rx_trimmed &&
			st.tx_oversize >= last_st.tx_oversize && st.signals >= last_st.signals,
			"a counter went back");
	FZ_CHECK(broken || !last_broken, "the endpoint was broken and is no longer");
	if (!P.poked)
		FZ_CHECK(!broken, "broken without any damaged ring");
	if (honest(&P))
		for (i = 0; i < SHMLINK_ERR_COUNT; i++)
			FZ_CHECK(st.err[i] == 0, "%s counted %llu with an honest peer",
					shmlink_err_name(i), (unsigned long long)st.err[i]);
	last_st = st;
	last_broken = broken;
	{
		struct shmlink_ep_rings rings;

		shmlink_ep_rings_get(ep, &rings);
		for (i = 0; i < 2; i++)
			FZ_CHECK(rings.size[i] == (P.g->pipe & ~(uint64_t)7) &&
					rings.used[i] <= rings.size[i],
					"ring %d: %llu of %llu bytes used", i,
					(unsigned long long)rings.used[i],
					(unsigned long long)rings.size[i]);
	}
	FZ_TRACE("  errors %llu %llu %llu %llu %llu, oversize %llu runt %llu trimmed %llu, "
			"tx oversize %llu, broken %d, peer poked %d bad %d\n",
			(unsigned long long)st.err[0], (unsigned long long)st.err[1],
			(unsigned long long)st.err[2], (unsigned long long)st.err[3],
			(unsigned long long)st.err[4], (unsigned long long)st.rx_oversize,
			(unsigned long long)st.rx_runt, (unsigned long long)st.rx_trimmed,
			(unsigned long long)st.tx_oversize, broken,
			P.poked, P.bad);

	{
		char why[160];

		FZ_CHECK(shmlink_testing_ep_check(ep, why, sizeof(why)) == 0, "%s", why);
	}
}

/* ---- the endpoint's own calls ---- */

static void
ep_tx(struct shmlink_ep *ep, struct fz_in *in)
{
	struct shmlink_frame fr[8];
	struct shmlink_seg segs[8][3];
	unsigned int n = 1 + fz_u8(in) % 8, i, sent;
	bool broken = shmlink_ep_broken(ep);

	for (i = 0; i < n; i++) {
		uint16_t v = fz_u16(in);
		/* Mostly up to a few buffers long, sometimes up to 64 KiB - 1. */
		uint32_t len = v >= 0xc000 ? v : v % 4200u;
		uint32_t a = len > 0 ? fz_u16(in) % len : 0, b;
		uint32_t off = fz_u16(in) % (PAT_LEN - 65536u);

		b = a + (len > a ? fz_u16(in) % (len - a) : 0);
		fr[i].segs = segs[i];
		fr[i].len = len;
		fr[i].nb_segs = 0;
		/* Up to three pieces: [0, a), [a, b), [b, len), empty ones left out. */
		if (a > 0)
			segs[i][fr[i].nb_segs++] = (struct shmlink_seg){ pat + off, a };
		if (b > a)
			segs[i][fr[i].nb_segs++] = (struct shmlink_seg){ pat + off + a, b - a };
		if (len > b || fr[i].nb_segs == 0)
			segs[i][fr[i].nb_segs++] = (struct shmlink_seg){ pat + off + b, len - b };
	}
	sent = shmlink_ep_tx_burst(ep, fr, n);
	FZ_TRACE("tx_burst: %u of %u frames (first %u bytes)\n", sent, n, fr[0].len);
	FZ_CHECK(sent <= n, "tx_burst consumed %u of %u", sent, n);
	if (broken)
		FZ_CHECK(sent == 0, "a broken endpoint sent %u frames", sent);
}

static void
ep_rx(struct shmlink_ep *ep, struct fz_in *in, uint32_t max_frame)
{
	unsigned int max = 1 + fz_u8(in) % 16;
	unsigned int max_segs = 1 + fz_u8(in) % 160;
	struct shmlink_frame *fr = malloc(max * sizeof(*fr));
	struct shmlink_seg *segs = malloc(max_segs * sizeof(*segs));
	bool broken = shmlink_ep_broken(ep);
	bool idle = shmlink_ep_rx_idle(ep);
	bool lend = hold > 0 && (fz_u8(in) & 1) != 0;
	uint64_t tokens[16];
	unsigned int nf;

	FZ_CHECK(fr != NULL && segs != NULL, "out of memory");
	if (lend)
		nf = shmlink_ep_rx_burst_hold(ep, fr, max, segs, max_segs, tokens);
	else
		nf = shmlink_ep_rx_burst(ep, fr, max, segs, max_segs);
	FZ_TRACE("rx_burst: %u frames (first %u bytes)\n", nf, nf > 0 ? fr[0].len : 0);
	FZ_CHECK(nf <= max, "rx_burst returned %u frames of %u", nf, max);
	if (broken)
		FZ_CHECK(nf == 0, "a broken endpoint received %u frames", nf);
	/* Idle means the burst finds nothing, breaks nothing and holds nothing. The peer
	 * makes no move in between (one thread). */
	if (idle)
		FZ_CHECK(nf == 0 && !shmlink_ep_broken(ep) && shmlink_ep_rx_idle(ep),
				"rx_idle, then the burst got %u frames", nf);
	check_frames(fr, nf, segs, max_segs, ROLE == SHMLINK_ROLE_CLIENT ? P.rxq : P.txq,
			max_frame);
	if (lend) {
		FZ_CHECK(nb_lent + nf <= hold && nb_lent + nf <= MAX_LENT,
				"%u frames lent, rx_hold %u", nb_lent + nf, hold);
		memcpy(&lent[nb_lent], tokens, nf * sizeof(tokens[0]));
		nb_lent += nf;
		lent_ever = true;
	}
	free(segs);
	free(fr);
}

/* Give lent frames back, picked by the input; a client is also handed tokens it has not
 * lent (one given back already, made-up ones), which it must ignore. */
static void
ep_return(struct shmlink_ep *ep, struct fz_in *in)
{
	unsigned int n = fz_u8(in) % 8, k = 0;
	uint64_t t[8];

	while (k < n && nb_lent > 0) {
		uint32_t i = fz_u16(in) % nb_lent;

		t[k++] = lent[i];
		lent[i] = lent[--nb_lent];
	}
	shmlink_ep_rx_return(ep, t, k);
	if (ROLE == SHMLINK_ROLE_CLIENT && k > 0 && (fz_u8(in) & 3) == 0) {
		t[1] = fz_u8(in) & 1 ? fz_u64(in) : fz_u16(in);
		shmlink_ep_rx_return(ep, t, 2);
	}
}

/* ---- peer moves common to both roles ---- */

static uint8_t *
pick_pipe(struct fz_in *in, uint64_t *len)
{
	unsigned int k = fz_u8(in) % 4;
	struct fq *q = k < 2 ? P.txq : P.rxq;

	*len = P.g->pipe & ~(uint64_t)7;
	return k % 2 == 0 ? q->map.tx_pipe : q->map.rx_pipe;
}

static void
peer_poke(struct fz_in *in, bool word)
{
	uint64_t len;
	uint8_t *ring = pick_pipe(in, &len);
	uint64_t off = fz_u16(in) % len;

	if (word) {
		static const uint64_t special[] = {
			0, SHMLINK_PIPE_SLOT_FREE, SHMLINK_PIPE_SLOT_FREE | 0xffffffffull,
			0xffffffffull, 0xfffffff8ull, 0x7fffffffffffffffull, ~0ull, 8, 16,
		};
		uint8_t m = fz_u8(in);
		uint64_t v = m < 2 * (sizeof(special) / sizeof(special[0])) ?
				special[m % (sizeof(special) / sizeof(special[0]))] : fz_u64(in);

		/* A wrap header for this offset now and then (spec §3.2). */
		if (m == 0xff)
			v = (uint32_t)(0 - (uint32_t)(off & ~(uint64_t)7) - 8);
		fz_put_le(ring + (off & ~(uint64_t)7), v, 8);
	} else {
		ring[off] = fz_u8(in);
	}
	P.poked = true;
}

static void
peer_word(struct fz_in *in)
{
	struct fq *q = fz_u8(in) & 1 ? P.txq : P.rxq;
	static const uint32_t vals[] = { 0, 1, 2, 3, UINT32_MAX };
	uint8_t m = fz_u8(in);

	__atomic_store_n(q->map.notify.word, m < 5 ? vals[m] : fz_u32(in), __ATOMIC_SEQ_CST);
}

static void
peer_efd(struct fz_in *in)
{
	struct fq *q = fz_u8(in) & 1 ? P.txq : P.rxq;
	uint64_t v;

	switch (fz_u8(in) % 3) {
	case 0:		/* a flood: the counter one short of its limit */
		v = UINT64_MAX - 1;
		if (write(q->map.notify.efd, &v, sizeof(v)) < 0)
			(void)0;
		break;
	case 1:
		v = 1;
		if (write(q->map.notify.efd, &v, sizeof(v)) < 0)
			(void)0;
		break;
	default:
		if (read(q->map.notify.efd, &v, sizeof(v)) < 0)
			(void)0;
		break;
	}
}

#ifndef FUZZ_ROLE_SERVER
/* ---- the peer as a server, against our client ---- */

static void
peer_init(void)
{
	FZ_CHECK(shmlink_pipe_rx_init(&P.desc, P.txq->map.tx_pipe, P.g->pipe) == 0 &&
			shmlink_pipe_tx_init(&P.txc, P.txq->map.rx_pipe, P.g->pipe) == 0 &&
			shmlink_pipe_rx_init(&P.fill, P.rxq->map.tx_pipe, P.g->pipe) == 0 &&
			shmlink_pipe_tx_init(&P.rxc, P.rxq->map.rx_pipe, P.g->pipe) == 0,
			"peer pipes");
	P.nb_inflight = P.nb_done = P.nb_posted = P.nb_returned = 0;
}

/* Read descriptors; while honest, each must be a well-formed one of ours. */
static void
peer_read_desc(struct fz_in *in, const struct shmlink_testing_ep *ep)
{
	unsigned int k = 1 + fz_u8(in) % 8;
	const uint8_t *rec;
	uint32_t len;

	while (k-- > 0 && (rec = shmlink_pipe_rx_pull(&P.desc, &len)) != NULL) {
		struct shmlink_buf b[SHMLINK_FRAME_MAX_BUFS];
		uint64_t id, sum = 0;
		uint32_t total, i;
		int64_t n = shmlink_txd_decode(rec, len, &id, &total, b, SHMLINK_FRAME_MAX_BUFS);

		if (!P.poked) {
			FZ_CHECK(n >= 1 && n <= SHMLINK_FRAME_MAX_BUFS &&
					len == shmlink_txd_len((uint32_t)n),
					"client wrote a %u-byte descriptor", len);
			for (i = 0; i < n; i++) {
				FZ_CHECK(b[i].offset % ep->tx_buf_size == 0 &&
						b[i].size <= ep->tx_buf_size &&
						in_region(b[i].offset, b[i].size,
							P.txq->map.data_size),
						"client descriptor buffer %u: %llu+%u", i,
						(unsigned long long)b[i].offset, b[i].size);
				sum += b[i].size;
			}
			FZ_CHECK(sum == total && total > 0, "client descriptor: total %u, "
					"buffers %llu", total, (unsigned long long)sum);
		}
		if (n >= 0 && P.nb_inflight < MAX_TRACK)
			P.inflight[P.nb_inflight++] = id;
	}
	if (fz_u8(in) & 1)
		shmlink_pipe_rx_flush(&P.desc);
}

static void
peer_read_fill(struct fz_in *in, const struct shmlink_testing_ep *ep)
{
	unsigned int k = 1 + fz_u8(in) % 16;
	const uint8_t *rec;
	uint32_t len;

	while (k-- > 0 && (rec = shmlink_pipe_rx_pull(&P.fill, &len)) != NULL) {
		struct shmlink_buf b;

		if (shmlink_rxp_decode(rec, len, &b) != 0) {
			FZ_CHECK(P.poked, "client posted a %u-byte record", len);
			continue;
		}
		if (!P.poked)
			FZ_CHECK(len == SHMLINK_RXP_SIZE && b.id < ep->rx_nb_bufs &&
					b.offset == b.id * ep->rx_buf_size &&
					b.size == ep->rx_buf_size && b.userdata == 0,
					"client posted %llu+%u id %llu",
					(unsigned long long)b.offset, b.size,
					(unsigned long long)b.id);
		if (P.nb_posted < MAX_TRACK)
			P.posted[P.nb_posted++] = b;
	}
	if (fz_u8(in) & 1)
		shmlink_pipe_rx_flush(&P.fill);
}

static void
peer_complete_tx(struct fz_in *in, const struct shmlink_testing_ep *ep)
{
	uint8_t mode = fz_u8(in) % 8;
	uint64_t id;
	uint32_t i;

	switch (mode) {
	case 0:
	case 1:
	case 2:		/* valid: an id in flight, completed once */
		if (P.nb_inflight == 0)
			return;
		i = fz_u8(in) % P.nb_inflight;
		id = P.inflight[i];
		P.inflight[i] = P.inflight[--P.nb_inflight];
		P.done[P.nb_done++ % 16] = id;
		break;
	case 3:		/* already completed */
		if (P.nb_done == 0)
			return;
		id = P.done[fz_u8(in) % (P.nb_done < 16 ? P.nb_done : 16)];
		P.bad = true;
		break;
	case 4:		/* at and past the end of the id table */
		id = ep->tx_nb_ids - 1 + fz_u8(in) % 4;
		P.bad = true;
		break;
	case 5:
		id = fz_u64(in);
		P.bad = true;
		break;
	default:	/* a slot of another length */
		P.bad = true;
		push_raw(&P.txc, in, fz_u8(in) % 40);
		return;
	}
	if (shmlink_txc_push(&P.txc, id) == 0)
		shmlink_pipe_tx_flush(&P.txc);
}

static void
peer_complete_rx(struct fz_in *in, const struct shmlink_testing_ep *ep)
{
	struct shmlink_buf b[SHMLINK_FRAME_MAX_BUFS + 2];
	uint8_t nmode = fz_u8(in);
	uint32_t n = nmode < 240 ? 1 + nmode % 3 : nmode < 250 ? 0 : SHMLINK_FRAME_MAX_BUFS + 1;
	uint32_t bsz = ep->rx_buf_size, total, i;
	uint64_t ds = P.rxq->map.data_size, sum = 0;
	bool ok = n >= 1 && n <= SHMLINK_FRAME_MAX_BUFS;

	if (nmode >= 250 || n > P.nb_posted) {
		if (nmode >= 250 && nmode < 252) {
			P.bad = true;
			push_raw(&P.rxc, in, fz_u8(in) % 120);
			return;
		}
		if (n > P.nb_posted && n <= SHMLINK_FRAME_MAX_BUFS && fz_u8(in) % 4 != 0)
			return;
	}
	for (i = 0; i < n; i++) {
		uint8_t m = fz_u8(in) % 10;

		if (P.nb_posted > 0 && m < 8) {
			uint32_t k = fz_u8(in) % P.nb_posted;

			b[i] = P.posted[k];
			P.posted[k] = P.posted[--P.nb_posted];
			P.returned[P.nb_returned++ % 16] = b[i];
			if (b[i].size > 0)	/* the same or less than posted */
				b[i].size = 1 + fz_u16(in) % b[i].size;
		} else {
			b[i] = (struct shmlink_buf){ 0 };
			m = 9;
		}
		switch (m) {
		case 0:		/* more than posted */
			b[i].size = bsz + 1 + fz_u8(in) % 4;
			ok = false;
			break;
		case 1:		/* not where it was posted */
			b[i].offset = pick_offset(in, ds, bsz, b[i].size);
			ok = false;
			break;
		case 2:		/* an id never posted */
			b[i].id = ep->rx_nb_bufs + fz_u8(in);
			ok = false;
			break;
		case 8:		/* an id already returned */
			if (P.nb_returned > 0) {
				b[i] = P.returned[fz_u8(in) % (P.nb_returned < 16 ?
						P.nb_returned : 16)];
				ok = false;
			}
			break;
		case 9:		/* all fields raw */
			b[i].offset = pick_offset(in, ds, bsz, 0);
			b[i].size = pick_size(in, ds, bsz);
			b[i].id = fz_u8(in) & 1 ? fz_u64(in) : fz_u8(in);
			b[i].userdata = fz_u64(in);
			ok = false;
			break;
		default:	/* valid */
			break;
		}
		sum += b[i].size;
		fill_data(in, P.rxq, b[i].offset, b[i].size);
	}
	switch (fz_u8(in) % 6) {
	case 0:
		total = (uint32_t)(sum + 1);
		ok = ok && sum + 1 <= sum;
		break;
	case 1:
		total = fz_u32(in);
		ok = ok && total <= sum;
		break;
	case 2:
		total = 0;
		break;
	default:
		total = (uint32_t)sum;
		ok = ok && sum <= UINT32_MAX;
		break;
	}
	if (!ok)
		P.bad = true;
	if (shmlink_rxc_push(&P.rxc, total, b, n) == 0)
		shmlink_pipe_tx_flush(&P.rxc);
}

static void
peer_step(struct shmlink_ep *ep, struct fz_in *in, uint8_t op)
{
	struct shmlink_testing_ep v;

	shmlink_testing_ep_get(ep, &v);
	switch (op) {
	case 0:
		peer_read_desc(in, &v);
		break;
	case 1:
		peer_read_fill(in, &v);
		break;
	case 2:
	case 3:
		peer_complete_tx(in, &v);
		break;
	case 4:
	case 5:
		peer_complete_rx(in, &v);
		break;
	default:
		shmlink_pipe_rx_flush(&P.desc);
		shmlink_pipe_rx_flush(&P.fill);
		break;
	}
}

#else
/* ---- the peer as a client, against our server ---- */

static void
peer_init(void)
{
	FZ_CHECK(shmlink_pipe_tx_init(&P.desc, P.txq->map.tx_pipe, P.g->pipe) == 0 &&
			shmlink_pipe_rx_init(&P.txc, P.txq->map.rx_pipe, P.g->pipe) == 0 &&
			shmlink_pipe_tx_init(&P.fill, P.rxq->map.tx_pipe, P.g->pipe) == 0 &&
			shmlink_pipe_rx_init(&P.rxc, P.rxq->map.rx_pipe, P.g->pipe) == 0,
			"peer pipes");
	P.nb_desc = P.nb_txc = P.nb_posts = P.next_post = 0;
	P.next_id = 0;
}

static void
peer_send_desc(struct fz_in *in)
{
	struct shmlink_buf b[SHMLINK_FRAME_MAX_BUFS + 2];
	uint8_t nmode = fz_u8(in);
	uint32_t n = nmode < 230 ? nmode % 5 : nmode < 245 ? SHMLINK_FRAME_MAX_BUFS :
			SHMLINK_FRAME_MAX_BUFS + 1 + nmode % 2;
	uint64_t ds = P.txq->map.data_size, sum = 0, id;
	uint32_t bsz = P.g->buf_size, total, i;
	bool ok = n <= SHMLINK_FRAME_MAX_BUFS;

	if (nmode >= 247) {	/* a raw slot: short, odd-sized or anything */
		uint32_t len = fz_u8(in) % 64;
		uint8_t *s = shmlink_pipe_tx_push(&P.desc, len);

		P.bad = true;
		if (s == NULL)
			return;
		fz_bytes(in, s, len);
		if (len >= 8 && P.nb_desc < MAX_TRACK)
			P.desc_ids[P.nb_desc++] = fz_le(s, 8);
		shmlink_pipe_tx_flush(&P.desc);
		return;
	}
	id = fz_u8(in) & 1 ? fz_u64(in) : P.next_id++;
	for (i = 0; i < n; i++) {
		b[i].size = pick_size(in, ds, bsz);
		b[i].offset = pick_offset(in, ds, bsz, b[i].size);
		b[i].userdata = b[i].id = 0;
		if (!in_region(b[i].offset, b[i].size, ds))
			ok = false;
		else
			fill_data(in, P.txq, b[i].offset, b[i].size);
		sum += b[i].size;
	}
	switch (fz_u8(in) % 5) {
	case 0:
		total = (uint32_t)(sum + 1);
		ok = ok && sum + 1 <= UINT32_MAX && (uint32_t)(sum + 1) <= sum;
		break;
	case 1:
		total = fz_u32(in);
		ok = ok && total <= sum;
		break;
	default:
		total = sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
		ok = ok && total <= sum;
		break;
	}
	if (!ok)
		P.bad = true;
	if (shmlink_txd_push(&P.desc, id, total, b, n) != 0)
		return;
	if (P.nb_desc < MAX_TRACK)
		P.desc_ids[P.nb_desc++] = id;
	else
		P.bad = true;	/* untracked from here on */
	shmlink_pipe_tx_flush(&P.desc);
}

static void
peer_post(struct fz_in *in)
{
	uint64_t ds = P.rxq->map.data_size;
	uint32_t bsz = P.g->buf_size;
	uint8_t mode = fz_u8(in);
	struct post p;

	if (mode >= 248) {	/* a raw slot */
		P.bad = true;
		push_raw(&P.fill, in, fz_u8(in) % 48);
		return;
	}
	p.b.size = pick_size(in, ds, bsz);
	p.b.offset = pick_offset(in, ds, bsz, p.b.size);
	p.b.userdata = fz_u8(in) & 1 ? fz_u64(in) : 0;
	p.b.id = fz_u8(in) & 1 ? fz_u64(in) : fz_u16(in);
	p.valid = p.b.size > 0 && in_region(p.b.offset, p.b.size, ds);
	if (!p.valid)
		P.bad = true;
	if (shmlink_rxp_push(&P.fill, &p.b) != 0)
		return;
	shmlink_pipe_tx_flush(&P.fill);
	if (P.nb_posts < MAX_TRACK)
		P.posts[P.nb_posts++] = p;
	else
		P.bad = true;
}

/* Read TX completions: one per descriptor of at least 8 bytes, same ids, same order. */
static void
txc_find(uint64_t id)
{
	uint32_t i;

	for (i = P.nb_txc; i < P.nb_desc; i++) {
		if (P.desc_ids[i] == id) {
			P.desc_ids[i] = P.desc_ids[P.nb_txc];
			P.desc_ids[P.nb_txc] = id;
			return;
		}
	}
}

static void
peer_read_txc(struct fz_in *in)
{
	unsigned int k = 1 + fz_u8(in) % 16;
	const uint8_t *rec;
	uint32_t len;

	while (k-- > 0 && (rec = shmlink_pipe_rx_pull(&P.txc, &len)) != NULL) {
		if (P.poked || P.nb_desc >= MAX_TRACK)
			continue;
		FZ_CHECK(len == SHMLINK_TXC_SIZE, "server wrote a %u-byte completion", len);
		FZ_CHECK(P.nb_txc < P.nb_desc, "completion %u for %u descriptors", P.nb_txc + 1,
				P.nb_desc);
		/* Lent frames come back in any order: the id of any descriptor not yet
		 * completed, moved to the front of those. */
		if (lent_ever)
			txc_find(fz_le(rec, 8));
		FZ_CHECK(fz_le(rec, 8) == P.desc_ids[P.nb_txc], "completion %u: id 0x%llx, "
				"descriptor's 0x%llx", P.nb_txc, (unsigned long long)fz_le(rec, 8),
				(unsigned long long)P.desc_ids[P.nb_txc]);
		P.nb_txc++;
	}
	shmlink_pipe_rx_flush(&P.txc);
}

/* Read RX completions: the posted buffers, in order, valid ones only, exact sizes. */
static void
peer_read_rxc(struct fz_in *in)
{
	unsigned int k = 1 + fz_u8(in) % 16;
	const uint8_t *rec;
	uint32_t len;

	while (k-- > 0 && (rec = shmlink_pipe_rx_pull(&P.rxc, &len)) != NULL) {
		struct shmlink_buf b[SHMLINK_FRAME_MAX_BUFS];
		uint32_t total, i;
		uint64_t sum = 0;
		int64_t n;

		if (P.poked || P.nb_posts >= MAX_TRACK)
			continue;
		n = shmlink_rxc_decode(rec, len, &total, b, SHMLINK_FRAME_MAX_BUFS);
		FZ_CHECK(n >= 1 && n <= SHMLINK_FRAME_MAX_BUFS && len == shmlink_rxc_len(n),
				"server wrote a %u-byte RX completion", len);
		for (i = 0; i < n; i++) {
			while (P.next_post < P.nb_posts && !P.posts[P.next_post].valid)
				P.next_post++;
			FZ_CHECK(P.next_post < P.nb_posts, "RX completion names more buffers "
					"than were posted");
			const struct shmlink_buf *pb = &P.posts[P.next_post++].b;

			FZ_CHECK(b[i].offset == pb->offset && b[i].id == pb->id &&
					b[i].userdata == pb->userdata && b[i].size >= 1 &&
					b[i].size <= pb->size,
					"RX completion buffer %u: %llu+%u id %llu, posted %llu+%u "
					"id %llu", i, (unsigned long long)b[i].offset, b[i].size,
					(unsigned long long)b[i].id, (unsigned long long)pb->offset,
					pb->size, (unsigned long long)pb->id);
			sum += b[i].size;
		}
		/* The frames we send are at most 64 KiB - 1, plus the virtio header. */
		FZ_CHECK(sum == total && total >= 1 &&
				total <= 0xffffu + SHMLINK_VIRTIO_HDR_LEN,
				"RX completion: total %u, sizes %llu", total, (unsigned long long)sum);
	}
	shmlink_pipe_rx_flush(&P.rxc);
}

static void
peer_step(struct shmlink_ep *ep, struct fz_in *in, uint8_t op)
{
	(void)ep;
	switch (op) {
	case 0:
	case 1:
		peer_send_desc(in);
		break;
	case 2:
	case 3:
		peer_post(in);
		break;
	case 4:
		peer_read_txc(in);
		break;
	case 5:
		peer_read_rxc(in);
		break;
	default:
		shmlink_pipe_tx_abort(&P.desc);
		shmlink_pipe_tx_abort(&P.fill);
		break;
	}
}
#endif

/* ---- the program ---- */

enum {
	OP_TX, OP_RX, OP_RX2, OP_RELEASE, OP_READY, OP_POKE64, OP_POKE8, OP_WORD, OP_EFD,
	OP_PEER, OP_PEER2, OP_PEER3, OP_PEER4, OP_RETURN, OP_COUNT,
};

static struct shmlink_ep_conf
make_conf(uint8_t s, const struct geom *g)
{
	static const uint32_t max_frames[] = { 0, 60, 1514, 9000, 1, 11, 65535, 100000 };
	struct shmlink_ep_conf c = {
		.buffer_size = g->buf_size,
		.max_frame = max_frames[(s >> 3) & 7],
		.virtio_hdr = s & 1,
		.raw_ip = s & 2,
		.trim = s & 4,
	};

	switch (s >> 6) {
	case 1:
		c.buffer_size = 64;
		break;
	case 2:
		c.buffer_size = (uint32_t)g->data + 1;	/* larger than the data: refused */
		break;
	default:
		break;
	}
	return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t holds[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 5, 8, 16, 64, 600 };
	struct fz_in in = { data, size };
	uint8_t gbyte = fz_u8(&in);
	unsigned int gi = gbyte % NB_GEOMS;
	const struct geom *g = &geoms[gi];
	struct fgeom *fg = &fgeoms[gi];
	struct shmlink_ep_conf conf;
	struct shmlink_ep *ep;
	uint32_t max_frame;
	unsigned int steps = 0;

	if (pat[1] == 0)
		for (uint32_t i = 0; i < PAT_LEN; i++)
			pat[i] = (uint8_t)(i * 7 + 1);
	if (!fg->ready) {
		fq_make(&fg->q[0], g);
		fq_make(&fg->q[1], g);
		fg->ready = true;
	}
	fq_reset(&fg->q[0], g);
	fq_reset(&fg->q[1], g);
	conf = make_conf(fz_u8(&in), g);
	hold = holds[gbyte >> 4];
	conf.rx_hold = hold;
	nb_lent = 0;
	lent_ever = false;

	memset(&P, 0, sizeof(P));
	P.g = g;
	P.txq = &fg->q[0];
	P.rxq = &fg->q[1];
	peer_init();
	ep = shmlink_ep_create(ROLE, &P.txq->map, &P.rxq->map, &conf);
	if (ep == NULL) {
		FZ_CHECK(errno == EINVAL || errno == ENOMEM, "create: errno %d", errno);
		return 0;
	}
	{
		struct shmlink_testing_ep v;

		shmlink_testing_ep_get(ep, &v);
		max_frame = v.max_frame;
	}
	memset(&last_st, 0, sizeof(last_st));
	last_broken = false;
	check_ep(ep);

	while (fz_more(&in) && steps++ < 512) {
		uint8_t op = fz_u8(&in) % OP_COUNT;

		FZ_TRACE("op %u\n", op);
		switch (op) {
		case OP_TX:
			ep_tx(ep, &in);
			break;
		case OP_RX:
		case OP_RX2:
			ep_rx(ep, &in, max_frame);
			break;
		case OP_RELEASE:
			shmlink_ep_rx_release(ep);
			break;
		case OP_READY:
			(void)shmlink_ep_rx_ready(ep);
			break;
		case OP_POKE64:
			peer_poke(&in, true);
			break;
		case OP_POKE8:
			peer_poke(&in, false);
			break;
		case OP_WORD:
			peer_word(&in);
			break;
		case OP_EFD:
			peer_efd(&in);
			break;
		case OP_RETURN:
			ep_return(ep, &in);
			break;
		default:
			peer_step(ep, &in, fz_u8(&in) % 7);
			break;
		}
		check_ep(ep);
		FZ_CHECK(shmlink_ep_rx_lent(ep) == nb_lent, "the endpoint says %u frames are "
				"lent, %u are", shmlink_ep_rx_lent(ep), nb_lent);
	}
	/* Whatever state it is in, the endpoint ends cleanly. */
	shmlink_ep_rx_release(ep);
	check_ep(ep);
	shmlink_ep_destroy(ep);
	return 0;
}
