/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * A net_shmlink port through its whole life in one process: hot-plugged with
 * rte_dev_probe, configured with two queue pairs, peers attaching and leaving,
 * stop/reconfigure/start, and hot-unplugged with rte_dev_remove while a peer is
 * attached. After each peer and at the end: no fd, no queue-file mapping, no mbuf and
 * no socket file left behind. The peer is a thread on lib/shmlink (client role).
 *
 * Then churn, as on a host where sandboxes come and go: CYCLES times a port hot-plugged,
 * a peer attached, frames both ways verified, and the port hot-unplugged (every other
 * time with the peer still attached). From the second cycle to the end nothing grows:
 * FDs, mappings of any kind, threads, mbufs in use, DPDK heap.
 *
 * Zero-copy receive (zero_copy=rx), in both roles: the application holds lent frames and
 * frees them out of order while the peer goes on sending; the peer leaves while frames
 * are still held, which stay readable and intact, their queue file mapped, until the last
 * one is freed; then nothing is left and the next peer is served.
 *
 * Zero-copy transmit (zero_copy=tx, client role): the application takes TX buffers
 * through the driver's API, frees some unsent and out of order, sends the others intact;
 * the peer leaves while buffers are held, which stay mapped until freed; the next peer
 * gets buffers again.
 *
 * usage: test_lifecycle <driver.so> [cycles (default 500)]
 */

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include <shmlink.h>

#include "../common/driver_path.h"
#include "../common/test_common.h"


#define NB_FRAMES 64
#define FRAME_LEN 100
#define CYCLES 500

struct peer {
	char path[108];
	uint16_t nb_qp;
	int sock;
	struct shmlink_attach att;
	struct shmlink_ep *ep[SHMLINK_CTL_MAX_QUEUE_PAIRS];
};

/* Entries of a /proc/self directory or lines of a /proc/self file. */
static int
count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int
count_fds(void)
{
	return count_dir("/proc/self/fd") - 1;	/* the directory's own fd */
}

/* Mappings of queue files (memfds named shmlink-*). */
static int
count_queue_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, "memfd:shmlink") != NULL;
	fclose(f);
	return n;
}

static int
count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int n = 0, c;

	if (f == NULL)
		return -1;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static int
peer_attach(struct peer *p)
{
	struct shmlink_attach_conf conf = {
		.role_any = true, .nb_qp = p->nb_qp, .mtu = 1500, .buffer_size = 2048,
		.mac = { 2, 0, 0, 0, 0, 9 }, .timeout_ms = 5000,
	};
	struct shmlink_ep_conf ec = { 0 };
	char why[256];
	double end = test_now_s() + 5;
	uint16_t i;

	do {
		p->sock = shmlink_ctl_connect(p->path);
	} while (p->sock < 0 && test_now_s() < end && usleep(10000) == 0);
	if (p->sock < 0)
		return -1;
	if (shmlink_attach_answer(p->sock, &conf, &p->att, why, sizeof(why)) != 0) {
		fprintf(stderr, "peer: attach failed: %s\n", why);
		close(p->sock);
		return -1;
	}
	for (i = 0; i < p->nb_qp; i++)
		p->ep[i] = shmlink_ep_create(p->att.role, &p->att.txq[i], &p->att.rxq[i], &ec);
	return 0;
}

static void
peer_leave(struct peer *p)
{
	uint16_t i;

	for (i = 0; i < p->nb_qp; i++)
		shmlink_ep_destroy(p->ep[i]);
	shmlink_attach_release(&p->att);
	close(p->sock);
}

static bool
wait_link(uint16_t port, int up)
{
	struct rte_eth_link link;
	double end = test_now_s() + 5;

	do {
		if (rte_eth_link_get_nowait(port, &link) == 0 && link.link_status == up)
			return true;
		usleep(10000);
	} while (test_now_s() < end);
	return false;
}

/* Byte k of test frame i. */
static inline uint8_t
frame_byte(unsigned int i, unsigned int k)
{
	return (uint8_t)(i * 7 + k);
}

/* Frame @f, received as the @n-th, holds test frame @n's bytes. */
static bool
frame_ok(const struct shmlink_frame *f, unsigned int n)
{
	unsigned int s, k = 0, b;

	if (f->len != FRAME_LEN)
		return false;
	for (s = 0; s < f->nb_segs; s++)
		for (b = 0; b < f->segs[s].len; b++, k++)
			if (((const uint8_t *)f->segs[s].addr)[b] != frame_byte(n, k))
				return false;
	return true;
}

static bool
mbuf_ok(const struct rte_mbuf *m, unsigned int n)
{
	const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
	unsigned int k;

	if (m->pkt_len != FRAME_LEN || m->data_len != FRAME_LEN)
		return false;
	for (k = 0; k < FRAME_LEN; k++)
		if (d[k] != frame_byte(n, k))
			return false;
	return true;
}

/* Port to peer on queue @q: NB_FRAMES test frames; how many arrived intact, in order. */
static unsigned int
exchange_out(uint16_t port, uint16_t q, struct peer *p, struct rte_mempool *mp,
		double end)
{
	struct rte_mbuf *m[NB_FRAMES];
	struct shmlink_frame fr[NB_FRAMES];
	struct shmlink_seg segs[NB_FRAMES * 4];
	unsigned int got = 0, sent = 0, good = 0, i, k;

	if (rte_pktmbuf_alloc_bulk(mp, m, NB_FRAMES) != 0)
		return 0;
	for (i = 0; i < NB_FRAMES; i++) {
		uint8_t *d = (uint8_t *)rte_pktmbuf_append(m[i], FRAME_LEN);

		for (k = 0; k < FRAME_LEN; k++)
			d[k] = frame_byte(i, k);
	}
	while (sent < NB_FRAMES && test_now_s() < end)
		sent += rte_eth_tx_burst(port, q, m + sent, NB_FRAMES - sent);
	rte_pktmbuf_free_bulk(m + sent, NB_FRAMES - sent);
	while (got < NB_FRAMES && test_now_s() < end) {
		unsigned int n = shmlink_ep_rx_burst(p->ep[q], fr, NB_FRAMES, segs,
				NB_FRAMES * 4);

		for (i = 0; i < n; i++)
			good += frame_ok(&fr[i], got + i);
		got += n;
		shmlink_ep_rx_release(p->ep[q]);
	}
	return good;
}

/* The peer sends NB_FRAMES test frames on queue @q; how many it could. */
static unsigned int
exchange_in_send(struct peer *p, uint16_t q, double end)
{
	static uint8_t payload[NB_FRAMES][FRAME_LEN];
	struct shmlink_frame fr[NB_FRAMES];
	struct shmlink_seg seg[NB_FRAMES];
	unsigned int sent = 0, i, k;

	for (i = 0; i < NB_FRAMES; i++) {
		for (k = 0; k < FRAME_LEN; k++)
			payload[i][k] = frame_byte(i, k);
		seg[i] = (struct shmlink_seg){ .addr = payload[i], .len = FRAME_LEN };
		fr[i] = (struct shmlink_frame){ .segs = &seg[i], .nb_segs = 1, .len = FRAME_LEN };
	}
	while (sent < NB_FRAMES && test_now_s() < end)
		sent += shmlink_ep_tx_burst(p->ep[q], fr + sent, NB_FRAMES - sent);
	return sent;
}

/* Peer to port on queue @q: the same, the other way. */
static unsigned int
exchange_in(uint16_t port, uint16_t q, struct peer *p, double end)
{
	struct rte_mbuf *m[NB_FRAMES];
	unsigned int got = 0, good = 0, i;

	exchange_in_send(p, q, end);
	while (got < NB_FRAMES && test_now_s() < end) {
		unsigned int n = rte_eth_rx_burst(port, q, m, NB_FRAMES);

		for (i = 0; i < n; i++)
			good += mbuf_ok(m[i], got + i);
		rte_pktmbuf_free_bulk(m, n);
		got += n;
	}
	return good;
}

/* NB_FRAMES each way on each queue pair; every frame must arrive intact, in order. */
static void
exchange(uint16_t port, struct peer *p, struct rte_mempool *mp, const char *when)
{
	uint16_t q;

	for (q = 0; q < p->nb_qp; q++) {
		double end = test_now_s() + 5;
		unsigned int out = exchange_out(port, q, p, mp, end);
		unsigned int in = exchange_in(port, q, p, end);

		CHECK(out == NB_FRAMES && in == NB_FRAMES, "%s: q%u: %u of %u frames intact "
				"port->peer, %u peer->port", when, q, out, NB_FRAMES, in);
	}
}

static uint64_t
xstat(uint16_t port, const char *name)
{
	uint64_t id, v = UINT64_MAX;

	if (rte_eth_xstats_get_id_by_name(port, name, &id) == 0)
		rte_eth_xstats_get_by_id(port, &id, &v, 1);
	return v;
}

static int
port_setup(uint16_t port, uint16_t nb_q, struct rte_mempool *mp)
{
	struct rte_eth_conf conf = { .intr_conf = { .lsc = 1 } };
	uint16_t q;

	if (rte_eth_dev_configure(port, nb_q, nb_q, &conf) != 0)
		return -1;
	for (q = 0; q < nb_q; q++) {
		if (rte_eth_rx_queue_setup(port, q, 256, 0, NULL, mp) != 0 ||
				rte_eth_tx_queue_setup(port, q, 256, 0, NULL) != 0)
			return -1;
	}
	return rte_eth_dev_start(port);
}

static void
check_clean(const char *when, int fds0, struct rte_mempool *mp)
{
	CHECK(count_fds() == fds0, "%s: %d fds open, %d before", when, count_fds(), fds0);
	CHECK(count_queue_maps() == 0, "%s: %d queue-file mappings left", when,
			count_queue_maps());
	CHECK(rte_mempool_in_use_count(mp) == 0, "%s: %u mbufs in use", when,
			rte_mempool_in_use_count(mp));
}

/* What the process holds, to compare before and after the churn. */
struct holdings {
	int fds;
	int maps;
	int threads;
	unsigned int mbufs;
	size_t heap;
};

static void
holdings_get(struct holdings *h, struct rte_mempool *mp)
{
	struct rte_malloc_socket_stats st;

	h->fds = count_fds();
	h->maps = count_lines("/proc/self/maps");
	h->threads = count_dir("/proc/self/task");
	h->mbufs = rte_mempool_in_use_count(mp);
	h->heap = rte_malloc_get_socket_stats(0, &st) == 0 ? st.heap_allocsz_bytes : 0;
}

/* Receive @n frames from the peer on a zero_copy=rx port into @m, from index @at: each
 * lent (an external buffer) and holding test frame @at + i's bytes. */
static unsigned int
zc_receive(uint16_t port, struct peer *p, struct rte_mbuf **m, unsigned int at,
		const char *when)
{
	unsigned int got = 0, good = 0, lent = 0, i;
	double end = test_now_s() + 5;

	CHECK(exchange_in_send(p, 0, end) == NB_FRAMES, "%s: the peer sent too few", when);
	while (got < NB_FRAMES && test_now_s() < end)
		got += rte_eth_rx_burst(port, 0, m + at + got, NB_FRAMES - got);
	for (i = 0; i < got; i++) {
		good += mbuf_ok(m[at + i], i);
		lent += RTE_MBUF_HAS_EXTBUF(m[at + i]) != 0;
	}
	CHECK(got == NB_FRAMES && good == got && lent == got, "%s: %u of %u frames received, "
			"%u intact, %u lent", when, got, NB_FRAMES, good, lent);
	return got;
}

/* A zero_copy=rx port (@role: its devarg) whose application holds frames: out-of-order
 * frees, the peer leaving while frames are held. */
static void
zero_copy_held(struct rte_mempool *mp, const char *sock, const char *role, int fds0)
{
	struct rte_mbuf *m[3 * NB_FRAMES];
	struct peer p = { .nb_qp = 1 };
	struct shmlink_ep_buffers b;
	struct rte_eth_dev_info info;
	char devargs[256], when[64];
	unsigned int n, i, held;
	uint16_t port;

	snprintf(p.path, sizeof(p.path), "%s", sock);
	snprintf(when, sizeof(when), "zero copy %s", role);
	snprintf(devargs, sizeof(devargs), "net_shmlink7,socket=%s,zero_copy=rx%s", sock, role);
	if (!CHECK(rte_dev_probe(devargs) == 0, "%s: hot-plug", when) ||
			!CHECK(rte_eth_dev_get_port_by_name("net_shmlink7", &port) == 0,
				"%s: no port", when))
		return;
	CHECK(port_setup(port, 1, mp) == 0, "%s: setup", when);
	if (!CHECK(peer_attach(&p) == 0, "%s: attach", when))
		return;
	CHECK(wait_link(port, RTE_ETH_LINK_UP), "%s: link not up", when);
	n = zc_receive(port, &p, m, 0, when);
	CHECK(xstat(port, "rx_zero_copy_lent_now") == n, "%s: lent now %" PRIu64, when,
			xstat(port, "rx_zero_copy_lent_now"));
	/* Every other frame back, from the last: out of order. */
	for (i = n; i-- > 0; )
		if (i % 2 == 1)
			rte_pktmbuf_free(m[i]);
	held = 0;
	for (i = 0; i < n; i += 2)
		m[held++] = m[i];
	n = held + zc_receive(port, &p, m, held, when);
	CHECK(xstat(port, "rx_zero_copy_lent_now") == n, "%s: lent now %" PRIu64 ", %u held",
			when, xstat(port, "rx_zero_copy_lent_now"), n);
	/* The peer reads its completions when it sends. */
	shmlink_ep_tx_burst(p.ep[0], NULL, 0);
	shmlink_ep_buffers_get(p.ep[0], &b);
	if (p.att.role == SHMLINK_ROLE_CLIENT)
		CHECK(b.tx_chunks_inflight == n, "%s: the peer has %u chunks out, %u held",
				when, b.tx_chunks_inflight, n);
	/* The peer leaves; what the application holds stays mapped and intact. */
	peer_leave(&p);
	CHECK(wait_link(port, RTE_ETH_LINK_DOWN), "%s: link not down", when);
	CHECK(count_queue_maps() == 1, "%s: %d queue-file mappings while frames are held",
			when, count_queue_maps());
	for (i = 0; i < held; i++)
		CHECK(mbuf_ok(m[i], 2 * i), "%s: held frame %u changed", when, i);
	for (; i < n; i++)
		CHECK(mbuf_ok(m[i], i - held), "%s: held frame %u changed", when, i);
	rte_pktmbuf_free_bulk(m, n);
	CHECK(count_queue_maps() == 0, "%s: %d queue-file mappings after the last free",
			when, count_queue_maps());
	/* The next peer is served. */
	CHECK(peer_attach(&p) == 0, "%s: attach again", when);
	CHECK(wait_link(port, RTE_ETH_LINK_UP), "%s: link not up again", when);
	exchange(port, &p, mp, when);
	peer_leave(&p);
	CHECK(rte_eth_dev_info_get(port, &info) == 0 && rte_dev_remove(info.device) == 0,
			"%s: hot-unplug", when);
	check_clean(when, fds0, mp);
}

typedef uint16_t (*tx_alloc_fn)(uint16_t, uint16_t, struct rte_mempool *, struct rte_mbuf **,
		uint16_t);

/* @n lent TX mbufs of @port into @m, test frame @seq + i's bytes in each; how many. */
static unsigned int
zc_tx_build(tx_alloc_fn tx_alloc, uint16_t port, struct rte_mempool *mp,
		struct rte_mbuf **m, unsigned int n, unsigned int seq)
{
	unsigned int got = 0, i, k;

	while (got < n) {
		uint16_t k2 = tx_alloc(port, 0, mp, m + got, (uint16_t)(n - got));

		if (k2 == 0)
			break;
		got += k2;
	}
	for (i = 0; i < got; i++) {
		uint8_t *d = (uint8_t *)rte_pktmbuf_append(m[i], FRAME_LEN);

		if (d == NULL || !RTE_MBUF_HAS_EXTBUF(m[i]))
			return i;
		for (k = 0; k < FRAME_LEN; k++)
			d[k] = frame_byte(seq + i, k);
	}
	return got;
}

/* The peer receives @n frames: how many hold test frames 0 .. n - 1. */
static unsigned int
zc_tx_peer_receive(struct peer *p, unsigned int n)
{
	struct shmlink_frame fr[NB_FRAMES];
	struct shmlink_seg segs[NB_FRAMES * 4];
	unsigned int got = 0, good = 0, i;
	double end = test_now_s() + 5;

	while (got < n && test_now_s() < end) {
		unsigned int k = shmlink_ep_rx_burst(p->ep[0], fr, NB_FRAMES, segs,
				NB_FRAMES * 4);

		for (i = 0; i < k; i++)
			good += frame_ok(&fr[i], got + i);
		got += k;
		shmlink_ep_rx_release(p->ep[0]);
	}
	return good;
}

/* A zero_copy=tx port (client role) whose application takes TX buffers, frees some
 * unsent, sends others, and still holds some when the peer leaves. */
static void
zero_copy_tx_held(struct rte_mempool *mp, const char *sock, const char *driver, int fds0)
{
	struct rte_mbuf *m[NB_FRAMES], *send[NB_FRAMES];
	struct peer p = { .nb_qp = 1 };
	struct rte_eth_dev_info info;
	const char *when = "zero copy tx";
	tx_alloc_fn tx_alloc;
	unsigned int n, i, nb_send = 0;
	char devargs[256];
	uint16_t port;
	void *h;

	/* The driver's API, from the copy EAL loaded. */
	h = dlopen(driver, RTLD_NOW | RTLD_NOLOAD);
	tx_alloc = h != NULL ? (tx_alloc_fn)(uintptr_t)dlsym(h, "rte_pmd_shmlink_tx_alloc") :
			NULL;
	if (!CHECK(tx_alloc != NULL, "%s: no rte_pmd_shmlink_tx_alloc in %s", when, driver))
		goto out;
	snprintf(p.path, sizeof(p.path), "%s", sock);
	snprintf(devargs, sizeof(devargs), "net_shmlink8,socket=%s,role=client,zero_copy=tx",
			sock);
	if (!CHECK(rte_dev_probe(devargs) == 0, "%s: hot-plug", when) ||
			!CHECK(rte_eth_dev_get_port_by_name("net_shmlink8", &port) == 0,
				"%s: no port", when))
		goto out;
	CHECK(port_setup(port, 1, mp) == 0, "%s: setup", when);
	CHECK(tx_alloc(port, 0, mp, m, 1) == 0, "%s: buffers lent without a peer", when);
	if (!CHECK(peer_attach(&p) == 0, "%s: attach", when))
		goto out;
	CHECK(wait_link(port, RTE_ETH_LINK_UP), "%s: link not up", when);
	/* Even ones are sent (frames 0, 1, ...), odd ones freed unsent, from the last. */
	n = zc_tx_build(tx_alloc, port, mp, m, NB_FRAMES, 0);
	CHECK(n == NB_FRAMES, "%s: %u of %u buffers lent", when, n, NB_FRAMES);
	for (i = 0; i < n; i += 2) {
		uint8_t *d = rte_pktmbuf_mtod(m[i], uint8_t *);
		unsigned int k;

		for (k = 0; k < FRAME_LEN; k++)
			d[k] = frame_byte(nb_send, k);
		send[nb_send++] = m[i];
	}
	for (i = n; i-- > 0; )
		if (i % 2 == 1)
			rte_pktmbuf_free(m[i]);
	CHECK(xstat(port, "tx_zero_copy_lent_now") == nb_send, "%s: lent now %" PRIu64, when,
			xstat(port, "tx_zero_copy_lent_now"));
	CHECK(rte_eth_tx_burst(port, 0, send, (uint16_t)nb_send) == nb_send, "%s: tx", when);
	CHECK(zc_tx_peer_receive(&p, nb_send) == nb_send, "%s: frames not intact", when);
	CHECK(xstat(port, "tx_zero_copy_frames") == nb_send, "%s: %" PRIu64 " sent in place",
			when, xstat(port, "tx_zero_copy_frames"));
	/* Held when the peer leaves: mapped, writable, until freed. */
	n = zc_tx_build(tx_alloc, port, mp, m, 16, 0);
	CHECK(n == 16, "%s: %u of 16 buffers lent again", when, n);
	peer_leave(&p);
	CHECK(wait_link(port, RTE_ETH_LINK_DOWN), "%s: link not down", when);
	CHECK(count_queue_maps() == 1, "%s: %d queue-file mappings while buffers are held",
			when, count_queue_maps());
	for (i = 0; i < n; i++)
		memset(rte_pktmbuf_mtod(m[i], void *), 0xab, FRAME_LEN);
	rte_pktmbuf_free_bulk(m, n);
	CHECK(count_queue_maps() == 0, "%s: %d queue-file mappings after the last free",
			when, count_queue_maps());
	CHECK(xstat(port, "tx_zero_copy_lent_now") == 0, "%s: lent now %" PRIu64, when,
			xstat(port, "tx_zero_copy_lent_now"));
	/* The next peer gets buffers, and frames. */
	CHECK(peer_attach(&p) == 0, "%s: attach again", when);
	CHECK(wait_link(port, RTE_ETH_LINK_UP), "%s: link not up again", when);
	n = zc_tx_build(tx_alloc, port, mp, m, 8, 0);
	CHECK(n == 8 && rte_eth_tx_burst(port, 0, m, (uint16_t)n) == n &&
			zc_tx_peer_receive(&p, n) == n, "%s: next peer: %u frames", when, n);
	exchange(port, &p, mp, when);
	peer_leave(&p);
	CHECK(rte_eth_dev_info_get(port, &info) == 0 && rte_dev_remove(info.device) == 0,
			"%s: hot-unplug", when);
	check_clean(when, fds0, mp);
out:
	if (h != NULL)
		dlclose(h);
}

/* One port's life with one peer: hot-plug, attach, traffic, hot-unplug (with the peer
 * attached if @unplug_attached, else after it left). */
static void
churn_cycle(struct peer *p, struct rte_mempool *mp, int cycle, bool unplug_attached)
{
	struct rte_eth_dev_info info;
	char devargs[256], when[32];
	uint16_t port;

	snprintf(when, sizeof(when), "cycle %d", cycle);
	snprintf(devargs, sizeof(devargs), "net_shmlink9,socket=%s", p->path);
	p->nb_qp = 1;
	if (!CHECK(rte_dev_probe(devargs) == 0, "%s: hot-plug", when) ||
			!CHECK(rte_eth_dev_get_port_by_name("net_shmlink9", &port) == 0,
				"%s: no port", when))
		return;
	CHECK(port_setup(port, 1, mp) == 0, "%s: setup", when);
	if (CHECK(peer_attach(p) == 0, "%s: attach", when)) {
		CHECK(wait_link(port, RTE_ETH_LINK_UP), "%s: link not up", when);
		exchange(port, p, mp, when);
		if (!unplug_attached)
			peer_leave(p);
	}
	CHECK(rte_eth_dev_info_get(port, &info) == 0 && rte_dev_remove(info.device) == 0,
			"%s: hot-unplug", when);
	if (unplug_attached)
		peer_leave(p);
}

static void
churn(struct rte_mempool *mp, const char *sock, int cycles)
{
	struct holdings h0, h1;
	struct peer p = { .nb_qp = 1 };
	double t0;
	int i;

	snprintf(p.path, sizeof(p.path), "%s", sock);
	churn_cycle(&p, mp, 0, false);	/* first use: lazily made things */
	holdings_get(&h0, mp);
	t0 = test_now_s();
	for (i = 1; i < cycles && check_failures == 0; i++)
		churn_cycle(&p, mp, i, i % 2 == 0);
	holdings_get(&h1, mp);
	printf("churn: %d cycles in %.1f s; fds %d -> %d, mappings %d -> %d, threads %d -> %d, "
			"mbufs in use %u -> %u, heap %zu -> %zu bytes\n", i, test_now_s() - t0,
			h0.fds, h1.fds, h0.maps, h1.maps, h0.threads, h1.threads, h0.mbufs, h1.mbufs,
			h0.heap, h1.heap);
	CHECK(h1.fds == h0.fds && h1.maps == h0.maps && h1.threads == h0.threads &&
			h1.mbufs == h0.mbufs && h1.heap == h0.heap, "%s", "the churn left growth");
}

int
main(int argc, char **argv)
{
	char prefix[64], devargs[256];
	char *eal[] = { argv[0], "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
			"--no-telemetry", "--file-prefix", prefix, "-d", argc > 1 ? (char *)test_driver_arg(argv, argv[1]) : "", "--log-level",
			"pmd.net.shmlink:info" };
	struct peer p = { .nb_qp = 2 };
	struct rte_eth_dev_info info;
	struct rte_mempool *mp;
	uint16_t port;
	int fds0, round;

	if (argc < 2) {
		fprintf(stderr, "usage: %s <librte_net_shmlink.so>\n", argv[0]);
		return 2;
	}
	snprintf(prefix, sizeof(prefix), "shmlink-life-%d", getpid());
	snprintf(p.path, sizeof(p.path), "/tmp/shmlink-life-%d.sock", getpid());
	if (rte_eal_init(RTE_DIM(eal), eal) < 0) {
		fprintf(stderr, "EAL init failed\n");
		return 1;
	}
	mp = rte_pktmbuf_pool_create("life", 4096, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (mp == NULL)
		return 1;
	fds0 = count_fds();

	snprintf(devargs, sizeof(devargs), "net_shmlink0,socket=%s,queues=2", p.path);
	CHECK(rte_dev_probe(devargs) == 0, "hot-plug %s", devargs);
	CHECK(rte_eth_dev_get_port_by_name("net_shmlink0", &port) == 0, "no port");
	CHECK(port_setup(port, 2, mp) == 0, "setup with 2 queue pairs");
	CHECK(wait_link(port, RTE_ETH_LINK_DOWN), "link up without a peer");

	/* Peers come and go: the port keeps serving, nothing piles up. */
	for (round = 0; round < 3; round++) {
		char when[32];

		snprintf(when, sizeof(when), "peer %d", round);
		CHECK(peer_attach(&p) == 0, "%s: attach", when);
		CHECK(wait_link(port, RTE_ETH_LINK_UP), "%s: link not up", when);
		exchange(port, &p, mp, when);
		peer_leave(&p);
		CHECK(wait_link(port, RTE_ETH_LINK_DOWN), "%s: link not down after leaving",
				when);
		/* The port keeps its listening socket and one eventfd per queue pair. */
		check_clean(when, fds0 + 1 + 2, mp);
	}

	/* A peer that damages a ring is dropped; the port serves the next one. */
	CHECK(peer_attach(&p) == 0, "attach of the damaging peer");
	CHECK(wait_link(port, RTE_ETH_LINK_UP), "damaging peer: link not up");
	__atomic_store_n((uint64_t *)(void *)p.att.txq[1].tx_pipe, UINT64_C(0xfffffff0),
			__ATOMIC_RELEASE);
	{
		struct rte_mbuf *m[8];
		double end = test_now_s() + 5;

		while (wait_link(port, RTE_ETH_LINK_UP) && test_now_s() < end)
			rte_pktmbuf_free_bulk(m, rte_eth_rx_burst(port, 1, m, 8));
	}
	CHECK(wait_link(port, RTE_ETH_LINK_DOWN), "damaged ring: link still up");
	CHECK(xstat(port, "peer_ring_damaged") == 1, "peer_ring_damaged = %" PRIu64,
			xstat(port, "peer_ring_damaged"));
	peer_leave(&p);
	check_clean("after the damaging peer", fds0 + 1 + 2, mp);
	CHECK(peer_attach(&p) == 0, "attach after the damaging peer");
	CHECK(wait_link(port, RTE_ETH_LINK_UP), "link after the damaging peer");
	exchange(port, &p, mp, "after the damaging peer");
	peer_leave(&p);
	CHECK(wait_link(port, RTE_ETH_LINK_DOWN), "link down");

	/* stop, reconfigure to one queue pair, start: still serves (with queues=2 the
	 * peer still gets two pairs; the port uses the first). */
	CHECK(rte_eth_dev_stop(port) == 0, "stop");
	CHECK(port_setup(port, 1, mp) == 0, "reconfigure to 1 queue pair");
	CHECK(peer_attach(&p) == 0, "attach after reconfigure");
	CHECK(wait_link(port, RTE_ETH_LINK_UP), "link after reconfigure");
	p.nb_qp = 1;
	exchange(port, &p, mp, "after reconfigure");
	p.nb_qp = 2;

	/* Hot-unplug with the peer attached. */
	CHECK(rte_eth_dev_info_get(port, &info) == 0, "info");
	CHECK(rte_dev_remove(info.device) == 0, "hot-unplug");
	CHECK(!rte_eth_dev_is_valid_port(port), "port still valid after remove");
	peer_leave(&p);
	check_clean("after hot-unplug", fds0, mp);
	CHECK(access(p.path, F_OK) != 0, "socket file %s left behind", p.path);

	zero_copy_held(mp, p.path, "", fds0);
	zero_copy_held(mp, p.path, ",role=client", fds0);
	zero_copy_tx_held(mp, p.path, test_driver_arg(argv, argv[1]), fds0);

	churn(mp, p.path, argc > 2 ? atoi(argv[2]) : CYCLES);

	rte_mempool_free(mp);
	rte_eal_cleanup();
	snprintf(devargs, sizeof(devargs), "/var/run/dpdk/%s", prefix);
	rmdir(devargs);
	printf("test_lifecycle: %s (%u failed checks)\n", check_failures ? "FAIL" : "ok", check_failures);
	return check_failures ? 1 : 0;
}
