/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef BENCH_PIN_H
#define BENCH_PIN_H

#include <errno.h>
#include <pthread.h>
#include <sched.h>

/* Pin the calling thread to @cpu. Returns 0 or an errno value. */
static inline int
bench_pin(int cpu)
{
	cpu_set_t s;

	if (cpu < 0 || cpu >= CPU_SETSIZE)
		return EINVAL;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	return pthread_setaffinity_np(pthread_self(), sizeof(s), &s);
}

#endif /* BENCH_PIN_H */
