/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * Concurrent pipe stress against gVisor's pipe (spec §9.2).
 *
 * Two ring files (memfds made here, starting with the "free" word) are shared with the
 * Go peer "pipepeer stress" by inheritance, at FDs 3 and 4:
 *   ring A: gVisor pipe.Tx writes (and inits), shmlink_pipe_rx reads;
 *   ring B: shmlink_pipe_tx writes (and inits), gVisor pipe.Rx reads.
 * Both directions run at once, in two processes. Message sizes (0..max payload, mostly
 * small) and bytes come from (seed, sequence number), so each reader checks every
 * message's size, bytes and order without being told. Writers publish random batches;
 * readers release random batches. This exercises wraps, wrap-spanning releases and the
 * full-ring guard at every revolution.
 *
 * Usage: test_pipe_stress PIPEPEER RING_SIZE COUNT [SEED]
 *   COUNT messages each way on a ring file of RING_SIZE bytes.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <shmlink_pipe.h>

#include "interop_common.h"

#define RUN_TIMEOUT_S	120
/* Neither ring moving for this long means a reader or writer stalls for good (a bad
 * wrap or full-ring state stalls gVisor's reader silently, spec §8.1-10). */
#define STALL_MS	15000

static void *
map_ring(int fd, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		interop_fail("mmap ring: %s", strerror(errno));
	return p;
}

static void
describe_rx(const struct shmlink_pipe_rx *rx)
{
	uint64_t off = rx->head & 0xffffffff, hdr;

	memcpy(&hdr, rx->ring + off, sizeof(hdr));
	fprintf(stderr, "  our reader: head offset %" PRIu64 " (header %#" PRIx64
			"), broken %d\n", off, hdr, rx->broken);
}

int
main(int argc, char **argv)
{
	uint64_t ring_size, count, seed, tx_done = 0, rx_done = 0, tx_bytes = 0, rx_bytes = 0;
	uint64_t a_max, b_max, start, last_check = 0, last_progress, seed_a, seed_b;
	struct shmlink_pipe_tx tx;
	struct shmlink_pipe_rx rx;
	struct interop_backoff bo = { 0 };
	struct irng batch;
	char a_seed[32], b_seed[32], cnt[32], bseed[32], tmo[32];
	uint8_t *want, *ring_a, *ring_b;
	int fds[2], status, rc;
	double secs;

	if (argc < 4) {
		fprintf(stderr, "usage: %s PIPEPEER RING_SIZE COUNT [SEED]\n", argv[0]);
		return 2;
	}
	ring_size = strtoull(argv[2], NULL, 0);
	count = strtoull(argv[3], NULL, 0);
	seed = argc > 4 ? strtoull(argv[4], NULL, 0) : 0x5eed0000 + ring_size;
	interop_watchdog("test_pipe_stress", RUN_TIMEOUT_S + 15);
	seed_a = seed * 2 + 1;
	seed_b = seed * 2 + 2;
	batch.s = seed ^ 0xba7c4;

	fds[0] = interop_ring_file("ring-a", ring_size);
	fds[1] = interop_ring_file("ring-b", ring_size);
	ring_a = map_ring(fds[0], ring_size);
	ring_b = map_ring(fds[1], ring_size);
	/* Each ring's writer inits it; the reader only reads. */
	if (shmlink_pipe_rx_init(&rx, ring_a, ring_size) != 0 ||
			shmlink_pipe_tx_init(&tx, ring_b, ring_size) != 0)
		interop_fail("pipe init rejected ring size %" PRIu64, ring_size);
	a_max = shmlink_pipe_max_payload(rx.ring_len);
	b_max = shmlink_pipe_max_payload(tx.ring_len);
	want = malloc(a_max + 8);
	if (want == NULL)
		interop_fail("out of memory");

	printf("ring file %" PRIu64 " bytes (ring %" PRIu64 ", max payload %" PRIu64
			"): %" PRIu64 " messages gVisor pipe.Tx -> shmlink_pipe_rx and %" PRIu64
			" shmlink_pipe_tx -> gVisor pipe.Rx, concurrently\n", ring_size,
			rx.ring_len, a_max, count, count);
	snprintf(a_seed, sizeof(a_seed), "%" PRIu64, seed_a);
	snprintf(b_seed, sizeof(b_seed), "%" PRIu64, seed_b);
	snprintf(cnt, sizeof(cnt), "%" PRIu64, count);
	snprintf(bseed, sizeof(bseed), "%" PRIu64, seed ^ 0x60);
	snprintf(tmo, sizeof(tmo), "%ds", RUN_TIMEOUT_S);
	{
		char *args[] = { argv[1], "stress", "-txfd", "3", "-rxfd", "4",
			"-txseed", a_seed, "-rxseed", b_seed, "-txcount", cnt, "-rxcount", cnt,
			"-batchseed", bseed, "-timeout", tmo, NULL };

		interop_spawn(args, fds, 2, -1, -1);
	}

	start = interop_now_ms();
	last_progress = start;
	while (tx_done < count || rx_done < count) {
		bool progress = false;
		uint64_t n, i;

		if (tx_done < count) {
			/* Push a random batch, publish it with one flush. */
			n = 1 + irng_below(&batch, 16);
			for (i = 0; i < n && tx_done < count; i++) {
				struct irng r = irng_msg(seed_b, tx_done);
				uint64_t size = interop_pipe_msg_size(&r, b_max);
				uint8_t *p = shmlink_pipe_tx_push(&tx, (uint32_t)size);

				if (p == NULL)
					break;
				interop_fill_pattern(p, size, &r, tx_done);
				tx_bytes += size;
				tx_done++;
			}
			if (i > 0) {
				shmlink_pipe_tx_flush(&tx);
				progress = true;
			}
			if (tx.broken)
				interop_fail("shmlink_pipe_tx marked ring B broken after %" PRIu64
						" messages", tx_done);
		}
		if (rx_done < count) {
			const uint8_t *p = NULL;
			uint32_t len;

			n = 1 + irng_below(&batch, 16);
			for (i = 0; i < n && rx_done < count; i++) {
				struct irng r = irng_msg(seed_a, rx_done);
				uint64_t size = interop_pipe_msg_size(&r, a_max);
				int64_t d;

				p = shmlink_pipe_rx_pull(&rx, &len);
				if (p == NULL)
					break;
				if (len != size) {
					describe_rx(&rx);
					interop_fail("message %" PRIu64 " from gVisor: %u bytes, "
							"want %" PRIu64, rx_done, len, size);
				}
				interop_fill_pattern(want, size, &r, rx_done);
				d = interop_first_diff(want, size, p, len);
				if (d >= 0)
					interop_fail("message %" PRIu64 " from gVisor (%u "
							"bytes): byte %" PRId64 " is %#x, want %#x",
							rx_done, len, d, p[d], want[d]);
				rx_bytes += size;
				rx_done++;
			}
			/* Release the batch; always when the ring looked empty, since the
			 * writer may be waiting for exactly these slots. */
			if (i > 0 || p == NULL)
				shmlink_pipe_rx_flush(&rx);
			if (i > 0)
				progress = true;
			if (rx.broken) {
				describe_rx(&rx);
				interop_fail("shmlink_pipe_rx found ring A damaged after %" PRIu64
						" messages", rx_done);
			}
		}
		if (progress) {
			interop_progress(&bo);
			last_progress = interop_now_ms();
		} else {
			interop_idle(&bo);
			/* A peer that failed has exited: stop at once, not at the watchdog. */
			if (interop_now_ms() - last_check > 100) {
				last_check = interop_now_ms();
				if (interop_peer_gone(&status))
					interop_fail("the Go peer exited early (status %#x) with %"
							PRIu64 "/%" PRIu64 " sent and %" PRIu64 "/%"
							PRIu64 " received here", status, tx_done,
							count, rx_done, count);
				if (last_check - last_progress > STALL_MS ||
						last_check - start > RUN_TIMEOUT_S * 1000ULL) {
					describe_rx(&rx);
					interop_fail("stalled: %" PRIu64 "/%" PRIu64
							" sent, %" PRIu64 "/%" PRIu64 " received",
							tx_done, count, rx_done, count);
				}
			}
		}
	}
	rc = interop_wait_peer(RUN_TIMEOUT_S * 1000);
	secs = (double)(interop_now_ms() - start) / 1000.0;
	if (rc != 0)
		interop_fail("the Go peer failed (exit %d): it checks what shmlink_pipe_tx wrote",
				rc);
	printf("PASS: ring %" PRIu64 ": %" PRIu64 " messages (%" PRIu64
			" bytes) gVisor -> shmlink and %" PRIu64 " (%" PRIu64
			" bytes) shmlink -> gVisor, all checked, in %.2f s (%.0f msg/s each way)\n",
			ring_size, rx_done, rx_bytes, tx_done, tx_bytes, secs,
			secs > 0 ? (double)count / secs : 0.0);
	munmap(ring_a, ring_size);
	munmap(ring_b, ring_size);
	close(fds[0]);
	close(fds[1]);
	free(want);
	return 0;
}
