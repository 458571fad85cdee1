/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef BENCH_IDLE_H
#define BENCH_IDLE_H

/*
 * bench_idle's parts: the ports both processes poll (bench_idle_port.c) and the memif
 * helper processes (bench_idle_memif.c). See bench_idle.c.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <rte_mempool.h>

#define IDLE_MAX_PORTS	RTE_MAX_ETHPORTS
#define IDLE_BURST	32
#define IDLE_POOL_MBUFS	(IDLE_MAX_PORTS * 1024 + 4096)

/* EAL arguments of a bench_idle process: the driver is loaded with -d if not NULL. */
int idle_eal_init(const char *prefix, const char *driver);

int idle_probe(const char *devargs, const char *name, uint16_t *port,
		struct rte_mempool *mp);
bool idle_links_up(const uint16_t *ports, unsigned int n);
void idle_remove(uint16_t port);
double idle_poll_ns(const uint16_t *ports, unsigned int n, unsigned int ms, bool *busy);

/* A memif helper: a bench_idle process holding memif ports of one role. */
struct idle_helper {
	pid_t pid;
	FILE *to;
	FILE *from;
};

int idle_helper_start(struct idle_helper *h, const char *self, const char *role,
		const char *dir, int cpu);
int idle_helper_ask(struct idle_helper *h, const char *cmd, double *value, bool *busy);
void idle_helper_stop(struct idle_helper *h);
/* The helper's own main: bench_idle --memif-helper ROLE DIR CPU */
int idle_helper_main(int argc, char **argv);

#endif /* BENCH_IDLE_H */
