/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * What an idle port costs the lcore that polls it, net_shmlink against net_memif, in one
 * run: N net_shmlink ports in this process, each with a lib/shmlink peer attached and
 * silent, and N net_memif client ports in a helper process, each connected to a memif
 * server port of a second helper. This process and the client helper, pinned to the same
 * CPU, take turns: each polls every port of its driver in turn (rte_eth_rx_burst of 32 on
 * queue 0, always empty) for a while, then waits while the other does, several rounds.
 * Reports nanoseconds per empty burst per port, medians of the rounds, and their ratio
 * (shmlink / memif: at most 1 is the target). The ports of both drivers exist through
 * the whole of each measurement, so both pollings see the same machine; no process holds
 * more than N ports, so N goes up to RTE_MAX_ETHPORTS.
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

#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <shmlink.h>

#include "../common/driver_path.h"
#include "../common/test_common.h"
#include "bench_idle.h"
#include "bench_pin.h"

#define IDLE_MAX_ROUNDS	64

struct idle_peer {
	int sock;
	struct shmlink_attach att;
	struct shmlink_ep *ep;
};

struct idle {
	unsigned int n;
	unsigned int seq;		/* set-ups so far: a memif socket each */
	uint16_t shm[IDLE_MAX_PORTS];
	struct idle_peer peer[IDLE_MAX_PORTS];
	struct idle_helper memif_srv;
	struct idle_helper memif;	/* the clients polled */
	struct rte_mempool *mp;
	char dir[64];
};

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

/* @n ports of each driver, their peers attached, links up. */
static int
idle_setup(struct idle *b, unsigned int n)
{
	char args[256], name[32];

	for (b->n = 0; b->n < n; b->n++) {
		snprintf(name, sizeof(name), "net_shmlink%u", b->n);
		snprintf(args, sizeof(args), "%s,socket=%s/s%u", name, b->dir, b->n);
		if (idle_probe(args, name, &b->shm[b->n], b->mp) != 0)
			return -1;
		snprintf(args, sizeof(args), "%s/s%u", b->dir, b->n);
		if (idle_peer_attach(&b->peer[b->n], args) != 0) {
			idle_remove(b->shm[b->n]);
			return -1;
		}
	}
	/* A socket per set-up: net_memif leaves its file behind. */
	snprintf(args, sizeof(args), "up %u %u", n, b->seq++);
	if (idle_helper_ask(&b->memif_srv, args, NULL, NULL) != 0 ||
			idle_helper_ask(&b->memif, args, NULL, NULL) != 0 ||
			!idle_links_up(b->shm, n)) {
		fprintf(stderr, "bench_idle: %u ports of each: links not up\n", n);
		return -1;
	}
	return 0;
}

static void
idle_teardown(struct idle *b)
{
	unsigned int i;

	/* Clients before servers, as an application would. */
	if (idle_helper_ask(&b->memif, "down", NULL, NULL) != 0 ||
			idle_helper_ask(&b->memif_srv, "down", NULL, NULL) != 0)
		fprintf(stderr, "bench_idle: memif helpers did not remove their ports\n");
	for (i = 0; i < b->n; i++) {
		idle_remove(b->shm[i]);
		shmlink_ep_destroy(b->peer[i].ep);
		shmlink_attach_release(&b->peer[i].att);
		close(b->peer[i].sock);
	}
	b->n = 0;
}

/* The memif clients' turn: nanoseconds per empty burst per port, or -1. */
static double
idle_poll_memif(struct idle *b, unsigned int ms, bool *busy)
{
	char cmd[32];
	double ns;

	snprintf(cmd, sizeof(cmd), "poll %u", ms);
	return idle_helper_ask(&b->memif, cmd, &ns, busy) == 0 ? ns : -1;
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
static int
idle_measure(struct idle *b, unsigned int rounds, unsigned int ms)
{
	double s[IDLE_MAX_ROUNDS], m[IDLE_MAX_ROUNDS], r[IDLE_MAX_ROUNDS], ns_s, ns_m, mr;
	bool busy = false;
	unsigned int k;

	for (k = 0; k < rounds; k++) {
		/* Who goes first alternates too: neither always follows the other. */
		if (k % 2 == 0) {
			s[k] = idle_poll_ns(b->shm, b->n, ms, &busy);
			m[k] = idle_poll_memif(b, ms, &busy);
		} else {
			m[k] = idle_poll_memif(b, ms, &busy);
			s[k] = idle_poll_ns(b->shm, b->n, ms, &busy);
		}
		if (m[k] <= 0) {
			fprintf(stderr, "bench_idle: the memif client helper did not poll\n");
			return -1;
		}
		r[k] = s[k] / m[k];
	}
	ns_s = median(s, rounds);
	ns_m = median(m, rounds);
	mr = median(r, rounds);		/* sorts r */
	printf("%5u %12.1f %12.1f %10.2f  [%.2f-%.2f]%s\n", b->n, ns_s, ns_m, mr, r[0],
			r[rounds - 1], busy ? "  (frames came in: not idle)" : "");
	fflush(stdout);
	return 0;
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

/* The memif helpers, this process's EAL and mbufs. */
static int
idle_start(struct idle *b, int cpu, const char *driver)
{
	char prefix[64];

	snprintf(prefix, sizeof(prefix), "shmlink-idle-%d", getpid());
	snprintf(b->dir, sizeof(b->dir), "/tmp/shmlink-idle-%d", getpid());
	if (mkdir(b->dir, 0700) != 0 ||
			idle_helper_start(&b->memif_srv, "/proc/self/exe", "server", b->dir,
				cpu) != 0 ||
			idle_helper_start(&b->memif, "/proc/self/exe", "client", b->dir,
				cpu) != 0 ||
			idle_eal_init(prefix, driver) != 0)
		return -1;
	b->mp = rte_pktmbuf_pool_create("idle", IDLE_POOL_MBUFS, 0, 0,
			RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	return b->mp != NULL && bench_pin(cpu) == 0 ? 0 : -1;
}

static int
idle_stop(struct idle *b)
{
	char cmd[160];

	idle_helper_stop(&b->memif);
	idle_helper_stop(&b->memif_srv);
	rte_mempool_free(b->mp);
	rte_eal_cleanup();
	/* The helpers' EAL prefixes start with this one's. */
	snprintf(cmd, sizeof(cmd), "rm -rf %s /var/run/dpdk/shmlink-idle-%d*", b->dir,
			getpid());
	return system(cmd) != 0 ? -1 : 0;
}

int
main(int argc, char **argv)
{
	unsigned int counts[16] = { 1, 2, 4, 8 }, nb = 4, rounds = 9, ms = 200, i;
	struct idle b = { 0 };
	const char *driver;
	int cpu = 0, rc;

	if (argc > 1 && strcmp(argv[1], "--memif-helper") == 0)
		return idle_helper_main(argc, argv);
	if (argc < 2 || idle_parse(argc, argv, counts, &nb, &rounds, &ms, &cpu) != 0) {
		fprintf(stderr, "usage: %s <driver.so> [--ports 1,2,4,8] [--rounds R] [--ms T] "
				"[--cpu C] (at most %u ports per driver)\n", argv[0], IDLE_MAX_PORTS);
		return 2;
	}
	driver = test_driver_arg(argv, argv[1]);
	rc = idle_start(&b, cpu, driver);
	if (rc != 0)
		fprintf(stderr, "bench_idle: set-up failed\n");
	else
		printf("ports  shmlink ns/port  memif ns/port  shmlink/memif [min-max of rounds]\n");
	for (i = 0; i < nb && rc == 0; i++) {
		rc = idle_setup(&b, counts[i]);
		if (rc == 0)
			rc = idle_measure(&b, rounds, ms);
		idle_teardown(&b);
	}
	if (idle_stop(&b) != 0)
		rc = -1;
	return rc != 0;
}
