/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_TEST_CHECK_H
#define SHMLINK_TEST_CHECK_H

/* Minimal assertions for the unit tests: count failures, keep going, report at exit. */

#include <inttypes.h>
#include <stdio.h>

static unsigned int check_failures;
static unsigned int check_count;

#define CHECK(cond, ...) do { \
	check_count++; \
	if (!(cond)) { \
		check_failures++; \
		fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
	} \
} while (0)

/* Stop the current test function after a failure that makes the rest meaningless. */
#define REQUIRE(cond, ...) do { \
	unsigned int f_ = check_failures; \
	CHECK(cond, __VA_ARGS__); \
	if (check_failures != f_) \
		return; \
} while (0)

static inline int
check_report(const char *prog)
{
	printf("%s: %u checks, %u failed\n", prog, check_count, check_failures);
	return check_failures == 0 ? 0 : 1;
}

/* splitmix64: a small deterministic generator shared by tests and peers. */
static inline uint64_t
check_rand(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Byte @i of message @seq: every message differs from its neighbours. */
static inline uint8_t
check_byte(uint64_t seq, uint32_t i)
{
	return (uint8_t)(seq * 131 + i * 7 + (i >> 8));
}

#endif /* SHMLINK_TEST_CHECK_H */
