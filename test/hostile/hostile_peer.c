/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * A hostile peer for a listening net_shmlink port (spec §8.2, issue 6). It attaches the
 * way any peer does (control protocol v1, in whatever gVisor role it is offered), runs a
 * normal endpoint so that traffic flows, and then, episode after episode, writes what a
 * compromised sandbox could write into everything it shares:
 *
 *   headers   random words of every bit pattern anywhere in the four pipes, and chosen
 *             ones (huge sizes, empty slots, wraps of the wrong size or at the wrong
 *             place, slots ending exactly at the ring end) where the port reads next;
 *   records   descriptors, posted buffers and completions whose offsets and sizes lie
 *             at and past the data region's edges, totals the buffers do not hold,
 *             buffer counts of 0 or more than a frame may have, ids never posted or
 *             already returned, records of the wrong length;
 *   freed     free headers that free what cannot be freed, in the pipes the port writes;
 *   words     the notification words flipped to every value, in a loop;
 *   eventfds  counters driven to their limit, floods of writes;
 *   files     truncation and growth of every file (which the seals must refuse),
 *             holes punched into them;
 *   socket    bytes or whole messages written to the control socket after the attach.
 *
 * An episode ends when the port drops us (it should, for anything that damages a ring)
 * or after a random time; then we detach and attach again, until --duration is over.
 * What was done is printed and written as JSON (--json) for the test to check against
 * the port's counters.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "shmlink.h"
#include "shmlink_testing.h"

#include "../common/test_common.h"

#define NAME "shmlink-hostile"
#define BURST 32
#define FRAME_MAX 1514
/* Now and then a frame longer than the port's MTU allows, or shorter than a header. */
#define JUMBO_MAX 9018

enum attack {
	A_HEADERS_RANDOM,	/* any word anywhere in any pipe */
	A_HEADERS_NEXT,		/* chosen headers where the port reads next */
	A_RECORDS,		/* well-framed records with hostile fields */
	A_FREED,		/* bogus free headers in the pipes the port writes */
	A_WORDS,		/* notification words */
	A_EVENTFDS,		/* eventfd limit and floods */
	A_FILES,		/* truncate, grow, punch holes */
	A_SOCKET,		/* write to the control socket */
	A_QUIET,		/* post nothing, consume nothing: back-pressure only */
	A_COUNT,
};

static const char *const attack_names[A_COUNT] = {
	"headers_random", "headers_next", "records", "freed", "words", "eventfds", "files",
	"socket", "quiet",
};

struct report {
	uint64_t attaches, refused_busy, attach_failures, dropped_by_port, episodes[A_COUNT];
	uint64_t header_writes, forged_records, freed_writes, word_writes, eventfd_writes;
	uint64_t truncate_attempts, truncate_succeeded, punch_holes, socket_writes;
	uint64_t frames_sent, frames_received, as_client, as_server;
};

static struct report rep;
static uint64_t rng_state;

static uint64_t
rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static uint64_t
rnd_below(uint64_t n)
{
	return n > 0 ? rnd() % n : 0;
}

static void
sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Every bit pattern a header can take, biased to the interesting ones. */
static uint64_t
hdr_pattern(void)
{
	static const uint64_t special[] = {
		0, 1, 8, 0xfffffff8, 0xffffffff, 0x7fffffff, 0x80000000,
		SHMLINK_PIPE_SLOT_FREE, SHMLINK_PIPE_SLOT_FREE | 0xffffffff,
		SHMLINK_PIPE_SLOT_FREE | 0xfffffff8, SHMLINK_PIPE_SLOT_FREE | 0x7ffffff0,
		UINT64_MAX, UINT64_MAX >> 1, 0x00000001fffffff0, 0x7fffffff00000000,
	};
	uint64_t r = rnd();

	switch (r % 4) {
	case 0:
		return special[(r >> 8) % (sizeof(special) / sizeof(special[0]))];
	case 1:		/* one bit */
		return UINT64_C(1) << ((r >> 8) % 64);
	case 2:		/* a size, free bit either way */
		return ((r >> 8) & 0xffffffff) | ((r >> 40) & 1 ? SHMLINK_PIPE_SLOT_FREE : 0);
	default:
		return rnd();
	}
}

/* ---- the link ---- */

struct link {
	int sock;
	int fds[SHMLINK_CTL_FDS_PER_QP];
	struct shmlink_ctl_msg offer;
	struct shmlink_qmap txq, rxq;
	struct shmlink_ep *ep;
	enum shmlink_role role;
};

static void
link_close(struct link *l)
{
	unsigned int i;

	shmlink_ep_destroy(l->ep);
	l->ep = NULL;
	shmlink_qmap_unmap(&l->txq);
	shmlink_qmap_unmap(&l->rxq);
	for (i = 0; i < SHMLINK_CTL_FDS_PER_QP; i++) {
		if (l->fds[i] >= 0)
			close(l->fds[i]);
		l->fds[i] = -1;
	}
	if (l->sock >= 0)
		close(l->sock);
	l->sock = -1;
}

/*
 * Connect and attach as any peer would, keeping the ten FDs (to attack the files).
 * Returns 0, 1 to retry later (no listener yet, or busy), -1 on a hard error.
 */
static int
link_attach(struct link *l, const char *path)
{
	struct shmlink_ctl_msg ok = { .type = SHMLINK_CTL_ACCEPT };
	struct shmlink_ep_conf conf = { 0 };
	const char *why = NULL;
	unsigned int nfds = 0, i;
	int rc;

	memset(l, 0, sizeof(*l));
	l->sock = -1;
	for (i = 0; i < SHMLINK_CTL_FDS_PER_QP; i++)
		l->fds[i] = -1;
	l->txq.notify.efd = l->rxq.notify.efd = -1;
	l->sock = shmlink_ctl_connect(path);
	if (l->sock < 0)
		return 1;
	rc = shmlink_ctl_recv(l->sock, &l->offer, l->fds, SHMLINK_CTL_FDS_PER_QP, &nfds, 5000,
			&why);
	if (rc != 0 || l->offer.type != SHMLINK_CTL_OFFER || nfds != SHMLINK_CTL_FDS_PER_QP) {
		/* Busy (the port has not yet dropped our previous attach), or anything
		 * else: try again, the port must keep serving. */
		if (rc == 0 && l->offer.type == SHMLINK_CTL_REJECT)
			rep.refused_busy++;
		else if (rep.attach_failures++ < 5)
			fprintf(stderr, NAME ": no usable offer (rc %d, type %u, %u FDs): %s\n", rc,
					l->offer.type, nfds, why != NULL ? why : "");
		link_close(l);
		return 1;
	}
	if (l->offer.nb_qp != 1) {
		fprintf(stderr, NAME ": offered %u queue pairs, this peer takes 1\n",
				l->offer.nb_qp);
		link_close(l);
		return -1;
	}
	if (shmlink_qmap_map(&l->txq, l->fds, l->offer.buffer_size, &why) != 0 ||
			shmlink_qmap_map(&l->rxq, l->fds + SHMLINK_QFD_COUNT, l->offer.buffer_size,
				&why) != 0) {
		fprintf(stderr, NAME ": cannot map the offered files: %s\n", why);
		link_close(l);
		return -1;	/* the port offered files a peer cannot map: a failure */
	}
	l->role = (enum shmlink_role)l->offer.role;
	conf.buffer_size = l->offer.buffer_size;
	conf.max_frame = 65535;
	conf.virtio_hdr = l->offer.flags & SHMLINK_CTL_F_VIRTIO;
	conf.raw_ip = l->offer.flags & SHMLINK_CTL_F_RAW_IP;
	l->ep = shmlink_ep_create(l->role, &l->txq, &l->rxq, &conf);
	if (l->ep == NULL) {
		fprintf(stderr, NAME ": cannot create the endpoint: %s\n", strerror(errno));
		link_close(l);
		return -1;
	}
	ok.role = l->offer.role;
	ok.nb_qp = 1;
	ok.flags = l->offer.flags;
	ok.mtu = l->offer.mtu;
	ok.buffer_size = l->offer.buffer_size;
	memcpy(ok.mac, "\x02\x00\x00\x00\x0b\xad", 6);
	if (shmlink_ctl_send(l->sock, &ok, NULL, 0) != 0) {
		link_close(l);
		return 1;
	}
	rep.attaches++;
	if (l->role == SHMLINK_ROLE_CLIENT)
		rep.as_client++;
	else
		rep.as_server++;
	return 0;
}

/* The port dropped us: input, EOF or hang-up on the control socket. */
static bool
link_dropped(const struct link *l)
{
	struct pollfd pfd = { .fd = l->sock, .events = POLLIN | POLLRDHUP };

	return poll(&pfd, 1, 0) > 0;
}

/* ---- honest traffic: what a normal peer does, so the port's fast path runs ---- */

static void
traffic(struct link *l, bool post_and_consume)
{
	static uint8_t frame[BURST][JUMBO_MAX];
	struct shmlink_frame fr[BURST];
	struct shmlink_seg seg[BURST];
	struct shmlink_frame in[BURST];
	struct shmlink_seg in_segs[BURST * 4];
	unsigned int i, n = 1 + rnd_below(BURST);

	for (i = 0; i < n; i++) {
		uint32_t len = 60 + rnd_below(FRAME_MAX - 60 + 1);

		if (rnd_below(64) == 0)
			len = rnd() & 1 ? 1 + rnd_below(14) : FRAME_MAX + 1 + rnd_below(JUMBO_MAX -
					FRAME_MAX);

		/* Broadcast destination, our MAC, an IPv4 EtherType, then whatever. */
		memset(frame[i], 0xff, 6);
		memcpy(frame[i] + 6, "\x02\x00\x00\x00\x0b\xad", 6);
		frame[i][12] = 0x08;
		frame[i][13] = 0x00;
		frame[i][14] = (uint8_t)rnd();
		seg[i] = (struct shmlink_seg){ frame[i], len };
		fr[i] = (struct shmlink_frame){ &seg[i], 1, len };
	}
	rep.frames_sent += shmlink_ep_tx_burst(l->ep, fr, n);
	if (!post_and_consume)
		return;
	rep.frames_received += shmlink_ep_rx_burst(l->ep, in, BURST, in_segs, BURST * 4);
	shmlink_ep_rx_release(l->ep);
}

/* ---- attacks ---- */

/* The four pipes of the link: [0] the TX queue's TxPipe ... [3] the RX queue's RxPipe. */
static uint8_t *
pipe_at(struct link *l, unsigned int k, uint64_t *len)
{
	const struct shmlink_qmap *q = k < 2 ? &l->txq : &l->rxq;

	*len = (k % 2 == 0 ? q->tx_pipe_size : q->rx_pipe_size) & ~(uint64_t)7;
	return k % 2 == 0 ? q->tx_pipe : q->rx_pipe;
}

static void
put_hdr(uint8_t *ring, uint64_t off, uint64_t v)
{
	__atomic_store_n((uint64_t *)(void *)(ring + off), v, __ATOMIC_RELEASE);
}

static void
attack_headers_random(struct link *l)
{
	unsigned int n = 1 + rnd_below(4);

	while (n-- > 0) {
		uint64_t len;
		uint8_t *ring = pipe_at(l, rnd_below(4), &len);

		put_hdr(ring, rnd_below(len / 8) * 8, hdr_pattern());
		rep.header_writes++;
	}
}

/* Our writers' next header is what the port reads next: publish a damaged one there. */
static void
attack_headers_next(struct link *l)
{
	struct shmlink_testing_ep e;
	struct shmlink_pipe_tx *w;
	uint64_t off, len, v;

	shmlink_testing_ep_get(l->ep, &e);
	w = rnd() & 1 ? e.txq_ours : e.rxq_ours;
	len = w->ring_len;
	off = w->tail & 0xffffffff;
	switch (rnd_below(7)) {
	case 0:		/* a slot running past the ring end */
		v = 0x7ffffff0;
		break;
	case 1:		/* a wrap with the physical size (gVisor's readers stall on it) */
		v = len - off - 8;
		break;
	case 2:		/* a data slot ending exactly at the ring end */
		v = len - off - 8 - 8;
		break;
	case 3:		/* a wrap slot that does not land on offset 0 */
		v = (uint32_t)(0 - (uint32_t)off - 8 + 8 * (1 + rnd_below(8)));
		break;
	case 4:		/* an empty slot */
		v = 0;
		break;
	case 5:		/* a whole revolution */
		v = 0xfffffff8;
		break;
	default:
		v = hdr_pattern() & ~SHMLINK_PIPE_SLOT_FREE;
		break;
	}
	put_hdr(w->ring, off, v);
	rep.header_writes++;
}

/* An offset in a region of @ds bytes, at and past its edges. */
static uint64_t
edge_offset(uint64_t ds, uint32_t bsz)
{
	switch (rnd_below(7)) {
	case 0:
		return ds;
	case 1:
		return ds - 1 - rnd_below(8);
	case 2:
		return ds + 1 + rnd_below(4096);
	case 3:
		return UINT64_MAX - rnd_below(16);
	case 4:
		return (uint64_t)1 << (32 + rnd_below(31));
	case 5:
		return rnd();
	default:
		return (uint64_t)bsz * rnd_below(ds / bsz + 2);
	}
}

static uint32_t
edge_size(uint64_t ds, uint32_t bsz)
{
	switch (rnd_below(6)) {
	case 0:
		return 0;
	case 1:
		return (uint32_t)ds + (uint32_t)rnd_below(3);
	case 2:
		return UINT32_MAX - (uint32_t)rnd_below(16);
	case 3:
		return bsz + 1;
	case 4:
		return (uint32_t)rnd();
	default:
		return bsz;
	}
}

/* A slot of a wrong length for its pipe, full of random bytes. */
static void
push_garbage(struct shmlink_pipe_tx *w, uint32_t max)
{
	uint32_t len = rnd_below(max + 1), i;
	uint8_t *p = shmlink_pipe_tx_push(w, len);

	if (p == NULL)
		return;
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)rnd();
	shmlink_pipe_tx_flush(w);
	rep.forged_records++;
}

static void
forge_client_records(struct link *l)
{
	struct shmlink_buf b[SHMLINK_FRAME_MAX_BUFS + 8];
	struct shmlink_testing_ep e;
	uint32_t i, n;

	shmlink_testing_ep_get(l->ep, &e);

	switch (rnd_below(5)) {
	case 0: {	/* a TX descriptor naming memory outside TX data, or not enough */
		uint64_t sum = 0;

		n = rnd() & 1 ? 1 + rnd_below(3) : rnd_below(4) == 0 ? 0 :
				SHMLINK_FRAME_MAX_BUFS + rnd_below(8);
		for (i = 0; i < n; i++) {
			b[i].offset = edge_offset(l->txq.data_size, e.tx_buf_size);
			b[i].size = edge_size(l->txq.data_size, e.tx_buf_size);
			sum += b[i].size;
		}
		if (shmlink_txd_push(e.txq_ours, rnd() & 1 ? rnd() : rnd_below(e.tx_nb_ids),
				rnd() & 1 ? (uint32_t)(sum + 1) : (uint32_t)rnd(), b, n) == 0) {
			shmlink_pipe_tx_flush(e.txq_ours);
			rep.forged_records++;
		}
		break;
	}
	case 1:		/* a posted buffer outside RX data, empty, or a duplicate */
		b[0].offset = rnd() & 1 ? edge_offset(l->rxq.data_size, e.rx_buf_size) : 0;
		b[0].size = edge_size(l->rxq.data_size, e.rx_buf_size);
		b[0].userdata = rnd();
		b[0].id = rnd() & 1 ? 0 : rnd();
		if (shmlink_rxp_push(e.rxq_ours, &b[0]) == 0) {
			shmlink_pipe_tx_flush(e.rxq_ours);
			rep.forged_records++;
		}
		break;
	case 2:
		push_garbage(e.txq_ours, 15);	/* too short for a descriptor */
		break;
	case 3:
		push_garbage(e.rxq_ours, 31);	/* too short for a posted buffer */
		break;
	default:
		push_garbage(e.txq_ours, 200);
		break;
	}
}

static void
forge_server_records(struct link *l)
{
	struct shmlink_buf b[SHMLINK_FRAME_MAX_BUFS + 8];
	uint32_t i, n, bsz = l->offer.buffer_size;
	struct shmlink_testing_ep e;

	shmlink_testing_ep_get(l->ep, &e);

	switch (rnd_below(4)) {
	case 0: {	/* a TX completion: an id never sent, sent and completed, or huge */
		uint64_t id = rnd() & 1 ? rnd_below(4096) : rnd() & 1 ? rnd() : rnd_below(8);

		if (shmlink_txc_push(e.txq_ours, id) == 0) {
			shmlink_pipe_tx_flush(e.txq_ours);
			rep.forged_records++;
		}
		break;
	}
	case 1: {	/* an RX completion with ids, offsets, sizes or totals that are wrong */
		uint64_t sum = 0;
		uint32_t total;

		n = rnd_below(8) == 0 ? (rnd() & 1 ? 0 : SHMLINK_FRAME_MAX_BUFS + 1 +
				rnd_below(8)) : 1 + rnd_below(3);
		for (i = 0; i < n; i++) {
			uint64_t id = rnd_below(4) == 0 ? rnd() : rnd_below(2048);

			b[i].id = id;
			b[i].offset = rnd() & 1 ? id * bsz : edge_offset(l->rxq.data_size, bsz);
			b[i].size = rnd() & 1 ? 1 + (uint32_t)rnd_below(bsz) :
					edge_size(l->rxq.data_size, bsz);
			b[i].userdata = 0;
			sum += b[i].size;
		}
		total = rnd() & 1 ? (uint32_t)(sum + 1 + rnd_below(100)) : (uint32_t)rnd();
		if (shmlink_rxc_push(e.rxq_ours, total, b, n) == 0) {
			shmlink_pipe_tx_flush(e.rxq_ours);
			rep.forged_records++;
		}
		break;
	}
	case 2:
		push_garbage(e.txq_ours, 16);	/* TX completions are exactly 8 bytes */
		break;
	default:
		push_garbage(e.rxq_ours, 7 + 28);
		break;
	}
}

/* We read the pipes the port writes; what we free there its writer reclaims. */
static void
attack_freed(struct link *l)
{
	struct shmlink_testing_ep e;
	struct shmlink_pipe_rx *r;
	uint64_t off, v;

	shmlink_testing_ep_get(l->ep, &e);
	r = rnd() & 1 ? e.txq_theirs : e.rxq_theirs;
	off = rnd() & 1 ? (r->tail & 0xffffffff) : rnd_below(r->ring_len / 8) * 8;
	switch (rnd_below(4)) {
	case 0:		/* more than the ring */
		v = SHMLINK_PIPE_SLOT_FREE | 0xffffffff;
		break;
	case 1:		/* ending past the ring end */
		v = SHMLINK_PIPE_SLOT_FREE | (r->ring_len - off + 8 * rnd_below(64));
		break;
	case 2:		/* a whole revolution */
		v = SHMLINK_PIPE_SLOT_FREE | 0xfffffff8;
		break;
	default:
		v = SHMLINK_PIPE_SLOT_FREE | (rnd() & 0xffffffff);
		break;
	}
	put_hdr(r->ring, off, v);
	rep.freed_writes++;
}

static void
attack_words(struct link *l)
{
	static const uint32_t vals[] = { 0, 1, 2, 3, UINT32_MAX, 0x80000000 };
	unsigned int n = 1 + rnd_below(64);

	while (n-- > 0) {
		const struct shmlink_qmap *q = rnd() & 1 ? &l->txq : &l->rxq;
		uint32_t v = rnd() & 1 ? vals[rnd_below(6)] : (uint32_t)rnd();

		__atomic_store_n(q->notify.word, v, __ATOMIC_SEQ_CST);
		rep.word_writes++;
	}
}

/* Make eventfd @fd blocking or not: the flag belongs to the open file we share. */
static void
eventfd_blocking(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, on ? fl & ~O_NONBLOCK : fl | O_NONBLOCK);
}

static void
attack_eventfds(struct link *l)
{
	const struct shmlink_qmap *q = rnd() & 1 ? &l->txq : &l->rxq;
	uint64_t v;
	unsigned int i;

	/* Our own reads and writes must not block (case 3 may have left it blocking). */
	eventfd_blocking(q->notify.efd, false);
	switch (rnd_below(4)) {
	case 0:		/* the counter one short of its limit: the port's writes fail */
		v = UINT64_MAX - 1;
		if (write(q->notify.efd, &v, sizeof(v)) == sizeof(v))
			rep.eventfd_writes++;
		break;
	case 1:		/* a flood */
		v = 1;
		for (i = 0; i < 2000; i++)
			if (write(q->notify.efd, &v, sizeof(v)) == sizeof(v))
				rep.eventfd_writes++;
		break;
	case 2:
		if (read(q->notify.efd, &v, sizeof(v)) < 0)
			(void)0;
		break;
	default:	/* blocking, empty or at its limit: a port's read or write would hang */
		if (read(q->notify.efd, &v, sizeof(v)) < 0)
			(void)0;
		v = UINT64_MAX - 1;
		if (rnd() & 1 && write(q->notify.efd, &v, sizeof(v)) == sizeof(v))
			rep.eventfd_writes++;
		eventfd_blocking(q->notify.efd, true);
		break;
	}
}

static void
attack_files(struct link *l)
{
	static const unsigned int files[] = { 0, 2, 3, 4, 5, 7, 8, 9 };
	int fd = l->fds[files[rnd_below(8)]];
	struct stat st;

	if (fstat(fd, &st) != 0)
		return;
	switch (rnd_below(3)) {
	case 0:		/* shrink: the port's next access would fault (SIGBUS) */
	case 1:		/* grow */
		rep.truncate_attempts++;
		if (ftruncate(fd, rnd() & 1 ? 0 : st.st_size / 2 + st.st_size * (rnd() & 1)) == 0)
			rep.truncate_succeeded++;
		break;
	default:	/* zero a page or the whole file: content, not size */
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				rnd() & 1 ? 0 : (off_t)(rnd_below((uint64_t)st.st_size / 4096 + 1) *
					4096), rnd() & 1 ? 4096 : st.st_size) == 0)
			rep.punch_holes++;
		break;
	}
}

static void
attack_socket(struct link *l)
{
	if (rnd() & 1) {
		uint8_t b = (uint8_t)rnd();

		if (send(l->sock, &b, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
			rep.socket_writes++;
	} else {	/* a whole offer, with our own FDs */
		struct shmlink_ctl_msg m = { .type = SHMLINK_CTL_OFFER, .nb_qp = 1 };

		if (shmlink_ctl_send(l->sock, &m, l->fds, SHMLINK_CTL_FDS_PER_QP) == 0)
			rep.socket_writes++;
	}
}

static void
attack(struct link *l, enum attack a)
{
	switch (a) {
	case A_HEADERS_RANDOM:
		attack_headers_random(l);
		break;
	case A_HEADERS_NEXT:
		attack_headers_next(l);
		break;
	case A_RECORDS:
		if (l->role == SHMLINK_ROLE_CLIENT)
			forge_client_records(l);
		else
			forge_server_records(l);
		break;
	case A_FREED:
		attack_freed(l);
		break;
	case A_WORDS:
		attack_words(l);
		break;
	case A_EVENTFDS:
		attack_eventfds(l);
		break;
	case A_FILES:
		attack_files(l);
		break;
	case A_SOCKET:
		attack_socket(l);
		break;
	default:
		break;
	}
}

/* ---- main ---- */

static void
usage(FILE *f)
{
	unsigned int i;

	fprintf(f, "usage: " NAME " --socket PATH [--duration S] [--seed N] [--cpu N] "
			"[--only ATTACK] [--json FILE]\n"
			"       " NAME " --socket PATH --poison-eventfds | --probe-eventfds\n"
			"Attach to a listening net_shmlink port again and again and write "
			"hostile values into everything shared, for S seconds (default 10).\n"
			"--only: just this kind of attack, one of:");
	for (i = 0; i < A_COUNT; i++)
		fprintf(f, " %s", attack_names[i]);
	fprintf(f, "\n--poison-eventfds: attach once, set both eventfd counters to 2^64 - 2, "
			"make them blocking, leave.");
	fprintf(f, "\n--probe-eventfds: attach once as a well-behaved peer would and exit 1 if "
			"an eventfd it was given cannot take a signal (its counter is at its "
			"limit: gVisor panics when its write fails, spec section 5).\n");
}

/* The counter of eventfd @fd, from /proc/self/fdinfo (without draining it). */
static int
eventfd_count(int fd, uint64_t *count)
{
	char path[64], line[128];
	FILE *f;
	int rc = -1;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "eventfd-count: %" SCNx64, count) == 1)
			rc = 0;
	fclose(f);
	return rc;
}

/* Attach once, drive both eventfds' counters to their limit, leave. */
static int
poison_eventfds(const char *path)
{
	struct link l;
	double end = test_now_s() + 10;
	uint64_t v = UINT64_MAX - 1;
	int rc;

	while ((rc = link_attach(&l, path)) > 0 && test_now_s() < end)
		sleep_ms(20);
	if (rc != 0) {
		fprintf(stderr, NAME ": cannot attach\n");
		return 2;
	}
	rc = 0;
	if (write(l.txq.notify.efd, &v, sizeof(v)) != sizeof(v) ||
			write(l.rxq.notify.efd, &v, sizeof(v)) != sizeof(v))
		rc = 1;
	eventfd_blocking(l.txq.notify.efd, true);
	eventfd_blocking(l.rxq.notify.efd, true);
	printf(NAME ": both eventfd counters set to 2^64 - 2 and made blocking%s\n",
			rc ? " (failed)" : "");
	link_close(&l);
	return rc;
}

static int
probe_eventfds(const char *path)
{
	struct link l;
	int rc, k, bad = 0;
	double end = test_now_s() + 10;

	while ((rc = link_attach(&l, path)) > 0 && test_now_s() < end)
		sleep_ms(20);
	if (rc != 0) {
		fprintf(stderr, NAME ": cannot attach\n");
		return 2;
	}
	for (k = 0; k < 2; k++) {
		const struct shmlink_qmap *q = k == 0 ? &l.txq : &l.rxq;
		uint64_t count = 0;

		if (eventfd_count(q->notify.efd, &count) != 0) {
			fprintf(stderr, NAME ": cannot read the counter of an eventfd\n");
			bad = 2;
			continue;
		}
		printf(NAME ": %s queue eventfd counter: %" PRIu64 "%s\n", k == 0 ? "TX" : "RX",
				count, count >= UINT64_MAX - 1 ? " (at its limit: a signal fails)" :
				"");
		if (count >= UINT64_MAX - 1 && bad == 0)
			bad = 1;
	}
	link_close(&l);
	return bad;
}

static void
write_json(const char *path, uint64_t seed, double secs)
{
	FILE *f = fopen(path, "w");
	unsigned int i;

	if (f == NULL) {
		perror(path);
		return;
	}
	fprintf(f, "{\"seed\": %" PRIu64 ", \"seconds\": %.2f, \"attaches\": %" PRIu64
			", \"refused_busy\": %" PRIu64 ", \"attach_failures\": %" PRIu64
			", \"dropped_by_port\": %" PRIu64
			", \"as_client\": %" PRIu64 ", \"as_server\": %" PRIu64 ", \"episodes\": {",
			seed, secs, rep.attaches, rep.refused_busy, rep.attach_failures,
			rep.dropped_by_port,
			rep.as_client, rep.as_server);
	for (i = 0; i < A_COUNT; i++)
		fprintf(f, "%s\"%s\": %" PRIu64, i ? ", " : "", attack_names[i], rep.episodes[i]);
	fprintf(f, "}, \"header_writes\": %" PRIu64 ", \"forged_records\": %" PRIu64
			", \"freed_writes\": %" PRIu64 ", \"word_writes\": %" PRIu64
			", \"eventfd_writes\": %" PRIu64 ", \"truncate_attempts\": %" PRIu64
			", \"truncate_succeeded\": %" PRIu64 ", \"punch_holes\": %" PRIu64
			", \"socket_writes\": %" PRIu64 ", \"frames_sent\": %" PRIu64
			", \"frames_received\": %" PRIu64 "}\n",
			rep.header_writes, rep.forged_records, rep.freed_writes, rep.word_writes,
			rep.eventfd_writes, rep.truncate_attempts, rep.truncate_succeeded,
			rep.punch_holes, rep.socket_writes, rep.frames_sent, rep.frames_received);
	fclose(f);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "seed", required_argument, NULL, 'r' },
		{ "cpu", required_argument, NULL, 'c' },
		{ "json", required_argument, NULL, 'j' },
		{ "only", required_argument, NULL, 'o' },
		{ "probe-eventfds", no_argument, NULL, 'p' },
		{ "poison-eventfds", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *json = NULL;
	double duration = 10, t0, end;
	uint64_t seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 32;
	unsigned int next_attack = 0, i;
	int c, cpu = -1, only = -1;
	bool probe = false, poison = false;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'd':
			duration = strtod(optarg, NULL);
			break;
		case 'r':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'c':
			cpu = atoi(optarg);
			break;
		case 'j':
			json = optarg;
			break;
		case 'o':
			for (i = 0; i < A_COUNT && strcmp(optarg, attack_names[i]) != 0; i++)
				;
			if (i == A_COUNT) {
				usage(stderr);
				return 2;
			}
			only = (int)i;
			break;
		case 'p':
			probe = true;
			break;
		case 'e':
			poison = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (path == NULL || duration <= 0 || duration > 3600) {
		usage(stderr);
		return 2;
	}
	if (probe)
		return probe_eventfds(path);
	if (poison)
		return poison_eventfds(path);
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) != 0)
			perror(NAME ": sched_setaffinity");
	}
	rng_state = seed != 0 ? seed : 1;
	printf(NAME ": seed %" PRIu64 ", %.1f s against %s\n", seed, duration, path);
	fflush(stdout);

	t0 = test_now_s();
	end = t0 + duration;
	while (test_now_s() < end) {
		struct link l;
		enum attack a;
		double ep_end;
		int rc = link_attach(&l, path);

		if (rc < 0)
			return 1;
		if (rc > 0) {
			sleep_ms(20);
			continue;
		}
		/* Every kind of attack in turn, each for a random while. */
		a = only >= 0 ? (enum attack)only : (enum attack)(next_attack++ % A_COUNT);
		rep.episodes[a]++;
		ep_end = test_now_s() + 0.05 + rnd_below(700) / 1000.0;
		if (ep_end > end)
			ep_end = end;
		/* Some honest traffic first: the port's fast path is in full swing. */
		for (int i = 0; i < 50; i++)
			traffic(&l, true);
		while (test_now_s() < ep_end) {
			if (link_dropped(&l)) {
				rep.dropped_by_port++;
				break;
			}
			traffic(&l, a != A_QUIET);
			if (rnd_below(4) == 0)
				attack(&l, a);
		}
		link_close(&l);
		/* Let the port notice and get ready for the next peer. */
		sleep_ms(5);
	}
	printf(NAME ": %.1f s, %" PRIu64 " attaches (%" PRIu64 " as client, %" PRIu64
			" as server), %" PRIu64 " dropped by the port, %" PRIu64 " busy, %" PRIu64
			" failed; "
			"%" PRIu64 " header writes, %" PRIu64 " forged records, %" PRIu64
			" bogus free headers, %" PRIu64 " word writes, %" PRIu64 " eventfd writes, "
			"%" PRIu64 "/%" PRIu64 " truncations succeeded, %" PRIu64 " holes, %" PRIu64
			" socket writes; %" PRIu64 " frames sent, %" PRIu64 " received\n",
			test_now_s() - t0, rep.attaches, rep.as_client, rep.as_server,
			rep.dropped_by_port, rep.refused_busy, rep.attach_failures, rep.header_writes,
			rep.forged_records, rep.freed_writes, rep.word_writes, rep.eventfd_writes,
			rep.truncate_succeeded, rep.truncate_attempts, rep.punch_holes,
			rep.socket_writes, rep.frames_sent, rep.frames_received);
	if (json != NULL)
		write_json(json, seed, test_now_s() - t0);
	return rep.attaches > 0 ? 0 : 1;
}
