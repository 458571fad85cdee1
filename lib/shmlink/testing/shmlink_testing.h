/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_TESTING_H
#define SHMLINK_TESTING_H

/*
 * Test-only access to an endpoint's internals, for the fuzzers and the hostile peer,
 * which play a peer that writes into the very rings an endpoint uses. Not installed,
 * in no shipped library (meson: shmlink_testing_dep); nothing but tests may include it
 * (test/layering checks).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <shmlink.h>

/* An endpoint's four shared pipes and its buffer geometry. The TX queue carries frames
 * from the client to the server, the RX queue from the server to the client; "ours"
 * is the pipe of a queue this endpoint writes, "theirs" the one it reads. */
struct shmlink_testing_ep {
	struct shmlink_pipe_tx *txq_ours;	/* client: descriptors; server: completions */
	struct shmlink_pipe_rx *txq_theirs;	/* client: completions; server: descriptors */
	struct shmlink_pipe_tx *rxq_ours;	/* client: posted buffers; server: completions */
	struct shmlink_pipe_rx *rxq_theirs;	/* client: completions; server: posted buffers */
	uint32_t tx_buf_size;			/* client: its TX chunks (else 0) */
	uint32_t rx_buf_size;			/* client: its posted RX buffers (else 0) */
	uint32_t tx_nb_ids;			/* client: frames in flight at most (else 0) */
	uint32_t rx_nb_bufs;			/* client: RX buffers (else 0) */
	uint32_t max_frame;			/* the largest frame taken on receive */
};

/* Fill @t with @ep's pipes and geometry. */
void shmlink_testing_ep_get(struct shmlink_ep *ep, struct shmlink_testing_ep *t);

/*
 * Check the client role's bookkeeping: free TX ids and chunks each free once and never
 * in flight, the chunk ring consistent, every RX buffer posted, to post or held.
 * @return 0, or -1 with @why saying what is wrong; 0 for a server.
 */
int shmlink_testing_ep_check(const struct shmlink_ep *ep, char *why, size_t why_len);

/*
 * The twins: each fast path inlined into the hot loops has a full function it must
 * behave exactly like (test/unit/test_twins.c runs both on the same inputs). @fast
 * picks the inline one.
 */
void *shmlink_testing_pipe_tx_push(struct shmlink_pipe_tx *tx, uint32_t size, bool fast);
void shmlink_testing_pipe_tx_flush(struct shmlink_pipe_tx *tx, bool fast);
const void *shmlink_testing_pipe_rx_pull(struct shmlink_pipe_rx *rx, uint32_t *len,
		bool fast);
void shmlink_testing_pipe_rx_flush(struct shmlink_pipe_rx *rx, bool fast);
/* ep_fill() (fast) or ep_fill_bufs(): write frame @f into @nb buffers at @base. */
void shmlink_testing_fill(const struct shmlink_ep *ep, const struct shmlink_frame *f,
		uint8_t *base, const struct shmlink_buf *bufs, uint32_t nb, uint32_t *used,
		bool fast);
/* ep_frame() (fast) or ep_make_frame(): the frame held by @nb received buffers. */
bool shmlink_testing_frame(struct shmlink_ep *ep, uint8_t *base,
		const struct shmlink_buf *bufs, uint32_t nb, uint32_t wire,
		struct shmlink_frame *f, struct shmlink_seg *segs, bool fast);

#endif /* SHMLINK_TESTING_H */
