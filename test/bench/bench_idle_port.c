/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/* The ports of bench_idle: start, wait for link, poll while idle, remove. */

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "../common/test_common.h"
#include "bench_idle.h"

int
idle_eal_init(const char *prefix, const char *driver)
{
	char *eal[] = { "bench_idle", "--no-huge", "-m", "512", "--no-pci", "--no-shconf",
			"--no-telemetry", "--file-prefix", (char *)prefix, "--log-level",
			"pmd.net.*:error", "--log-level", "lib.eal:warning", "-d",
			(char *)driver };
	int n = driver != NULL ? (int)RTE_DIM(eal) : (int)RTE_DIM(eal) - 2;

	return rte_eal_init(n, eal) < 0 ? -1 : 0;
}

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

int
idle_probe(const char *devargs, const char *name, uint16_t *port, struct rte_mempool *mp)
{
	if (rte_dev_probe(devargs) != 0 || rte_eth_dev_get_port_by_name(name, port) != 0) {
		fprintf(stderr, "bench_idle: cannot create %s\n", devargs);
		return -1;
	}
	return idle_port_start(*port, mp);
}

bool
idle_links_up(const uint16_t *ports, unsigned int n)
{
	double end = test_now_s() + 20;
	unsigned int i, up;

	do {
		struct rte_eth_link l;

		for (i = 0, up = 0; i < n; i++)
			up += rte_eth_link_get_nowait(ports[i], &l) == 0 && l.link_status;
		if (up == n)
			return true;
		usleep(10000);
	} while (test_now_s() < end);
	fprintf(stderr, "bench_idle: %u of %u links up\n", up, n);
	return false;
}

void
idle_remove(uint16_t port)
{
	struct rte_eth_dev_info info;

	/* net_memif refuses to detach a started port. */
	if (rte_eth_dev_info_get(port, &info) != 0 || rte_eth_dev_stop(port) != 0 ||
			rte_dev_remove(info.device) != 0)
		fprintf(stderr, "bench_idle: cannot remove port %u\n", port);
}

/* Poll @ports in turn for @ms: nanoseconds per empty burst per port. Any frame is an
 * error: the ports are idle. */
double
idle_poll_ns(const uint16_t *ports, unsigned int n, unsigned int ms, bool *busy)
{
	struct rte_mbuf *m[IDLE_BURST];
	uint64_t hz = rte_get_tsc_hz(), t0 = rte_rdtsc(), end = t0 + hz / 1000 * ms;
	uint64_t t = t0, polls = 0;
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
	return (double)(t - t0) * 1e9 / (double)hz / (double)polls;
}
