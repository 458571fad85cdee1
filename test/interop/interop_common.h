/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef INTEROP_COMMON_H
#define INTEROP_COMMON_H

/*
 * What the C interop tests share: the deterministic generator that the Go peers
 * implement too (go/src/shmlinkinterop/ilib/ilib.go; both must stay identical, so
 * that each side knows every message's size and bytes without being told), running
 * a Go peer with inherited FDs under a time bound, and failing cleanly.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* splitmix64 */
struct irng {
	uint64_t s;
};

static inline uint64_t
irng_next(struct irng *r)
{
	uint64_t z;

	r->s += UINT64_C(0x9e3779b97f4a7c15);
	z = r->s;
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* A value in [0, n), n > 0. */
static inline uint64_t
irng_below(struct irng *r, uint64_t n)
{
	return irng_next(r) % n;
}

/* The generator of message @p seq of a run seeded with @p seed (Go: ilib.MsgRng). */
static inline struct irng
irng_msg(uint64_t seed, uint64_t seq)
{
	struct irng r = { .s = seed ^ (seq * UINT64_C(0xd1b54a32d192ed03)) };

	return r;
}

/* Payload size of a pipe message, in [0, max_payload] (Go: ilib.PipeMsgSize). */
uint64_t interop_pipe_msg_size(struct irng *r, uint64_t max_payload);

/* L3 length of a frame, in [min_len, max_len] (Go: ilib.FrameL3Len). */
uint64_t interop_frame_l3_len(struct irng *r, uint64_t min_len, uint64_t max_len);

/* Bytes of message @p seq: u64 word 0 is seq (LE), later words from @p r (Go: FillPattern). */
void interop_fill_pattern(uint8_t *b, size_t len, struct irng *r, uint64_t seq);

/* Pattern, then an IPv4-looking start: 0x45, 0, total length BE16, seq BE32 (Go: FillFrame). */
void interop_fill_frame(uint8_t *b, size_t len, struct irng *r, uint64_t seq);

/* First index where a (alen) and b (blen) differ, or -1 if equal. */
int64_t interop_first_diff(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* Monotonic milliseconds. */
uint64_t interop_now_ms(void);

/* Polling pace, as the Go side's ilib.Backoff: yields first, then short sleeps. */
struct interop_backoff {
	unsigned int n;
};

void interop_idle(struct interop_backoff *b);

static inline void
interop_progress(struct interop_backoff *b)
{
	b->n = 0;
}

/*
 * Bound the whole test: after @p seconds, kill the peer (if any) and exit with a
 * message. Also installs an exit handler that kills a peer still running.
 */
void interop_watchdog(const char *test, unsigned int seconds);

/*
 * Start a peer: argv[0] is the program. Child FD 3+i is fds[i] (i < nfds); stdin and
 * stdout are @p in_fd / @p out_fd if >= 0. The peer dies with us (PDEATHSIG). Only
 * one peer runs at a time.
 */
pid_t interop_spawn(char *const argv[], const int *fds, int nfds, int in_fd, int out_fd);

/* True (and its wait status in @p status) if the peer has exited. */
bool interop_peer_exited(int *status);

/*
 * For a test that waits on the peer's messages: true (and its wait status) once the
 * peer has exited and a pass over the rings has been made since it was first seen
 * gone. A peer that exits right after its last message can be seen gone before that
 * message is: a loaded machine made the check fail with the last 8 messages still in
 * the ring.
 */
bool interop_peer_gone(int *status);

/*
 * Wait at most @p timeout_ms for the peer to exit; kill it if it does not.
 * @return its exit code, or -1 if it was killed or died of a signal (reported).
 */
int interop_wait_peer(int timeout_ms);

/* Print "FAIL: ..." (and the test name), kill the peer, exit 1. */
void interop_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A memfd of @p size bytes that starts as a fresh pipe (the "free" word at 0). */
int interop_ring_file(const char *name, uint64_t size);

#endif /* INTEROP_COMMON_H */
