/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Copies of a frame-sized buffer that cross two CPUs, as a forwarder and a sandbox on
 * two CPUs make them (doc/guides/perf/gvisor_tcp.rst, "The payload's cache lines").
 * A producer on CPU_A fills buffers of a ring, a consumer on CPU_B copies each one out
 * and hands it back; the time each side spends on one buffer is reported:
 *
 *   plain    the consumer leaves the lines in its caches (what a receiver does);
 *   evict    the consumer evicts them after its copy (CLFLUSHOPT, net_shmlink's
 *            rx_evict=): the producer's next write to the buffer finds no other copy;
 *   stream   the producer writes with non-temporal stores (to memory).
 *
 * Usage: xcpu_copy CPU_A CPU_B plain|evict|stream [BUFFERS]
 * Prints "xcpu_copy MODE write_ns W read_ns R": per buffer of 8832 bytes, the median over
 * 5 batches (the read includes the eviction). Needs x86-64, and CLFLUSHOPT for evict.
 */

#include <cpuid.h>
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../common/test_common.h"
#include "bench_pin.h"

#define BUF	8832u		/* an MTU 9000 frame as testpmd saw it, rounded to lines */
#define RING	256u		/* buffers: 2.2 MB, as much as a queue keeps in flight */
#define AHEAD	(RING / 2)	/* buffers the producer may run ahead */
#define BATCHES	5

enum mode { PLAIN, EVICT, STREAM };

static struct {
	uint8_t *ring;
	enum mode mode;
	uint64_t n;
	int cpu[2];
	uint64_t head __attribute__((aligned(64)));	/* buffers filled */
	uint64_t tail __attribute__((aligned(64)));	/* buffers copied out */
	double ns[2];					/* per buffer: write, read */
} x;

static uint8_t src[BUF] __attribute__((aligned(64)));

__attribute__((target("sse2"))) static void
copy_stream(uint8_t *d, const uint8_t *s)
{
	uint32_t i;

	for (i = 0; i < BUF; i += 16)
		_mm_stream_si128((__m128i *)(void *)(d + i),
				_mm_loadu_si128((const __m128i *)(const void *)(s + i)));
	_mm_sfence();
}

static void *
producer(void *arg)
{
	uint64_t k, busy = 0;

	(void)arg;
	bench_pin(x.cpu[0]);
	for (k = 0; k < x.n; k++) {
		uint8_t *d = x.ring + (k % RING) * BUF;
		uint64_t t;

		while (k - __atomic_load_n(&x.tail, __ATOMIC_ACQUIRE) >= AHEAD)
			_mm_pause();
		t = test_now_ns();
		if (x.mode == STREAM)
			copy_stream(d, src);
		else
			memcpy(d, src, BUF);
		__atomic_store_n(&x.head, k + 1, __ATOMIC_RELEASE);
		busy += test_now_ns() - t;
	}
	x.ns[0] = (double)busy / (double)x.n;
	return NULL;
}

static void *
consumer(void *arg)
{
	static uint8_t dst[BUF] __attribute__((aligned(64)));
	uint64_t k, busy = 0;

	(void)arg;
	bench_pin(x.cpu[1]);
	for (k = 0; k < x.n; k++) {
		uint8_t *s = x.ring + (k % RING) * BUF;
		uint64_t t;
		uint32_t i;

		while (__atomic_load_n(&x.head, __ATOMIC_ACQUIRE) <= k)
			_mm_pause();
		t = test_now_ns();
		memcpy(dst, s, BUF);
		/* Keep the copy: nothing else reads dst. */
		__asm__ volatile("" : : "r" (dst) : "memory");
		if (x.mode == EVICT)
			for (i = 0; i < BUF; i += 64)
				__asm__ volatile("clflushopt %0" : "+m" (*(volatile char *)(s + i)));
		busy += test_now_ns() - t;
		__atomic_store_n(&x.tail, k + 1, __ATOMIC_RELEASE);
	}
	x.ns[1] = (double)busy / (double)x.n;
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double d = *(const double *)a - *(const double *)b;

	return (d > 0) - (d < 0);
}

int
main(int argc, char **argv)
{
	static const char *const names[] = { "plain", "evict", "stream" };
	double w[BATCHES], r[BATCHES];
	int b, m;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: %s CPU_A CPU_B plain|evict|stream [BUFFERS]\n", argv[0]);
		return 2;
	}
	for (m = 0; m < 3 && strcmp(argv[3], names[m]) != 0; m++)
		;
	if (m == 3) {
		fprintf(stderr, "%s: unknown mode %s\n", argv[0], argv[3]);
		return 2;
	}
	x.mode = (enum mode)m;
	if (x.mode == EVICT) {
		unsigned int a, b, c, d;

		/* CPUID leaf 7, EBX bit 23: without CLFLUSHOPT the flush would fault. */
		if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || (b & (1u << 23)) == 0) {
			fprintf(stderr, "%s: this CPU has no CLFLUSHOPT\n", argv[0]);
			return 2;
		}
	}
	x.cpu[0] = atoi(argv[1]);
	x.cpu[1] = atoi(argv[2]);
	/* The threads pin themselves; try both CPUs here first, to fail early. */
	if (bench_pin(x.cpu[1]) != 0 || bench_pin(x.cpu[0]) != 0) {
		fprintf(stderr, "%s: cannot run on CPU %s and CPU %s\n", argv[0], argv[1],
				argv[2]);
		return 2;
	}
	x.n = argc == 5 ? strtoull(argv[4], NULL, 0) : 40000;
	x.ring = aligned_alloc(4096, (size_t)RING * BUF);
	if (x.ring == NULL || x.n == 0)
		return 1;
	memset(x.ring, 1, (size_t)RING * BUF);
	memset(src, 2, sizeof(src));
	for (b = 0; b < BATCHES; b++) {
		pthread_t tp, tc;

		x.head = 0;
		x.tail = 0;
		if (pthread_create(&tc, NULL, consumer, NULL) != 0 ||
				pthread_create(&tp, NULL, producer, NULL) != 0)
			return 1;
		pthread_join(tp, NULL);
		pthread_join(tc, NULL);
		w[b] = x.ns[0];
		r[b] = x.ns[1];
	}
	qsort(w, BATCHES, sizeof(w[0]), cmp_double);
	qsort(r, BATCHES, sizeof(r[0]), cmp_double);
	printf("xcpu_copy %s write_ns %.0f read_ns %.0f\n", names[m], w[BATCHES / 2],
			r[BATCHES / 2]);
	free(x.ring);
	return 0;
}
