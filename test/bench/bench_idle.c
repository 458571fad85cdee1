/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * What an idle port costs the lcore that polls it, net_shmlink against net_memif, in one
 * process and one run: N net_shmlink ports, each with a lib/shmlink peer attached and
 * silent, and N net_memif client ports, each connected to a memif server port of the
 * same process; the lcore polls every port of one driver in turn (rte_eth_rx_burst of 32
 * on queue 0, always empty) for a while, then the other's, alternating, several rounds.
 * Reports nanoseconds per empty burst per port, medians of the rounds, and their ratio
 * (shmlink / memif: at most 1 is the target). The ports of both drivers exist through
 * the whole run, so both pollings see the same machine. RTE_MAX_ETHPORTS bounds N: 3N
 * ports in all.
 *
 * usage: bench_idle <driver.so> [--ports LIST] [--rounds R] [--ms T] [--cpu C]
 *   LIST ports per driver, such as 1,2,4,8 (default); R rounds (default 9); T ms of
 *   polling per driver per round (default 200); C the CPU to pin to (default 0)
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <shmlink.h>

#include "../common/driver_path.h"
#include "../common/test_common.h"
#include "bench_pin.h"

#define IDLE_MAX_PORTS	(RTE_MAX_ETHPORTS / 3)
#define IDLE_BURST	32
#define IDLE_MAX_ROUNDS	64

struct idle_peer {
	int sock;
	struct shmlink_attach att;
	struct shmlink_ep *ep;
};

struct idle {
	unsigned int n;
	uint16_t shm[IDLE_MAX_PORTS];
	uint16_t memif[IDLE_MAX_PORTS];		/* the clients polled */
	uint16_t memif_srv[IDLE_MAX_PORTS];
	struct idle_peer peer[IDLE_MAX_PORTS];
	struct rte_mempool *mp;
	char dir[64];
};

static int
idle_port_start(uint16_t port, struct rte_mempool *mp)
{
	struct rte_eth_conf conf = { 0 };

	if (rte_eth_dev_configure(port, 1, 1, &conf) != 0 ||
			rte_eth_rx_queue_setup(port, 0, 1024, 0, NULL, mp) != 0 ||
			rte_eth_tx_queue_setup(port, 0, 1024, 0, NULL) != 0)
		return -1;
	return rte_eth_dev_start(port);
}

static int
idle_probe(const char *devargs, const char *name, uint16_t *port, struct rte_mempool *mp)
{
	if (rte_dev_probe(devargs) != 0 || rte_eth_dev_get_port_by_name(name, port) != 0) {
		fprintf(stderr, "bench_idle: cannot create %s\n", devargs);
		return -1;
	}
	return idle_port_start(*port, mp);
}

/* A peer on lib/shmlink, attached to the listening port at @path and left idle. */
static int
idle_peer_attach(struct idle_peer *p, const char *path)
{
	struct shmlink_attach_conf conf = {
		.role_any = true, .nb_qp = 1, .mtu = 1500, .mac = { 2, 0, 0, 0, 0, 7 },
	};
	struct shmlink_ep_conf ec = { 0 };
	char why[256];
	double end = test_now_s() + 10;

	do {
		p->sock = shmlink_ctl_connect(path);
	} while (p->sock < 0 && test_now_s() < end && usleep(10000) == 0);
	if (p->sock < 0 || shmlink_attach_answer(p->sock, &conf, &p->att, why,
			sizeof(why)) != 0) {
		fprintf(stderr, "bench_idle: peer of %s: cannot attach\n", path);
		return -1;
	}
	p->ep = shmlink_ep_create(p->att.role, &p->att.txq[0], &p->att.rxq[0], &ec);
	return p->ep != NULL ? 0 : -1;
}

static bool
idle_links_up(const uint16_t *ports, unsigned int n)
{
	double end = test_now_s() + 10;
	unsigned int i, up;

	do {
		struct rte_eth_link l;

		for (i = 0, up = 0; i < n; i++)
			up += rte_eth_link_get_nowait(ports[i], &l) == 0 && l.link_status;
		if (up == n)
			return true;
		usleep(10000);
	} while (test_now_s() < end);
	return false;
}

/* @n ports of each driver, their peers attached, links up. */
static int
idle_setup(struct idle *b, unsigned int n)
{
	char args[256], name[32];
	unsigned int i;

	b->n = 0;
	for (i = 0; i < n; i++, b->n++) {
		snprintf(name, sizeof(name), "net_shmlink%u", i);
		snprintf(args, sizeof(args), "%s,socket=%s/s%u", name, b->dir, i);
		if (idle_probe(args, name, &b->shm[i], b->mp) != 0)
			return -1;
		snprintf(args, sizeof(args), "%s/s%u", b->dir, i);
		if (idle_peer_attach(&b->peer[i], args) != 0)
			return -1;
		snprintf(name, sizeof(name), "net_memif%u", 2 * i);
		/* A socket per set-up: net_memif leaves its file behind. */
		snprintf(args, sizeof(args), "%s,role=server,id=%u,socket=%s/m%u", name, i,
				b->dir, n);
		if (idle_probe(args, name, &b->memif_srv[i], b->mp) != 0)
			return -1;
		snprintf(name, sizeof(name), "net_memif%u", 2 * i + 1);
		snprintf(args, sizeof(args), "%s,role=client,id=%u,socket=%s/m%u", name, i,
				b->dir, n);
		if (idle_probe(args, name, &b->memif[i], b->mp) != 0)
			return -1;
	}
	if (!idle_links_up(b->shm, n) || !idle_links_up(b->memif, n)) {
		fprintf(stderr, "bench_idle: links not up\n");
		return -1;
	}
	return 0;
}

static void
idle_remove(uint16_t port)
{
	struct rte_eth_dev_info info;

	/* net_memif refuses to detach a started port. */
	if (rte_eth_dev_info_get(port, &info) != 0 || rte_eth_dev_stop(port) != 0 ||
			rte_dev_remove(info.device) != 0)
		fprintf(stderr, "bench_idle: cannot remove port %u\n", port);
}

static void
idle_teardown(struct idle *b)
{
	unsigned int i;

	for (i = 0; i < b->n; i++) {
		idle_remove(b->shm[i]);
		idle_remove(b->memif[i]);
		idle_remove(b->memif_srv[i]);
		shmlink_ep_destroy(b->peer[i].ep);
		shmlink_attach_release(&b->peer[i].att);
		close(b->peer[i].sock);
	}
	b->n = 0;
}

/* Poll @ports in turn for @ms; TSC cycles per empty burst per port. Any frame is an
 * error: the ports are idle. */
static double
idle_poll(const uint16_t *ports, unsigned int n, unsigned int ms, bool *busy)
{
	struct rte_mbuf *m[IDLE_BURST];
	uint64_t t0 = rte_rdtsc(), end = t0 + rte_get_tsc_hz() / 1000 * ms, polls = 0;
	uint64_t t = t0;
	unsigned int i;

	while (t < end) {
		for (i = 0; i < n; i++) {
			uint16_t got = rte_eth_rx_burst(ports[i], 0, m, IDLE_BURST);

			if (got != 0) {
				rte_pktmbuf_free_bulk(m, got);
				*busy = true;
			}
		}
		polls += n;
		t = rte_rdtsc();
	}
	return (double)(t - t0) / (double)polls;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Alternate the two drivers' polling @rounds times; print one line for @b->n ports. */
static void
idle_measure(struct idle *b, unsigned int rounds, unsigned int ms)
{
	double s[IDLE_MAX_ROUNDS], m[IDLE_MAX_ROUNDS], r[IDLE_MAX_ROUNDS];
	double ns = 1e9 / (double)rte_get_tsc_hz(), ms_s, ms_m, mr;
	bool busy = false;
	unsigned int k;

	for (k = 0; k < rounds; k++) {
		/* Who goes first alternates too: neither always follows the other. */
		if (k % 2 == 0) {
			s[k] = idle_poll(b->shm, b->n, ms, &busy);
			m[k] = idle_poll(b->memif, b->n, ms, &busy);
		} else {
			m[k] = idle_poll(b->memif, b->n, ms, &busy);
			s[k] = idle_poll(b->shm, b->n, ms, &busy);
		}
		r[k] = s[k] / m[k];
	}
	ms_s = median(s, rounds) * ns;
	ms_m = median(m, rounds) * ns;
	mr = median(r, rounds);		/* sorts r */
	printf("%5u %12.1f %12.1f %10.2f  [%.2f-%.2f]%s\n", b->n, ms_s, ms_m, mr, r[0],
			r[rounds - 1], busy ? "  (frames came in: not idle)" : "");
	fflush(stdout);
}

static int
idle_parse(int argc, char **argv, unsigned int *counts, unsigned int *nb,
		unsigned int *rounds, unsigned int *ms, int *cpu)
{
	int i;

	for (i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--ports") == 0) {
			char *p = argv[i + 1], *end;

			for (*nb = 0; *p != '\0' && *nb < 16; p = *end == ',' ? end + 1 : end) {
				counts[(*nb)++] = (unsigned int)strtoul(p, &end, 10);
				if (end == p || counts[*nb - 1] == 0 ||
						counts[*nb - 1] > IDLE_MAX_PORTS)
					return -1;
			}
		} else if (strcmp(argv[i], "--rounds") == 0) {
			*rounds = (unsigned int)atoi(argv[i + 1]);
		} else if (strcmp(argv[i], "--ms") == 0) {
			*ms = (unsigned int)atoi(argv[i + 1]);
		} else if (strcmp(argv[i], "--cpu") == 0) {
			*cpu = atoi(argv[i + 1]);
		} else {
			return -1;
		}
	}
	return i == argc && *rounds > 0 && *rounds <= IDLE_MAX_ROUNDS && *ms > 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	unsigned int counts[16] = { 1, 2, 4, 8 }, nb = 4, rounds = 9, ms = 200, i;
	char prefix[64];
	char *eal[] = { argv[0], "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
			"--no-telemetry", "--file-prefix", prefix, "-d",
			argc > 1 ? (char *)test_driver_arg(argv, argv[1]) : "", "--log-level",
			"pmd.net.*:error", "--log-level", "lib.eal:warning" };
	struct idle b = { 0 };
	int cpu = 0, rc = 0;

	if (argc < 2 || idle_parse(argc, argv, counts, &nb, &rounds, &ms, &cpu) != 0) {
		fprintf(stderr, "usage: %s <driver.so> [--ports 1,2,4,8] [--rounds R] [--ms T] "
				"[--cpu C] (at most %u ports per driver)\n", argv[0], IDLE_MAX_PORTS);
		return 2;
	}
	snprintf(prefix, sizeof(prefix), "shmlink-idle-%d", getpid());
	snprintf(b.dir, sizeof(b.dir), "/tmp/shmlink-idle-%d", getpid());
	if (mkdir(b.dir, 0700) != 0 || rte_eal_init(RTE_DIM(eal), eal) < 0) {
		fprintf(stderr, "bench_idle: set-up failed\n");
		return 1;
	}
	b.mp = rte_pktmbuf_pool_create("idle", 8192 * 3, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (b.mp == NULL || bench_pin(cpu) != 0)
		return 1;
	printf("ports  shmlink ns/port  memif ns/port  shmlink/memif [min-max of rounds]\n");
	for (i = 0; i < nb && rc == 0; i++) {
		rc = idle_setup(&b, counts[i]);
		if (rc == 0)
			idle_measure(&b, rounds, ms);
		idle_teardown(&b);
	}
	rte_mempool_free(b.mp);
	rte_eal_cleanup();
	{
		char cmd[160];

		snprintf(cmd, sizeof(cmd), "rm -rf %s /var/run/dpdk/%s", b.dir, prefix);
		if (system(cmd) != 0)
			rc = 1;
	}
	return rc != 0;
}
