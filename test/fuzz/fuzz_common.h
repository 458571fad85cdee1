/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_FUZZ_COMMON_H
#define SHMLINK_FUZZ_COMMON_H

/*
 * What every harness shares: reading the fuzz input as a stream of fields, the oracle
 * (FZ_CHECK aborts with a message, which libFuzzer reports as a crash), and guarded
 * memory: a region whose usable bytes end exactly where the library may stop reading.
 *
 * Guarded region layout (one reservation, made once per region and reused):
 *
 *   base                         base + len     page end          base + span
 *   |<-------- usable ---------->|<- poisoned ->|<---- PROT_NONE (guard) ---->|
 *
 * The bytes after the usable length in its last page are poisoned for ASan, the guard
 * behind them is a PROT_NONE reservation of at least 4 GiB + 64 KiB: every ring offset is
 * a 32-bit value, so any access a pipe makes at ring + offset beyond its length faults.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sanitizer/asan_interface.h>

#define FZ_PAGE		4096u
#define FZ_GUARD	((UINT64_C(1) << 32) + (UINT64_C(64) << 10))

#define FZ_CHECK(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: FUZZ CHECK FAILED: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		abort(); \
	} \
} while (0)

/* -DFUZZ_TRACE: say what each step did, to see what an input (a seed, a crash) does. */
#ifdef FUZZ_TRACE
#define FZ_TRACE(...) fprintf(stderr, __VA_ARGS__)
#else
#define FZ_TRACE(...) do { } while (0)
#endif

/* ---- the input as a stream of fields; past its end every field reads as 0 ---- */

struct fz_in {
	const uint8_t *p;
	size_t n;
};

static inline bool
fz_more(const struct fz_in *in)
{
	return in->n > 0;
}

static inline uint8_t
fz_u8(struct fz_in *in)
{
	uint8_t v = 0;

	if (in->n > 0) {
		v = in->p[0];
		in->p++;
		in->n--;
	}
	return v;
}

static inline uint16_t
fz_u16(struct fz_in *in)
{
	uint16_t lo = fz_u8(in);

	return (uint16_t)(lo | (uint16_t)fz_u8(in) << 8);
}

static inline uint32_t
fz_u32(struct fz_in *in)
{
	uint32_t lo = fz_u16(in);

	return lo | (uint32_t)fz_u16(in) << 16;
}

static inline uint64_t
fz_u64(struct fz_in *in)
{
	uint64_t lo = fz_u32(in);

	return lo | (uint64_t)fz_u32(in) << 32;
}

/* Copy up to @len bytes of input to @dst; the rest of @dst is zeroed. */
static inline void
fz_bytes(struct fz_in *in, void *dst, size_t len)
{
	size_t k = len < in->n ? len : in->n;

	memcpy(dst, in->p, k);
	memset((uint8_t *)dst + k, 0, len - k);
	in->p += k;
	in->n -= k;
}

/* A sub-stream of the next @len bytes (fewer if the input ends). */
static inline struct fz_in
fz_sub(struct fz_in *in, size_t len)
{
	struct fz_in s = { in->p, len < in->n ? len : in->n };

	in->p += s.n;
	in->n -= s.n;
	return s;
}

/* ---- little-endian reference codecs, written independently of shmlink_le.h ---- */

static inline uint64_t
fz_le(const uint8_t *p, unsigned int width)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < width; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline void
fz_put_le(uint8_t *p, uint64_t v, unsigned int width)
{
	unsigned int i;

	for (i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- guarded regions ---- */

struct fz_region {
	uint8_t *base;		/* page-aligned */
	uint64_t cap;		/* read-write bytes (whole pages) */
	uint64_t len;		/* usable bytes now */
};

static inline uint64_t
fz_round_page(uint64_t v)
{
	return (v + FZ_PAGE - 1) & ~(uint64_t)(FZ_PAGE - 1);
}

/* Reserve @cap usable bytes (anonymous memory) followed by the guard. Exits on failure. */
static inline void
fz_region_init(struct fz_region *r, uint64_t cap)
{
	uint64_t rw = fz_round_page(cap);
	void *p = mmap(NULL, rw + FZ_GUARD, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED || mprotect(p, rw, PROT_READ | PROT_WRITE) != 0) {
		perror("fuzz: cannot reserve a guarded region");
		exit(1);
	}
	r->base = p;
	r->cap = rw;
	r->len = rw;
}

/*
 * Reserve the guarded span and map @size bytes of file @fd at its start (MAP_SHARED, as
 * lib/shmlink maps queue files). Exits on failure.
 */
static inline void
fz_region_map_fd(struct fz_region *r, int fd, uint64_t size)
{
	uint64_t rw = fz_round_page(size);
	void *p = mmap(NULL, rw + FZ_GUARD, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED || mmap(p, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			fd, 0) == MAP_FAILED) {
		perror("fuzz: cannot map a queue file into a guarded region");
		exit(1);
	}
	r->base = p;
	r->cap = rw;
	r->len = rw;
}

/* Make exactly the first @len bytes usable: the rest of the read-write pages is poisoned. */
static inline void
fz_region_limit(struct fz_region *r, uint64_t len)
{
	if (len > r->cap)
		len = r->cap;
	ASAN_UNPOISON_MEMORY_REGION(r->base, r->cap);
	ASAN_POISON_MEMORY_REGION(r->base + len, r->cap - len);
	r->len = len;
}

/* True if [p, p + n) lies within the usable bytes of @r. */
static inline bool
fz_region_holds(const struct fz_region *r, const void *p, uint64_t n)
{
	const uint8_t *b = p;

	return b >= r->base && (uint64_t)(b - r->base) <= r->len &&
		n <= r->len - (uint64_t)(b - r->base);
}

/* Read every byte of [p, p + n) (ASan checks memcpy's ranges; the guard faults). */
static inline void
fz_touch(const void *p, uint64_t n)
{
	static uint8_t scratch[1u << 16];
	const uint8_t *b = p;

	while (n > 0) {
		uint64_t k = n < sizeof(scratch) ? n : sizeof(scratch);

		memcpy(scratch, b, k);
		b += k;
		n -= k;
	}
}

#endif /* SHMLINK_FUZZ_COMMON_H */
