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
 * usage: test_lifecycle <driver.so>
 */

#include <dirent.h>
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
#include <rte_mbuf.h>

#include <shmlink.h>

#include "../common/driver_path.h"
#include "../common/test_common.h"


#define NB_FRAMES 64

struct peer {
	char path[108];
	uint16_t nb_qp;
	int sock;
	struct shmlink_attach att;
	struct shmlink_ep *ep[SHMLINK_CTL_MAX_QUEUE_PAIRS];
};

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own fd */
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

/* NB_FRAMES each way on each queue pair; every frame must arrive. */
static void
exchange(uint16_t port, struct peer *p, struct rte_mempool *mp, const char *when)
{
	uint16_t q;

	for (q = 0; q < p->nb_qp; q++) {
		struct rte_mbuf *m[NB_FRAMES];
		struct shmlink_frame fr[NB_FRAMES];
		struct shmlink_seg segs[NB_FRAMES * 4], seg;
		uint8_t payload[100] = { 0 };
		unsigned int got = 0, sent = 0, i;
		double end = test_now_s() + 5;

		CHECK(rte_pktmbuf_alloc_bulk(mp, m, NB_FRAMES) == 0, "%s: alloc", when);
		for (i = 0; i < NB_FRAMES; i++)
			rte_pktmbuf_append(m[i], 100);
		while (sent < NB_FRAMES && test_now_s() < end)
			sent += rte_eth_tx_burst(port, q, m + sent, NB_FRAMES - sent);
		while (got < NB_FRAMES && test_now_s() < end) {
			got += shmlink_ep_rx_burst(p->ep[q], fr, NB_FRAMES, segs, NB_FRAMES * 4);
			shmlink_ep_rx_release(p->ep[q]);
		}
		CHECK(sent == NB_FRAMES && got == NB_FRAMES, "%s: q%u port->peer %u sent, %u got",
				when, q, sent, got);

		seg = (struct shmlink_seg){ .addr = payload, .len = sizeof(payload) };
		for (i = 0; i < NB_FRAMES; i++)
			fr[i] = (struct shmlink_frame){ .segs = &seg, .nb_segs = 1,
					.len = sizeof(payload) };
		sent = got = 0;
		while (sent < NB_FRAMES && test_now_s() < end)
			sent += shmlink_ep_tx_burst(p->ep[q], fr + sent, NB_FRAMES - sent);
		while (got < NB_FRAMES && test_now_s() < end) {
			unsigned int n = rte_eth_rx_burst(port, q, m, NB_FRAMES);

			rte_pktmbuf_free_bulk(m, n);
			got += n;
		}
		CHECK(sent == NB_FRAMES && got == NB_FRAMES, "%s: q%u peer->port %u sent, %u got",
				when, q, sent, got);
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

	rte_mempool_free(mp);
	rte_eal_cleanup();
	snprintf(devargs, sizeof(devargs), "/var/run/dpdk/%s", prefix);
	rmdir(devargs);
	printf("test_lifecycle: %s (%u failed checks)\n", check_failures ? "FAIL" : "ok", check_failures);
	return check_failures ? 1 : 0;
}
