/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Round trip of one cache line between two CPUs: what every frame a forwarder on one
 * CPU passes to a peer on another pays for each line it shares. On a virtual machine the
 * figure tells where the host runs the two vCPUs (here about 100 ns on cores that share
 * a last-level cache, 350 ns on cores that do not), and it can change from one second
 * to the next. The benchmarks record it next to each measurement.
 *
 * Usage: xcpu_rtt CPU_A CPU_B [ROUND_TRIPS]
 * Prints "xcpu_rtt_ns N": the median over 5 batches of the time per round trip.
 */

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "../common/test_common.h"
#include "bench_pin.h"

#define BATCHES 5

struct pingpong {
	uint64_t word __attribute__((aligned(64)));
	int cpu;
	uint64_t rounds;
	int pinned;
};

/* The other side: answer each odd value with the next even one. */
static void *
pong(void *arg)
{
	struct pingpong *p = arg;
	uint64_t i, n = p->rounds * BATCHES;

	p->pinned = bench_pin(p->cpu) == 0 ? 1 : -1;
	for (i = 1; i <= n; i++) {
		while (__atomic_load_n(&p->word, __ATOMIC_ACQUIRE) != 2 * i - 1)
			;
		__atomic_store_n(&p->word, 2 * i, __ATOMIC_RELEASE);
	}
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	static struct pingpong p;
	double ns[BATCHES];
	pthread_t t;
	uint64_t i = 1;
	int b;

	if (argc < 3) {
		fprintf(stderr, "usage: %s CPU_A CPU_B [ROUND_TRIPS]\n", argv[0]);
		return 2;
	}
	p.cpu = atoi(argv[2]);
	p.rounds = argc > 3 ? strtoull(argv[3], NULL, 0) : 20000;
	if (p.rounds == 0 || bench_pin(atoi(argv[1])) != 0) {
		fprintf(stderr, "%s: bad round trips, or cannot run on CPU %s\n", argv[0],
				argv[1]);
		return 2;
	}
	if (pthread_create(&t, NULL, pong, &p) != 0)
		return 1;
	while (__atomic_load_n(&p.pinned, __ATOMIC_ACQUIRE) == 0)
		;
	if (p.pinned < 0) {
		fprintf(stderr, "%s: cannot run on CPU %d\n", argv[0], p.cpu);
		return 2;	/* the other thread spins forever: exit ends it */
	}
	for (b = 0; b < BATCHES; b++) {
		double t0 = (double)test_now_ns();
		uint64_t end = i + p.rounds;

		for (; i < end; i++) {
			__atomic_store_n(&p.word, 2 * i - 1, __ATOMIC_RELEASE);
			while (__atomic_load_n(&p.word, __ATOMIC_ACQUIRE) != 2 * i)
				;
		}
		ns[b] = ((double)test_now_ns() - t0) / (double)p.rounds;
	}
	pthread_join(t, NULL);
	qsort(ns, BATCHES, sizeof(ns[0]), cmp_double);
	printf("xcpu_rtt_ns %.1f\n", ns[BATCHES / 2]);
	return 0;
}
