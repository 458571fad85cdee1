/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

#ifndef SHMLINK_QUEUE_INLINE_H
#define SHMLINK_QUEUE_INLINE_H

/*
 * The queue records' encoders and decoders, inline for the endpoint code (private to
 * the library, not installed); shmlink_queue.c exports them under the names and with
 * the contracts of shmlink_queue.h.
 */

#include <errno.h>

#include "shmlink_le.h"
#include "shmlink_pipe_inline.h"
#include "shmlink_queue.h"

static inline int
q_txd_push(struct shmlink_pipe_tx *p, uint64_t id, uint32_t total,
		const struct shmlink_buf *bufs, uint32_t n)
{
	uint64_t len = shmlink_txd_len(n);
	uint8_t *rec;
	uint32_t i;

	if (len > UINT32_MAX)
		return -ENOSPC;
	rec = pipe_tx_push(p, (uint32_t)len);
	if (rec == NULL)
		return -ENOSPC;
	put_le64(rec, id);
	put_le32(rec + 8, total);
	put_le32(rec + 12, 0);
	for (i = 0; i < n; i++) {
		uint8_t *b = rec + SHMLINK_TXD_HDR_SIZE + SHMLINK_TXD_BUF_SIZE * i;

		put_le64(b, bufs[i].offset);
		put_le32(b + 8, bufs[i].size);
	}
	return 0;
}

static inline int64_t
q_txd_decode(const void *rec, uint32_t len, uint64_t *id, uint32_t *total,
		struct shmlink_buf *bufs, uint32_t max)
{
	const uint8_t *r = rec;
	uint32_t n, i;

	if (len < sizeof(uint64_t))
		return -EINVAL;
	*id = get_le64(r);
	if (len < SHMLINK_TXD_HDR_SIZE)
		return -EINVAL;
	n = (len - SHMLINK_TXD_HDR_SIZE) / SHMLINK_TXD_BUF_SIZE;
	*total = get_le32(r + 8);
	for (i = 0; i < n && i < max; i++) {
		const uint8_t *b = r + SHMLINK_TXD_HDR_SIZE + SHMLINK_TXD_BUF_SIZE * i;

		bufs[i].offset = get_le64(b);
		bufs[i].size = get_le32(b + 8);
		bufs[i].userdata = 0;
		bufs[i].id = 0;
	}
	return n;
}

static inline int
q_txc_push(struct shmlink_pipe_tx *p, uint64_t id)
{
	uint8_t *rec = pipe_tx_push(p, SHMLINK_TXC_SIZE);

	if (rec == NULL)
		return -ENOSPC;
	put_le64(rec, id);
	return 0;
}

static inline int
q_txc_decode(const void *rec, uint32_t len, uint64_t *id)
{
	if (len != SHMLINK_TXC_SIZE)
		return -EINVAL;
	*id = get_le64(rec);
	return 0;
}

static inline int
q_rxp_push(struct shmlink_pipe_tx *p, const struct shmlink_buf *buf)
{
	uint8_t *rec = pipe_tx_push(p, SHMLINK_RXP_SIZE);

	if (rec == NULL)
		return -ENOSPC;
	put_le64(rec, buf->offset);
	put_le32(rec + 8, buf->size);
	put_le32(rec + 12, 0);
	put_le64(rec + 16, buf->userdata);
	put_le64(rec + 24, buf->id);
	return 0;
}

static inline int
q_rxp_decode(const void *rec, uint32_t len, struct shmlink_buf *buf)
{
	const uint8_t *r = rec;

	if (len < SHMLINK_RXP_SIZE)
		return -EINVAL;
	buf->offset = get_le64(r);
	buf->size = get_le32(r + 8);
	buf->userdata = get_le64(r + 16);
	buf->id = get_le64(r + 24);
	return 0;
}

static inline int
q_rxc_push(struct shmlink_pipe_tx *p, uint32_t total,
		const struct shmlink_buf *bufs, uint32_t n)
{
	uint64_t len = shmlink_rxc_len(n);
	uint8_t *rec;
	uint32_t i;

	if (len > UINT32_MAX)
		return -ENOSPC;
	rec = pipe_tx_push(p, (uint32_t)len);
	if (rec == NULL)
		return -ENOSPC;
	put_le32(rec, total);
	put_le32(rec + 4, 0);
	for (i = 0; i < n; i++) {
		uint8_t *b = rec + SHMLINK_RXC_HDR_SIZE + SHMLINK_RXC_BUF_SIZE * i;

		put_le64(b, bufs[i].offset);
		put_le32(b + 8, bufs[i].size);
		put_le64(b + 12, bufs[i].userdata);
		put_le64(b + 20, bufs[i].id);
	}
	return 0;
}

static inline int64_t
q_rxc_decode(const void *rec, uint32_t len, uint32_t *total,
		struct shmlink_buf *bufs, uint32_t max)
{
	const uint8_t *r = rec;
	uint32_t n, i;

	if (len < SHMLINK_RXC_HDR_SIZE)
		return -EINVAL;
	n = (len - SHMLINK_RXC_HDR_SIZE) / SHMLINK_RXC_BUF_SIZE;
	*total = get_le32(r);
	for (i = 0; i < n && i < max; i++) {
		const uint8_t *b = r + SHMLINK_RXC_HDR_SIZE + SHMLINK_RXC_BUF_SIZE * i;

		bufs[i].offset = get_le64(b);
		bufs[i].size = get_le32(b + 8);
		bufs[i].userdata = get_le64(b + 12);
		bufs[i].id = get_le64(b + 20);
	}
	return n;
}

#endif /* SHMLINK_QUEUE_INLINE_H */
