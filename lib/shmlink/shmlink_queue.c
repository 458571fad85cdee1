/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#include "shmlink_queue_inline.h"

int
shmlink_txd_push(struct shmlink_pipe_tx *p, uint64_t id, uint32_t total,
		const struct shmlink_buf *bufs, uint32_t n)
{
	return q_txd_push(p, id, total, bufs, n);
}

int64_t
shmlink_txd_decode(const void *rec, uint32_t len, uint64_t *id, uint32_t *total,
		struct shmlink_buf *bufs, uint32_t max)
{
	return q_txd_decode(rec, len, id, total, bufs, max);
}

int
shmlink_txc_push(struct shmlink_pipe_tx *p, uint64_t id)
{
	return q_txc_push(p, id);
}

int
shmlink_txc_decode(const void *rec, uint32_t len, uint64_t *id)
{
	return q_txc_decode(rec, len, id);
}

int
shmlink_rxp_push(struct shmlink_pipe_tx *p, const struct shmlink_buf *buf)
{
	return q_rxp_push(p, buf);
}

int
shmlink_rxp_decode(const void *rec, uint32_t len, struct shmlink_buf *buf)
{
	return q_rxp_decode(rec, len, buf);
}

int
shmlink_rxc_push(struct shmlink_pipe_tx *p, uint32_t total,
		const struct shmlink_buf *bufs, uint32_t n)
{
	return q_rxc_push(p, total, bufs, n);
}

int64_t
shmlink_rxc_decode(const void *rec, uint32_t len, uint32_t *total,
		struct shmlink_buf *bufs, uint32_t max)
{
	return q_rxc_decode(rec, len, total, bufs, max);
}
