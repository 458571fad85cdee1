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
 * Input:  u8 geometry, rx_hold and tx_hold | u8 endpoint settings | program
 * The program mixes the endpoint's own calls (tx_burst, rx_burst or rx_burst_hold,
 * rx_release, rx_return of lent frames in any order, rx_ready; tx_lend, frames built in
 * lent TX chunks, tx_return in any order) with the peer's moves: records with fields
 * chosen from valid values, the edges of the data region (offset = size, size = size -
 * offset + 1, 2^64 - 1, ...), ids never posted or already returned, raw slots of any
 * length, words and bytes written anywhere in the four pipes, notification words and
 * eventfd floods.
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
 *   - TX chunks lent (tx_hold; a server lends none): as many as the harness holds, at
 *     most tx_hold, counted in flight, each a whole chunk of the TX data never lent
 *     twice nor under a token seen before; a lend falls short only when no chunk is
 *     free; a chunk lent keeps every byte the harness wrote (but the virtio header in
 *     front of a frame sent in place, which the harness zeroes first); a frame sent is
 *     sent in place when its pieces lie in chunks lent now, one each, and not in flight
 *     (the header's room included), and copied otherwise (crossing a chunk's end, two
 *     pieces in a chunk, no room for the header, a chunk given back); tokens given back
 *     twice, stale or made up are ignored;
 *   - as long as the peer sent only valid records and damaged no ring: no error is
 *     counted, nothing is broken, what the endpoint writes is valid (client: posted
 *     buffers within its data, descriptors that describe the frames sent, in order,
 *     as copied into whole chunks or, in place, as built; server: one completion per
 *     descriptor, same ids, same order unless frames were lent; RX completions that
 *     echo the posted buffers in order with exact sizes).
 *
 * At the end (client), every TX chunk lent is given back, and unless a ring was damaged
 * the peer reads every descriptor and completes every frame: no TX chunk is left out of
 * the pool.
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

/*
 * tx_hold of this input's endpoint (0 for a server, which lends none), and the TX chunks
 * it has lent: each with a copy of what the harness wrote there, which the endpoint must
 * never change, and whether a frame built in it was sent (it may be in flight then, and
 * a frame built in it again may be sent in place or copied). The chunks given back last
 * give stale tokens and pieces in chunks no longer lent.
 */
#define MAX_TX_HOLD	16u
#define MAX_CHUNK	2048u	/* the largest buffer_size of the geometries */
#define NB_GONE		16u

struct held {
	uint8_t *addr;
	uint64_t token;
	bool sent;
};

static uint32_t tx_hold, chunk_size, nb_chunks, vh_len;
static struct held held[MAX_TX_HOLD];
static uint8_t shadow[MAX_TX_HOLD][MAX_CHUNK];
static uint32_t nb_held, fills;
static struct held gone[NB_GONE];
static uint32_t nb_gone;

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
	bool untracked;			/* read a descriptor inflight had no room for */
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
			st.tx_oversize >= last_st.tx_oversize && st.signals >= last_st.signals &&
			st.tx_in_place >= last_st.tx_in_place,
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

/* ---- what a client's descriptors must say ---- */

enum { COPIED, MAYBE_IN_PLACE, IN_PLACE };

/*
 * The frames a client sent, in order, as its descriptors must describe them: copied (the
 * wire bytes in chunks from their start, each full but the last), sent in place (each
 * piece where it lies, the first with its header's room), or either when the harness
 * cannot tell.
 */
struct expect {
	uint32_t wire;
	uint8_t fate, nb;
	struct shmlink_buf b[4];
};

static struct expect expects[MAX_TRACK];
static uint32_t nb_expect, nb_matched;
static bool expect_lost;	/* more frames unread than remembered: no more matching */

/* Frames @fr[0, @n) consumed by a client's tx_burst, each copied or as @fate says. */
static void
expect_frames(const struct shmlink_frame *fr, unsigned int n, const int *fate)
{
	unsigned int i;
	uint32_t k;

	for (i = 0; i < n && ROLE == SHMLINK_ROLE_CLIENT; i++) {
		uint64_t wire = (uint64_t)fr[i].len + vh_len;
		uint64_t nb = (wire + chunk_size - 1) / chunk_size;
		struct expect *e;

		if (fr[i].len == 0 || nb > SHMLINK_FRAME_MAX_BUFS || nb > nb_chunks)
			continue;	/* oversize: dropped */
		if (nb_expect - nb_matched == MAX_TRACK) {
			expect_lost = true;
			return;
		}
		e = &expects[nb_expect++ % MAX_TRACK];
		e->wire = (uint32_t)wire;
		e->fate = fate != NULL ? (uint8_t)fate[i] : COPIED;
		e->nb = e->fate == COPIED ? 0 : (uint8_t)fr[i].nb_segs;
		for (k = 0; k < e->nb; k++) {
			uint32_t pre = k == 0 ? vh_len : 0;

			e->b[k].offset = (uint64_t)((uintptr_t)fr[i].segs[k].addr - pre -
					(uintptr_t)P.txq->data.base);
			e->b[k].size = fr[i].segs[k].len + pre;
		}
	}
}

/* ---- TX chunks lent (tx_hold): where they are, what they hold ---- */

/* The chunk held that byte @p lies in, or -1. */
static int
held_at(uintptr_t p)
{
	uint32_t i;

	for (i = 0; i < nb_held; i++)
		if (p >= (uintptr_t)held[i].addr && p - (uintptr_t)held[i].addr < chunk_size)
			return (int)i;
	return -1;
}

/* Every chunk held has the bytes the harness wrote: the endpoint wrote none. */
static void
held_verify(void)
{
	uint32_t i, k;

	for (i = 0; i < nb_held; i++) {
		if (memcmp(held[i].addr, shadow[i], chunk_size) == 0)
			continue;
		for (k = 0; held[i].addr[k] == shadow[i][k]; k++)
			;
		FZ_CHECK(false, "lent TX chunk at data+%td (token 0x%llx): byte %u is 0x%02x, "
				"the harness wrote 0x%02x", held[i].addr - P.txq->data.base,
				(unsigned long long)held[i].token, k, held[i].addr[k],
				shadow[i][k]);
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
	expect_frames(fr, sent, NULL);
	held_verify();
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

/* ---- TX chunks lent: borrowing, building frames in them, giving back ---- */

/* Take chunk @c just lent: a whole chunk of the TX data, lent to no one else, under a
 * token never seen; fill it (ASan: each of its bytes is the caller's to write). */
static void
held_add(const struct shmlink_tx_chunk *c)
{
	const struct fz_region *d = &P.txq->data;
	uint8_t *a = c->addr;
	uint32_t i, g = nb_gone < NB_GONE ? nb_gone : NB_GONE;
	uint64_t off;

	FZ_CHECK(c->size == chunk_size && fz_region_holds(d, a, c->size) &&
			(uint64_t)(a - d->base) % chunk_size == 0,
			"lent %u bytes at data%+td (chunks of %u, data of %llu)", c->size,
			a - d->base, chunk_size, (unsigned long long)d->len);
	for (i = 0; i < nb_held; i++)
		FZ_CHECK(held[i].addr != a && held[i].token != c->token, "lent data+%td as "
				"0x%llx, holding data+%td as 0x%llx", a - d->base,
				(unsigned long long)c->token, held[i].addr - d->base,
				(unsigned long long)held[i].token);
	for (i = 0; i < g; i++)
		FZ_CHECK(gone[i].token != c->token, "lent a chunk as 0x%llx, a token given back "
				"before", (unsigned long long)c->token);
	off = (uint64_t)fills++ * 61 % (PAT_LEN - MAX_CHUNK);
	memcpy(a, pat + off, chunk_size);
	memcpy(shadow[nb_held], pat + off, chunk_size);
	held[nb_held++] = (struct held){ a, c->token, false };
}

/* The harness's side of tx_return: the token of a chunk held gives it back (the first
 * of duplicates does); any other is ignored. */
static void
held_drop(uint64_t token)
{
	uint32_t i;

	for (i = 0; i < nb_held; i++) {
		if (held[i].token != token)
			continue;
		gone[nb_gone++ % NB_GONE] = held[i];
		held[i] = held[--nb_held];
		memcpy(shadow[i], shadow[nb_held], chunk_size);
		return;
	}
}

/* Borrow up to 7 chunks; a lend falls short of tx_hold only when no chunk is free. */
static void
ep_lend(struct shmlink_ep *ep, struct fz_in *in)
{
	struct shmlink_tx_chunk c[8];
	struct shmlink_ep_buffers b;
	unsigned int n = fz_u8(in) % 8, got, i;

	got = shmlink_ep_tx_lend(ep, c, n);
	FZ_TRACE("tx_lend: %u of %u chunks, %u held\n", got, n, nb_held);
	FZ_CHECK(got <= n && nb_held + got <= tx_hold, "lent %u chunks of %u asked, %u held, "
			"tx_hold %u", got, n, nb_held, tx_hold);
	shmlink_ep_buffers_get(ep, &b);
	if (got < n && nb_held + got < tx_hold)
		FZ_CHECK(shmlink_ep_broken(ep) || b.tx_chunks_inflight == b.tx_chunks,
				"lent %u chunks of %u asked, %u held, with %u of %u free", got, n,
				nb_held, b.tx_chunks - b.tx_chunks_inflight, b.tx_chunks);
	for (i = 0; i < got; i++)
		held_add(&c[i]);
}

/* A token to give back: one held, a duplicate in the same call, a stale one (given back
 * before: its chunk may be lent again, as another token), or one never lent (another
 * lending's of a chunk held, a chunk at or past the last, anything). */
static uint64_t
pick_token(struct fz_in *in, const uint64_t *t, unsigned int k)
{
	uint32_t g = nb_gone < NB_GONE ? nb_gone : NB_GONE;
	uint8_t m = fz_u8(in) % 8;

	if (m < 3 && nb_held > 0)
		return held[fz_u8(in) % nb_held].token;
	if (m == 3 && k > 0)
		return t[fz_u8(in) % k];
	if (m == 4 && g > 0)
		return gone[fz_u8(in) % g].token;
	if (m == 5 && nb_held > 0)
		return held[fz_u8(in) % nb_held].token + ((uint64_t)(1 + fz_u8(in) % 4) << 32);
	if (m == 6 && nb_held > 0)
		return (held[fz_u8(in) % nb_held].token & ~(uint64_t)UINT32_MAX) |
				(nb_chunks - 1 + fz_u8(in) % 3);
	return fz_u8(in) & 1 ? fz_u64(in) : fz_u16(in);
}

/* Give up to 8 tokens back, in any order, good and bad mixed. */
static void
ep_tx_return(struct shmlink_ep *ep, struct fz_in *in)
{
	unsigned int n = fz_u8(in) % 9, k;
	uint64_t t[8];

	for (k = 0; k < n; k++)
		t[k] = pick_token(in, t, k);
	shmlink_ep_tx_return(ep, t, n);
	for (k = 0; k < n; k++)
		held_drop(t[k]);
	FZ_TRACE("tx_return: %u tokens, %u held\n", n, nb_held);
}

static void
seg_add(struct shmlink_frame *f, uint8_t *p, uint32_t len)
{
	f->segs[f->nb_segs++] = (struct shmlink_seg){ p, len };
	f->len += len;
}

/* A piece in chunk held @h, @pre bytes in or further: to the chunk's end or shorter. */
static void
seg_in_chunk(struct fz_in *in, struct shmlink_frame *f, uint32_t h, uint32_t pre)
{
	uint32_t o = pre, len = chunk_size - pre;

	if (fz_u8(in) & 1) {
		o += fz_u16(in) % len;
		len = 1 + fz_u16(in) % (chunk_size - o);
	}
	seg_add(f, held[h].addr + o, len);
}

static void
seg_in_pat(struct fz_in *in, struct shmlink_frame *f)
{
	seg_add(f, pat + fz_u16(in) % (PAT_LEN - 65536u), 1 + fz_u16(in) % (2 * MAX_CHUNK));
}

/*
 * A piece in a chunk given back, no longer than the room for the header is short of its
 * offset: the chunk may be free and the frame copied into it, the piece's bytes to just
 * after the header's room, and these two ranges must not overlap for memcpy (the caller's
 * error to use the chunk, not the library's).
 */
static void
seg_in_gone(struct fz_in *in, struct shmlink_frame *f)
{
	uint32_t g = nb_gone < NB_GONE ? nb_gone : NB_GONE, o, room;

	if (g == 0)
		return;
	o = vh_len + 1 + fz_u16(in) % (chunk_size - vh_len - 1);
	room = o - vh_len < chunk_size - o ? o - vh_len : chunk_size - o;
	seg_add(f, gone[fz_u8(in) % g].addr + o, 1 + fz_u16(in) % room);
}

/*
 * A frame to send, built in chunks held as it should be (a piece in each of one to three
 * chunks, the first with room for the virtio header before it) or not quite (a piece
 * across a chunk's end into the next chunk held, two pieces in a chunk, a first piece
 * without room for the header, a first piece in a chunk given back), or in the pattern,
 * as every frame of ep_tx(). Its bytes are what the chunks hold.
 */
static void
build_frame(struct fz_in *in, struct shmlink_frame *f)
{
	uint8_t kind = nb_held > 0 ? fz_u8(in) % 8 : 7;
	uint32_t h = nb_held > 0 ? fz_u8(in) % nb_held : 0, k, n, o;

	f->nb_segs = 0;
	f->len = 0;
	if (kind == 3 && held_at((uintptr_t)held[h].addr + chunk_size) < 0)
		kind = 4;
	switch (kind) {
	case 0:
	case 1:
	case 2:		/* one piece in each chunk */
		n = 1 + fz_u8(in) % 3;
		for (k = 0; k < n && k < nb_held; k++)
			seg_in_chunk(in, f, (h + k) % nb_held, k == 0 ? vh_len : 0);
		break;
	case 3:		/* across the end of chunk h into the next, held too */
		o = vh_len + fz_u16(in) % (chunk_size - vh_len);
		seg_add(f, held[h].addr + o, chunk_size - o + 1 + fz_u16(in) % chunk_size);
		break;
	case 4:		/* two pieces in one chunk */
		seg_in_chunk(in, f, h, vh_len);
		seg_in_chunk(in, f, h, 0);
		break;
	case 5:		/* no room for the header; without one, a piece in the pattern */
		if (vh_len > 0) {
			o = fz_u8(in) % vh_len;
			seg_add(f, held[h].addr + o, 1 + fz_u16(in) % (chunk_size - o));
		} else {
			seg_in_chunk(in, f, h, 0);
			seg_in_pat(in, f);
		}
		break;
	case 6:		/* in a chunk given back, then in one held */
		seg_in_gone(in, f);
		seg_in_chunk(in, f, h, f->nb_segs == 0 ? vh_len : 0);
		break;
	default:
		n = 1 + fz_u8(in) % 3;
		for (k = 0; k < n; k++)
			seg_in_pat(in, f);
		break;
	}
}

/* Room for the virtio header before the first piece, in its chunk held: zero it, as the
 * endpoint does when it sends the frame in place (the chunk's copy stays exact). */
static void
zero_header(const struct shmlink_frame *f)
{
	uintptr_t p = (uintptr_t)f->segs[0].addr;
	int h = held_at(p);

	if (vh_len == 0 || h < 0 || p - (uintptr_t)held[h].addr < vh_len)
		return;
	memset((uint8_t *)p - vh_len, 0, vh_len);
	memset(&shadow[h][p - (uintptr_t)held[h].addr - vh_len], 0, vh_len);
}

/*
 * What tx_burst does with frame @f: sends it in place if each piece (the first with the
 * header's room before it) lies in a chunk held, a chunk each, none in flight; may do so
 * if a chunk was sent before (@busy: it may be in flight still); copies it otherwise.
 * @used gets the chunks of a frame sent in place.
 */
static int
predict(const struct shmlink_frame *f, const bool *busy, uint32_t *used)
{
	int fate = IN_PLACE;
	uint32_t k;

	*used = 0;
	for (k = 0; k < f->nb_segs; k++) {
		uint32_t pre = k == 0 ? vh_len : 0;
		uintptr_t p = (uintptr_t)f->segs[k].addr - pre;
		uint64_t len = (uint64_t)f->segs[k].len + pre;
		int h = held_at(p);

		if (h < 0 || len == 0 || len > chunk_size - (p - (uintptr_t)held[h].addr) ||
				(*used & 1u << h) != 0)
			return COPIED;
		*used |= 1u << h;
		if (busy[h])
			fate = MAYBE_IN_PLACE;
	}
	return f->nb_segs > 0 ? fate : COPIED;
}

/* Send up to 4 frames built in chunks held (or not): those that lie as they should are
 * sent in place, the others copied; no chunk held changes. */
static void
ep_place(struct shmlink_ep *ep, struct fz_in *in)
{
	struct shmlink_frame fr[4];
	struct shmlink_seg segs[4][4];
	struct shmlink_ep_stats st0, st1;
	unsigned int n = 1 + fz_u8(in) % 4, i, sent;
	uint32_t used[4], sure = 0, maybe = 0, h;
	bool busy[MAX_TX_HOLD], broken = shmlink_ep_broken(ep);
	int fate[4];

	for (h = 0; h < nb_held; h++)
		busy[h] = held[h].sent;
	for (i = 0; i < n; i++) {
		fr[i].segs = segs[i];
		build_frame(in, &fr[i]);
		zero_header(&fr[i]);
		fate[i] = predict(&fr[i], busy, &used[i]);
		for (h = 0; h < nb_held && fate[i] != COPIED; h++)
			busy[h] = busy[h] || (used[i] & 1u << h) != 0;
	}
	shmlink_ep_stats_get(ep, &st0);
	sent = shmlink_ep_tx_burst(ep, fr, n);
	shmlink_ep_stats_get(ep, &st1);
	FZ_CHECK(sent <= n && (!broken || sent == 0), "tx_burst consumed %u of %u, broken %d",
			sent, n, broken);
	expect_frames(fr, sent, fate);
	for (i = 0; i < sent; i++) {
		sure += fate[i] == IN_PLACE;
		maybe += fate[i] == MAYBE_IN_PLACE;
		for (h = 0; h < nb_held && fate[i] != COPIED; h++)
			held[h].sent = held[h].sent || (used[i] & 1u << h) != 0;
	}
	FZ_TRACE("tx_burst in chunks: %u of %u frames, %llu in place (%u sure, %u maybe)\n",
			sent, n, (unsigned long long)(st1.tx_in_place - st0.tx_in_place), sure,
			maybe);
	FZ_CHECK(st1.tx_in_place - st0.tx_in_place >= sure &&
			st1.tx_in_place - st0.tx_in_place <= sure + maybe,
			"%llu of %u frames sent in place: %u lie in chunks lent and not in flight, "
			"%u in chunks that may be in flight", (unsigned long long)(st1.tx_in_place -
			st0.tx_in_place), sent, sure, maybe);
	held_verify();
}

/* Give back every chunk held (at the end of the input). */
static void
held_return_all(struct shmlink_ep *ep)
{
	uint64_t t[MAX_TX_HOLD];
	uint32_t i;

	held_verify();
	for (i = 0; i < nb_held; i++)
		t[i] = held[nb_held - 1 - i].token;
	shmlink_ep_tx_return(ep, t, nb_held);
	nb_held = 0;
	FZ_CHECK(shmlink_ep_tx_lent(ep) == 0, "%u chunks lent after all were given back",
			shmlink_ep_tx_lent(ep));
}

/* The chunks lent are those held, at most tx_hold, and counted out of the pool. */
static void
check_tx_lent(const struct shmlink_ep *ep)
{
	struct shmlink_ep_buffers b;

	shmlink_ep_buffers_get(ep, &b);
	FZ_CHECK(shmlink_ep_tx_lent(ep) == nb_held && nb_held <= tx_hold,
			"the endpoint says %u TX chunks are lent, %u are (tx_hold %u)",
			shmlink_ep_tx_lent(ep), nb_held, tx_hold);
	FZ_CHECK(b.tx_chunks_inflight >= nb_held && b.tx_chunks_inflight <= b.tx_chunks,
			"%u of %u TX chunks out of the pool, %u of them lent",
			b.tx_chunks_inflight, b.tx_chunks, nb_held);
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

/* Descriptor @b (@n buffers, @total bytes) against the next frame sent. */
static void
expect_match(const struct shmlink_buf *b, uint32_t n, uint32_t total)
{
	const struct expect *e = &expects[nb_matched % MAX_TRACK];
	bool copied, placed;
	uint32_t k;

	if (expect_lost)
		return;
	FZ_CHECK(nb_matched < nb_expect, "descriptor %u, for %u frames sent", nb_matched + 1,
			nb_expect);
	nb_matched++;
	copied = n == (e->wire + chunk_size - 1) / chunk_size;
	for (k = 0; k < n && copied; k++)
		copied = b[k].offset % chunk_size == 0 && b[k].size ==
				(e->wire - k * chunk_size < chunk_size ? e->wire - k * chunk_size :
				chunk_size);
	placed = n == e->nb;
	for (k = 0; k < n && placed; k++)
		placed = b[k].offset == e->b[k].offset && b[k].size == e->b[k].size;
	FZ_CHECK(total == e->wire && (e->fate == IN_PLACE ? placed : e->fate == COPIED ?
			copied : placed || copied), "descriptor %u: %u bytes in %u buffers (the "
			"first %llu+%u), for a %u-byte frame %s", nb_matched, total, n,
			(unsigned long long)b[0].offset, b[0].size, e->wire,
			e->fate == IN_PLACE ? "sent in place" : e->fate == COPIED ? "copied" :
			"sent in place or copied");
}

/*
 * A descriptor read; while no ring is damaged, it must be a well-formed one of ours: each
 * buffer at the start of a chunk, or with tx_hold anywhere in one (a frame sent where
 * its caller built it).
 */
static void
peer_take_desc(const uint8_t *rec, uint32_t len, const struct shmlink_testing_ep *ep)
{
	struct shmlink_buf b[SHMLINK_FRAME_MAX_BUFS];
	uint32_t bsz = ep->tx_buf_size, total, i;
	uint64_t id, sum = 0;
	int64_t n = shmlink_txd_decode(rec, len, &id, &total, b, SHMLINK_FRAME_MAX_BUFS);

	if (!P.poked) {
		FZ_CHECK(n >= 1 && n <= SHMLINK_FRAME_MAX_BUFS &&
				len == shmlink_txd_len((uint32_t)n),
				"client wrote a %u-byte descriptor", len);
		for (i = 0; i < n; i++) {
			uint64_t in_chunk = b[i].offset % bsz;

			FZ_CHECK((tx_hold > 0 || in_chunk == 0) && b[i].size <= bsz - in_chunk &&
					in_region(b[i].offset, b[i].size, P.txq->map.data_size),
					"client descriptor buffer %u: %llu+%u", i,
					(unsigned long long)b[i].offset, b[i].size);
			sum += b[i].size;
		}
		FZ_CHECK(sum == total && total > 0, "client descriptor: total %u, "
				"buffers %llu", total, (unsigned long long)sum);
		expect_match(b, (uint32_t)n, total);
	}
	if (n < 0)
		return;
	if (P.nb_inflight < MAX_TRACK)
		P.inflight[P.nb_inflight++] = id;
	else
		P.untracked = true;
}

static void
peer_read_desc(struct fz_in *in, const struct shmlink_testing_ep *ep)
{
	unsigned int k = 1 + fz_u8(in) % 8;
	const uint8_t *rec;
	uint32_t len;

	while (k-- > 0 && (rec = shmlink_pipe_rx_pull(&P.desc, &len)) != NULL)
		peer_take_desc(rec, len, ep);
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
	uint32_t i = 0;
	uint64_t id;

	switch (mode) {
	case 0:
	case 1:
	case 2:		/* valid: an id in flight, completed once */
		if (P.nb_inflight == 0)
			return;
		i = fz_u8(in) % P.nb_inflight;
		id = P.inflight[i];
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
	/* The pipe full (of bad completions the client has not read yet): the frame stays
	 * in flight, to be completed later. */
	if (shmlink_txc_push(&P.txc, id) != 0)
		return;
	shmlink_pipe_tx_flush(&P.txc);
	if (mode < 3) {
		P.inflight[i] = P.inflight[--P.nb_inflight];
		P.done[P.nb_done++ % 16] = id;
	}
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

/*
 * The end of the input: read every descriptor left and complete every frame read, then
 * let the client reap. Unless a ring was damaged, every TX chunk is back in the pool (the
 * harness gave back every chunk lent before): none was lost, in flight or lent.
 */
static void
peer_finish(struct shmlink_ep *ep)
{
	struct shmlink_frame none = { .nb_segs = 0 };
	struct shmlink_testing_ep v;
	struct shmlink_ep_buffers b;
	const uint8_t *rec;
	uint32_t len, i;

	if (P.poked || shmlink_ep_broken(ep))
		return;
	shmlink_testing_ep_get(ep, &v);
	while ((rec = shmlink_pipe_rx_pull(&P.desc, &len)) != NULL)
		peer_take_desc(rec, len, &v);
	shmlink_pipe_rx_flush(&P.desc);
	if (P.untracked)
		return;
	for (i = 0; i < P.nb_inflight; i++) {
		/* A full pipe: the client reaps, which empties it. */
		if (shmlink_txc_push(&P.txc, P.inflight[i]) != 0) {
			(void)shmlink_ep_tx_burst(ep, &none, 0);
			if (shmlink_txc_push(&P.txc, P.inflight[i]) != 0)
				return;
		}
		shmlink_pipe_tx_flush(&P.txc);
	}
	P.nb_inflight = 0;
	(void)shmlink_ep_tx_burst(ep, &none, 0);
	shmlink_ep_buffers_get(ep, &b);
	FZ_TRACE("end: %u of %u TX chunks out of the pool\n", b.tx_chunks_inflight, b.tx_chunks);
	FZ_CHECK(b.tx_chunks_inflight == 0, "%u of %u TX chunks still out of the pool with "
			"every frame completed and every chunk given back",
			b.tx_chunks_inflight, b.tx_chunks);
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

/* The end of the input: a server owns no TX chunks. */
static void
peer_finish(struct shmlink_ep *ep)
{
	(void)ep;
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
	OP_PEER, OP_PEER2, OP_PEER3, OP_PEER4, OP_RETURN, OP_LEND, OP_PLACE, OP_TX_RETURN,
	OP_COUNT,
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
	case 3:
		c.buffer_size = 1000;	/* not a power of 2: no shift finds a chunk */
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
	static const uint32_t tx_holds[8] = { 0, 0, 1, 2, 3, 5, 8, MAX_TX_HOLD };
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
	/* From bits 1-3, not a byte of its own, so that the seeds from before tx_hold keep
	 * their meaning: without a frame built in a chunk lent, an endpoint with tx_hold
	 * sends as one without. */
	conf.tx_hold = tx_holds[(gbyte >> 1) & 7];
	tx_hold = ROLE == SHMLINK_ROLE_CLIENT ? conf.tx_hold : 0;
	vh_len = conf.virtio_hdr ? SHMLINK_VIRTIO_HDR_LEN : 0;
	nb_held = nb_gone = fills = 0;
	nb_expect = nb_matched = 0;
	expect_lost = false;

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
		chunk_size = v.tx_buf_size;
		FZ_CHECK(chunk_size <= MAX_CHUNK, "TX chunks of %u bytes", chunk_size);
	}
	{
		struct shmlink_ep_buffers b;

		shmlink_ep_buffers_get(ep, &b);
		nb_chunks = b.tx_chunks;
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
		case OP_LEND:
			ep_lend(ep, &in);
			break;
		case OP_PLACE:
			ep_place(ep, &in);
			break;
		case OP_TX_RETURN:
			ep_tx_return(ep, &in);
			break;
		default:
			peer_step(ep, &in, fz_u8(&in) % 7);
			break;
		}
		check_ep(ep);
		FZ_CHECK(shmlink_ep_rx_lent(ep) == nb_lent, "the endpoint says %u frames are "
				"lent, %u are", shmlink_ep_rx_lent(ep), nb_lent);
		check_tx_lent(ep);
	}
	/* Whatever state it is in, the endpoint ends cleanly, and loses no TX chunk. */
	shmlink_ep_rx_release(ep);
	held_return_all(ep);
	peer_finish(ep);
	check_ep(ep);
	shmlink_ep_destroy(ep);
	return 0;
}
