/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Instructions per frame of the net_shmlink fast path, for callgrind (see ipf.sh): a
 * listening net_shmlink port in the given role and a lib/shmlink peer attached to it, in
 * one process and on one thread, alternating a burst on one side with taking it on the
 * other, frames as testpmd txonly makes them (Ethernet, IPv4, UDP, a sequence number,
 * checked on arrival). Deterministic where timings on a shared machine are not. The
 * driver's bursts to count run in bench_tx(), bench_rx() and, after the frames, on an
 * empty ring, bench_rx_empty(); a warm-up runs before them outside those functions.
 *
 * usage: bench_ipf <driver.so> [--size B] [--frames N] [--burst N]
 *		[--role server|client] [--dir tx|rx] [--empty N]
 * Prints "frames F bursts B empty_polls E" on success.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <shmlink.h>

#include "../common/driver_path.h"
#include "../common/test_common.h"
#include "bench_frame.h"

#define BENCH_MAX_BURST 64
#define BENCH_WARMUP 20000u
/* The sequence number, after Ethernet, IPv4 and UDP headers. */
#define BENCH_SEQ_OFF 42

/* Kept out of line and apart (no cloning or folding): callgrind counts everything under
 * these. */
__attribute__((noipa)) static uint16_t
bench_tx(uint16_t port, struct rte_mbuf **m, uint16_t n)
{
	return rte_eth_tx_burst(port, 0, m, n);
}

__attribute__((noipa)) static uint16_t
bench_rx(uint16_t port, struct rte_mbuf **m, uint16_t n)
{
	return rte_eth_rx_burst(port, 0, m, n);
}

/* The application's free of received frames: with zero_copy=rx it gives the frames
 * back (the free callback), a cost of receiving. */
__attribute__((noipa)) static void
bench_rx_free(struct rte_mbuf **m, uint16_t n)
{
	rte_pktmbuf_free_bulk(m, n);
}

__attribute__((noipa)) static uint16_t
bench_rx_empty(uint16_t port, struct rte_mbuf **m, uint16_t n)
{
	return rte_eth_rx_burst(port, 0, m, n);
}

static void
make_frame_bytes(uint8_t *p, uint16_t size)
{
	unsigned int i;

	for (i = 0; i < 2048; i++)
		p[i] = (uint8_t)i;
	bench_frame_headers(p, size);
}

static int
port_setup(uint16_t port, struct rte_mempool *mp)
{
	struct rte_eth_conf conf = { 0 };

	if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
			rte_eth_rx_queue_setup(port, 0, 512, 0, NULL, mp) != 0 ||
			rte_eth_tx_queue_setup(port, 0, 512, 0, NULL) != 0 ||
			rte_eth_dev_start(port) != 0)
		return -1;
	return 0;
}

/* Wait up to 20 s for the port's link to be @status. */
static bool
wait_link(uint16_t port, uint16_t status)
{
	struct rte_eth_link link;
	double end = test_now_s() + 20;

	do {
		if (rte_eth_link_get_nowait(port, &link) == 0 && link.link_status == status)
			return true;
		usleep(10000);
	} while (test_now_s() < end);
	return false;
}

/* Frames as testpmd txonly makes them: a fresh mbuf, headers written, fixed length. */
static int
make_burst(struct rte_mempool *mp, struct rte_mbuf **m, unsigned int n, uint16_t size,
		uint32_t seq)
{
	unsigned int i;

	if (rte_pktmbuf_alloc_bulk(mp, m, n) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		uint8_t *p = rte_pktmbuf_mtod(m[i], uint8_t *);

		bench_frame_headers(p, size);
		memcpy(p + BENCH_SEQ_OFF, &seq, sizeof(seq));
		seq++;
		m[i]->data_len = size;
		m[i]->pkt_len = size;
	}
	return 0;
}

static bool
seq_ok(const uint8_t *p, uint32_t len, uint32_t size, uint32_t want)
{
	uint32_t s;

	memcpy(&s, p + BENCH_SEQ_OFF, sizeof(s));
	if (len == size && s == want)
		return true;
	fprintf(stderr, "bench: frame of length %u seq %u, want %u %u\n", len, s, size, want);
	return false;
}

/* The port sends a burst, the peer takes it. Returns the frames moved, -1 on loss. */
static int
round_port_tx(struct rte_mempool *mp, uint16_t port, struct shmlink_ep *ep,
		unsigned int burst, uint16_t size, uint32_t seq, bool counted)
{
	struct rte_mbuf *m[BENCH_MAX_BURST];
	struct shmlink_frame fr[BENCH_MAX_BURST];
	struct shmlink_seg segs[BENCH_MAX_BURST * 4];
	unsigned int sent, got = 0, tries = 0, i, n;

	if (make_burst(mp, m, burst, size, seq) != 0)
		return -1;
	sent = counted ? bench_tx(port, m, burst) : rte_eth_tx_burst(port, 0, m, burst);
	if (sent < burst)
		rte_pktmbuf_free_bulk(m + sent, burst - sent);
	while (got < sent && tries++ < 1000) {
		n = shmlink_ep_rx_burst(ep, fr, BENCH_MAX_BURST, segs, RTE_DIM(segs));
		for (i = 0; i < n; i++) {
			if (fr[i].nb_segs != 1 || !seq_ok(fr[i].segs[0].addr, fr[i].len, size,
					seq + got + i))
				return -1;
		}
		shmlink_ep_rx_release(ep);
		got += n;
	}
	return got == sent ? (int)sent : -1;
}

/* The peer sends a burst, the port takes it. */
static int
round_port_rx(uint16_t port, struct shmlink_ep *ep, uint8_t *frame, unsigned int burst,
		uint16_t size, uint32_t seq, bool counted)
{
	struct rte_mbuf *m[BENCH_MAX_BURST];
	struct shmlink_frame fr[BENCH_MAX_BURST];
	struct shmlink_seg seg[BENCH_MAX_BURST];
	uint8_t *copies = frame;
	unsigned int sent, got = 0, tries = 0, i, n;

	for (i = 0; i < burst; i++) {
		uint8_t *p = copies + (size_t)i * 2048;
		uint32_t s = seq + i;

		memcpy(p + BENCH_SEQ_OFF, &s, sizeof(s));
		seg[i] = (struct shmlink_seg){ .addr = p, .len = size };
		fr[i] = (struct shmlink_frame){ .segs = &seg[i], .nb_segs = 1, .len = size };
	}
	sent = shmlink_ep_tx_burst(ep, fr, burst);
	while (got < sent && tries++ < 1000) {
		n = counted ? bench_rx(port, m, BENCH_MAX_BURST) :
				rte_eth_rx_burst(port, 0, m, BENCH_MAX_BURST);
		for (i = 0; i < n; i++) {
			if (!seq_ok(rte_pktmbuf_mtod(m[i], uint8_t *), m[i]->pkt_len, size,
					seq + got + i)) {
				rte_pktmbuf_free_bulk(m, n);
				return -1;
			}
		}
		if (counted)
			bench_rx_free(m, n);
		else
			rte_pktmbuf_free_bulk(m, n);
		got += n;
	}
	return got == sent ? (int)sent : -1;
}

static int
peer_attach(const char *path, struct shmlink_attach *att, int *sock)
{
	struct shmlink_attach_conf conf = {
		.role_any = true, .nb_qp = 1, .mtu = 1500, .buffer_size = 2048,
		.mac = { 2, 0, 0, 0, 0, 9 }, .timeout_ms = 5000,
	};
	char why[256];
	double end = test_now_s() + 10;

	do {
		*sock = shmlink_ctl_connect(path);
	} while (*sock < 0 && test_now_s() < end && usleep(10000) == 0);
	if (*sock < 0)
		return -1;
	if (shmlink_attach_answer(*sock, &conf, att, why, sizeof(why)) != 0) {
		fprintf(stderr, "bench: attach failed: %s\n", why);
		close(*sock);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	char sock_path[108], pfx[64], vdev[256];
	const char *drv, *role = "server", *extra = "";
	unsigned int size = 64, burst = 32, frames = 100000, empty = 10000;
	bool port_tx = true;
	struct rte_mempool *mp;
	struct rte_mbuf *m[BENCH_MAX_BURST];
	struct shmlink_attach att;
	struct shmlink_ep_conf ec = { 0 };
	struct shmlink_ep *ep = NULL;
	uint64_t done = 0, bursts = 0;
	uint8_t *frame;
	uint32_t seq = 0;
	unsigned int i;
	int rc, a, sock = -1;

	if (argc < 2) {
		fprintf(stderr, "usage: %s <driver.so> [--size B] [--frames N] [--burst N] "
				"[--role server|client] [--dir tx|rx] [--empty N] [--devargs K=V,...]\n",
				argv[0]);
		return 2;
	}
	drv = test_driver_arg(argv, argv[1]);
	for (a = 2; a + 1 < argc; a += 2) {
		if (strcmp(argv[a], "--size") == 0)
			size = (unsigned int)atoi(argv[a + 1]);
		else if (strcmp(argv[a], "--frames") == 0)
			frames = (unsigned int)atoi(argv[a + 1]);
		else if (strcmp(argv[a], "--burst") == 0)
			burst = (unsigned int)atoi(argv[a + 1]);
		else if (strcmp(argv[a], "--empty") == 0)
			empty = (unsigned int)atoi(argv[a + 1]);
		else if (strcmp(argv[a], "--role") == 0)
			role = argv[a + 1];
		else if (strcmp(argv[a], "--devargs") == 0)
			extra = argv[a + 1];
		else if (strcmp(argv[a], "--dir") == 0)
			port_tx = strcmp(argv[a + 1], "rx") != 0;
		else
			break;
	}
	if (a != argc || size < 64 || size > 1518 || burst == 0 || burst > BENCH_MAX_BURST ||
			(strcmp(role, "server") != 0 && strcmp(role, "client") != 0)) {
		fprintf(stderr, "bench: bad arguments\n");
		return 2;
	}
	snprintf(sock_path, sizeof(sock_path), "/tmp/shmlink-bench-%d.sock", (int)getpid());
	snprintf(pfx, sizeof(pfx), "--file-prefix=shmlink-bench-%d", (int)getpid());
	snprintf(vdev, sizeof(vdev), "net_shmlink0,socket=%s,listen=yes,role=%s%s%s", sock_path,
			role, extra[0] != '\0' ? "," : "", extra);
	char *eal[] = { argv[0], "-l", "0", "--no-huge", "-m", "512", "--no-pci",
		"--no-shconf", "--no-telemetry", pfx, "--log-level=pmd.net.shmlink:warning",
		"-d", (char *)drv, "--vdev", vdev };

	frame = calloc(BENCH_MAX_BURST, 2048);
	if (frame == NULL)
		return 1;
	for (i = 0; i < BENCH_MAX_BURST; i++)
		make_frame_bytes(frame + (size_t)i * 2048, (uint16_t)size);
	unlink(sock_path);
	if (rte_eal_init(RTE_DIM(eal), eal) < 0) {
		fprintf(stderr, "bench: EAL init failed\n");
		return 1;
	}
	rc = 1;
	mp = rte_pktmbuf_pool_create("bench", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
			rte_socket_id());
	if (mp == NULL || rte_eth_dev_count_avail() != 1 || port_setup(0, mp) != 0 ||
			peer_attach(sock_path, &att, &sock) != 0) {
		fprintf(stderr, "bench: the port did not attach\n");
		goto out;
	}
	/* Our endpoint first: as a client it posts the buffers a server port waits for
	 * before it brings the link up. */
	ep = shmlink_ep_create(att.role, &att.txq[0], &att.rxq[0], &ec);
	if (ep == NULL || !wait_link(0, RTE_ETH_LINK_UP)) {
		fprintf(stderr, "bench: the port did not come up\n");
		goto out;
	}
	for (i = 0; i < BENCH_WARMUP / burst + frames / burst + 1; i++) {
		bool counted = i >= BENCH_WARMUP / burst;
		int n;

		if (counted && done >= frames)
			break;
		n = port_tx ? round_port_tx(mp, 0, ep, burst, (uint16_t)size, seq, counted) :
				round_port_rx(0, ep, frame, burst, (uint16_t)size, seq, counted);
		if (n <= 0)
			goto fail;
		seq += (uint32_t)n;
		if (counted) {
			done += (unsigned int)n;
			bursts++;
		}
	}
	for (i = 0; !port_tx && i < empty; i++) {
		if (bench_rx_empty(0, m, BENCH_MAX_BURST) != 0)
			goto fail;
	}
	printf("frames %" PRIu64 " bursts %" PRIu64 " empty_polls %u\n", done, bursts,
			port_tx ? 0 : empty);
	fflush(stdout);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "bench: frames lost or damaged after %" PRIu64 "\n", done);
out:
	/* The peer leaves first, so that closing the port finds no peer event running. */
	if (ep != NULL)
		shmlink_ep_destroy(ep);
	if (sock >= 0) {
		shmlink_attach_release(&att);
		close(sock);
		wait_link(0, RTE_ETH_LINK_DOWN);
	}
	rte_eth_dev_stop(0);
	rte_eth_dev_close(0);
	rte_eal_cleanup();
	unlink(sock_path);
	snprintf(vdev, sizeof(vdev), "/var/run/dpdk/shmlink-bench-%d", (int)getpid());
	rmdir(vdev);
	free(frame);
	return rc;
}
