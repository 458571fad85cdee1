/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * The queue threads: one per queue pair, each the only user of its endpoint, polling it
 * in bursts. Per burst: one receive and one transmit call into the library, counters
 * published once; no syscall unless an idle thread goes to sleep (--rx-mode interrupt).
 */

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"

/* Empty polls before an interrupt-mode thread arms its notification and sleeps. */
#define FWD_IDLE_POLLS		128u
/* Bound on one sleep, so the thread notices a stop. */
#define FWD_SLEEP_MS		100
/* Forwarding modes: retries of a burst the link could not take whole, then drop. */
#define FWD_TX_RETRIES		64u
/* txonly --verify, on a local stop: wait for frames still on their way back until every
 * one is back, or the link has been quiet this long (the others were dropped; long
 * enough for a forwarder descheduled on a loaded host), or at most FWD_DRAIN_MAX_S. */
#define FWD_DRAIN_QUIET_S	0.5
#define FWD_DRAIN_MAX_S		2.0
/* txonly --window: after this long with the window shut, the frames out are lost. */
#define FWD_WINDOW_STALL_S	0.05
/* Room for the segments of one burst: multi-buffer frames, and one frame of the most
 * buffers the library allows. */
#define FWD_SEGS_PER_FRAME	4u
/* Largest frame we may receive: the library's bound for our MTU, with VLAN room. */
#define FWD_SCRATCH_LEN		(65536u + 64u)

static inline void
fwd_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

static inline int
fwd_run(const struct peer_queue *q)
{
	return __atomic_load_n(&q->ctx->run, __ATOMIC_RELAXED);
}

/* Counts of one burst, published to the queue's counters in one go. */
struct fwd_acc {
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t verified;
	uint64_t foreign;
	uint64_t corrupt;
	uint64_t reordered;
	uint64_t cksum[3];		/* by PKT_L4_* */
	int64_t lost;			/* a late frame takes back a gap it left */
};

static void
fwd_publish_rx(struct peer_queue *q, const struct fwd_acc *a)
{
	struct peer_qstats *st = &q->st;

	peer_ctr_add(&st->rx_packets, a->rx_packets);
	peer_ctr_add(&st->rx_bytes, a->rx_bytes);
	if (a->verified > 0)
		peer_ctr_add(&st->rx_verified, a->verified);
	if (a->foreign > 0)
		peer_ctr_add(&st->rx_foreign, a->foreign);
	if (a->corrupt > 0)
		peer_ctr_add(&st->rx_corrupt, a->corrupt);
	if (a->reordered > 0)
		peer_ctr_add(&st->rx_reordered, a->reordered);
	if (a->cksum[PKT_L4_NONE] > 0)
		peer_ctr_add(&st->rx_cksum_none, a->cksum[PKT_L4_NONE]);
	if (a->cksum[PKT_L4_VALID] > 0)
		peer_ctr_add(&st->rx_cksum_valid, a->cksum[PKT_L4_VALID]);
	if (a->cksum[PKT_L4_BAD] > 0)
		peer_ctr_add(&st->rx_cksum_bad, a->cksum[PKT_L4_BAD]);
	if (a->lost > 0 || (a->lost < 0 && st->rx_lost >= (uint64_t)-a->lost))
		peer_ctr_add(&st->rx_lost, (uint64_t)a->lost);
	else if (a->lost < 0)
		__atomic_store_n(&st->rx_lost, 0, __ATOMIC_RELAXED);
}

/* The frame's bytes in one piece: in place, or gathered into the scratch buffer. */
static const uint8_t *
fwd_flat(struct peer_queue *q, const struct shmlink_frame *f)
{
	uint8_t *d = q->scratch;
	uint32_t i;

	if (f->nb_segs == 1)
		return f->segs[0].addr;
	for (i = 0; i < f->nb_segs; i++) {
		memcpy(d, f->segs[i].addr, f->segs[i].len);
		d += f->segs[i].len;
	}
	return q->scratch;
}

/* Sequence accounting of one test frame from sending queue @src. */
static void
fwd_seq(struct peer_queue *q, uint16_t src, uint64_t seq, struct fwd_acc *a)
{
	uint64_t *next = &q->rx_next[src];

	if (seq == *next) {
		(*next)++;
	} else if (seq > *next) {
		a->lost += (int64_t)(seq - *next);
		*next = seq + 1;
	} else {
		a->reordered++;
		a->lost--;
	}
}

/* Count, and check the test frames among, @n received frames. */
static void
fwd_check(struct peer_queue *q, unsigned int n, struct fwd_acc *a)
{
	bool raw_ip = q->ctx->o->raw_ip;
	/* Unless the link agreed that we take unfilled checksums, a bad one is corruption,
	 * as it is to gVisor without RXChecksumOffload. */
	bool trusting = (q->ctx->att.offloads & SHMLINK_CTL_O_CSUM_RX) != 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		const struct shmlink_frame *f = &q->rx_frames[i];
		uint64_t seq = 0;
		uint16_t src = 0;
		int l4 = PKT_L4_NONE;

		a->rx_bytes += f->len;
		switch (pkt_check(raw_ip, fwd_flat(q, f), f->len, &src, &seq, &l4)) {
		case PKT_OK:
			a->cksum[l4]++;
			if (l4 == PKT_L4_BAD && !trusting) {
				a->corrupt++;
				break;
			}
			a->verified++;
			fwd_seq(q, src, seq, a);
			break;
		case PKT_FOREIGN:
			a->foreign++;
			break;
		default:
			a->corrupt++;
			break;
		}
	}
	a->rx_packets += n;
}

static unsigned int
fwd_rx(struct peer_queue *q)
{
	return shmlink_ep_rx_burst(q->ep, q->rx_frames, q->ctx->o->burst, q->rx_segs,
			q->rx_max_segs);
}

/* Receive one burst and check it; the buffers go back to the peer at once. */
static unsigned int
fwd_rx_check(struct peer_queue *q)
{
	struct fwd_acc a = { 0 };
	unsigned int n = fwd_rx(q);

	if (n > 0) {
		fwd_check(q, n, &a);
		fwd_publish_rx(q, &a);
	}
	shmlink_ep_rx_release(q->ep);
	return n;
}

/* Receive one burst and only count it. */
static unsigned int
fwd_rx_count(struct peer_queue *q)
{
	unsigned int n = fwd_rx(q), i;
	uint64_t bytes = 0;

	for (i = 0; i < n; i++)
		bytes += q->rx_frames[i].len;
	shmlink_ep_rx_release(q->ep);
	if (n > 0) {
		peer_ctr_add(&q->st.rx_packets, n);
		peer_ctr_add(&q->st.rx_bytes, bytes);
	}
	return n;
}

/*
 * Send @n frames, retrying a burst the link does not take whole a bounded number of
 * times (the peer may be busy sending to us: waiting forever could deadlock), then
 * dropping the rest.
 */
static void
fwd_send(struct peer_queue *q, const struct shmlink_frame *f, unsigned int n)
{
	unsigned int sent = 0, tries = 0, i;
	uint64_t bytes = 0;

	while (sent < n) {
		unsigned int k = shmlink_ep_tx_burst(q->ep, f + sent, n - sent);

		for (i = sent; i < sent + k; i++)
			bytes += f[i].len;
		sent += k;
		if (sent == n)
			break;
		if (tries++ == 0)
			peer_ctr_add(&q->st.tx_full, 1);
		if (tries > FWD_TX_RETRIES || fwd_run(q) != PEER_RUN)
			break;
		fwd_relax();
	}
	if (sent > 0) {
		peer_ctr_add(&q->st.tx_packets, sent);
		peer_ctr_add(&q->st.tx_bytes, bytes);
	}
	if (sent < n)
		peer_ctr_add(&q->st.tx_dropped, n - sent);
}

/* ---- modes: each does one burst and says how many frames it received ---- */

static unsigned int
fwd_io(struct peer_queue *q)
{
	unsigned int n = fwd_rx(q), i;
	uint64_t bytes = 0;

	if (n > 0) {
		for (i = 0; i < n; i++)
			bytes += q->rx_frames[i].len;
		peer_ctr_add(&q->st.rx_packets, n);
		peer_ctr_add(&q->st.rx_bytes, bytes);
		/* The library copies the frames from the peer's memory straight into the
		 * peer's memory. */
		fwd_send(q, q->rx_frames, n);
	}
	shmlink_ep_rx_release(q->ep);
	return n;
}

/*
 * Describe frame @f with its Ethernet addresses swapped, without copying it: a segment
 * of our own with the swapped addresses, then the frame's segments after its first
 * 12 bytes. We never write to the peer's memory.
 */
static void
fwd_swap_frame(struct peer_queue *q, const struct shmlink_frame *f, unsigned int i,
		struct shmlink_frame *out, struct shmlink_seg *segs)
{
	uint8_t *h = q->swap_hdr[i];
	uint32_t skip = 2 * PEER_ETH_ALEN, k, n = 0, got = 0;

	for (k = 0; k < f->nb_segs && got < skip; k++) {
		uint32_t c = f->segs[k].len < skip - got ? f->segs[k].len : skip - got;

		memcpy(h + got, f->segs[k].addr, c);
		got += c;
	}
	/* h holds dst then src: swap the halves. */
	for (k = 0; k < PEER_ETH_ALEN; k++) {
		uint8_t t = h[k];

		h[k] = h[k + PEER_ETH_ALEN];
		h[k + PEER_ETH_ALEN] = t;
	}
	segs[n++] = (struct shmlink_seg){ .addr = h, .len = skip };
	for (k = 0, got = 0; k < f->nb_segs; k++) {
		uint32_t len = f->segs[k].len, off = 0;

		if (got < skip) {
			off = len < skip - got ? len : skip - got;
			got += off;
		}
		if (len > off)
			segs[n++] = (struct shmlink_seg){
				.addr = (uint8_t *)f->segs[k].addr + off, .len = len - off };
	}
	out->segs = segs;
	out->nb_segs = n;
	out->len = f->len;
}

static unsigned int
fwd_macswap(struct peer_queue *q)
{
	unsigned int n, i, nsegs = 0, k = 0;
	uint64_t bytes = 0;

	if (q->ctx->o->raw_ip)
		return fwd_io(q);	/* no Ethernet addresses to swap */
	n = fwd_rx(q);
	for (i = 0; i < n; i++) {
		const struct shmlink_frame *f = &q->rx_frames[i];

		bytes += f->len;
		if (f->len < 2 * PEER_ETH_ALEN) {
			q->tx_frames[k++] = *f;		/* a runt: back as it came */
			continue;
		}
		fwd_swap_frame(q, f, i, &q->tx_frames[k], &q->tx_segs[nsegs]);
		nsegs += q->tx_frames[k].nb_segs;
		k++;
	}
	if (n > 0) {
		peer_ctr_add(&q->st.rx_packets, n);
		peer_ctr_add(&q->st.rx_bytes, bytes);
		fwd_send(q, q->tx_frames, k);
	}
	shmlink_ep_rx_release(q->ep);
	return n;
}

static unsigned int
fwd_icmpecho(struct peer_queue *q)
{
	const struct peer_opts *o = q->ctx->o;
	uint32_t room = opts_max_frame(o);
	unsigned int n = fwd_rx(q), i, k = 0;
	uint64_t bytes = 0, foreign = 0;

	for (i = 0; i < n; i++) {
		const struct shmlink_frame *f = &q->rx_frames[i];
		uint8_t *out = q->tx_bufs + (size_t)k * room;
		uint32_t len;

		bytes += f->len;
		len = icmp_answer(o, fwd_flat(q, f), f->len, out, room);
		if (len == 0) {
			foreign++;
			continue;
		}
		q->tx_segs[k] = (struct shmlink_seg){ .addr = out, .len = len };
		q->tx_frames[k] = (struct shmlink_frame){ .segs = &q->tx_segs[k], .nb_segs = 1,
				.len = len };
		k++;
	}
	/* The answers are copies: the requests can go back to the peer first. */
	shmlink_ep_rx_release(q->ep);
	if (n > 0) {
		peer_ctr_add(&q->st.rx_packets, n);
		peer_ctr_add(&q->st.rx_bytes, bytes);
		if (foreign > 0)
			peer_ctr_add(&q->st.rx_foreign, foreign);
	}
	if (k > 0)
		fwd_send(q, q->tx_frames, k);
	return n;
}

static double
fwd_min_batch(const struct peer_opts *o)
{
	double b = (double)o->tx_pps / 1000.0;

	return b < 1 ? 1 : b > o->burst ? o->burst : b;
}

/*
 * How many frames txonly may offer now: a burst, less what --window (frames out and not
 * yet back) and --tx-pps (frames per second since the attach) allow.
 */
static unsigned int
fwd_tx_allowed(struct peer_queue *q, unsigned int burst)
{
	const struct peer_opts *o = q->ctx->o;
	unsigned int n = burst;
	double now = 0;

	if (q->window > 0) {
		/* The next own sequence expected back: all below came back or were lost. */
		uint64_t back = q->rx_next[q->qid];
		uint64_t out = q->tx_seq > back ? q->tx_seq - back : 0;

		now = peer_now();
		if (out < q->window) {
			q->win_blocked = 0;
			if (q->window - out < n)
				n = (unsigned int)(q->window - out);
		} else if (q->win_blocked == 0) {
			q->win_blocked = now;
			n = 0;
		} else if (now - q->win_blocked < FWD_WINDOW_STALL_S) {
			n = 0;
		} else {
			/* The last frames out were lost: nothing will move the window. */
			q->win_blocked = now;
		}
	}
	if (o->tx_pps > 0 && n > 0) {
		double credit;

		if (now == 0)
			now = peer_now();
		credit = (now - q->rate_t0) * (double)o->tx_pps - (double)q->tx_seq;
		if (credit > 2.0 * burst) {
			/* Credit saved up while the link was full is not spent in one go. */
			q->rate_t0 = now - ((double)q->tx_seq + burst) / (double)o->tx_pps;
			credit = burst;
		}
		/* Batches of up to a millisecond's worth: one flush and signal each. */
		if (credit < fwd_min_batch(o))
			n = 0;
		else if (credit < n)
			n = (unsigned int)credit;
	}
	return n;
}

/*
 * Generate test frames. Frames the link does not take stay built, in order, and go
 * first next time: back-pressure never costs a sequence number.
 */
static unsigned int
fwd_txonly(struct peer_queue *q)
{
	const struct peer_opts *o = q->ctx->o;
	const struct pkt_gen *g = &q->ctx->gen;
	unsigned int n = o->verify ? fwd_rx_check(q) : 0;
	unsigned int want = fwd_tx_allowed(q, o->burst), have, i, sent;
	/* UDP over IPv4 may go without a checksum (0), which is what we send when the link
	 * agreed we may leave it unfilled, or when not asked to fill it. */
	bool fill_cksum = o->udp_cksum && !(q->ctx->att.offloads & SHMLINK_CTL_O_CSUM_TX);
	uint64_t bytes = 0;

	if (want == 0)
		return n;
	/* Frames [0, tx_pending) are built already, with sequence numbers from tx_seq. */
	for (i = q->tx_pending; i < want; i++) {
		struct shmlink_frame *f = &q->tx_frames[i];

		pkt_build(g, f->segs[0].addr, q->size_idx, q->qid, q->tx_seq + i);
		f->len = g->size[q->size_idx];
		if (fill_cksum)
			pkt_fill_udp_cksum(o->raw_ip, f->segs[0].addr, f->len);
		f->segs[0].len = f->len;
		if (++q->size_idx == g->nb_sizes)
			q->size_idx = 0;
	}
	have = want > q->tx_pending ? want : q->tx_pending;
	sent = shmlink_ep_tx_burst(q->ep, q->tx_frames, want);
	for (i = 0; i < sent; i++)
		bytes += q->tx_frames[i].len;
	if (sent > 0 && sent < have) {
		struct shmlink_seg *done[PEER_BURST_MAX];

		/* Move the unsent frames to the front; the sent ones' slots follow them. */
		for (i = 0; i < sent; i++)
			done[i] = q->tx_frames[i].segs;
		memmove(q->tx_frames, q->tx_frames + sent,
				(have - sent) * sizeof(q->tx_frames[0]));
		for (i = 0; i < sent; i++)
			q->tx_frames[have - sent + i].segs = done[i];
	}
	if (sent < want)
		peer_ctr_add(&q->st.tx_full, 1);
	q->tx_pending = have - sent;
	q->tx_seq += sent;
	if (sent > 0) {
		peer_ctr_add(&q->st.tx_packets, sent);
		peer_ctr_add(&q->st.tx_bytes, bytes);
	}
	return n + sent;
}

static unsigned int
fwd_step(struct peer_queue *q)
{
	switch (q->ctx->o->mode) {
	case PEER_MODE_RXONLY:
		return fwd_rx_check(q);
	case PEER_MODE_TXONLY:
		return fwd_txonly(q);
	case PEER_MODE_MACSWAP:
		return fwd_macswap(q);
	case PEER_MODE_ICMPECHO:
		return fwd_icmpecho(q);
	default:
		return fwd_io(q);
	}
}

/* The consumer sleep sequence (shmlink_notify.h): arm, look again, sleep, disarm. */
static void
fwd_sleep(struct peer_queue *q)
{
	const struct shmlink_notify *n = shmlink_ep_rx_notify(q->ep);

	shmlink_notify_arm(n);
	while (!shmlink_ep_rx_ready(q->ep) && fwd_run(q) == PEER_RUN) {
		if (shmlink_notify_wait(n, FWD_SLEEP_MS) < 0)
			break;
	}
	shmlink_notify_disarm(n);
	peer_ctr_add(&q->st.rx_sleeps, 1);
}

/* What is left to receive once told to stop. */
static void
fwd_drain(struct peer_queue *q, int why)
{
	const struct peer_opts *o = q->ctx->o;
	bool checking = o->mode == PEER_MODE_RXONLY || o->verify;
	double t0, quiet;

	if (o->mode == PEER_MODE_TXONLY && !o->verify)
		return;
	if (why == PEER_STOP_PEER_LEFT) {
		/* The peer is gone: all it ever sent is in the rings already. */
		while ((checking ? fwd_rx_check(q) : fwd_rx_count(q)) > 0)
			;
		return;
	}
	if (!o->verify)
		return;
	/* Our own frames may still be on their way back through the peer. */
	t0 = peer_now();
	quiet = t0;
	for (;;) {
		double now = peer_now();

		if (fwd_rx_check(q) > 0)
			quiet = now;
		else if (q->st.rx_packets >= q->st.tx_packets ||
				now - quiet >= FWD_DRAIN_QUIET_S || now - t0 >= FWD_DRAIN_MAX_S)
			break;
	}
}

static void
fwd_pin(struct peer_queue *q)
{
	const struct peer_opts *o = q->ctx->o;
	cpu_set_t set;
	int cpu, rc;

	if (o->nb_cpus == 0)
		return;
	cpu = o->cpus[q->qid % o->nb_cpus];
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (rc != 0)
		peer_log("queue %u: cannot pin to CPU %d: %s; running unpinned", q->qid, cpu,
				strerror(rc));
}

static void *
fwd_thread(void *arg)
{
	struct peer_queue *q = arg;
	const struct peer_opts *o = q->ctx->o;
	bool may_sleep = o->rx_intr && o->mode != PEER_MODE_TXONLY;
	unsigned int idle = 0;
	char name[16];
	int run;

	snprintf(name, sizeof(name), "shmlink-q%u", q->qid);
	pthread_setname_np(pthread_self(), name);
	fwd_pin(q);
	while ((run = fwd_run(q)) == PEER_RUN) {
		if (fwd_step(q) > 0) {
			idle = 0;
			continue;
		}
		/* A damaged ring looks like an idle one: look now and then. */
		if (++idle % FWD_IDLE_POLLS == 0 && shmlink_ep_broken(q->ep)) {
			__atomic_store_n(&q->broken, 1, __ATOMIC_RELAXED);
			break;
		}
		if (may_sleep && idle >= FWD_IDLE_POLLS) {
			fwd_sleep(q);
			idle = 0;
		}
	}
	fwd_drain(q, run);
	return NULL;
}

/*
 * --window auto: the frames of the largest --txpkts size that the receive buffers of
 * the link hold, less four bursts. As client we know how many buffers we post; as
 * server, the client's data regions bound what it can post. The slack covers buffers
 * of frames that came back whose completions the forwarder has not reaped yet: with
 * one burst of slack, a forwarder descheduled on a loaded machine dropped a burst.
 */
static uint32_t
fwd_auto_window(const struct peer_queue *q)
{
	const struct peer_ctx *ctx = q->ctx;
	const struct peer_opts *o = ctx->o;
	uint32_t wire_max = 0, per_frame, i;
	uint64_t bufs;

	for (i = 0; i < o->nb_txpkts; i++)
		if (o->txpkts[i] > wire_max)
			wire_max = o->txpkts[i];
	wire_max += o->virtio_hdr ? SHMLINK_VIRTIO_HDR_LEN : 0;
	per_frame = (wire_max + ctx->buffer_size - 1) / ctx->buffer_size;
	if (ctx->role == SHMLINK_ROLE_CLIENT) {
		struct shmlink_ep_buffers b;

		shmlink_ep_buffers_get(q->ep, &b);
		bufs = b.rx_bufs;
	} else {
		const struct shmlink_qmap *tx = &ctx->att.txq[q->qid], *rx = &ctx->att.rxq[q->qid];

		bufs = (tx->data_size < rx->data_size ? tx->data_size : rx->data_size) /
				ctx->buffer_size;
	}
	bufs /= per_frame;
	return bufs > 8u * o->burst ? (uint32_t)(bufs - 4u * o->burst) :
		(uint32_t)(bufs + 1) / 2;
}

/* Point each burst slot's frame at its own buffer. */
static void
fwd_reset(struct peer_queue *q)
{
	uint32_t room = opts_max_frame(q->ctx->o);
	unsigned int i;

	q->tx_seq = 0;
	q->tx_pending = 0;
	q->win_blocked = 0;
	q->rate_t0 = peer_now();
	q->window = 0;
	if (q->ctx->o->verify)
		q->window = q->ctx->o->window_auto ? fwd_auto_window(q) : q->ctx->o->window;
	q->size_idx = 0;
	memset(q->rx_next, 0, sizeof(q->rx_next));
	q->broken = 0;
	for (i = 0; q->tx_bufs != NULL && i < q->ctx->o->burst; i++) {
		q->tx_segs[i] = (struct shmlink_seg){ .addr = q->tx_bufs + (size_t)i * room };
		q->tx_frames[i] = (struct shmlink_frame){ .segs = &q->tx_segs[i], .nb_segs = 1 };
	}
}

int
fwd_start(struct peer_ctx *ctx)
{
	const struct peer_opts *o = ctx->o;
	uint16_t i;

	pkt_gen_init(&ctx->gen, o, ctx->dst_mac);
	__atomic_store_n(&ctx->run, PEER_RUN, __ATOMIC_SEQ_CST);
	for (i = 0; i < o->nb_qp; i++) {
		struct peer_queue *q = ctx->q[i];
		int rc;

		fwd_reset(q);
		rc = pthread_create(&q->thread, NULL, fwd_thread, q);
		if (rc != 0) {
			peer_log("cannot start the thread of queue %u: %s", i, strerror(rc));
			fwd_stop(ctx, PEER_STOP_LOCAL);
			return -1;
		}
		q->running = true;
	}
	if (o->verify)
		peer_log("txonly --verify: at most %u frames out per queue%s", ctx->q[0]->window,
				ctx->q[0]->window == 0 ? " (no limit)" : "");
	return 0;
}

void
fwd_stop(struct peer_ctx *ctx, int why)
{
	uint16_t i;

	__atomic_store_n(&ctx->run, why, __ATOMIC_SEQ_CST);
	for (i = 0; i < ctx->o->nb_qp; i++) {
		struct peer_queue *q = ctx->q[i];

		if (q->running) {
			pthread_join(q->thread, NULL);
			q->running = false;
		}
	}
}

bool
fwd_broken(const struct peer_ctx *ctx)
{
	uint16_t i;

	for (i = 0; i < ctx->o->nb_qp; i++)
		if (__atomic_load_n(&ctx->q[i]->broken, __ATOMIC_RELAXED))
			return true;
	return false;
}

static void
fwd_free_queue(struct peer_queue *q)
{
	free(q->rx_frames);
	free(q->rx_segs);
	free(q->tx_frames);
	free(q->tx_segs);
	free(q->tx_bufs);
	free(q->scratch);
	free(q->swap_hdr);
	free(q);
}

/* Every --cpus entry must be a CPU we may run on: better to refuse than to share one. */
static int
fwd_check_cpus(const struct peer_opts *o)
{
	cpu_set_t allowed;
	unsigned int i;

	if (o->nb_cpus == 0)
		return 0;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) {
		peer_log("cannot read our CPU affinity: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < o->nb_cpus; i++) {
		if (!CPU_ISSET(o->cpus[i], &allowed)) {
			peer_log("--cpus: CPU %d is not available to this process", o->cpus[i]);
			return -1;
		}
	}
	return 0;
}

int
fwd_init(struct peer_ctx *ctx)
{
	const struct peer_opts *o = ctx->o;
	bool need_bufs = o->mode == PEER_MODE_TXONLY || o->mode == PEER_MODE_ICMPECHO;
	unsigned int b = o->burst;
	uint16_t i;

	if (fwd_check_cpus(o) != 0)
		return -1;

	for (i = 0; i < o->nb_qp; i++) {
		/* Its size is a multiple of the alignment, as aligned_alloc() wants. */
		struct peer_queue *q = aligned_alloc(PEER_CACHE_LINE, sizeof(*q));

		if (q == NULL)
			goto nomem;
		memset(q, 0, sizeof(*q));
		ctx->q[i] = q;
		q->ctx = ctx;
		q->qid = i;
		q->rx_max_segs = b * FWD_SEGS_PER_FRAME + SHMLINK_FRAME_MAX_BUFS;
		q->rx_frames = calloc(b, sizeof(*q->rx_frames));
		q->rx_segs = calloc(q->rx_max_segs, sizeof(*q->rx_segs));
		/* macswap: each frame's segments plus one of our own */
		q->tx_frames = calloc(b, sizeof(*q->tx_frames));
		q->tx_segs = calloc(q->rx_max_segs + b, sizeof(*q->tx_segs));
		q->scratch = malloc(FWD_SCRATCH_LEN);
		q->swap_hdr = calloc(b, sizeof(*q->swap_hdr));
		if (need_bufs)
			q->tx_bufs = malloc((size_t)b * opts_max_frame(o));
		if (q->rx_frames == NULL || q->rx_segs == NULL || q->tx_frames == NULL ||
				q->tx_segs == NULL || q->scratch == NULL || q->swap_hdr == NULL ||
				(need_bufs && q->tx_bufs == NULL))
			goto nomem;
	}
	return 0;
nomem:
	peer_log("out of memory for the queues' buffers");
	fwd_fini(ctx);
	return -1;
}

void
fwd_fini(struct peer_ctx *ctx)
{
	uint16_t i;

	for (i = 0; i < PEER_MAX_QUEUES; i++) {
		if (ctx->q[i] != NULL)
			fwd_free_queue(ctx->q[i]);
		ctx->q[i] = NULL;
	}
}
