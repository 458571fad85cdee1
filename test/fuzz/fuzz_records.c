/* SPDX-License-Identifier: BSD-3-Clause
 * Copyright(c) 2026 The shmlink authors
 */

/*
 * The four record decoders (spec §4) over any slot payload a peer can publish.
 *
 * Input:  u8 selector (decoder = sel % 4) | u8 max buffers (TX descriptor, RX completion) |
 *         the record
 * The record is copied into a heap block of exactly its length and the buffer array
 * holds exactly @max entries, so ASan reports a read past the record or a write past the
 * array. Each decoder's result is compared with a byte-wise reference decoding written
 * from the spec, and a record that decoded is encoded again through a pipe and must
 * decode to the same fields.
 */

#include "fuzz_common.h"
#include "shmlink_pipe.h"
#include "shmlink_queue.h"

#define RING_SIZE	(64u << 10)

enum { REC_TXD, REC_TXC, REC_RXP, REC_RXC, REC_COUNT };

static uint8_t ring[RING_SIZE] __attribute__((aligned(8)));

/* Push a record with @push, then pull it back from the same ring. */
static const uint8_t *
reencoded(struct shmlink_pipe_tx *tx, struct shmlink_pipe_rx *rx, uint32_t *len)
{
	const uint8_t *p;

	shmlink_pipe_tx_flush(tx);
	p = shmlink_pipe_rx_pull(rx, len);
	FZ_CHECK(p != NULL, "the re-encoded record did not come out of the pipe");
	return p;
}

static void
fuzz_txd(const uint8_t *rec, uint32_t len, uint32_t max, struct shmlink_buf *bufs,
		struct shmlink_pipe_tx *tx, struct shmlink_pipe_rx *rx)
{
	uint64_t id = 0xdeadbeef;
	uint32_t total = 0xdeadbeef, i;
	int64_t n = shmlink_txd_decode(rec, len, &id, &total, bufs, max);

	if (len >= 8)
		FZ_CHECK(id == fz_le(rec, 8), "id");
	if (len < SHMLINK_TXD_HDR_SIZE) {
		FZ_CHECK(n == -EINVAL, "short descriptor (%u bytes) gave %lld", len, (long long)n);
		return;
	}
	FZ_CHECK(n == (len - SHMLINK_TXD_HDR_SIZE) / SHMLINK_TXD_BUF_SIZE,
			"%u-byte descriptor: %lld buffers", len, (long long)n);
	FZ_CHECK(total == fz_le(rec + 8, 4), "total");
	for (i = 0; i < n && i < max; i++) {
		const uint8_t *b = rec + SHMLINK_TXD_HDR_SIZE + SHMLINK_TXD_BUF_SIZE * i;

		FZ_CHECK(bufs[i].offset == fz_le(b, 8) && bufs[i].size == fz_le(b + 8, 4),
				"buffer %u", i);
	}
	if (n > max || shmlink_txd_len((uint32_t)n) > shmlink_pipe_max_payload(RING_SIZE))
		return;
	FZ_CHECK(shmlink_txd_push(tx, id, total, bufs, (uint32_t)n) == 0, "push");
	{
		uint32_t l2, t2;
		uint64_t id2;
		const uint8_t *p = reencoded(tx, rx, &l2);
		struct shmlink_buf b2[1];

		FZ_CHECK(l2 == shmlink_txd_len((uint32_t)n), "re-encoded length %u", l2);
		FZ_CHECK(shmlink_txd_decode(p, l2, &id2, &t2, b2, 0) == n && id2 == id &&
				t2 == total, "re-encoded header");
		FZ_CHECK(memcmp(p, rec, SHMLINK_TXD_HDR_SIZE - 4) == 0 && fz_le(p + 12, 4) == 0 &&
				memcmp(p + SHMLINK_TXD_HDR_SIZE, rec + SHMLINK_TXD_HDR_SIZE,
					l2 - SHMLINK_TXD_HDR_SIZE) == 0,
				"re-encoded bytes differ");
	}
}

static void
fuzz_txc(const uint8_t *rec, uint32_t len, struct shmlink_pipe_tx *tx,
		struct shmlink_pipe_rx *rx)
{
	uint64_t id = 0;
	int rc = shmlink_txc_decode(rec, len, &id);
	const uint8_t *p;
	uint32_t l2;

	if (len != SHMLINK_TXC_SIZE) {
		FZ_CHECK(rc == -EINVAL, "%u-byte TX completion accepted", len);
		return;
	}
	FZ_CHECK(rc == 0 && id == fz_le(rec, 8), "TX completion id");
	FZ_CHECK(shmlink_txc_push(tx, id) == 0, "push");
	p = reencoded(tx, rx, &l2);
	FZ_CHECK(l2 == 8 && memcmp(p, rec, 8) == 0, "re-encoded TX completion");
}

static void
fuzz_rxp(const uint8_t *rec, uint32_t len, struct shmlink_pipe_tx *tx,
		struct shmlink_pipe_rx *rx)
{
	struct shmlink_buf b = { 0 };
	int rc = shmlink_rxp_decode(rec, len, &b);
	const uint8_t *p;
	uint32_t l2;

	if (len < SHMLINK_RXP_SIZE) {
		FZ_CHECK(rc == -EINVAL, "%u-byte posted buffer accepted", len);
		return;
	}
	FZ_CHECK(rc == 0 && b.offset == fz_le(rec, 8) && b.size == fz_le(rec + 8, 4) &&
			b.userdata == fz_le(rec + 16, 8) && b.id == fz_le(rec + 24, 8),
			"posted buffer fields");
	FZ_CHECK(shmlink_rxp_push(tx, &b) == 0, "push");
	p = reencoded(tx, rx, &l2);
	FZ_CHECK(l2 == SHMLINK_RXP_SIZE && memcmp(p, rec, 12) == 0 && fz_le(p + 12, 4) == 0 &&
			memcmp(p + 16, rec + 16, 16) == 0, "re-encoded posted buffer");
}

static void
fuzz_rxc(const uint8_t *rec, uint32_t len, uint32_t max, struct shmlink_buf *bufs,
		struct shmlink_pipe_tx *tx, struct shmlink_pipe_rx *rx)
{
	uint32_t total = 0xdeadbeef, i;
	int64_t n = shmlink_rxc_decode(rec, len, &total, bufs, max);

	if (len < SHMLINK_RXC_HDR_SIZE) {
		FZ_CHECK(n == -EINVAL, "short RX completion (%u bytes) gave %lld", len,
				(long long)n);
		return;
	}
	FZ_CHECK(n == (len - SHMLINK_RXC_HDR_SIZE) / SHMLINK_RXC_BUF_SIZE,
			"%u-byte RX completion: %lld buffers", len, (long long)n);
	FZ_CHECK(total == fz_le(rec, 4), "total");
	for (i = 0; i < n && i < max; i++) {
		const uint8_t *b = rec + SHMLINK_RXC_HDR_SIZE + SHMLINK_RXC_BUF_SIZE * i;

		FZ_CHECK(bufs[i].offset == fz_le(b, 8) && bufs[i].size == fz_le(b + 8, 4) &&
				bufs[i].userdata == fz_le(b + 12, 8) &&
				bufs[i].id == fz_le(b + 20, 8), "buffer %u", i);
	}
	if (n > max || shmlink_rxc_len((uint32_t)n) > shmlink_pipe_max_payload(RING_SIZE))
		return;
	FZ_CHECK(shmlink_rxc_push(tx, total, bufs, (uint32_t)n) == 0, "push");
	{
		uint32_t l2;
		const uint8_t *p = reencoded(tx, rx, &l2);

		FZ_CHECK(l2 == shmlink_rxc_len((uint32_t)n), "re-encoded length %u", l2);
		FZ_CHECK(memcmp(p, rec, 4) == 0 && fz_le(p + 4, 4) == 0 &&
				memcmp(p + 8, rec + 8, l2 - 8) == 0, "re-encoded RX completion");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	uint8_t sel = fz_u8(&in) % REC_COUNT;
	uint32_t max = fz_u8(&in);
	struct shmlink_pipe_tx tx;
	struct shmlink_pipe_rx rx;
	struct shmlink_buf *bufs;
	uint8_t *rec;
	uint32_t len;

	/* A record is one slot: at most the largest payload of a 4 GiB ring. */
	len = in.n > UINT32_MAX - 16 ? UINT32_MAX - 16 : (uint32_t)in.n;
	rec = malloc(len > 0 ? len : 1);
	bufs = malloc((max > 0 ? max : 1) * sizeof(*bufs));
	FZ_CHECK(rec != NULL && bufs != NULL, "out of memory");
	memcpy(rec, in.p, len);
	FZ_CHECK(shmlink_pipe_tx_init(&tx, ring, sizeof(ring)) == 0 &&
			shmlink_pipe_rx_init(&rx, ring, sizeof(ring)) == 0, "pipe init");

	switch (sel) {
	case REC_TXD:
		fuzz_txd(rec, len, max, bufs, &tx, &rx);
		break;
	case REC_TXC:
		fuzz_txc(rec, len, &tx, &rx);
		break;
	case REC_RXP:
		fuzz_rxp(rec, len, &tx, &rx);
		break;
	case REC_RXC:
		fuzz_rxc(rec, len, max, bufs, &tx, &rx);
		break;
	}
	free(bufs);
	free(rec);
	return 0;
}
