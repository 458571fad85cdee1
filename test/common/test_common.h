/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_TEST_COMMON_H
#define SHMLINK_TEST_COMMON_H

/*
 * What the C tests share: assertions that count failures and keep going (CHECK), or
 * end the test function (REQUIRE), a report at exit, a deterministic generator, and
 * the monotonic clock.
 */

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

/* The counters, and the running test's name printed with its failures (a test program
 * that runs several sets it). A program of several files defines TEST_COMMON_EXTERN
 * before it includes this header, and one of its files defines the three. */
#ifdef TEST_COMMON_EXTERN
extern unsigned int check_failures;
extern unsigned int check_count;
extern const char *check_test;
#else
static unsigned int check_failures __attribute__((unused));
static unsigned int check_count __attribute__((unused));
static const char *check_test __attribute__((unused)) = "";
#endif

#define CHECK_MAX_PRINTED 300u

static inline bool __attribute__((format(printf, 5, 6), unused))
check_at(const char *file, int line, bool ok, const char *expr, const char *fmt, ...)
{
	va_list ap;

	check_count++;
	if (ok)
		return true;
	if (++check_failures > CHECK_MAX_PRINTED) {
		if (check_failures == CHECK_MAX_PRINTED + 1)
			fprintf(stderr, "(further failures are counted, not printed)\n");
		return false;
	}
	fprintf(stderr, "%s:%d: check failed%s%s%s: %s: ", file, line,
			*check_test ? " [" : "", check_test, *check_test ? "]" : "", expr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return false;
}

/* CHECK(cond, fmt, ...) counts a check and evaluates to cond; the message says what
 * differed. */
#define CHECK(cond, ...) check_at(__FILE__, __LINE__, (cond), #cond, __VA_ARGS__)

static inline bool __attribute__((unused))
check_eq_at(const char *file, int line, const char *ea, const char *eb, uint64_t a,
		uint64_t b)
{
	return check_at(file, line, a == b, "equality", "%s is %" PRIu64 " (0x%" PRIx64
			"), expected %s = %" PRIu64, ea, a, a, eb, b);
}

/* Both arguments are evaluated once. */
#define CHECK_EQ(a, b) check_eq_at(__FILE__, __LINE__, #a, #b, (uint64_t)(a), (uint64_t)(b))

/* Stop the current test function after a failure that makes the rest meaningless. */
#define REQUIRE(cond, ...) do { \
	if (!CHECK(cond, __VA_ARGS__)) \
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

/* The monotonic clock in nanoseconds. */
static inline uint64_t
test_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The monotonic clock in seconds. */
static inline double
test_now_s(void)
{
	return (double)test_now_ns() / 1e9;
}

#endif /* SHMLINK_TEST_COMMON_H */
